// Image references, skopeo transports and platform selection: pure parsing, moved out of
// test/registry.test.ts (where they waited for a real registry to start).
import { describe, expect, it } from 'vitest';
import { normalizePlatform, selectPlatform, type ImageIndex } from '../../src/oci/manifest.js';
import { apiHost, formatReference, parseReference, parseSource } from '../../src/oci/reference.js';
import { isInsecure } from '../../src/oci/remote/registry.js';

describe('references', () => {
  it('normalizes like Docker', () => {
    expect(formatReference(parseReference('nginx'))).toBe('docker.io/library/nginx:latest');
    expect(formatReference(parseReference('index.docker.io/foo/bar:1'))).toBe('docker.io/foo/bar:1');
    expect(parseReference('localhost:5000/a/b:t')).toEqual({ registry: 'localhost:5000', repository: 'a/b', tag: 't' });
    expect(parseReference('[::1]:5000/x')).toEqual({ registry: '[::1]:5000', repository: 'x', tag: 'latest' });
    expect(parseReference('foo/bar')).toEqual({ registry: 'docker.io', repository: 'foo/bar', tag: 'latest' });
    expect(parseReference('localhost/x').registry).toBe('localhost');
    expect(parseReference('localhost:5000')).toEqual({
      registry: 'docker.io',
      repository: 'library/localhost',
      tag: '5000',
    });
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`ghcr.io/o/app:v1@${d}`)).toEqual({ registry: 'ghcr.io', repository: 'o/app', digest: d });
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
  });

  it('explains an invalid reference in one line with an example', () => {
    for (const bad of ['', 'Nginx', 'nginx:-x', 'a//b', 'nginx@sha256:abc', 'UPPER.io/x/Y']) {
      expect(() => parseReference(bad)).toThrow(/^invalid image reference .*: .*; write it like .*alpine:3\.20/);
    }
    expect(() => parseReference('Nginx')).toThrow(/must be lowercase/);
  });

  it('reads skopeo transports', () => {
    expect(parseSource('docker://alpine')).toEqual({
      transport: 'docker',
      ref: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    });
    expect(parseSource('docker-daemon:alpine:3').transport).toBe('docker-daemon');
    expect(parseSource('docker-archive:/tmp/a.tar:foo/bar:v2')).toEqual({
      transport: 'docker-archive',
      path: '/tmp/a.tar',
      ref: 'foo/bar:v2',
    });
    expect(parseSource('docker-archive:/tmp/a.tar')).toEqual({ transport: 'docker-archive', path: '/tmp/a.tar' });
    expect(parseSource('oci:./layout:tag')).toEqual({ transport: 'oci', path: './layout', ref: 'tag' });
    expect(parseSource('oci-archive:/x.tar')).toEqual({ transport: 'oci-archive', path: '/x.tar' });
    expect(() => parseSource('docker:alpine')).toThrow(/docker:\/\/REFERENCE/);
  });
});

describe('platforms', () => {
  it('normalizes and skips attestations', () => {
    expect(normalizePlatform({ os: 'linux', architecture: 'aarch64', variant: 'v8' })).toEqual({
      os: 'linux',
      architecture: 'arm64',
    });
    expect(normalizePlatform({ os: 'linux', architecture: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64' });
    const d = (
      digest: string,
      platform?: { os: string; architecture: string },
      annotations?: Record<string, string>,
    ) => ({ mediaType: 'x', digest, size: 1, platform, annotations });
    const index: ImageIndex = {
      schemaVersion: 2,
      manifests: [
        d('att', { os: 'unknown', architecture: 'unknown' }),
        d('att2', { os: 'linux', architecture: 'amd64' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
        d('noplat'),
      ],
    };
    expect(selectPlatform(index, { os: 'linux', architecture: 'amd64' })?.digest).toBe('noplat');
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64' })).toBeUndefined();
  });

  it('treats loopback registries as plain HTTP', () => {
    expect(isInsecure('127.0.0.1:5000')).toBe(true);
    expect(isInsecure('127.1.2.3')).toBe(true);
    expect(isInsecure('[::1]:5000')).toBe(true);
    expect(isInsecure('localhost')).toBe(true);
    expect(isInsecure('ghcr.io')).toBe(false);
    expect(isInsecure('reg.lan:5000', ['reg.lan'])).toBe(true);
  });
});

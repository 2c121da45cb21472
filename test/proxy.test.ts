// Proxies from the environment: a forward proxy on loopback (absolute-URI requests and
// CONNECT tunnels) in front of a real registry and a file server, under names that
// resolve only inside the proxy — so a request that skips the proxy cannot succeed.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { download } from '../src/download.js';
import { pullImage } from '../src/oci/remote/registry.js';
import { runCli } from './helpers/cli.js';
import { serveFiles, startForwardProxy, type FileServer, type ForwardProxy } from './helpers/http.js';
import { Layout, push, selfSigned, startRegistry, type Desc, type Registry } from './helpers/registry.js';

const VARS = [
  'http_proxy',
  'HTTP_PROXY',
  'https_proxy',
  'HTTPS_PROXY',
  'all_proxy',
  'ALL_PROXY',
  'no_proxy',
  'NO_PROXY',
];
const scratch = mkdtempSync(join(tmpdir(), 'fp-proxy-'));
let plain: Registry;
let secure: Registry;
let cert: string;
let image: Desc;
let files: FileServer;
let proxy: ForwardProxy;
const port = (r: Registry) => Number(r.host.split(':')[1]);

beforeAll(async () => {
  const tls = selfSigned(scratch, ['registry.test']);
  cert = tls.cert;
  [plain, secure] = await Promise.all([startRegistry(), startRegistry(undefined, undefined, tls)]);
  const layout = new Layout(join(scratch, 'layout'));
  image = layout.image({ 'etc/hello': 'hello through a proxy\n' });
  layout.tag(image, 'v1');
  await push(layout.dir, 'v1', `${plain.host}/test/app:v1`);
  await push(layout.dir, 'v1', `${secure.host}/test/app:v1`);
  files = await serveFiles({ '/tool': Buffer.from('a downloaded tool\n') });
});

afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop(), files?.close()]);
  rmSync(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const v of VARS) delete process.env[v];
  process.env.XDG_CACHE_HOME = mkdtempSync(join(scratch, 'cache-'));
  process.env.DOCKER_CONFIG = mkdtempSync(join(scratch, 'docker-'));
  proxy = await startForwardProxy({ 'registry.test': '127.0.0.1', 'files.test': '127.0.0.1' });
});

afterEach(async () => {
  for (const v of VARS) delete process.env[v];
  await proxy.close();
});

describe('an https:// proxy (TLS to the proxy itself)', () => {
  it('tunnels HTTPS inside TLS, and sends plain HTTP with absolute URIs over TLS', async () => {
    // the proxy's certificate names 127.0.0.1 and proxy.test only, not the registry
    const proxyDir = mkdtempSync(join(scratch, 'proxy-tls-'));
    const proxyTls = selfSigned(proxyDir, ['proxy.test']);
    const bundle = join(proxyDir, 'cas.pem');
    writeFileSync(bundle, Buffer.concat([readFileSync(cert), readFileSync(proxyTls.cert)]));
    const tlsProxy = await startForwardProxy({ 'registry.test': '127.0.0.1' }, proxyTls);
    try {
      const env = {
        HTTPS_PROXY: `https://fledge:secret@${tlsProxy.url.slice(8)}`,
        NODE_EXTRA_CA_CERTS: bundle,
        DOCKER_CONFIG: process.env.DOCKER_CONFIG,
      };
      const secureRun = await runCli(['inspect', `docker://registry.test:${port(secure)}/test/app:v1`], {
        cwd: scratch,
        env,
      });
      expect([secureRun.code, secureRun.stderr]).toEqual([0, '']);
      expect(secureRun.stdout).toMatch(/^file +0644 0:0 22 [0-9a-f]{64} \/etc\/hello$/m);
      expect(new Set(tlsProxy.requests)).toEqual(new Set([`CONNECT registry.test:${port(secure)} +auth`]));
      tlsProxy.requests.length = 0;
      const plainEnv = {
        HTTP_PROXY: tlsProxy.url,
        NODE_EXTRA_CA_CERTS: bundle,
        DOCKER_CONFIG: process.env.DOCKER_CONFIG,
        XDG_CACHE_HOME: mkdtempSync(join(scratch, 'cache-')),
      };
      const plainRun = await runCli(
        ['inspect', `docker://registry.test:${port(plain)}/test/app:v1`, '--insecure-registry', 'registry.test'],
        { cwd: scratch, env: plainEnv },
      );
      expect([plainRun.code, plainRun.stderr]).toEqual([0, '']);
      expect(tlsProxy.requests).toContain(`GET http://registry.test:${port(plain)}/v2/test/app/manifests/v1`);
      // a proxy whose certificate is not trusted is refused
      const untrusted = await runCli(['inspect', `docker://registry.test:${port(secure)}/test/app:v1`], {
        cwd: scratch,
        env: { ...env, NODE_EXTRA_CA_CERTS: undefined },
      });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(
        /^fledge-pure: registry registry\.test:\d+: cannot reach .*self[- ]signed certificate.*; trust its CA with NODE_EXTRA_CA_CERTS=FILE \(a PEM bundle\), the proxy 127\.0\.0\.1:\d+'s too, or check the host name\n$/,
      );
    } finally {
      await tlsProxy.close();
    }
  });
});

describe('proxies from the environment', () => {
  it('pulls over plain HTTP through HTTP_PROXY with absolute URIs', async () => {
    process.env.HTTP_PROXY = proxy.url;
    const ref = `registry.test:${port(plain)}/test/app:v1`;
    const img = await pullImage(ref, { insecure: ['registry.test'] });
    expect(img.manifestDigest).toBe(image.digest);
    const base = `http://registry.test:${port(plain)}/v2`;
    expect(proxy.requests).toEqual(
      expect.arrayContaining([
        `GET ${base}/`,
        `GET ${base}/test/app/manifests/v1`,
        `GET ${base}/test/app/blobs/${img.configDigest}`,
        `GET ${base}/test/app/blobs/${img.layers[0].digest}`,
      ]),
    );
    expect(proxy.requests.every((r) => r.startsWith(`GET ${base}/`))).toBe(true);
  });

  it('proxies loopback unless NO_PROXY names it (lowercase variables first)', async () => {
    process.env.http_proxy = proxy.url;
    process.env.HTTP_PROXY = 'http://127.0.0.1:1';
    await pullImage(`${plain.host}/test/app:v1`);
    expect(proxy.requests).toContain(`GET http://${plain.host}/v2/test/app/manifests/v1`);
    proxy.requests.length = 0;
    process.env.XDG_CACHE_HOME = mkdtempSync(join(scratch, 'cache-'));
    process.env.NO_PROXY = `127.0.0.1:${port(plain) + 1}`;
    await pullImage(`${plain.host}/test/app:v1`);
    expect(proxy.requests).toContain(`GET http://${plain.host}/v2/test/app/manifests/v1`);
    proxy.requests.length = 0;
    process.env.XDG_CACHE_HOME = mkdtempSync(join(scratch, 'cache-'));
    process.env.no_proxy = `example.com,127.0.0.0/8`;
    expect((await pullImage(`${plain.host}/test/app:v1`)).manifestDigest).toBe(image.digest);
    expect(proxy.requests).toEqual([]);
  });

  it('downloads through HTTP_PROXY, and NO_PROXY sends it direct', async () => {
    process.env.HTTP_PROXY = `http://user:p%40ss@${proxy.url.slice(7)}`;
    const url = `http://files.test:${files.url.split(':')[2]}/tool`;
    const sha = createHash('sha256').update('a downloaded tool\n').digest('hex');
    expect((await download(url, sha, 'tool', 'check the URL')).endsWith(sha)).toBe(true);
    expect(proxy.requests).toEqual([`GET ${url} +auth`]);
    process.env.NO_PROXY = 'files.test';
    await expect(download(url, undefined, 'tool', 'check the URL')).rejects.toThrow(
      /^tool: cannot download http:\/\/files\.test:\d+\/tool \(.*ENOTFOUND.*\); check the URL$/,
    );
    expect(proxy.requests).toHaveLength(1);
  });

  it('falls back to ALL_PROXY when the scheme has no proxy of its own; a socks proxy is one clear line', async () => {
    process.env.ALL_PROXY = proxy.url;
    const url = `http://files.test:${files.url.split(':')[2]}/tool`;
    expect((await download(url, undefined, 'tool', 'check the URL')).length).toBeGreaterThan(0);
    expect(proxy.requests).toEqual([`GET ${url}`]);
    process.env.HTTP_PROXY = 'http://127.0.0.1:1';
    await expect(download(url, undefined, 'tool', 'check the URL')).rejects.toThrow(/ECONNREFUSED/);
    delete process.env.HTTP_PROXY;
    process.env.all_proxy = 'socks5://127.0.0.1:1080';
    await expect(download(url, undefined, 'tool', 'check the URL')).rejects.toThrow(
      'proxy socks5://127.0.0.1:1080 (from all_proxy): fledge-pure speaks to proxies over HTTP or HTTPS only; give an http:// or https:// proxy URL',
    );
  });

  it('pulls over HTTPS through a CONNECT tunnel (the CLI under HTTPS_PROXY), with Proxy-Authorization', async () => {
    const ref = `docker://registry.test:${port(secure)}/test/app:v1`;
    const env = {
      HTTPS_PROXY: `http://fledge:secret@${proxy.url.slice(7)}`,
      NODE_EXTRA_CA_CERTS: cert,
      DOCKER_CONFIG: process.env.DOCKER_CONFIG,
    };
    const r = await runCli(['inspect', ref], { cwd: scratch, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^file +0644 0:0 22 [0-9a-f]{64} \/etc\/hello$/m);
    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(new Set(proxy.requests)).toEqual(new Set([`CONNECT registry.test:${port(secure)} +auth`]));
    const direct = await runCli(['inspect', ref], { cwd: scratch, env: { ...env, NO_PROXY: 'registry.test' } });
    expect(direct.code).toBe(1);
    expect(direct.stderr).toMatch(
      /^fledge-pure: registry registry\.test:\d+: cannot reach https:\/\/registry\.test:\d+\/v2\/ \(.*ENOTFOUND.*\); check the host name/,
    );
  });
});

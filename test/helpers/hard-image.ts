// The multi-layer OCI image with the cases that break flatteners, built from real
// folders by GNU tar (as root: device nodes, owners, xattrs are real), written as an OCI
// layout with the given layer compression.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function put(root: string, path: string, data: string | Buffer = '', mode = 0o644): string {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data, { mode });
  return p;
}

function sh(cmd: string, cwd?: string): Buffer {
  return execFileSync('sh', ['-ec', cmd], { cwd, maxBuffer: 1 << 28 });
}

function tarOf(dir: string, extra = ''): Buffer {
  return sh(
    `tar --format=pax --xattrs --xattrs-include='*' --sparse --sort=name --numeric-owner --mtime=@1700000000 ${extra} -cf - .`,
    dir,
  );
}

/** The three layers as plain tars. */
export function hardLayers(): Buffer[] {
  const base = mkdtempSync(join(tmpdir(), 'fp-l1-'));
  put(base, 'etc/hostname', 'base\n');
  put(base, 'etc/remove-me', 'gone');
  put(base, 'var/cache/a', 'a');
  put(base, 'var/cache/b', 'b');
  put(base, 'opaque/old1', 'old');
  put(base, 'opaque/sub/old2', 'old');
  put(base, 'becomes-file/child', 'x');
  put(base, 'usr/bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  put(base, 'usr/bin/ping', 'ping-binary', 0o755);
  sh('setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 usr/bin/ping', base);
  put(base, 'etc/motd', 'motd');
  sh('setfattr -n user.comment -v "héllo=world" etc/motd', base);
  put(base, 'usr/bin/su', 'su', 0o755);
  put(base, 'usr/bin/env', '#!/image/env', 0o755); // a busybox applet name
  sh('chown 1000:1000 usr/bin/su && chmod 4755 usr/bin/su', base);
  put(base, 'home/nobody/file', 'n');
  sh('chown -R 65534:70000 home/nobody', base);
  sh(
    'mknod dev/tty0 c 4 0 2>/dev/null || (mkdir -p dev && mknod dev/tty0 c 4 0); mknod dev/loop9 b 7 9; mkfifo run-fifo',
    base,
  );
  put(base, `names/${'n'.repeat(180)}`, 'long');
  put(base, 'names/日本語-é', 'utf8');
  symlinkSync('/' + 'l'.repeat(299), join(base, 'names/long-link'));
  symlinkSync('usr/bin', join(base, 'bin'));
  sh('truncate -s 6M sparse && printf data | dd of=sparse bs=1 seek=3145728 conv=notrunc 2>/dev/null', base);
  put(base, 'empty', '');
  mkdirSync(join(base, 'big'));
  for (let i = 0; i < 5000; i++) writeFileSync(join(base, 'big', `f${i}`), String(i));

  const upper = mkdtempSync(join(tmpdir(), 'fp-l2-'));
  put(upper, 'etc/.wh.remove-me');
  put(upper, 'var/.wh.cache');
  put(upper, 'opaque/new', 'new');
  put(upper, 'opaque/.wh..wh..opq');
  put(upper, 'becomes-file', 'now a file');
  put(upper, 'etc/hostname', 'upper\n');
  // a hard link to a file of the layer below: tar both names, then drop the target
  put(upper, 'usr/bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  mkdirSync(join(upper, 'usr/sbin'));
  linkSync(join(upper, 'usr/bin/tool'), join(upper, 'usr/sbin/tool-link'));
  const l2 = join(upper, '..', `${upper.split('/').pop()}.tar`);
  writeFileSync(l2, tarOf(upper));
  sh(`tar --delete -f ${l2} ./usr/bin/tool`);

  const top = mkdtempSync(join(tmpdir(), 'fp-l3-'));
  put(top, 'var/cache/new', 'fresh'); // re-added after the whiteout: a and b stay gone
  return [tarOf(base), execFileSync('cat', [l2], { maxBuffer: 1 << 28 }), tarOf(top)];
}

/** Writes an OCI layout holding the image as `tag`; layers compressed with `compress`. */
export function writeHardLayout(
  dir: string,
  layers: Buffer[],
  compress: 'gzip' | 'zstd' | 'none',
  tag = 'hard',
  extraConfig: Record<string, unknown> = {},
): void {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const blob = (bytes: Buffer, mediaType: string) => {
    const digest = sha256(bytes);
    writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const suffix = { gzip: '+gzip', zstd: '+zstd', none: '' }[compress];
  const packed = layers.map((t) =>
    compress === 'gzip'
      ? execFileSync('gzip', ['-nc'], { input: t, maxBuffer: 1 << 28 })
      : compress === 'zstd'
        ? execFileSync('zstd', ['-qc'], { input: t, maxBuffer: 1 << 28 })
        : t,
  );
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/usr/bin/tool'] },
        rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
        ...extraConfig,
      }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: packed.map((p) => blob(p, `application/vnd.oci.image.layer.v1.tar${suffix}`)),
      }),
    ),
    'application/vnd.oci.image.manifest.v1+json',
  );
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
}

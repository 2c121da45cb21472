// Compression bombs and interrupted runs (issue 11). A layer that decompresses past its
// cap, or past the image's, or towards a full cache disk, stops with one line and leaves
// no partial file; SIGINT/SIGTERM sent to a real CLI process mid-download,
// mid-decompression or mid-write removes its temp files and exits 130/143.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineFailure, partialFiles, runMeasured } from './helpers/hostile.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const sh = (cmd: string) => execFileSync('sh', ['-ec', cmd], { maxBuffer: 1 << 30 });

/** A tar holding one file of `mib` MiB of zeros, compressed by `tool` (stdin → stdout), and its diff_id. */
function zeroLayer(mib: number, tool: string, name: string): { blob: Buffer; diffId: string } {
  const dir = tmp('fp-zeros-');
  sh(`truncate -s ${mib}M ${dir}/${name}`);
  const tar = `tar --sort=name --owner=0 --group=0 --mtime=@0 -C ${dir} -cf - ${name}`;
  return { blob: sh(`${tar} | ${tool}`), diffId: `sha256:${sh(`${tar} | sha256sum`).toString().slice(0, 64)}` };
}

/**
 * A bomb: a tar of one file of `mib` MiB of zeros as concatenated gzip members or zstd
 * frames (both formats allow it), made from one compressed 64 MiB member repeated, so
 * a GiB costs no time to make. Its diff_id is left wrong: the cap must stop it first.
 */
function zeroBomb(mib: number, tool: 'gzip -1 -n' | 'zstd -q -1 -c'): { blob: Buffer; diffId: string } {
  const dir = tmp('fp-bomb-');
  sh(`truncate -s ${mib}M ${dir}/zeros`);
  const header = sh(`tar --owner=0 --group=0 --mtime=@0 -C ${dir} -cf - zeros | head -c 512 || true`);
  const member = sh(`head -c 64M /dev/zero | ${tool}`);
  const parts = [
    execFileSync('sh', ['-c', tool], { input: header }),
    ...Array.from({ length: mib / 64 }, () => member),
    execFileSync('sh', ['-c', tool], { input: Buffer.alloc(1024) }),
  ];
  return { blob: Buffer.concat(parts), diffId: `sha256:${'0'.repeat(64)}` };
}

/** An OCI layout of these compressed layers (config names their diff_ids). */
function layoutOf(layers: { blob: Buffer; diffId: string }[]): string {
  const dir = tmp('fp-layout-');
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (bytes: Buffer, mediaType: string) => {
    writeFileSync(join(dir, 'blobs', 'sha256', sha256(bytes).slice(7)), bytes);
    return { mediaType, digest: sha256(bytes), size: bytes.length };
  };
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const ls = layers.map((l) => put(l.blob, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  const manifest = put(
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: ls }),
    ),
    'application/vnd.oci.image.manifest.v1+json',
  );
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'x' } }],
    }),
  );
  return dir;
}

/** Calls `fire` once a file matching `pattern` appears under `dir` (polled), else after `maxMs`. */
function whenFileAppears(dir: string, pattern: RegExp, fire: () => void, maxMs = 60_000): void {
  const started = Date.now();
  const t = setInterval(() => {
    const seen = existsSync(dir) && (readdirSync(dir, { recursive: true }) as string[]).some((n) => pattern.test(n));
    if (seen || Date.now() - started > maxMs) {
      clearInterval(t);
      fire();
    }
  }, 10);
}

describe('compression bombs', () => {
  it('a gzip layer past --max-layer-size stops there: one line, nothing left in the cache', async () => {
    const cache = tmp('fp-cache-');
    const layout = layoutOf([zeroBomb(512, 'gzip -1 -n')]);
    const out = tmp('fp-out-');
    const r = await runMeasured(
      ['export', `oci:${layout}:x`, '-o', join(out, 'x.tar'), '-q', '--max-layer-size', '64M'],
      { cwd: out, env: { XDG_CACHE_HOME: cache } },
    );
    expectOneLineFailure(
      r,
      1,
      /layer 1 of 1 .*: decompresses to more than 64 MiB \(a layer may have 64 MiB, --max-layer-size\); a compression bomb/,
      { ms: 30_000, rssMiB: 400 },
    );
    expect(partialFiles(cache, out)).toEqual([]);
    expect(readdirSync(join(cache, 'fledge-pure', 'layers', 'sha256'))).toEqual([]);
  });

  it('a zstd bomb is decompressed in bounded memory and stopped at the cap', async () => {
    const cache = tmp('fp-cache-');
    const layout = layoutOf([zeroBomb(1024, 'zstd -q -1 -c')]);
    const out = tmp('fp-out-');
    const r = await runMeasured(
      ['export', `oci:${layout}:x`, '-o', join(out, 'x.tar'), '-q', '--max-layer-size', '256M'],
      { cwd: out, env: { XDG_CACHE_HOME: cache } },
    );
    expectOneLineFailure(r, 1, /decompresses to more than 256 MiB/, { ms: 60_000, rssMiB: 400 });
    expect(partialFiles(cache, out)).toEqual([]);
  });

  it('layers together past --max-image-size stop at the layer that crosses it', async () => {
    const cache = tmp('fp-cache-');
    const layout = layoutOf([zeroLayer(40, 'gzip -1', 'a'), zeroLayer(40, 'gzip -1', 'b')]);
    const out = tmp('fp-out-');
    const r = await runMeasured(
      ['export', `oci:${layout}:x`, '-o', join(out, 'x.tar'), '-q', '--max-image-size', '64M'],
      { cwd: out, env: { XDG_CACHE_HOME: cache } },
    );
    expectOneLineFailure(
      r,
      1,
      /layer 2 of 2 .*: decompresses to more than 24 MiB \(the image's layers together may have 64 MiB, --max-image-size\)/,
      { ms: 30_000 },
    );
    expect(partialFiles(cache, out)).toEqual([]);
  });

  it('a cache disk running out of room (a 384 MiB tmpfs) stops before the last 256 MiB', async () => {
    const cache = tmp('fp-cache-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=384m', 'tmpfs', cache]);
    try {
      const layout = layoutOf([zeroBomb(512, 'gzip -1 -n')]);
      const out = tmp('fp-out-');
      const r = await runMeasured(['export', `oci:${layout}:x`, '-o', join(out, 'x.tar'), '-q'], {
        cwd: out,
        env: { XDG_CACHE_HOME: cache },
      });
      expectOneLineFailure(
        r,
        1,
        /only \d+(\.\d)? MiB free in the cache .*, less than the 256 MiB kept free; free some space, or point XDG_CACHE_HOME at a larger disk/,
        { ms: 30_000 },
      );
      expect(partialFiles(cache, out)).toEqual([]);
      const small = tmp('fp-cache-');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', small]);
      try {
        const s = await runMeasured(['export', `oci:${layout}:x`, '-o', join(out, 'x.tar'), '-q'], {
          cwd: out,
          env: { XDG_CACHE_HOME: small },
        });
        expectOneLineFailure(s, 1, /only 32 MiB free in the cache/);
      } finally {
        execFileSync('umount', [small]);
      }
    } finally {
      execFileSync('umount', [cache]);
    }
  });
});

describe('signals', () => {
  it('SIGTERM while a layer is decompressed into the cache: partial removed, exit 143', async () => {
    const cache = tmp('fp-cache-');
    const layout = layoutOf([zeroBomb(2048, 'gzip -1 -n')]);
    const out = tmp('fp-out-');
    const r = await runMeasured(['export', `oci:${layout}:x`, '-o', join(out, 'x.tar'), '-q'], {
      cwd: out,
      env: { XDG_CACHE_HOME: cache },
      onStart: (pid) =>
        whenFileAppears(join(cache, 'fledge-pure', 'layers'), /\.partial$/, () => process.kill(pid, 'SIGTERM')),
    });
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toBe('fledge-pure: interrupted (SIGTERM); its temporary files were removed\n');
    expect(partialFiles(cache, out)).toEqual([]);
    expect(readdirSync(join(cache, 'fledge-pure', 'layers', 'sha256'))).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
  });

  it('SIGINT while a blob downloads from a slow registry: partial removed, exit 130', async () => {
    const layer = Buffer.alloc(4 << 20, 7);
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    });
    const server = createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      if (req.url?.includes('/manifests/'))
        return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
      if (req.url?.endsWith(sha256(config))) return void res.writeHead(200).end(config);
      res.writeHead(200, { 'content-length': layer.length });
      let at = 0;
      const t = setInterval(() => {
        if (res.destroyed || at >= layer.length) return void (clearInterval(t), res.end());
        res.write(layer.subarray(at, (at += 4096)));
      }, 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const cache = tmp('fp-cache-');
      const out = tmp('fp-out-');
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runMeasured(['export', `docker://${host}/x:y`, '-o', join(out, 'x.tar'), '-q'], {
        cwd: out,
        env: { XDG_CACHE_HOME: cache },
        onStart: (pid) =>
          whenFileAppears(join(cache, 'fledge-pure', 'blobs'), /\.partial$/, () =>
            setTimeout(() => process.kill(pid, 'SIGINT'), 200),
          ),
      });
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toBe('fledge-pure: interrupted (SIGINT); its temporary files were removed\n');
      expect(partialFiles(cache, out)).toEqual([]);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('SIGINT while a squashfs image is written: .NAME.PID.partial removed, no artifact, exit 130', async () => {
    const cache = tmp('fp-cache-');
    const src = tmp('fp-rand-');
    sh(`head -c 48M /dev/urandom > ${src}/random`);
    const blob = sh(`tar --owner=0 --group=0 --mtime=@0 -C ${src} -cf - random | gzip -1`);
    const diffId = `sha256:${sh(`tar --owner=0 --group=0 --mtime=@0 -C ${src} -cf - random | sha256sum`).toString().slice(0, 64)}`;
    const layout = layoutOf([{ blob, diffId }]);
    const dir = tmp('fp-proj-');
    sh(`cp /bin/busybox ${dir}/kestrel`);
    writeFileSync(
      join(dir, 'fledge.toml'),
      `version = "1"\nstrategy = "oci_rootfs"\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n` +
        `[source]\nimage = "oci:${layout}:x"\n[filesystem]\ntype = "squashfs"\ncompression_level = 19\n`,
    );
    const r = await runMeasured(['build', '-q'], {
      cwd: dir,
      env: { XDG_CACHE_HOME: cache },
      onStart: (pid) =>
        whenFileAppears(dir, /^\..*\.partial$/, () => setTimeout(() => process.kill(pid, 'SIGINT'), 300)),
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toBe('fledge-pure: interrupted (SIGINT); its temporary files were removed\n');
    expect(readdirSync(dir).sort()).toEqual(['fledge.toml', 'kestrel']);
    expect(partialFiles(cache, dir)).toEqual([]);
  });

  // ext4, xfs and btrfs are written by synchronous code on a worker thread, so the main
  // thread's signal handlers run during the write: the write of a 512 MiB file (seconds)
  // is cut short — without that, the signal waited for the end and the image was left in
  // place. One layer and one cache for the three (the layer is decompressed once).
  describe('during a synchronous filesystem writer', () => {
    const cache = tmp('fp-cache-');
    let layout: string | undefined;
    const bigLayout = () => {
      const src = tmp('fp-big-');
      sh(`yes "a line of a large file, not zeros: every block is written" | head -c 512M > ${src}/big`);
      const tar = `tar --owner=0 --group=0 --mtime=@0 -C ${src} -cf - big`;
      return layoutOf([
        { blob: sh(`${tar} | gzip -1 -n`), diffId: `sha256:${sh(`${tar} | sha256sum`).toString().slice(0, 64)}` },
      ]);
    };
    for (const [type, signal, code] of [
      ['ext4', 'SIGINT', 130],
      ['xfs', 'SIGTERM', 143],
      ['btrfs', 'SIGINT', 130],
    ] as const) {
      it(`${signal} while a ${type} image is written: .NAME.PID.partial removed, no artifact, exit ${code}`, async () => {
        layout ??= bigLayout();
        const dir = tmp('fp-proj-');
        sh(`cp /bin/busybox ${dir}/kestrel`);
        writeFileSync(
          join(dir, 'fledge.toml'),
          `version = "1"\nstrategy = "oci_rootfs"\n[agent]\nsource_strategy = "local"\n` +
            `path = "./kestrel"\n[source]\nimage = "oci:${layout}:x"\n[filesystem]\ntype = "${type}"\n`,
        );
        const r = await runMeasured(['build', '-q'], {
          cwd: dir,
          env: { XDG_CACHE_HOME: cache },
          onStart: (pid) =>
            whenFileAppears(dir, /^\..*\.partial$/, () => setTimeout(() => process.kill(pid, signal), 200)),
        });
        expect(r.code, r.stderr).toBe(code);
        expect(r.stderr).toBe(`fledge-pure: interrupted (${signal}); its temporary files were removed\n`);
        expect(readdirSync(dir).sort()).toEqual(['fledge.toml', 'kestrel']);
        expect(partialFiles(cache, dir)).toEqual([]);
      }, 180_000);
    }

    // the initramfs (newc, then gzip or zstd) and the export tar stream from a generator
    // that gives the event loop a turn every 8 MiB (src/chunks.ts)
    for (const [compression, signal, code] of [
      ['gzip', 'SIGTERM', 143],
      ['zstd', 'SIGINT', 130],
    ] as const) {
      it(`${signal} while a ${compression} initramfs is written: .NAME.PID.partial removed, no artifact, exit ${code}`, async () => {
        layout ??= bigLayout();
        const dir = tmp('fp-proj-');
        sh(`cp /bin/busybox ${dir}/busybox`);
        const busyboxSha = createHash('sha256')
          .update(sh(`cat ${dir}/busybox`))
          .digest('hex');
        writeFileSync(
          join(dir, 'fledge.toml'),
          `version = "1"\nstrategy = "initramfs"\n[source]\nimage = "oci:${layout}:x"\n` +
            `busybox_url = "./busybox"\nbusybox_sha256 = "${busyboxSha}"\n[init]\nnone = true\n[mappings]\n"./busybox" = "/init"\n`,
        );
        const r = await runMeasured(['build', '-q', '--compression', compression], {
          cwd: dir,
          env: { XDG_CACHE_HOME: cache },
          onStart: (pid) =>
            whenFileAppears(dir, /^\..*\.partial$/, () => setTimeout(() => process.kill(pid, signal), 200)),
        });
        expect(r.code, r.stderr).toBe(code);
        expect(r.stderr).toBe(`fledge-pure: interrupted (${signal}); its temporary files were removed\n`);
        expect(readdirSync(dir).sort()).toEqual(['busybox', 'fledge.toml']);
        expect(partialFiles(cache, dir)).toEqual([]);
      }, 180_000);
    }

    it('SIGINT while export writes its tar: .NAME.PID.partial removed, no tar, exit 130', async () => {
      layout ??= bigLayout();
      const dir = tmp('fp-export-');
      const r = await runMeasured(['export', '-q', `oci:${layout}:x`, '-o', join(dir, 'rootfs.tar')], {
        cwd: dir,
        env: { XDG_CACHE_HOME: cache },
        onStart: (pid) =>
          whenFileAppears(dir, /^\..*\.partial$/, () => setTimeout(() => process.kill(pid, 'SIGINT'), 100)),
      });
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toBe('fledge-pure: interrupted (SIGINT); its temporary files were removed\n');
      expect(readdirSync(dir)).toEqual([]);
      expect(partialFiles(cache, dir)).toEqual([]);
    }, 180_000);
  });
});

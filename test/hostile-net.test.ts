// Hostile and broken registries and URLs (issue 11): real HTTP servers on 127.0.0.1 that
// accept and never answer, stall mid-body, dribble a manifest byte by byte, send endless
// manifests and error pages, or ask for an endless Retry-After. Every loop of theirs is
// bounded and stops by itself; the client must stop first, with one clear line, in
// bounded time and memory, leaving no partial file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE } from './helpers/cli.js';
import { pullImage } from '../src/oci/remote/registry.js';
import { blobFromUrls } from '../src/oci/remote/urls.js';
import { expectNoPartials, expectOneLineFailure, runMeasured } from './helpers/hostile.js';

interface Server {
  host: string;
  close(): Promise<void>;
}
const servers: Server[] = [];
// in-process pulls write into the run's cache, never ~/.cache
const savedCache = process.env.XDG_CACHE_HOME;
beforeAll(() => {
  process.env.XDG_CACHE_HOME = CACHE;
});
afterAll(async () => {
  for (const s of servers) await s.close();
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

/** An HTTP server on loopback; /v2/ answers 200 (an open registry), the rest goes to `handle`. */
async function registry(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-length': 2 }).end('{}');
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push({ host, close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) });
  return host;
}

/** Writes `chunk` every `everyMs`, at most `times` times, until the client goes away. */
function drip(res: ServerResponse, chunk: Buffer, everyMs: number, times: number): void {
  let n = 0;
  const t = setInterval(() => {
    if (res.destroyed || n++ >= times) {
      clearInterval(t);
      res.end();
      return;
    }
    res.write(chunk);
  }, everyMs);
  res.on('close', () => clearInterval(t));
}

/** Writes as fast as the client reads, up to `max` bytes. */
function flood(res: ServerResponse, max: number): void {
  const chunk = Buffer.alloc(64 << 10, 0x7b);
  let sent = 0;
  const pump = () => {
    while (sent < max && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const fast = { connectTimeoutMs: 400, idleTimeoutMs: 400, documentDeadlineMs: 1500, maxRetryAfterMs: 200 };
const cwd = () => mkdtempSync(join(tmpdir(), 'fp-net-'));

describe('registries that hang', () => {
  it('a server that accepts the connection and never answers: timed out, one line (CLI)', async () => {
    const sockets = new Set<Socket>();
    const tcp = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(tcp.address() as AddressInfo).port}`;
    servers.push({
      host,
      close: () => new Promise((r) => (sockets.forEach((s) => s.destroy()), tcp.close(() => r()))),
    });
    const dir = cwd();
    const r = await runMeasured(
      ['export', `docker://${host}/x:y`, '-o', join(dir, 'x.tar'), '-q', '--network-timeout', '0.3'],
      { cwd: dir },
    );
    expectOneLineFailure(
      r,
      1,
      new RegExp(
        `registry ${host}: http://${host}/v2/: no answer within 0.3 s; the server is down, overloaded or ` +
          `not a registry .* raise --network-timeout \\(3 tries\\)`,
      ),
      { ms: 15_000 },
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a manifest dribbled a byte at a time: stopped by the overall deadline (CLI)', async () => {
    const host = await registry((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST });
      drip(res, Buffer.from('{'), 100, 600);
    });
    const dir = cwd();
    const r = await runMeasured(
      ['export', `docker://${host}/x:y`, '-o', join(dir, 'x.tar'), '-q', '--network-timeout', '0.5'],
      { cwd: dir },
    );
    expectOneLineFailure(
      r,
      1,
      /manifest y: the answer did not complete within 2 s; the server is down, overloaded or not a registry/,
      { ms: 15_000 },
    );
  });

  it('a blob that stalls mid-body: idle timeout, resumed, then one line (no partial in the cache)', async () => {
    const layer = Buffer.alloc(1 << 20, 1);
    const digest = 'sha256:' + (await import('node:crypto')).createHash('sha256').update(layer).digest('hex');
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [digest] } }));
    const configDigest = 'sha256:' + (await import('node:crypto')).createHash('sha256').update(config).digest('hex');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: layer.length }],
    });
    const host = await registry((req, res) => {
      if (req.url?.includes('/manifests/')) return void res.writeHead(200, { 'content-type': MANIFEST }).end(manifest);
      if (req.url?.endsWith(configDigest)) return void res.writeHead(200).end(config);
      res.writeHead(200, { 'content-length': layer.length });
      res.write(layer.subarray(0, 1000)); // then nothing, until the client gives up
      setTimeout(() => res.destroy(), 10_000).unref();
    });
    await expect(pullImage(`docker://${host}/x:y`, { limits: fast })).rejects.toThrow(
      /blob sha256:[0-9a-f]{64} was cut after 1000 of 1048576 bytes 3 times \(no data for 0.4 s\)/,
    );
    expectNoPartials();
  });
});

describe('registries that send too much', () => {
  it('an endless manifest stops at 4 MiB, memory bounded (CLI)', async () => {
    const host = await registry((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST });
      flood(res, 1 << 30);
    });
    const dir = cwd();
    const r = await runMeasured(['export', `docker://${host}/x:y`, '-o', join(dir, 'x.tar'), '-q'], { cwd: dir });
    expectOneLineFailure(
      r,
      1,
      /manifest y is larger than 4 MiB, more than it can be; the registry is broken or hostile/,
      { ms: 20_000, rssMiB: 300 },
    );
  });

  it('a manifest announced larger than 4 MiB is not read at all', async () => {
    const host = await registry((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST, 'content-length': String(5 << 20) });
      res.write('{');
      setTimeout(() => res.destroy(), 5_000).unref();
    });
    await expect(pullImage(`docker://${host}/x:y`, { limits: fast })).rejects.toThrow(
      /manifest y is larger than 4 MiB/,
    );
  });

  it('endless 404 and 500 error pages are read only for their first KiB, memory bounded (CLI)', async () => {
    for (const status of [404, 500]) {
      const host = await registry((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '0' });
        res.write('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"');
        flood(res, 1 << 30);
      });
      const dir = cwd();
      const r = await runMeasured(['export', `docker://${host}/x:y`, '-o', join(dir, 'x.tar'), '-q'], { cwd: dir });
      expectOneLineFailure(
        r,
        1,
        status === 404
          ? /manifest y not found \(HTTP 404\); check the name and tag/
          : /manifest y failed \(HTTP 500\); try again later/,
        { ms: 30_000, rssMiB: 300 },
      );
    }
  });

  it('Retry-After is bounded: a registry asking for a day is retried after the cap', async () => {
    let asked = 0;
    const host = await registry((_req, res) => {
      asked++;
      res.writeHead(503, { 'retry-after': '86400' }).end();
    });
    const started = Date.now();
    await expect(pullImage(`docker://${host}/x:y`, { limits: fast })).rejects.toThrow(/manifest y failed \(HTTP 503\)/);
    expect(asked).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a foreign-layer url with an endless body stops at the descriptor size; one that never answers times out', async () => {
    const endless = await registry((_req, res) => {
      res.writeHead(200);
      flood(res, 1 << 30);
    });
    const silent = await registry(() => {});
    const desc = {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: `sha256:${'a'.repeat(64)}`,
      size: 1000,
      urls: [`http://${endless}/l`, `http://${silent}/l`],
    };
    const err = await blobFromUrls(desc, 'test', 'is not in the registry', { limits: fast }).catch((e: Error) => e);
    expect(String(err)).toMatch(
      /none of its urls served it \(http:\/\/127.0.0.1:\d+\/l: .*is larger than the 1000 bytes its descriptor says.*; http:\/\/127.0.0.1:\d+\/l: no answer within 0.4 s\)/,
    );
    expectNoPartials();
  });

  it('a docker daemon answering an endless error page: its first bytes only, memory bounded (CLI)', async () => {
    const host = await registry((req, res) => {
      if (req.url === '/_ping') return void res.writeHead(200, { 'api-version': '1.43' }).end('OK');
      res.writeHead(500);
      flood(res, 1 << 30);
    });
    const dir = cwd();
    const r = await runMeasured(['export', 'docker-daemon:x:y', '-o', join(dir, 'x.tar'), '-q'], {
      cwd: dir,
      env: { DOCKER_HOST: `tcp://${host}` },
    });
    expectOneLineFailure(
      r,
      1,
      /docker daemon at 127.0.0.1:\d+: saving docker.io\/library\/x:y answered HTTP 500: \{{200}$/,
      { ms: 20_000, rssMiB: 300 },
    );
    expectNoPartials(dir);
  });

  it('a busybox URL that never answers: --network-timeout reaches the download too (CLI)', async () => {
    const silent = await registry(() => {});
    const dir = cwd();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(dir, 'fledge.toml'),
      `version = "1"\nstrategy = "initramfs"\n[source]\nbusybox_url = "http://${silent}/busybox"\nbusybox_sha256 = "${'a'.repeat(64)}"\n[init]\nnone = true\n`,
    );
    const r = await runMeasured(['build', '-q', '--network-timeout', '0.3'], { cwd: dir });
    expectOneLineFailure(
      r,
      1,
      /busybox: cannot download http:\/\/127.0.0.1:\d+\/busybox \(no answer within 0.3 s\); fix \[source\] busybox_url/,
      { ms: 15_000 },
    );
    expect(readdirSync(dir)).toEqual(['fledge.toml']);
  });

  it('a blob larger than the cache disk can take stops while the disk keeps 256 MiB free', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'fp-cache-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=384m', 'tmpfs', cache]);
    const size = 400 << 20;
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'1'.repeat(64)}`, size }],
    });
    const host = await registry((req, res) => {
      if (req.url?.includes('/manifests/')) return void res.writeHead(200, { 'content-type': MANIFEST }).end(manifest);
      if (req.url?.endsWith(configDigest)) return void res.writeHead(200).end(config);
      res.writeHead(200, { 'content-length': size });
      flood(res, size);
    });
    try {
      const dir = cwd();
      const r = await runMeasured(['export', `docker://${host}/x:y`, '-o', join(dir, 'x.tar'), '-q'], {
        cwd: dir,
        env: { XDG_CACHE_HOME: cache },
      });
      expectOneLineFailure(
        r,
        1,
        /blob sha256:1{64}: only \d+(\.\d)? MiB free in the cache .*blobs\/sha256, less than the 256 MiB kept free/,
        { ms: 30_000 },
      );
      expectNoPartials(cache, dir);
    } finally {
      execFileSync('umount', [cache]);
    }
  });

  it('limit flags out of range are one usage line (exit 2)', async () => {
    const dir = cwd();
    for (const [flag, value, problem] of [
      ['--network-timeout', '-1', /--network-timeout -1: give seconds, more than 0 and at most 86400/],
      ['--network-timeout', 'soon', /--network-timeout NaN: give seconds/],
      ['--max-layer-size', '12Q', /--max-layer-size 12Q: write a size like 20G, 512M or a number of bytes/],
      ['--max-image-size', '0', /--max-image-size 0: write a size like 20G/],
    ] as [string, string, RegExp][]) {
      const r = await runMeasured(['export', 'oci:/nonexistent:x', '-o', join(dir, 'x.tar'), flag, value], {
        cwd: dir,
      });
      expectOneLineFailure(r, 2, problem, { ms: 15_000 });
    }
  });
});

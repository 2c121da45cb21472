// Images from a Docker daemon, over its socket (Docker Engine API): GET /_ping, then
// GET /images/{name}/get, which streams a `docker save` archive. The socket is
// DOCKER_HOST (unix:///path or tcp://host:port) or /var/run/docker.sock. The archive
// is kept in the cache under its sha256, to be read in place like any docker-archive.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CacheTemp, cachePaths } from '../../cache.js';
import { NetworkError } from '../../errors.js';
import { DEFAULT_LIMITS, seconds } from '../../limits.js';

/** Where the daemon listens, as http.request options; undefined when there is no daemon to ask. */
export function daemonEndpoint(env: NodeJS.ProcessEnv = process.env): RequestOptions | undefined {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
  return existsSync(socketPath) ? { socketPath } : undefined;
}

function get(endpoint: RequestOptions, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ ...endpoint, path, method: 'GET', headers: { Host: 'docker' } }, resolve);
    // the socket's idle timeout: a daemon that accepts and never answers, or stalls mid-save
    req.setTimeout(DEFAULT_LIMITS.idleTimeoutMs, () =>
      req.destroy(new Error(`no answer within ${seconds(DEFAULT_LIMITS.idleTimeoutMs)}`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/** The first 16 KiB of a small answer (a ping, an error); the rest is dropped, not read. */
async function text(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of res) {
    s += chunk;
    if (s.length > MAX_TEXT) {
      res.destroy();
      break;
    }
  }
  return s.slice(0, MAX_TEXT);
}

const MAX_TEXT = 16 * 1024;

/**
 * Saves `name` from the daemon into the cache and returns the archive's path, or
 * undefined when the daemon does not have the image (so the caller may try a registry).
 */
export async function saveFromDaemon(
  endpoint: RequestOptions,
  name: string,
  cacheDir: string,
): Promise<string | undefined> {
  const where = endpoint.socketPath ?? `${endpoint.host}:${endpoint.port}`;
  let ping;
  try {
    ping = await get(endpoint, '/_ping');
  } catch (e) {
    throw new NetworkError(
      `docker daemon at ${where}: ${(e as Error).message}; start it, set DOCKER_HOST, or name a registry image with docker://`,
      { cause: e },
    );
  }
  await text(ping);
  const version = ping.headers['api-version'];
  const prefix = typeof version === 'string' && /^\d+\.\d+$/.test(version) ? `/v${version}` : '';
  const res = await get(endpoint, `${prefix}/images/${encodeURIComponent(name)}/get`);
  if (res.statusCode === 404) {
    await text(res);
    return undefined;
  }
  if (res.statusCode !== 200)
    throw new NetworkError(
      `docker daemon at ${where}: saving ${name} answered HTTP ${res.statusCode}: ${(await text(res)).trim().slice(0, 200)}`,
    );
  // named by its sha256 once it is all there
  const temp = new CacheTemp(join(cachePaths.daemon(cacheDir), 'saving'));
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(res, hashing, createWriteStream(temp.tmp));
  } catch (e) {
    temp.drop();
    throw new NetworkError(`docker daemon at ${where}: saving ${name} broke off: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return temp.commit(undefined, join(cachePaths.daemon(cacheDir), `${hash.digest('hex')}.tar`));
}

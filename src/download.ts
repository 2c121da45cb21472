// Downloads with a content-addressed cache. A file whose sha256 is known is looked up
// in the cache first (a second build needs no network) and is verified before it
// enters the cache; an unpinned one is fetched every time. HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY apply.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CacheTemp, cachePaths, defaultCacheDir } from './cache.js';
import { BuildError, NetworkError, UsageError } from './errors.js';
import { type Limits, formatBytes, limitsWith } from './limits.js';
import { readBody, release, timedFetch } from './net.js';
import { proxyAgent } from './proxy.js';

/** The shared blob cache's file for a sha256 (hex), the same place registry blobs go. */
function blobPath(sha256: string, cacheDir: string): string {
  return join(cachePaths.blobs(cacheDir), sha256);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The file a file:// URL or a plain path names; undefined for http(s). */
function localPath(url: string): string | undefined {
  if (/^https?:\/\//.test(url)) return undefined;
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

function readLocal(path: string, what: string, hint: string, max: number): Buffer {
  if (!existsSync(path)) throw new BuildError(`${what}: ${path} does not exist; ${hint}`);
  const st = statSync(path);
  if (!st.isFile()) throw new BuildError(`${what}: ${path} is not a regular file; ${hint}`);
  if (st.size > max)
    throw new BuildError(
      `${what}: ${path} is ${formatBytes(st.size)}, more than the ${formatBytes(max)} allowed; ${hint}`,
    );
  return readFileSync(path);
}

async function fetchBytes(
  url: string,
  what: string,
  hint: string,
  limits: Limits,
  max = limits.maxDownloadBytes,
): Promise<Buffer> {
  const path = localPath(url);
  if (path !== undefined) return readLocal(path, what, hint, max);
  const tooLarge = (cap: string) =>
    new NetworkError(`${what}: ${url} is larger than ${cap}, more than allowed; ${hint}`);
  try {
    const res = await timedFetch(url, { redirect: 'follow', agent: (u) => proxyAgent(u) }, limits);
    if (!res.ok) {
      release(res);
      throw new NetworkError(`${what}: ${url} answered HTTP ${res.status}; ${hint}`);
    }
    return await readBody(res, max, tooLarge);
  } catch (e) {
    // ours pass as they are; a proxy setting's UsageError is named as this download's failure
    if (e instanceof BuildError && !(e instanceof UsageError)) throw e;
    throw new NetworkError(`${what}: cannot download ${url} (${(e as Error).message}); ${hint}`, { cause: e });
  }
}

/**
 * The path of a local copy of url (http, https, file:// or a plain path). With `sha256` the bytes must match it (else a
 * BuildError naming both digests); without, the caller has accepted an unchecked file.
 */
export async function download(
  url: string,
  sha256: string | undefined,
  what: string,
  hint: string,
  limits: Partial<Limits> = {},
  cacheDir = defaultCacheDir(),
): Promise<string> {
  const local = localPath(url);
  if (local === undefined && sha256 && existsSync(blobPath(sha256, cacheDir))) return blobPath(sha256, cacheDir);
  const bytes = await fetchBytes(url, what, hint, limitsWith(limits));
  const got = sha256Hex(bytes);
  if (sha256 && got !== sha256) {
    throw new BuildError(
      `${what}: ${url} has sha256 ${got}, expected ${sha256}; fix the checksum in fledge.toml or the URL`,
    );
  }
  if (local !== undefined) return local;
  const path = blobPath(got, cacheDir);
  if (existsSync(path)) return path;
  const temp = new CacheTemp(path);
  try {
    writeFileSync(temp.tmp, bytes);
  } catch (e) {
    temp.drop();
    throw e;
  }
  return temp.commit(); // verified above
}

/** GET a JSON document (an API answer). */
export async function fetchJson(
  url: string,
  what: string,
  hint: string,
  limits: Partial<Limits> = {},
): Promise<unknown> {
  const caps = limitsWith(limits);
  const bytes = await fetchBytes(url, what, hint, caps, caps.maxJsonBytes);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new NetworkError(`${what}: ${url} did not answer JSON; ${hint}`);
  }
}

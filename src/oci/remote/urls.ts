// The one resolver, for registries and OCI layouts alike, of blobs the image's own store
// does not hold: foreign (Docker rootfs.foreign.diff.tar.gzip) and non-distributable
// (OCI layer.nondistributable.*) layers name where they live in their descriptor's
// `urls` (image-spec descriptor.md). Each URL is tried in order, without the registry's
// credentials, until one serves the blob with the descriptor's size and digest; it then
// enters the blob cache like any other, and a later build finds it there.
import type { Agent } from 'node:http';
import { NetworkError } from '../../errors.js';
import { type Limits, limitsWith } from '../../limits.js';
import { bodyChunks, release, timedFetch } from '../../net.js';
import { proxyAgent } from '../../proxy.js';
import { BlobWriter, cachedBlob, defaultCacheDir } from '../../cache.js';
import type { Descriptor } from '../manifest.js';

export interface UrlOptions {
  agent?: Agent;
  log?: (line: string) => void;
  fix?: string;
  limits?: Partial<Limits>;
  /** the cache folder (src/cache.ts); default defaultCacheDir() */
  cacheDir?: string;
}

/** The blob fetched from the first of desc.urls that serves it; `why` says why the image's own store did not, `o.fix` how else to get it. */
export async function blobFromUrls(desc: Descriptor, where: string, why: string, o: UrlOptions = {}): Promise<string> {
  const failures: string[] = [];
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const limits = limitsWith(o.limits);
  for (const url of desc.urls ?? []) {
    o.log?.(`fetching ${desc.digest.slice(0, 19)} (${desc.size} bytes) from ${url}`);
    const w = await BlobWriter.open(desc.digest, desc.size, `${where}: ${url}`, cacheDir, limits.minFreeBytes);
    try {
      const res = await timedFetch(
        url,
        { redirect: 'follow', compress: false, agent: o.agent ?? ((u) => proxyAgent(u)) },
        limits,
      );
      if (!res.ok) {
        failures.push(`${url}: HTTP ${res.status}`);
        release(res);
        continue;
      }
      for await (const chunk of bodyChunks(res)) await w.write(chunk);
      return await w.commit();
    } catch (e) {
      failures.push(`${url}: ${(e as Error).message.replace(`${where}: ${url}: `, '')}`);
    } finally {
      await w.abort();
    }
  }
  throw new NetworkError(
    `${where}: blob ${desc.digest} ${why}, and none of its urls served it ` +
      `(${failures.join('; ') || 'it lists none'}); make one of its urls reachable, or ${o.fix ?? 'push the blob to the registry'}`,
  );
}

/** A blob the image's store lacks: from the blob cache, else from the first of desc.urls that serves it (see blobFromUrls). */
export async function foreignBlob(desc: Descriptor, where: string, why: string, o: UrlOptions = {}): Promise<string> {
  return (
    cachedBlob(desc.digest, desc.size, o.cacheDir ?? defaultCacheDir()) ?? (await blobFromUrls(desc, where, why, o))
  );
}

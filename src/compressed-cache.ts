// Compressed output cached by content (cache folder `compressed/`, src/cache.ts): squashfs
// blocks, deflate chunks of a cpio.gz, qcow2 clusters. An entry's key is the sha256 of
// what decides its bytes — what it is (a tag naming the codec and its settings: level,
// window, block size), the code that computes them (codeVersion: the codec's modules and
// WebAssembly binaries, hashed), a dictionary if any, and the raw bytes — so a hit is the
// bytes a cold compression gives. An entry file is the sha256 of its payload, then the
// payload; an entry whose hash does not match (a torn or altered file) is ignored and
// written again. Entries enter as every cache file does (CacheTemp: a temp file renamed
// into place). The folder is bounded: trim() removes the least recently used entries
// (a hit touches its file's mtime) until it holds at most `maxBytes`.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CacheTemp, cachePaths } from './cache.js';

/** Default bound of the folder: a few builds' worth of compressed images. */
export const DEFAULT_COMPRESSED_CACHE_BYTES = 1 << 30;

const HASH = 32;

export class CompressedCache {
  /** entries found (and verified) / looked for and not found or corrupt / corrupt */
  hits = 0;
  misses = 0;
  corrupt = 0;
  private readonly dir: string;

  constructor(
    root: string,
    readonly maxBytes = DEFAULT_COMPRESSED_CACHE_BYTES,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new Error(`compressed cache: size bound ${maxBytes}: give a whole number of bytes ≥ 0`);
    this.dir = cachePaths.compressed(root);
  }

  /** The key of one result: sha256 of the parts, each preceded by its length. */
  static key(parts: (string | Uint8Array)[]): string {
    const h = createHash('sha256');
    const len = Buffer.alloc(8);
    for (const p of parts) {
      const bytes = typeof p === 'string' ? Buffer.from(p) : p;
      len.writeBigUInt64LE(BigInt(bytes.length));
      h.update(len).update(bytes);
    }
    return h.digest('hex');
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), key);
  }

  /** The payload stored under `key`, if there and intact. */
  get(key: string): Uint8Array | undefined {
    const path = this.path(key);
    let file: Buffer;
    try {
      file = readFileSync(path);
    } catch {
      this.misses++;
      return undefined;
    }
    const payload = file.subarray(HASH);
    if (file.length < HASH || !createHash('sha256').update(payload).digest().equals(file.subarray(0, HASH))) {
      this.corrupt++;
      this.misses++;
      return undefined;
    }
    this.hits++;
    const now = Date.now() / 1000;
    utimesSync(path, now, now); // least recently used goes first (trim)
    return payload;
  }

  /** Stores `payload` under `key` (replacing a corrupt entry). */
  put(key: string, payload: Uint8Array): void {
    const temp = new CacheTemp(this.path(key));
    try {
      writeFileSync(temp.tmp, Buffer.concat([createHash('sha256').update(payload).digest(), payload]));
      temp.commit();
    } finally {
      temp.drop();
    }
  }

  /** Removes the least recently used entries until the folder holds at most maxBytes. */
  trim(): void {
    if (!existsSync(this.dir)) return;
    const entries: { path: string; size: number; used: number }[] = [];
    for (const sub of readdirSync(this.dir)) {
      for (const name of readdirSync(join(this.dir, sub))) {
        const path = join(this.dir, sub, name);
        const st = statSync(path, { throwIfNoEntry: false });
        if (st?.isFile()) entries.push({ path, size: st.size, used: st.mtimeMs });
      }
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    entries.sort((a, b) => a.used - b.used || (a.path < b.path ? -1 : 1));
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      rmSync(e.path, { force: true });
      total -= e.size;
    }
  }
}

const versions = new Map<string, string>();

/**
 * The version of the code that computes a codec's bytes: the sha256 of its files
 * (modules as URLs beside `from`; a .js that is not there is taken as its .ts source).
 */
export function codeVersion(from: string, files: string[]): string {
  const id = `${from}\0${files.join('\0')}`;
  let v = versions.get(id);
  if (!v) {
    const h = createHash('sha256');
    for (const f of files) {
      const url = new URL(f, from);
      const path = existsSync(url) ? url : new URL(f.replace(/\.js$/, '.ts'), from);
      h.update(readFileSync(path));
    }
    v = h.digest('hex');
    versions.set(id, v);
  }
  return v;
}

// The caps and timeouts that keep a hostile or broken source from hanging a build or
// filling memory or disk. Each has a generous default; the library takes any of them as
// options (the tests pass short ones), the CLI the timeouts and the size caps as flags.
// Nothing here reads the environment.

export interface Limits {
  /** ms from sending a request to its response headers (a server that accepts and never answers) */
  connectTimeoutMs: number;
  /** ms without a byte of a response body (a server that stalls mid-body) */
  idleTimeoutMs: number;
  /** ms for a whole small document: the /v2/ ping, a token, a manifest or index (a server that dribbles) */
  documentDeadlineMs: number;
  /** bytes of a manifest or index held in memory: 4 MiB, containerd's limit (remotes/docker/fetcher.go) */
  maxManifestBytes: number;
  /** bytes of an image config held in memory */
  maxConfigBytes: number;
  /** bytes of a JSON answer (token, GitHub release) held in memory */
  maxJsonBytes: number;
  /** bytes of an error page read for its message */
  maxErrorBodyBytes: number;
  /** bytes of a download held in memory (busybox, the agent) */
  maxDownloadBytes: number;
  /** longest wait a Retry-After header can ask for */
  maxRetryAfterMs: number;
  /** bytes one layer may decompress to (a gzip bomb) */
  maxLayerBytes: number;
  /** bytes all the layers of an image may decompress to together */
  maxImageBytes: number;
  /** bytes that must stay free on the cache's filesystem while layers are decompressed */
  minFreeBytes: number;
}

const MiB = 1 << 20;
const GiB = 1024 * MiB;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  documentDeadlineMs: 120_000, // 4 × the idle timeout, as --network-timeout sets it
  maxManifestBytes: 4 * MiB,
  maxConfigBytes: 16 * MiB,
  maxJsonBytes: 4 * MiB,
  maxErrorBodyBytes: 16 * 1024,
  maxDownloadBytes: 256 * MiB,
  maxRetryAfterMs: 30_000,
  maxLayerBytes: 64 * GiB,
  maxImageBytes: 256 * GiB,
  minFreeBytes: 256 * MiB,
});

/** The defaults with `given` over them. */
export function limitsWith(given: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(given) as [keyof Limits, number | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

/** "20G", "512M", "1024" (bytes) → bytes; undefined when the text is no size. */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: MiB, G: GiB, T: 1024 * GiB }[m[2].toUpperCase()]!;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** 1536 → "1.5 KiB", for messages. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return i === 0 ? `${n} bytes` : `${Math.round(v * 10) / 10} ${units[i]}`;
}

export const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

// A registry client (distribution-spec): ping /v2/, authenticate (anonymous, Basic, or a
// Bearer token got with Basic credentials or, for an identity token, by the OAuth2
// refresh_token POST), resolve a reference to one image manifest for a platform, and
// fetch its config and layers into the verified blob cache. A registry's /v2/ challenge
// is asked once per process; a later 401 without a challenge of its own gets a fresh
// token under the first one. Redirects are followed by hand so that Authorization never
// goes to another host; 408/429/5xx are retried (3 tries, backoff, Retry-After); a cut
// blob download resumes with Range; a blob the registry lacks comes from its descriptor's
// urls (foreign layers).
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import type { Response } from 'node-fetch';
import { BuildError, ImageError, NetworkError, UsageError } from '../../errors.js';
import { type Limits, formatBytes, limitsWith } from '../../limits.js';
import { NetTimeout, bodyChunks, readBody, release, timedFetch } from '../../net.js';
import { proxyAgent, proxyFor } from '../../proxy.js';
import { BlobWriter, cachedBlob, defaultCacheDir } from '../../cache.js';
import { findCredentials, type Credentials } from './credentials.js';
import { digestOf, sha256Digest } from '../digest.js';
import { foreignBlob } from './urls.js';
import {
  MANIFEST_ACCEPT,
  formatPlatform,
  kindOf,
  offeredPlatforms,
  parsePlatform,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from '../manifest.js';
import { checkIndex, checkManifest, parseDocument } from '../shape.js';
import { apiHost, formatReference, parseSource, type ImageRef } from '../reference.js';

export interface PullOptions {
  /** `os/arch[/variant]` or a Platform; default linux/amd64 */
  platform?: string | Platform;
  /** registries (host[:port] or host) spoken to over plain HTTP besides loopback ones */
  insecure?: string[];
  /** progress lines */
  log?: (line: string) => void;
  /** an http(s).Agent for every request; default: HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment */
  agent?: Agent;
  /** layers fetched at a time (default 3) */
  concurrency?: number;
  /** timeouts and caps (src/limits.ts); defaults for those not given */
  limits?: Partial<Limits>;
  /** the cache folder (src/cache.ts); default defaultCacheDir() */
  cacheDir?: string;
}

export interface PulledLayer {
  digest: string;
  mediaType: string;
  size: number;
  /** the verified blob in the cache */
  path: string;
}

export interface PulledImage {
  /** the canonical reference pulled */
  reference: string;
  /** digest of the image manifest chosen (for an index: the platform's entry) */
  manifestDigest: string;
  manifest: ImageManifest;
  config: Buffer;
  configDigest: string;
  layers: PulledLayer[];
  platform: Platform;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRIES = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SendInit {
  method?: string;
  body?: string;
  /** a small document: the overall deadline applies */
  document?: boolean;
}

/** Plain HTTP for localhost, 127.0.0.0/8, ::1 and the hosts named insecure. */
export function isInsecure(registry: string, insecure: string[] = []): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  return insecure.includes(registry) || insecure.includes(host);
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[p[1].toLowerCase()] = p[2] ?? p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** Delay before try number `attempt` (1-based retry count), honoring Retry-After up to `max` ms. */
function retryDelay(res: Response | undefined, attempt: number, max: number): number {
  const after = res?.headers.get('retry-after');
  if (after) {
    const secs = /^\d+$/.test(after) ? Number(after) : (Date.parse(after) - Date.now()) / 1000;
    if (Number.isFinite(secs)) return Math.min(Math.max(secs * 1000, 0), max);
  }
  return 250 * 2 ** attempt;
}

/** The body is not wanted: abort it (an endless one is never read). */
function discard(res: Response): void {
  release(res);
}

/** The first error of a registry's JSON error body (its first `max` bytes), e.g. "MANIFEST_UNKNOWN: manifest unknown". */
async function errorDetail(res: Response, max: number): Promise<string> {
  try {
    const body = JSON.parse((await readBody(res, max)).toString('utf8')) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const e = body.errors?.[0];
    const text = e ? [e.code, e.message].filter((x) => typeof x === 'string' && x).join(': ') : '';
    return text ? ` (${text.slice(0, 300).replace(/[\x00-\x1f\x7f]/g, ' ')})` : '';
  } catch {
    return '';
  }
}

/** "no answer within 30 s" → what to do about it. */
function timeoutHint(e: NetTimeout): string {
  return `${e.message}; the server is down, overloaded or not a registry — try again later, or raise --network-timeout`;
}

/** Each registry's /v2/ challenge (by base URL), asked once per process and reused. */
const challenges = new Map<string, Promise<Challenge | undefined>>();

export class RegistryClient {
  readonly base: string;
  private challenge: Challenge | undefined;
  private creds = new Map<string, Credentials | undefined>();
  private tokens = new Map<string, { token: string; expires: number }>();
  private readonly limits: Limits;
  private readonly cacheDir: string;

  constructor(
    readonly registry: string,
    private readonly opts: PullOptions = {},
  ) {
    this.limits = limitsWith(opts.limits);
    this.cacheDir = opts.cacheDir ?? defaultCacheDir();
    this.base = `${isInsecure(registry, opts.insecure) ? 'http' : 'https'}://${apiHost(registry)}`;
  }

  /** The credentials for a repository: auth files may key them by namespace. */
  private credentials(repo: string): Credentials | undefined {
    if (!this.creds.has(repo)) this.creds.set(repo, findCredentials(this.registry, repo));
    return this.creds.get(repo);
  }

  private loginHint(repo: string): string {
    const c = this.credentials(repo);
    if (c) return `the credentials from ${c.source} were refused: log in again or fix them`;
    return `log in: add credentials for ${this.registry} to ~/.docker/config.json (or $DOCKER_CONFIG/config.json, $REGISTRY_AUTH_FILE)`;
  }

  /** One request with redirects followed by hand (Authorization only to the first host) and retries. */
  async send(url: string, headers: Record<string, string>, where: string, init: SendInit = {}): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await this.follow(url, headers, init);
      } catch (e) {
        if (e instanceof UsageError) throw e;
        if (attempt >= TRIES && e instanceof NetTimeout)
          throw new NetworkError(`${where}: ${url}: ${timeoutHint(e)} (${TRIES} tries)`, { cause: e });
        if (attempt >= TRIES) {
          const proxy = this.opts.agent ? undefined : proxyFor(new URL(url));
          const untrusted = /certificate|self[- ]signed|CERT_/i.test(String(e));
          const hint = untrusted
            ? `trust its CA with NODE_EXTRA_CA_CERTS=FILE (a PEM bundle)${proxy ? `, the proxy ${proxy.host}'s too` : ''}, or check the host name`
            : this.base.startsWith('https') && /wrong version number|EPROTO/i.test(String(e))
              ? 'it may serve plain HTTP: name it as insecure'
              : proxy
                ? `check the proxy ${proxy.host} (from the environment), or list the host in NO_PROXY`
                : 'check the host name, the port and your network';
          throw new NetworkError(`${where}: cannot reach ${url} (${(e as Error).message}); ${hint}`, { cause: e });
        }
      }
      if (res && !RETRY_STATUS.has(res.status)) return res;
      if (res && attempt >= TRIES) return res;
      const wait = retryDelay(res, attempt, this.limits.maxRetryAfterMs);
      if (res) discard(res);
      this.opts.log?.(
        `${where}: ${res ? `HTTP ${res.status}` : 'network error'}, retrying in ${Math.round(wait / 100) / 10} s`,
      );
      await sleep(wait);
    }
  }

  private async follow(url: string, headers: Record<string, string>, init: SendInit): Promise<Response> {
    const origin = new URL(url).host;
    let current = url;
    for (let hop = 0; hop < 10; hop++) {
      const h = { 'User-Agent': 'fledge-pure', ...headers };
      if (new URL(current).host !== origin) delete (h as Record<string, string>).Authorization;
      const deadline = init.document ? this.limits.documentDeadlineMs : undefined;
      const request = {
        headers: h,
        redirect: 'manual' as const,
        compress: false,
        agent: this.opts.agent ?? proxyAgent(current),
        method: init.method,
        body: init.body,
      };
      const res = await timedFetch(current, request, this.limits, deadline);
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
      discard(res);
      current = new URL(location, current).toString();
      if (res.status === 303) init = {};
    }
    throw new Error('too many redirects');
  }

  get maxLayer(): number {
    return this.limits.maxLayerBytes;
  }

  get maxConfig(): number {
    return this.limits.maxConfigBytes;
  }

  /** The registry's challenge from GET /v2/ (undefined when it is open), asked once per process. */
  async ping(): Promise<void> {
    let asked = challenges.get(this.base);
    if (!asked) {
      asked = this.askChallenge();
      challenges.set(this.base, asked);
      asked.catch(() => challenges.delete(this.base));
    }
    this.challenge = await asked;
  }

  private async askChallenge(): Promise<Challenge | undefined> {
    const where = `registry ${this.registry}`;
    const res = await this.send(`${this.base}/v2/`, {}, where, { document: true });
    discard(res);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      if (!challenge)
        throw new NetworkError(
          `${where}: /v2/ answered 401 without WWW-Authenticate; the registry is misconfigured, or not a registry`,
        );
      return challenge;
    }
    if (!res.ok)
      throw new NetworkError(
        `${where}: ${this.base}/v2/ answered HTTP ${res.status}; check that ${this.registry} is an OCI registry`,
      );
    return undefined;
  }

  private async token(repo: string, scope: string, where: string, fresh = false): Promise<string> {
    const cached = this.tokens.get(scope);
    if (!fresh && cached && cached.expires > Date.now()) return cached.token;
    const { realm, service } = this.challenge!.params;
    if (!realm) throw new NetworkError(`${where}: the Bearer challenge names no realm; the registry is misconfigured`);
    const creds = this.credentials(repo);
    let res: Response;
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'fledge-pure',
        scope,
      });
      if (service) form.set('service', service);
      res = await this.send(realm, { 'Content-Type': 'application/x-www-form-urlencoded' }, where, {
        method: 'POST',
        body: form.toString(),
        document: true,
      });
    } else {
      const u = new URL(realm);
      if (service) u.searchParams.set('service', service);
      u.searchParams.set('scope', scope);
      const headers: Record<string, string> = {};
      if (creds)
        headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      res = await this.send(u.toString(), headers, where, { document: true });
    }
    if (res.status === 401 || res.status === 403)
      throw new NetworkError(
        `${where}: the token server ${realm} refused ${scope} (HTTP ${res.status}); ${this.loginHint(repo)}`,
      );
    if (!res.ok)
      throw new NetworkError(
        `${where}: the token server ${realm} answered HTTP ${res.status}${await errorDetail(res, this.limits.maxErrorBodyBytes)}; try again later`,
      );
    const body = await this.tokenAnswer(res, realm, where);
    const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof token !== 'string' || !token)
      throw new NetworkError(
        `${where}: the token server ${realm} answered no token; the registry's auth is misconfigured`,
      );
    const life = typeof body.expires_in === 'number' && body.expires_in > 0 ? Math.min(body.expires_in, 86_400) : 60;
    this.tokens.set(scope, { token, expires: Date.now() + Math.max(life - 10, 1) * 1000 });
    return token;
  }

  private async tokenAnswer(
    res: Response,
    realm: string,
    where: string,
  ): Promise<{ token?: unknown; access_token?: unknown; expires_in?: unknown }> {
    const bytes = await this.readDocument(res, `the token server ${realm}'s answer`, where, this.limits.maxJsonBytes);
    try {
      const body: unknown = JSON.parse(bytes.toString('utf8'));
      return typeof body === 'object' && body !== null ? body : {};
    } catch {
      return {};
    }
  }

  /** A small body read whole (at most `max` bytes) within the document deadline. */
  private async readDocument(res: Response, what: string, where: string, max: number): Promise<Buffer> {
    try {
      return await readBody(
        res,
        max,
        (cap) =>
          new NetworkError(
            `${where}: ${what} is larger than ${cap}, more than it can be; the registry is broken or hostile`,
          ),
      );
    } catch (e) {
      if (e instanceof NetTimeout) throw new NetworkError(`${where}: ${what}: ${timeoutHint(e)}`, { cause: e });
      throw e;
    }
  }

  private async authorization(repo: string, scope: string, where: string, fresh: boolean): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'bearer') return `Bearer ${await this.token(repo, scope, where, fresh)}`;
    if (this.challenge.scheme === 'basic') {
      const c = this.credentials(repo);
      return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
    }
    throw new NetworkError(
      `${where}: the registry asks for ${this.challenge.scheme} authentication, which fledge-pure does not speak; use a registry with Basic or Bearer auth`,
    );
  }

  /** GET /v2/<repo>/<path> with auth; a 401 gets one retry with a fresh token (and the scope it names). */
  async get(
    repo: string,
    path: string,
    headers: Record<string, string>,
    where: string,
    document = false,
  ): Promise<Response> {
    await this.ping();
    let scope = `repository:${repo}:pull`;
    const url = `${this.base}/v2/${repo}/${path}`;
    for (let round = 0; ; round++) {
      const auth = await this.authorization(repo, scope, where, round > 0);
      const res = await this.send(url, auth ? { ...headers, Authorization: auth } : headers, where, { document });
      if (res.status !== 401 || round > 0 || this.challenge?.scheme !== 'bearer') return res;
      const again = parseChallenge(res.headers.get('www-authenticate'));
      if (again?.params.scope) scope = again.params.scope;
      discard(res);
    }
  }

  async statusError(res: Response, repo: string, what: string, where: string, notFound: string): Promise<BuildError> {
    const detail = await errorDetail(res, this.limits.maxErrorBodyBytes);
    const s = res.status;
    if (s === 401 || s === 403)
      return new NetworkError(`${where}: ${what} refused (HTTP ${s})${detail}; ${this.loginHint(repo)}`);
    if (s === 404) return new NetworkError(`${where}: ${what} not found (HTTP 404)${detail}; ${notFound}`);
    if (s === 429)
      return new NetworkError(
        `${where}: ${what}: too many requests (HTTP 429)${detail}; wait and try again, or log in for a higher rate limit`,
      );
    return new NetworkError(`${where}: ${what} failed (HTTP ${s})${detail}; try again later`);
  }

  /** A manifest by tag or digest: its bytes, kind and sha256 digest (checked when asked by digest). */
  async manifest(
    repo: string,
    reference: string,
  ): Promise<{ bytes: Buffer; kind: 'index' | 'image'; digest: string; json: unknown }> {
    const where = `${this.registry}/${repo}`;
    const byDigest = reference.includes(':');
    const res = await this.get(repo, `manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, where, true);
    const what = `manifest ${reference}`;
    if (!res.ok)
      throw await this.statusError(res, repo, what, where, byDigest ? 'check the digest' : 'check the name and tag');
    const bytes = await this.readDocument(res, what, where, this.limits.maxManifestBytes);
    const digest = byDigest ? digestOf(bytes, reference, where) : sha256Digest(bytes);
    if (byDigest && digest !== reference) {
      throw new NetworkError(
        `${where}: manifest ${reference} arrived with digest ${digest}; the registry or a proxy altered it — try again or check the digest`,
      );
    }
    const parsed = parseDocument(bytes, where, what);
    const json = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
      mediaType?: unknown;
      schemaVersion?: unknown;
    };
    if (typeof json.mediaType !== 'string' && json.mediaType !== undefined)
      throw new NetworkError(`${where}: ${what}: mediaType must be a string; the registry is broken`);
    if (json.schemaVersion === 1)
      throw new ImageError(
        `${where}: ${what} is a Docker schema 1 manifest, which is not supported; push the image again with a current docker or skopeo`,
      );
    const byType = kindOf(res.headers.get('content-type'));
    const byBody = kindOf(json.mediaType);
    const kind = byType ?? byBody;
    if (!kind)
      throw new ImageError(
        `${where}: ${what} has media type ${res.headers.get('content-type') ?? json.mediaType ?? 'unknown'}, ` +
          'not an image manifest or index; check that the reference names a container image',
      );
    if (byBody && byBody !== kind)
      throw new NetworkError(
        `${where}: ${what} is served as ${res.headers.get('content-type')} but its body says ${json.mediaType}; the registry is broken`,
      );
    return { bytes, kind, digest, json: parsed };
  }

  /** Fetch a blob into the cache (skipped when already there), from its urls when the registry lacks it; the cached path. */
  async blob(repo: string, desc: Descriptor): Promise<string> {
    const hit = cachedBlob(desc.digest, desc.size, this.cacheDir);
    if (hit) return hit;
    const where = `${this.registry}/${repo}`;
    this.opts.log?.(`fetching ${desc.digest.slice(0, 19)} (${desc.size} bytes) from ${where}`);
    const w = await BlobWriter.open(desc.digest, desc.size, where, this.cacheDir, this.limits.minFreeBytes);
    try {
      for (let resumes = 0; ; resumes++) {
        const from = w.written;
        const res = await this.get(repo, `blobs/${desc.digest}`, from > 0 ? { Range: `bytes=${from}-` } : {}, where);
        if (res.status === 404 && desc.urls?.length) {
          discard(res);
          return await foreignBlob(desc, where, 'is not in the registry (HTTP 404)', {
            ...this.opts,
            cacheDir: this.cacheDir,
          });
        }
        await this.checkBlobAnswer(res, repo, desc, where, w, from);
        const cut = await receive(res, w);
        if (w.written === desc.size) break;
        if (resumes + 1 >= TRIES) {
          throw new NetworkError(
            `${where}: blob ${desc.digest} was cut after ${w.written} of ${desc.size} bytes ${TRIES} times` +
              `${cut ? ` (${(cut as Error).message})` : ''}; check your network and try again`,
            { cause: cut },
          );
        }
        this.opts.log?.(`${where}: blob ${desc.digest.slice(0, 19)} cut at byte ${w.written}, resuming`);
      }
      return await w.commit();
    } finally {
      await w.abort();
    }
  }

  /**
   * Checks a blob answer before its body is read: a 200 to a Range request starts the
   * file over, a 206 must resume at the byte asked, an error status is the error, and a
   * full answer must announce the descriptor's size.
   */
  private async checkBlobAnswer(
    res: Response,
    repo: string,
    desc: Descriptor,
    where: string,
    w: BlobWriter,
    from: number,
  ): Promise<void> {
    if (from > 0 && res.status === 200) return await w.restart();
    if (from > 0 && res.status === 206) return checkResumeRange(res, desc, where, from);
    if (!res.ok)
      throw await this.statusError(
        res,
        repo,
        `blob ${desc.digest}`,
        where,
        'the image is incomplete in the registry: push it again',
      );
    const length = res.headers.get('content-length');
    if (length !== null && Number(length) !== desc.size) {
      discard(res);
      throw new NetworkError(
        `${where}: blob ${desc.digest} is served with ${length} bytes, its descriptor says ${desc.size}; ` +
          'the registry serves a different blob, report it to its operator',
      );
    }
  }
}

/** A 206 answer must cover exactly the bytes from `from` to the end of the blob. */
function checkResumeRange(res: Response, desc: Descriptor, where: string, from: number): void {
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  if (
    range &&
    Number(range[1]) === from &&
    Number(range[2]) === desc.size - 1 &&
    (range[3] === '*' || Number(range[3]) === desc.size)
  )
    return;
  discard(res);
  throw new NetworkError(
    `${where}: blob ${desc.digest}: asked to resume at byte ${from}, ` +
      `the registry answered Content-Range "${res.headers.get('content-range')}"; try again`,
  );
}

/** Writes the body into w; a network error that cuts it is returned (to resume), a BuildError is thrown. */
async function receive(res: Response, w: BlobWriter): Promise<unknown> {
  try {
    for await (const chunk of bodyChunks(res)) await w.write(chunk);
  } catch (e) {
    if (e instanceof BuildError) throw e;
    return e;
  }
  return undefined;
}

/** Run fn over items, at most `limit` at a time, keeping the order of results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function wantedPlatform(p: PullOptions['platform']): Platform {
  if (p === undefined) return { os: 'linux', architecture: 'amd64' };
  if (typeof p !== 'string') return p;
  const parsed = parsePlatform(p);
  if (!parsed)
    throw new UsageError(`invalid platform "${p}": write it as os/arch[/variant], e.g. linux/amd64 or linux/arm64`);
  return parsed;
}

/** Resolve `ref` to one image for the platform and bring its config and layers into the cache. */
export async function pullImage(ref: string | ImageRef, opts: PullOptions = {}): Promise<PulledImage> {
  let image: ImageRef;
  if (typeof ref === 'string') {
    const source = parseSource(ref);
    if (source.transport !== 'docker')
      throw new UsageError(
        `${ref} is a ${source.transport} source, not a registry image; pullImage takes docker://REF or a plain reference`,
      );
    image = source.ref;
  } else {
    image = ref;
  }
  const platform = wantedPlatform(opts.platform);
  const client = new RegistryClient(image.registry, opts);
  const repo = image.repository;
  const where = `${image.registry}/${repo}`;
  let m = await client.manifest(repo, image.digest ?? image.tag ?? 'latest');
  for (let depth = 0; m.kind === 'index'; depth++) {
    const index = checkIndex(m.json, where, `index ${m.digest}`);
    if (depth >= 4) throw new ImageError(`${where}: index ${m.digest} is nested more than 4 deep; check the image`);
    const entry = selectPlatform(index, platform);
    if (!entry) {
      throw new ImageError(
        `${where}: ${formatReference(image)} has no image for ${formatPlatform(platform)} ` +
          `(it has ${offeredPlatforms(index).join(', ') || 'none'}); choose one of those platforms`,
      );
    }
    m = await client.manifest(repo, entry.digest);
  }
  const manifest: ImageManifest = checkManifest(m.json, where, `manifest ${m.digest}`);
  if (manifest.config.size > client.maxConfig)
    throw new ImageError(
      `${where}: config ${manifest.config.digest} is ${manifest.config.size} bytes, more than an image config can be; check the image`,
    );
  const tooBig = manifest.layers.find((l) => l.size > client.maxLayer);
  if (tooBig)
    throw new ImageError(
      `${where}: layer ${tooBig.digest} is ${formatBytes(tooBig.size)}, ` +
        `more than the ${formatBytes(client.maxLayer)} a layer may have here; raise --max-layer-size if the image is right`,
    );
  const configPath = await client.blob(repo, manifest.config);
  const config = readFileSync(configPath);
  const layers = await mapLimit(manifest.layers, opts.concurrency ?? 3, async (d) => ({
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    path: await client.blob(repo, d),
  }));
  return {
    reference: formatReference(image),
    manifestDigest: m.digest,
    manifest,
    config,
    configDigest: manifest.config.digest,
    layers,
    platform,
  };
}

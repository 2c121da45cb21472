// Test harness for the registry client: a real registry (Debian's docker-registry, i.e.
// distribution 2.8) on loopback, optionally behind htpasswd Basic auth; a fault-injecting
// loopback proxy that forwards to it; OCI layouts written by hand and pushed with skopeo.
// Needs the Debian packages docker-registry, skopeo and apache2-utils (htpasswd).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, request, type IncomingMessage, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skopeoEnv } from './skopeo.js';

const run = promisify(execFile);

export interface Registry {
  /** host:port, e.g. 127.0.0.1:40123 */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface User {
  name: string;
  password: string;
}

/** A self-signed certificate for these DNS names (and 127.0.0.1), written into dir. */
export function selfSigned(dir: string, names: string[]): { cert: string; key: string } {
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${san}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** HTTP status of GET url, certificates unchecked. */
function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

/**
 * Start docker-registry on a random loopback port: open; with `user`, behind htpasswd
 * Basic auth; with `token`, behind Bearer tokens from that token server; with `tls`,
 * over HTTPS with that certificate. Manifests may name http(s) `urls` (foreign layers).
 */
export async function startRegistry(
  user?: User,
  token?: TokenServer,
  tls?: { cert: string; key: string },
): Promise<Registry> {
  // the free port may be taken by another test file before docker-registry binds it:
  // then it exits at once, and a second port is tried
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce(user, token, tls);
    } catch (e) {
      if (attempt === 3 || !(e instanceof RegistryExited)) throw e;
    }
  }
}

class RegistryExited extends Error {}

async function startRegistryOnce(
  user?: User,
  token?: TokenServer,
  tls?: { cert: string; key: string },
): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'fledge-registry-'));
  const port = await freePort();
  let auth = '';
  if (token) {
    auth = `auth:\n  token:\n    realm: ${token.realm}\n    service: ${token.service}\n    issuer: ${token.issuer}\n    rootcertbundle: ${token.certPath}\n`;
  } else if (user) {
    const line = execFileSync('htpasswd', ['-Bbn', user.name, user.password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), line);
    auth = `auth:\n  htpasswd:\n    realm: fledge-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
validation:
  manifests:
    urls:
      allow:
        - ^https?://
http:
  addr: 127.0.0.1:${port}
  secret: fledge-test-secret
${tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : ''}${auth}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const log = openSync(join(dir, 'registry.log'), 'w');
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', log, log],
  });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new RegistryExited(`docker-registry exited (${child.exitCode}); see ${join(dir, 'registry.log')}`);
    try {
      const status = await probe(`${tls ? 'https' : 'http'}://${host}/v2/`);
      if (status === 200 || status === 401) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start; see ${join(dir, 'registry.log')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // an answer from another server that had the port would leave ours exited by now
  await new Promise((r) => setTimeout(r, 200));
  if (child.exitCode !== null)
    throw new RegistryExited(`docker-registry exited (${child.exitCode}); see ${join(dir, 'registry.log')}`);
  return {
    host,
    dir,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- a token server (distribution's token auth: JWT RS256 with the signing cert in x5c) ----

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** per token request: the scope, whether Basic credentials came, and the refresh token of an OAuth2 POST */
  requests: { scope: string; basic: boolean; refreshToken?: string }[];
  /** the refresh token (Docker's identity token) that the OAuth2 POST accepts for `user` */
  refreshToken: string;
  /** answer {access_token} instead of {token} */
  accessToken: boolean;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Tokens for `user` (every action asked for), and for anonymous callers pull access to
 * repositories under `public/`. Wrong credentials get 401. Besides GET with Basic
 * credentials, the OAuth2 form POST (grant_type=refresh_token, distribution's
 * docs/spec/auth/oauth.md) gives `user`'s tokens for the refresh token `refreshToken`.
 */
export async function startTokenServer(user: User): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fledge-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=fledge-test-token',
    ],
    { stdio: 'ignore' },
  );
  const key = readFileSync(keyPath, 'utf8');
  const x5c = readFileSync(certPath, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  const ts: TokenServer = {
    realm: '',
    service: 'fledge-test-registry',
    issuer: 'fledge-test-issuer',
    certPath,
    requests: [],
    accessToken: false,
    refreshToken: `refresh-${randomBytes(8).toString('hex')}`,
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const post = req.method === 'POST';
    const params = post
      ? new URLSearchParams(Buffer.concat(chunks).toString())
      : new URL(req.url ?? '/', 'http://x').searchParams;
    const scope = params.get('scope') ?? '';
    const header = req.headers.authorization ?? '';
    const basic = header.startsWith('Basic ');
    const refreshToken = post ? (params.get('refresh_token') ?? '') : undefined;
    ts.requests.push(post ? { scope, basic, refreshToken } : { scope, basic });
    const wrongBasic = basic && Buffer.from(header.slice(6), 'base64').toString() !== `${user.name}:${user.password}`;
    const wrongRefresh =
      post &&
      (params.get('grant_type') !== 'refresh_token' ||
        refreshToken !== ts.refreshToken ||
        params.get('service') !== ts.service ||
        !params.get('client_id'));
    if (wrongBasic || wrongRefresh) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
      return;
    }
    const authenticated = basic || post;
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [type, name, actions] = [
          s.slice(0, s.indexOf(':')),
          s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')),
          s.slice(s.lastIndexOf(':') + 1),
        ];
        const granted = authenticated
          ? actions.split(',')
          : name.startsWith('public/')
            ? actions.split(',').filter((a) => a === 'pull')
            : [];
        return { type, name, actions: granted };
      });
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [x5c] }));
    const claims = b64url(
      JSON.stringify({
        iss: ts.issuer,
        sub: authenticated ? user.name : '',
        aud: ts.service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: String(Math.random()),
        access,
      }),
    );
    const sig = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(key).toString('base64url');
    const token = `${head}.${claims}.${sig}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(ts.accessToken || post ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }),
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ts.realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  ts.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    });
  return ts;
}

// ---- the fault-injecting proxy ----

export interface Seen {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status?: number;
}

/** What to do with one request: answer it with a status, or forward it and damage the answer. */
export type Fault =
  { status: number; headers?: Record<string, string> } | 'corrupt' | 'truncate' | { redirect: string } | undefined;

export interface Proxy {
  /** host:port of the proxy */
  host: string;
  seen: Seen[];
  /** decides per request; default: forward untouched */
  fault: (req: IncomingMessage, seen: Seen[]) => Fault;
  /** Authorization added to requests that arrive without one (a presigned-URL stand-in) */
  injectAuth?: string;
  close(): Promise<void>;
}

/** A loopback HTTP proxy in front of `upstream` (host:port), listening on `address`. */
export async function startProxy(upstream: string, address = '127.0.0.1'): Promise<Proxy> {
  const [upHost, upPort] = [
    upstream.slice(0, upstream.lastIndexOf(':')),
    Number(upstream.slice(upstream.lastIndexOf(':') + 1)),
  ];
  const proxy: Proxy = { host: '', seen: [], fault: () => undefined, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const entry: Seen = {
      method: req.method ?? '',
      path: req.url ?? '',
      range: req.headers.range,
      authorization: req.headers.authorization,
    };
    proxy.seen.push(entry);
    const fault = proxy.fault(req, proxy.seen);
    if (fault && typeof fault === 'object' && 'status' in fault) {
      entry.status = fault.status;
      res
        .writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers })
        .end('{"errors":[{"code":"INJECTED","message":"injected fault"}]}');
      req.resume();
      return;
    }
    if (fault && typeof fault === 'object' && 'redirect' in fault) {
      entry.status = 307;
      res.writeHead(307, { location: fault.redirect }).end();
      req.resume();
      return;
    }
    const headers = { ...req.headers, host: upstream };
    if (!headers.authorization && proxy.injectAuth) headers.authorization = proxy.injectAuth;
    const up = request({ host: upHost, port: upPort, method: req.method, path: req.url, headers }, (ur) => {
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        const body = Buffer.concat(chunks);
        entry.status = ur.statusCode;
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (fault === 'corrupt' && body.length > 0) {
          body[body.length >> 1] ^= 0xff;
          res.end(body);
        } else if (fault === 'truncate' && body.length > 1) {
          res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        } else {
          res.end(body);
        }
      });
    });
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  proxy.host = `${address}:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

// ---- OCI layouts written by hand ----

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** An OCI image layout being written: blobs/sha256, index.json, oci-layout. */
export class Layout {
  private entries: Desc[] = [];
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  }

  blob(bytes: Buffer, mediaType: string): Desc {
    const digest = sha256(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  json(value: unknown, mediaType: string): Desc {
    return this.blob(Buffer.from(JSON.stringify(value)), mediaType);
  }

  /** An image whose one layer holds `files` (path → content), made with GNU tar and gzip -n. */
  image(files: Record<string, string>, architecture = 'amd64', variant?: string): Desc {
    const src = mkdtempSync(join(tmpdir(), 'fledge-layer-'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(src, name, '..'), { recursive: true });
      writeFileSync(join(src, name), content);
    }
    const tar = execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-cf',
      '-',
      '-C',
      src,
      '.',
    ]);
    rmSync(src, { recursive: true, force: true });
    const gz = execFileSync('gzip', ['-n', '-c'], { input: tar });
    const layer = this.blob(gz, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const config = this.json(
      {
        architecture,
        ...(variant ? { variant } : {}),
        os: 'linux',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    return this.json(
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] },
      'application/vnd.oci.image.manifest.v1+json',
    );
  }

  index(manifests: Desc[]): Desc {
    return this.json(
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests },
      'application/vnd.oci.image.index.v1+json',
    );
  }

  /** Name `desc` as `tag` in index.json. */
  tag(desc: Desc, tag: string): void {
    this.entries.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } });
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: this.entries }));
  }
}

/** skopeo copy oci:DIR:TAG docker://DEST (plain HTTP); asynchronous, as the token server runs in this process. */
export async function push(layout: string, tag: string, dest: string, extra: string[] = []): Promise<void> {
  await run(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      ...extra,
      `oci:${layout}:${tag}`,
      `docker://${dest}`,
    ],
    { env: skopeoEnv() },
  );
}

// ---- pushing by hand (distribution-spec push API), for what skopeo will not push ----

/** Upload a blob to an open registry (POST an upload, PUT it whole with its digest). */
export async function uploadBlob(
  host: string,
  repo: string,
  bytes: Buffer,
  algorithm: 'sha256' | 'sha512' = 'sha256',
): Promise<string> {
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload to ${host}/${repo}: HTTP ${start.status}`);
  const at = new URL(start.headers.get('location')!, `http://${host}`);
  const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
  at.searchParams.set('digest', digest);
  const put = await fetch(at, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload to ${host}/${repo}: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

/** PUT a manifest as `tag`; the registry checks that the blobs it needs are there. */
export async function putManifest(
  host: string,
  repo: string,
  tag: string,
  manifest: { mediaType: string },
): Promise<Desc> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': manifest.mediaType },
  });
  if (res.status !== 201) throw new Error(`manifest ${host}/${repo}:${tag}: HTTP ${res.status} ${await res.text()}`);
  return { mediaType: manifest.mediaType, digest: sha256(bytes), size: bytes.length };
}

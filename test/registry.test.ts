// The registry client against a real registry (Debian's docker-registry) on loopback,
// fed by skopeo from OCI layouts written here; faults come from a loopback proxy that
// forwards to the real registry. Needs docker-registry, skopeo, apache2-utils.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { blobDir } from '../src/cache.js';
import { pullImage } from '../src/oci/remote/registry.js';
import { flatten } from '../src/oci/image.js';
import { openImage } from '../src/oci/sources/open.js';
import { readContent } from '../src/tree/content.js';
import { serveFiles } from './helpers/http.js';
import {
  Layout,
  push,
  putManifest,
  sha256,
  startProxy,
  startRegistry,
  startTokenServer,
  uploadBlob,
  type Desc,
  type Proxy,
  type Registry,
  type TokenServer,
} from './helpers/registry.js';

const USER = { name: 'fledge', password: 's3cret-pw' };
let open: Registry;
let locked: Registry;
let tokened: Registry;
let tokens: TokenServer;
const temps: string[] = [];
let layout: Layout;
let ociManifest: Desc;
let amd64: Desc;
let arm64: Desc;
const proxies: Proxy[] = [];

function fresh(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

async function proxyTo(upstream: string, address?: string): Promise<Proxy> {
  const p = await startProxy(upstream, address);
  proxies.push(p);
  return p;
}

const blobGets = (p: Proxy) => p.seen.filter((s) => s.method === 'GET' && s.path.includes('/blobs/'));

beforeAll(async () => {
  tokens = await startTokenServer(USER);
  [open, locked, tokened] = await Promise.all([startRegistry(), startRegistry(USER), startRegistry(undefined, tokens)]);
  layout = new Layout(fresh('fledge-layout-'));
  ociManifest = layout.image({ 'etc/hello': 'hello from oci\n', 'bin/tool': '#!/bin/sh\necho tool\n' });
  layout.tag(ociManifest, 'single');
  amd64 = layout.image({ 'etc/arch': 'amd64\n' }, 'amd64');
  arm64 = layout.image({ 'etc/arch': 'arm64\n' }, 'arm64', 'v8');
  const attestation = layout.image({ 'attestation.json': '{}' }, 'unknown');
  layout.tag(
    layout.index([
      { ...amd64, platform: { os: 'linux', architecture: 'amd64' } },
      { ...arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      {
        ...attestation,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      },
    ]),
    'multi',
  );
  await push(layout.dir, 'single', `${open.host}/test/oci:v1`);
  await push(layout.dir, 'single', `${open.host}/test/docker:v1`, ['--format', 'v2s2']);
  await push(layout.dir, 'multi', `${open.host}/test/multi:v1`, ['--all']);
  const creds = ['--dest-creds', `${USER.name}:${USER.password}`];
  await push(layout.dir, 'single', `${locked.host}/private/app:v1`, creds);
  await push(layout.dir, 'single', `${tokened.host}/private/app:v1`, creds);
  await push(layout.dir, 'single', `${tokened.host}/public/app:v1`, creds);
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all([open?.stop(), locked?.stop(), tokened?.stop(), tokens?.close()]);
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
  process.env.DOCKER_CONFIG = fresh('fledge-docker-');
  delete process.env.REGISTRY_AUTH_FILE;
  delete process.env.XDG_RUNTIME_DIR;
});

describe('pulling from a real registry', () => {
  it('pulls an OCI image: config and verified layers in the cache', async () => {
    const img = await pullImage(`docker://${open.host}/test/oci:v1`);
    expect(img.manifestDigest).toBe(ociManifest.digest);
    expect(img.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const config = JSON.parse(img.config.toString());
    expect(config.architecture).toBe('amd64');
    expect(sha256(img.config)).toBe(img.configDigest);
    expect(img.layers).toHaveLength(1);
    const layer = img.layers[0];
    expect(layer.path).toBe(join(blobDir(), layer.digest.slice(7)));
    expect(sha256(readFileSync(layer.path))).toBe(layer.digest);
    expect(readdirSync(blobDir()).sort()).toEqual([img.configDigest.slice(7), layer.digest.slice(7)].sort());
  });

  it('pulls a Docker schema2 image', async () => {
    const img = await pullImage(`${open.host}/test/docker:v1`);
    expect(img.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(img.layers[0].mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(JSON.parse(img.config.toString()).rootfs.diff_ids).toHaveLength(1);
  });

  it('picks linux/amd64 from a two-platform index, or the platform asked for', async () => {
    const ref = `${open.host}/test/multi:v1`;
    const a = await pullImage(ref);
    expect(a.manifestDigest).toBe(amd64.digest);
    expect(JSON.parse(a.config.toString()).architecture).toBe('amd64');
    const b = await pullImage(ref, { platform: 'linux/arm64' });
    expect(b.manifestDigest).toBe(arm64.digest);
    expect(JSON.parse(b.config.toString()).architecture).toBe('arm64');
    expect((await pullImage(ref, { platform: 'linux/aarch64/v8' })).manifestDigest).toBe(arm64.digest);
    await expect(pullImage(ref, { platform: 'linux/s390x' })).rejects.toThrow(
      /has no image for linux\/s390x \(it has linux\/amd64, linux\/arm64\); choose/,
    );
  });

  it('pulls by digest and checks it', async () => {
    const img = await pullImage(`${open.host}/test/oci@${ociManifest.digest}`);
    expect(img.manifestDigest).toBe(ociManifest.digest);
    await expect(pullImage(`${open.host}/test/oci@sha256:${'0'.repeat(64)}`)).rejects.toThrow(
      /not found \(HTTP 404\).*check the digest/,
    );
  });

  it('says what is missing on 404', async () => {
    const err = await pullImage(`${open.host}/test/nothing:v9`).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(
      new RegExp(`^${open.host}/test/nothing: manifest v9 not found \\(HTTP 404\\).*; check the name and tag$`),
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses a Basic-auth registry without credentials in one line', async () => {
    const err = (await pullImage(`${locked.host}/private/app:v1`).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(
      /^127\.0\.0\.1:\d+\/private\/app: manifest v1 refused \(HTTP 401\).*; log in: add credentials for 127\.0\.0\.1:\d+ to ~\/\.docker\/config\.json/,
    );
    expect(err.message).not.toContain('\n');
  });

  it('uses credentials from $DOCKER_CONFIG/config.json', async () => {
    const auth = Buffer.from(`${USER.name}:${USER.password}`).toString('base64');
    writeFileSync(
      join(process.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({ auths: { [`http://${locked.host}`]: { auth } } }),
    );
    const img = await pullImage(`${locked.host}/private/app:v1`);
    expect(img.manifestDigest).toBe(ociManifest.digest);
  });

  it('says which credentials were refused', async () => {
    writeFileSync(
      join(process.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({ auths: { [locked.host]: { username: USER.name, password: 'wrong' } } }),
    );
    await expect(pullImage(`${locked.host}/private/app:v1`)).rejects.toThrow(
      /refused \(HTTP 401\).*the credentials from .*config\.json were refused/,
    );
  });

  it('takes the most specific auth.json key: host/namespace/repo, then host/namespace, then host', async () => {
    process.env.REGISTRY_AUTH_FILE = join(fresh('fledge-auth-'), 'auth.json');
    const good = { username: USER.name, password: USER.password };
    const bad = { username: USER.name, password: 'wrong' };
    const pull = async (auths: Record<string, unknown>) => {
      writeFileSync(process.env.REGISTRY_AUTH_FILE!, JSON.stringify({ auths }));
      process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
      return pullImage(`${locked.host}/private/app:v1`).then(
        (img) => img.manifestDigest,
        (e: Error) => e.message,
      );
    };
    const refused = /manifest v1 refused \(HTTP 401\)/;
    expect(await pull({ [locked.host]: bad, [`${locked.host}/private`]: good })).toBe(ociManifest.digest);
    expect(
      await pull({ [`${locked.host}/private`]: good, [`${locked.host}/private/app`]: bad, [locked.host]: good }),
    ).toMatch(refused);
    expect(await pull({ [`${locked.host}/private/app`]: good, [`${locked.host}/private`]: bad })).toBe(
      ociManifest.digest,
    );
    // another namespace's key does not apply; a URL key stands for its host only
    expect(await pull({ [`${locked.host}/other`]: good, [locked.host]: bad })).toMatch(refused);
    expect(await pull({ [`${locked.host}/privat`]: good })).toMatch(/log in: add credentials/);
    expect(await pull({ [`http://${locked.host}/other/`]: good })).toBe(ociManifest.digest);
  });

  it('uses $REGISTRY_AUTH_FILE and a credential helper', async () => {
    const dir = fresh('fledge-auth-');
    process.env.REGISTRY_AUTH_FILE = join(dir, 'auth.json');
    writeFileSync(
      process.env.REGISTRY_AUTH_FILE,
      JSON.stringify({ auths: { [locked.host]: { username: USER.name, password: USER.password } } }),
    );
    expect((await pullImage(`${locked.host}/private/app:v1`)).layers).toHaveLength(1);

    process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
    delete process.env.REGISTRY_AUTH_FILE;
    const helper = join(dir, 'docker-credential-fledgetest');
    writeFileSync(
      helper,
      `#!/bin/sh\nread url\n[ "$url" = "${locked.host}" ] || { echo "credentials not found in native ` +
        `keychain"; exit 1; }\necho '{"ServerURL":"'$url'","Username":"${USER.name}","Secret":"${USER.password}"}'\n`,
    );
    chmodSync(helper, 0o755);
    writeFileSync(join(process.env.DOCKER_CONFIG!, 'config.json'), JSON.stringify({ credsStore: 'fledgetest' }));
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    try {
      expect((await pullImage(`${locked.host}/private/app:v1`)).layers).toHaveLength(1);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('Bearer tokens (docker-registry token auth, a test token server)', () => {
  beforeEach(() => {
    tokens.requests.length = 0;
    tokens.accessToken = false;
  });

  it('pulls anonymously with a token', async () => {
    const img = await pullImage(`${tokened.host}/public/app:v1`);
    expect(img.manifestDigest).toBe(ociManifest.digest);
    expect(tokens.requests).toEqual([{ scope: 'repository:public/app:pull', basic: false }]);
  });

  it('refuses a private repository without credentials in one line', async () => {
    const err = (await pullImage(`${tokened.host}/private/app:v1`).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/private\/app: manifest v1 refused \(HTTP 401\).*; log in: add credentials/);
    expect(err.message).not.toContain('\n');
  });

  it('gets one token per scope with Basic credentials (token or access_token)', async () => {
    writeFileSync(
      join(process.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({ auths: { [tokened.host]: { username: USER.name, password: USER.password } } }),
    );
    const img = await pullImage(`${tokened.host}/private/app:v1`);
    expect(img.layers).toHaveLength(1);
    expect(tokens.requests).toEqual([{ scope: 'repository:private/app:pull', basic: true }]);
    process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
    tokens.accessToken = true;
    expect((await pullImage(`${tokened.host}/private/app:v1`)).layers).toHaveLength(1);
  });

  it('trades a Docker identity token for access tokens by the OAuth2 refresh_token POST', async () => {
    const config = (identitytoken: string) =>
      writeFileSync(
        join(process.env.DOCKER_CONFIG!, 'config.json'),
        JSON.stringify({
          auths: { [tokened.host]: { auth: Buffer.from('<token>:').toString('base64'), identitytoken } },
        }),
      );
    config(tokens.refreshToken);
    const img = await pullImage(`${tokened.host}/private/app:v1`);
    expect(img.manifestDigest).toBe(ociManifest.digest);
    expect(tokens.requests).toEqual([
      { scope: 'repository:private/app:pull', basic: false, refreshToken: tokens.refreshToken },
    ]);
    config('refresh-revoked');
    process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
    await expect(pullImage(`${tokened.host}/private/app:v1`)).rejects.toThrow(
      /the token server http:\/\/127\.0\.0\.1:\d+\/token refused repository:private\/app:pull \(HTTP 401\); the credentials from .*config\.json were refused/,
    );
  });

  it('asks a registry for its challenge once per process, and answers a bare 401 with a fresh token', async () => {
    const p = await proxyTo(tokened.host);
    let bare = 0;
    p.fault = (req) => (req.url?.includes('/manifests/') && bare++ === 0 ? { status: 401 } : undefined);
    expect((await pullImage(`${p.host}/public/app:v1`)).manifestDigest).toBe(ociManifest.digest);
    expect(p.seen.filter((s) => s.status === 401 && s.path.includes('/manifests/'))).toHaveLength(1);
    expect(tokens.requests).toHaveLength(2);
    process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
    expect((await pullImage(`${p.host}/public/app:v1`)).layers).toHaveLength(1);
    expect(p.seen.filter((s) => s.path === '/v2/')).toHaveLength(1);
    expect(p.seen.length).toBeGreaterThan(7);
  });

  it('says the token server refused wrong credentials', async () => {
    writeFileSync(
      join(process.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({ auths: { [tokened.host]: { username: USER.name, password: 'nope' } } }),
    );
    await expect(pullImage(`${tokened.host}/private/app:v1`)).rejects.toThrow(
      /the token server http:\/\/127\.0\.0\.1:\d+\/token refused repository:private\/app:pull \(HTTP 401\); the credentials from .*config\.json were refused/,
    );
  });
});

describe('transfer faults (a proxy in front of the real registry)', () => {
  it('a second pull fetches no blobs, only the manifest', async () => {
    const p = await proxyTo(open.host);
    await pullImage(`${p.host}/test/oci:v1`);
    expect(blobGets(p)).toHaveLength(2);
    p.seen.length = 0;
    await pullImage(`${p.host}/test/oci:v1`);
    expect(blobGets(p)).toHaveLength(0);
    expect(p.seen.filter((s) => s.path.includes('/manifests/'))).toHaveLength(1);
  });

  it('rejects a tampered blob and leaves nothing in the cache', async () => {
    const p = await proxyTo(open.host);
    p.fault = (req) => (req.url?.includes('/blobs/') ? 'corrupt' : undefined);
    const err = (await pullImage(`${p.host}/test/oci:v1`).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/blob sha256:[0-9a-f]{64} arrived with digest sha256:[0-9a-f]{64}; .*try again/);
    expect(err.message).not.toContain('\n');
    expect(existsSync(blobDir()) ? readdirSync(blobDir()) : []).toEqual([]);
  });

  it('rejects a tampered manifest pulled by digest', async () => {
    const p = await proxyTo(open.host);
    p.fault = (req) => (req.url?.includes('/manifests/') ? 'corrupt' : undefined);
    await expect(pullImage(`${p.host}/test/oci@${ociManifest.digest}`)).rejects.toThrow(
      /manifest sha256:.* arrived with digest/,
    );
  });

  it('pulls sha512 blobs (config and layer), verified by sha512, and rejects a tampered one in one line', async () => {
    const repo = 'test/sha512';
    const dir = fresh('fledge-sha512-');
    writeFileSync(join(dir, 'hello'), 'a sha512 layer\n');
    const tar = execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-cf',
      '-',
      '-C',
      dir,
      'hello',
    ]);
    const gz = execFileSync('gzip', ['-n', '-c'], { input: tar });
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }),
    );
    const configDigest = await uploadBlob(open.host, repo, config, 'sha512');
    const layerDigest = await uploadBlob(open.host, repo, gz, 'sha512');
    expect(layerDigest).toMatch(/^sha512:[0-9a-f]{128}$/);
    const oci = 'application/vnd.oci.image';
    await putManifest(open.host, repo, 'v1', {
      schemaVersion: 2,
      mediaType: `${oci}.manifest.v1+json`,
      config: { mediaType: `${oci}.config.v1+json`, digest: configDigest, size: config.length },
      layers: [{ mediaType: `${oci}.layer.v1.tar+gzip`, digest: layerDigest, size: gz.length }],
    } as { mediaType: string });
    const img = await pullImage(`${open.host}/${repo}:v1`);
    expect(img.configDigest).toBe(configDigest);
    expect(img.layers[0].path).toBe(join(blobDir(undefined, 'sha512'), layerDigest.slice(7)));
    const tree = await flatten(await openImage(`docker://${open.host}/${repo}:v1`));
    expect(Buffer.concat([...readContent(tree.get('hello')!.content!)]).toString()).toBe('a sha512 layer\n');

    process.env.XDG_CACHE_HOME = fresh('fledge-cache-');
    const p = await proxyTo(open.host);
    p.fault = (req) => (req.url?.includes('/blobs/') ? 'corrupt' : undefined);
    const err = (await pullImage(`${p.host}/${repo}:v1`).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(
      /(?:config|blob) sha512:[0-9a-f]{128} (?:arrived with|has) digest sha512:[0-9a-f]{128}; /,
    );
    expect(err.message).not.toContain('\n');
    expect(existsSync(blobDir(undefined, 'sha512')) ? readdirSync(blobDir(undefined, 'sha512')) : []).toEqual([]);
  });

  it('retries after 429 (honoring Retry-After) and after 500', async () => {
    const p = await proxyTo(open.host);
    p.fault = (req, seen) => {
      const n = seen.filter((s) => s.path === req.url).length;
      if (req.url?.includes('/manifests/') && n === 1) return { status: 429, headers: { 'retry-after': '1' } };
      if (req.url?.includes('/blobs/') && n === 1) return { status: 500 };
      return undefined;
    };
    const t0 = Date.now();
    const img = await pullImage(`${p.host}/test/oci:v1`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(img.layers).toHaveLength(1);
    expect(p.seen.filter((s) => s.status === 429)).toHaveLength(1);
    expect(p.seen.filter((s) => s.status === 500)).toHaveLength(2);
  });

  it('gives up after 3 tries with one line', async () => {
    const p = await proxyTo(open.host);
    p.fault = (req) => (req.url?.includes('/manifests/') ? { status: 503 } : undefined);
    await expect(pullImage(`${p.host}/test/oci:v1`)).rejects.toThrow(
      /manifest v1 failed \(HTTP 503\).*; try again later$/,
    );
    expect(p.seen.filter((s) => s.status === 503)).toHaveLength(3);
  });

  it('resumes a cut blob download with Range', async () => {
    const p = await proxyTo(open.host);
    const layer = () =>
      p.seen.filter((s) =>
        s.path.endsWith(
          `/blobs/${(JSON.parse(readFileSync(join(layout.dir, 'blobs/sha256', ociManifest.digest.slice(7)), 'utf8')) as { layers: Desc[] }).layers[0].digest}`,
        ),
      );
    p.fault = (req) =>
      req.url?.includes('/blobs/') &&
      !req.headers.range &&
      layer().length === 1 &&
      req.url.endsWith(layer()[0].path.split('/blobs/')[1])
        ? 'truncate'
        : undefined;
    const img = await pullImage(`${p.host}/test/oci:v1`);
    expect(sha256(readFileSync(img.layers[0].path))).toBe(img.layers[0].digest);
    const gets = layer();
    expect(gets).toHaveLength(2);
    expect(gets[1].range).toMatch(/^bytes=\d+-$/);
    expect(gets[1].status).toBe(206);
  });

  it('follows a redirect to another host without Authorization', async () => {
    const p = await proxyTo(locked.host);
    const other = await proxyTo(locked.host, '127.0.0.2');
    other.injectAuth = `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}`;
    p.fault = (req) => (req.url?.includes('/blobs/') ? { redirect: `http://${other.host}${req.url}` } : undefined);
    writeFileSync(
      join(process.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({ auths: { [p.host]: { username: USER.name, password: USER.password } } }),
    );
    const img = await pullImage(`${p.host}/private/app:v1`);
    expect(img.layers).toHaveLength(1);
    expect(p.seen.filter((s) => s.path.includes('/blobs/')).every((s) => s.authorization?.startsWith('Basic '))).toBe(
      true,
    );
    expect(other.seen).toHaveLength(2);
    expect(other.seen.every((s) => s.authorization === undefined)).toBe(true);
  });
});

describe("foreign layers: a blob the registry lacks comes from the descriptor's urls", () => {
  const layerOf = (files: Record<string, string>) => {
    const dir = fresh('fledge-foreign-');
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), content);
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
      dir,
      '.',
    ]);
    return { tar, gz: execFileSync('gzip', ['-n', '-c'], { input: tar }) };
  };

  /** A manifest pushed to the open registry whose one layer is not in the registry, only at `urls`. */
  async function foreignImage(tag: string, oci: boolean, layer: Buffer, diffId: string, urls: string[]) {
    const repo = 'test/foreign';
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }),
    );
    await uploadBlob(open.host, repo, config);
    const layerDesc = {
      mediaType: oci
        ? 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
        : 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: sha256(layer),
      size: layer.length,
      urls,
    };
    const mediaType = oci
      ? 'application/vnd.oci.image.manifest.v1+json'
      : 'application/vnd.docker.distribution.manifest.v2+json';
    const configType = oci
      ? 'application/vnd.oci.image.config.v1+json'
      : 'application/vnd.docker.container.image.v1+json';
    await putManifest(open.host, repo, tag, {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: configType, digest: sha256(config), size: config.length },
      layers: [layerDesc],
    } as { mediaType: string });
    return `docker://${open.host}/${repo}:${tag}`;
  }

  it('tries the urls in order (404, wrong bytes, good), verifies and caches the blob, and flattens it', async () => {
    const { tar, gz } = layerOf({ 'etc/foreign': 'from elsewhere\n' });
    const wrong = Buffer.from(gz);
    wrong[wrong.length >> 1] ^= 0xff;
    const files = await serveFiles({ '/good/layer.tgz': gz, '/wrong/layer.tgz': wrong });
    try {
      const ref = await foreignImage('docker', false, gz, sha256(tar), [
        `${files.url}/missing/layer.tgz`,
        `${files.url}/wrong/layer.tgz`,
        `${files.url}/good/layer.tgz`,
      ]);
      expect((await fetch(`http://${open.host}/v2/test/foreign/blobs/${sha256(gz)}`)).status).toBe(404);
      const img = await pullImage(ref);
      expect(img.layers[0].mediaType).toBe('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip');
      expect(sha256(readFileSync(img.layers[0].path))).toBe(sha256(gz));
      expect(files.requests).toEqual(['GET /missing/layer.tgz', 'GET /wrong/layer.tgz', 'GET /good/layer.tgz']);
      const tree = await flatten(await openImage(ref));
      expect(Buffer.concat([...readContent(tree.get('etc/foreign')!.content!)]).toString()).toBe('from elsewhere\n');
      expect(files.requests).toHaveLength(3);
    } finally {
      await files.close();
    }
  });

  it('fetches an OCI non-distributable layer from its url', async () => {
    const { tar, gz } = layerOf({ 'etc/nondist': 'licensed\n' });
    const files = await serveFiles({ '/layer.tgz': gz });
    try {
      const img = await pullImage(await foreignImage('oci', true, gz, sha256(tar), [`${files.url}/layer.tgz`]));
      expect(img.layers[0].mediaType).toBe('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip');
      expect(sha256(readFileSync(img.layers[0].path))).toBe(sha256(gz));
      expect(files.requests).toEqual(['GET /layer.tgz']);
    } finally {
      await files.close();
    }
  });

  it('takes a layer an OCI layout lacks from its urls too; one line when they fail', async () => {
    const served = layerOf({ 'etc/from-url': 'not in the layout\n' });
    const gone = layerOf({ 'etc/gone': 'nowhere\n' });
    const dir = fresh('fledge-foreign-layout-');
    const blob = (bytes: Buffer) => {
      mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
      writeFileSync(join(dir, 'blobs/sha256', sha256(bytes).slice(7)), bytes);
      return { digest: sha256(bytes), size: bytes.length };
    };
    /** an image whose one layer is named by the layout but only stored at url */
    const image = (name: string, l: { tar: Buffer; gz: Buffer }, url: string) => {
      const config = Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(l.tar)] } }),
      );
      const layer = {
        mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
        digest: sha256(l.gz),
        size: l.gz.length,
        urls: [url],
      };
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(config) },
          layers: [layer],
        }),
      );
      return {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...blob(manifest),
        annotations: { 'org.opencontainers.image.ref.name': name },
      };
    };
    const files = await serveFiles({ '/layer.tgz': served.gz });
    try {
      const manifests = [
        image('served', served, `${files.url}/layer.tgz`),
        image('gone', gone, `${files.url}/gone.tgz`),
      ];
      writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
      const tree = await flatten(await openImage(`oci:${dir}:served`));
      expect(Buffer.concat([...readContent(tree.get('etc/from-url')!.content!)]).toString()).toBe(
        'not in the layout\n',
      );
      expect(files.requests).toEqual(['GET /layer.tgz']);
      await flatten(await openImage(`oci:${dir}:served`));
      expect(files.requests).toHaveLength(1);
      const err = (await openImage(`oci:${dir}:gone`).catch((e: Error) => e)) as Error;
      expect(err.message).toBe(
        `${dir}: blob ${sha256(gone.gz)} is not in the layout, and none of its urls served it ` +
          `(${files.url}/gone.tgz: HTTP 404); make one of its urls reachable, or put it into the layout as blobs/sha256/${sha256(gone.gz).slice(7)}`,
      );
    } finally {
      await files.close();
    }
  });

  it('says in one line that neither the registry nor the urls have it, and caches nothing', async () => {
    const { tar, gz } = layerOf({ 'etc/gone': 'gone\n' });
    const files = await serveFiles({});
    try {
      const ref = await foreignImage('gone', false, gz, sha256(tar), [`${files.url}/layer.tgz`]);
      const err = (await pullImage(ref).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(
        /^127\.0\.0\.1:\d+\/test\/foreign: blob sha256:[0-9a-f]{64} is not in the registry \(HTTP 404\), and none of its urls served it \(http:\/\/127\.0\.0\.1:\d+\/layer\.tgz: HTTP 404\); make one of its urls reachable, or push the blob to the registry$/,
      );
      expect(readdirSync(blobDir()).filter((f) => f.startsWith(sha256(gz).slice(7)))).toEqual([]);
    } finally {
      await files.close();
    }
  });
});

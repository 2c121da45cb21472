// Registry credentials, looked up as Docker and containers/image do: $REGISTRY_AUTH_FILE,
// $XDG_RUNTIME_DIR/containers/auth.json, then $DOCKER_CONFIG/config.json (default
// ~/.docker/config.json). In each file credHelpers[host] comes first, then the most
// specific `auths` entry (containers-auth.json(5): `host/ns/repo` beats `host/ns` beats
// `host`; a URL key such as `https://index.docker.io/v1/` stands for its host; base64
// `auth` or username/password; `identitytoken`), then credsStore. Helpers
// speak the docker-credential-helpers protocol: `docker-credential-NAME get`, the server
// URL on stdin, {Username, Secret} on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../errors.js';

export interface Credentials {
  username: string;
  password: string;
  /** an OAuth2 refresh token (Docker's "identity token"), used instead of the password */
  identityToken?: string;
  /** where they came from, for error messages */
  source: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function credentialFiles(): string[] {
  const files: string[] = [];
  if (process.env.REGISTRY_AUTH_FILE) files.push(process.env.REGISTRY_AUTH_FILE);
  if (process.env.XDG_RUNTIME_DIR) files.push(join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json'));
  return files;
}

const HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The host a config key names: `https://index.docker.io/v1/` → index.docker.io. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

function sameHost(a: string, b: string): boolean {
  return a === b || (HUB.has(a) && HUB.has(b));
}

/** An `auths` key as host and namespace path: a URL key names its host only. */
function keyScope(key: string): { host: string; path: string } {
  if (/^[a-z]+:\/\//.test(key)) return { host: keyHost(key), path: '' };
  const slash = key.indexOf('/');
  return slash < 0
    ? { host: key, path: '' }
    : { host: key.slice(0, slash), path: key.slice(slash + 1).replace(/\/+$/, '') };
}

/** The namespaces of a repository, most specific first: a/b/c, a/b, a, then '' (the host). */
function scopes(repository: string): string[] {
  const parts = repository.split('/');
  return [...parts.map((_, i) => parts.slice(0, parts.length - i).join('/')), ''];
}

/** The server URL Docker stores a registry's credentials under. */
function serverUrl(registry: string): string {
  return HUB.has(registry) ? 'https://index.docker.io/v1/' : registry;
}

function runHelper(name: string, registry: string, file: string): Credentials | undefined {
  const program = `docker-credential-${name}`;
  const r = spawnSync(program, ['get'], { input: serverUrl(registry), encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    throw new BuildError(
      `credentials for ${registry}: cannot run ${program} (named in ${file}): ${r.error.message}; install it or remove it from ${file}`,
    );
  }
  const out = `${r.stdout}`.trim();
  if (r.status !== 0) {
    if (/credentials not found/i.test(out + r.stderr)) return undefined;
    const msg = (out || `${r.stderr}`.trim()).split('\n')[0];
    throw new BuildError(
      `credentials for ${registry}: ${program} get failed (${msg}); log in again with it or fix ${file}`,
    );
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new BuildError(
      `credentials for ${registry}: ${program} get did not answer JSON; check the helper named in ${file}`,
    );
  }
  const username = parsed.Username ?? '';
  const secret = parsed.Secret ?? '';
  if (username === '<token>') return { username: '', password: '', identityToken: secret, source: program };
  return { username, password: secret, source: program };
}

function fromFile(file: string, registry: string, repository: string): Credentials | undefined {
  let config: ConfigFile;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    // never quote the parser's message: it shows the file's bytes, and this file holds secrets
    const why = (e as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new BuildError(`credentials: cannot read ${file} (${why}); fix the JSON or remove the file`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new BuildError(`credentials: ${file} is not a JSON object; fix it or remove the file`);
  for (const [host, helper] of Object.entries(config.credHelpers ?? {})) {
    if (sameHost(keyHost(host), registry)) return runHelper(helper, registry, file);
  }
  const keys = Object.entries(config.auths ?? {}).map(([key, entry]) => ({ key, entry, ...keyScope(key) }));
  for (const scope of scopes(repository)) {
    const found = keys.find((k) => k.path === scope && sameHost(k.host, registry) && k.entry);
    if (!found) continue;
    const { key, entry } = found;
    if (entry.auth) {
      const text = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon < 0)
        throw new BuildError(
          `credentials for ${registry}: the "auth" of "${key}" in ${file} is not base64 of user:password; log in again`,
        );
      return {
        username: text.slice(0, colon),
        password: text.slice(colon + 1),
        identityToken: entry.identitytoken,
        source: file,
      };
    }
    if (entry.username !== undefined || entry.identitytoken) {
      return {
        username: entry.username ?? '',
        password: entry.password ?? '',
        identityToken: entry.identitytoken,
        source: file,
      };
    }
  }
  if (config.credsStore) return runHelper(config.credsStore, registry, file);
  return undefined;
}

/** The credentials for a repository (`library/alpine`) on a registry host (docker.io for Docker Hub), if any file has them. */
export function findCredentials(registry: string, repository: string): Credentials | undefined {
  for (const file of credentialFiles()) {
    if (!existsSync(file)) continue;
    const found = fromFile(file, registry, repository);
    if (found) return found;
  }
  return undefined;
}

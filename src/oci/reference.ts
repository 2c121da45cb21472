// Image references, normalized the way Docker does (distribution/reference): `nginx` is
// docker.io/library/nginx:latest; the first component names a registry only if it is
// `localhost` or contains `.` or `:`; index.docker.io is docker.io; a digest beats a tag.
// Plus the transport prefixes skopeo spells: docker://, docker-daemon:, docker-archive:,
// oci:, oci-archive:.
import { UsageError } from '../errors.js';

export interface ImageRef {
  /** registry host[:port] as written (docker.io for Docker Hub; `[::1]:5000` keeps brackets) */
  registry: string;
  /** path inside the registry, e.g. library/nginx */
  repository: string;
  /** the tag; absent when a digest names the image */
  tag?: string;
  /** `sha256:<64 hex>` or `sha512:<128 hex>` */
  digest?: string;
}

export type ImageSource =
  | { transport: 'docker'; ref: ImageRef }
  | { transport: 'docker-daemon'; ref: ImageRef }
  | { transport: 'docker-daemon'; imageId: string }
  | { transport: 'docker-archive' | 'oci' | 'oci-archive'; path: string; ref?: string };

const EXAMPLE = 'e.g. alpine:3.20, ghcr.io/owner/app:v1 or localhost:5000/app@sha256:<64 hex>';
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

function invalid(text: string, why: string): UsageError {
  return new UsageError(`invalid image reference "${text}": ${why}; write it like ${EXAMPLE}`);
}

/** Parse a Docker image reference (no transport prefix). */
export function parseReference(text: string): ImageRef {
  if (text === '') throw invalid(text, 'it is empty');
  if (/\s/.test(text)) throw invalid(text, 'it contains white space');
  let name = text;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest))
      throw invalid(text, `"${digest}" is not a digest (sha256: and 64, or sha512: and 128 lowercase hex digits)`);
  }
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/') && colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag))
      throw invalid(
        text,
        `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
  }
  let registry = 'docker.io';
  let repository = name;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first === 'localhost' || /[.:]/.test(first) || first !== first.toLowerCase()) {
      registry = first;
      repository = name.slice(slash + 1);
      if (!HOST.test(registry)) throw invalid(text, `"${registry}" is not a valid registry host[:port]`);
    }
  }
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '') throw invalid(text, 'the repository name is empty');
  for (const c of repository.split('/')) {
    if (!COMPONENT.test(c)) {
      const why =
        c !== c.toLowerCase()
          ? 'repository names must be lowercase'
          : 'use lowercase letters, digits and single . _ or - between them';
      throw invalid(text, `"${c}" is not a valid path component (${why})`);
    }
  }
  if (repository.length > 255) throw invalid(text, 'the repository name is longer than 255 characters');
  if (digest) return { registry, repository, digest };
  return { registry, repository, tag: tag ?? 'latest' };
}

/** The canonical text of a reference: registry/repository:tag or registry/repository@digest. */
export function formatReference(ref: ImageRef): string {
  const base = `${ref.registry}/${ref.repository}`;
  return ref.digest ? `${base}@${ref.digest}` : `${base}:${ref.tag ?? 'latest'}`;
}

/** The host the registry API is served from (Docker Hub's is registry-1.docker.io). */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

/** Parse `TRANSPORT:…` as skopeo does; a bare reference means the docker transport. */
export function parseSource(text: string): ImageSource {
  const m = /^(docker|docker-daemon|docker-archive|oci|oci-archive):(.*)$/s.exec(text);
  if (!m) return { transport: 'docker', ref: parseReference(text) };
  const [, transport, rest] = m;
  if (transport === 'docker') {
    if (!rest.startsWith('//')) throw invalid(text, 'the docker transport is written docker://REFERENCE');
    return { transport, ref: parseReference(rest.slice(2)) };
  }
  if (transport === 'docker-daemon') {
    if (DIGEST.test(rest)) return { transport, imageId: rest };
    return { transport, ref: parseReference(rest) };
  }
  const t = transport as 'docker-archive' | 'oci' | 'oci-archive';
  // containers/image splits PATH[:REF] at the first colon
  const sep = rest.indexOf(':');
  const path = sep < 0 ? rest : rest.slice(0, sep);
  const ref = sep < 0 ? undefined : rest.slice(sep + 1);
  if (path === '')
    throw new UsageError(
      `invalid image source "${text}": the path is empty; write it like ${t}:image.tar${t === 'oci' ? ' or oci:./layout:tag' : ''}`,
    );
  if (ref === undefined || ref === '') return { transport: t, path };
  if (t === 'docker-archive' && !/^@\d+$/.test(ref)) parseReference(ref);
  return { transport: t, path, ref };
}

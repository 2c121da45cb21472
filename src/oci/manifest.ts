// Manifests and platforms: the four media types we pull (Docker schema2 manifest and
// manifest list, OCI manifest and index), the kind of a document decided by its
// Content-Type, and the choice of one image from an index by platform (normalized as
// containerd does; attestation entries skipped).
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export type ManifestKind = 'index' | 'image';

/** index or image from a Content-Type (parameters ignored); undefined if not one of ours. */
export function kindOf(contentType: string | null | undefined): ManifestKind | undefined {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (t === OCI_INDEX || t === DOCKER_LIST) return 'index';
  if (t === OCI_MANIFEST || t === DOCKER_MANIFEST) return 'image';
  return undefined;
}

/** Normalize as containerd's platforms.Normalize: x86_64 → amd64, aarch64 → arm64, arm64/v8 → arm64. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  if (architecture === 'i386') architecture = '386';
  if (architecture === 'aarch64' || architecture === 'arm64') {
    architecture = 'arm64';
    if (variant === 'v8' || variant === '8') variant = undefined;
  }
  if (architecture === 'armhf') [architecture, variant] = ['arm', 'v7'];
  if (architecture === 'armel') [architecture, variant] = ['arm', 'v6'];
  if (architecture === 'arm' && (variant === undefined || variant === '7')) variant = 'v7';
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `linux/arm64/v8` → a normalized Platform; undefined for text that is not os/arch[/variant]. */
export function parsePlatform(text: string): Platform | undefined {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) return undefined;
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown')
  );
}

/**
 * The entry of an index for `want`: an exact match (variant included) first, else one
 * whose variant is unset on either side, else a nested index without a platform (to be
 * searched in turn). Entries without a platform count as linux/amd64.
 */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor | undefined {
  const w = normalizePlatform(want);
  const candidates = index.manifests.filter((d) => !isAttestation(d));
  const platformOf = (d: Descriptor) => normalizePlatform(d.platform ?? { os: 'linux', architecture: 'amd64' });
  const same = candidates.filter((d) => {
    const p = platformOf(d);
    return p.os === w.os && p.architecture === w.architecture;
  });
  return (
    same.find((d) => platformOf(d).variant === w.variant) ??
    same.find((d) => !platformOf(d).variant || !w.variant) ??
    candidates.find((d) => !d.platform && kindOf(d.mediaType) === 'index')
  );
}

/** The platforms an index offers (attestations left out), for error messages. */
export function offeredPlatforms(index: ImageIndex): string[] {
  return index.manifests
    .filter((d) => !isAttestation(d))
    .map((d) => formatPlatform(normalizePlatform(d.platform ?? { os: 'linux', architecture: 'amd64' })));
}

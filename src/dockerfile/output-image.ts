// `--output-image oci:DIR[:REF]` or `oci-archive:FILE[:REF]`: the built image as an OCI
// image layout (image-spec image-layout.md: `oci-layout`, `index.json`, `blobs/sha256/`),
// or as a tar of one (the `oci-archive` transport of containers/image, which skopeo,
// podman load and buildah read). One uncompressed layer (media type
// application/vnd.oci.image.layer.v1.tar, image-spec layer.md): the flattened tree as
// our PAX tar; the config is the built config with that layer's diff_id and one history
// entry; the manifest names both; index.json names the manifest with its platform and
// the annotation org.opencontainers.image.ref.name = REF (default "latest",
// annotations.md). No clock anywhere, so a RUN-less build writes the same bytes each time.
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ArtifactFile } from '../artifact.js';
import { plainStream } from '../compress.js';
import { UsageError } from '../errors.js';
import { writePaxTar } from '../export/tar.js';
import { bytesContent, fileContent } from '../tree/content.js';
import { makeNode, type Time, Tree } from '../tree/tree.js';
import type { BuiltImage } from './build.js';

const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};

interface Blob {
  digest: string;
  size: number;
  /** the bytes, or the file holding them */
  bytes?: Buffer;
  file?: string;
}

interface Target {
  kind: 'oci' | 'oci-archive';
  path: string;
  ref: string;
}

/** `oci:DIR[:REF]` or `oci-archive:FILE[:REF]` (the path ends at the first ":" after the transport, as containers/image reads it). */
export function parseOutputImage(spec: string, cwd: string): Target {
  const m = /^(oci|oci-archive):([^:]+)(?::(.+))?$/.exec(spec);
  if (!m)
    throw new UsageError(
      `--output-image ${spec}: write oci:DIR or oci-archive:FILE (optionally :REF, the image's name in index.json)`,
    );
  return { kind: m[1] as Target['kind'], path: resolve(cwd, m[2]), ref: m[3] ?? 'latest' };
}

function blobOf(bytes: Buffer): Blob {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, bytes };
}

/** The tree as a tar layer in `file`. */
function writeLayer(tree: Tree, file: string): Blob {
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  let size = 0;
  try {
    const stream = plainStream((chunk) => {
      hash.update(chunk);
      for (let o = 0; o < chunk.length;) o += writeSync(fd, chunk, o, chunk.length - o);
      size += chunk.length;
    });
    writePaxTar(tree, (chunk) => stream.write(chunk));
    stream.end();
  } finally {
    closeSync(fd);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, file };
}

function descriptor(mediaType: string, b: Blob, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType, digest: b.digest, size: b.size, ...extra };
}

/** The layout's files (path → blob, index.json last) and the manifest. */
function layoutFiles(built: BuiltImage, layer: Blob, ref: string): { files: Map<string, Blob>; manifest: Blob } {
  const c = JSON.parse(built.config.toString('utf8')) as Record<string, unknown> & {
    architecture: string;
    os: string;
    variant?: string;
  };
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        ...c,
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [{ created_by: 'fledge-pure build: the flattened image' }],
      }),
    ),
  );
  const manifest = blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: descriptor(MEDIA.config, config),
        layers: [descriptor(MEDIA.layer, layer)],
      }),
    ),
  );
  const platform = { architecture: c.architecture, os: c.os, ...(c.variant ? { variant: c.variant } : {}) };
  const index = {
    schemaVersion: 2,
    manifests: [
      descriptor(MEDIA.manifest, manifest, { platform, annotations: { 'org.opencontainers.image.ref.name': ref } }),
    ],
  };
  const blob = (b: Blob) => [`blobs/sha256/${b.digest.slice(7)}`, b] as const;
  const files = new Map([
    ['oci-layout', blobOf(Buffer.from('{"imageLayoutVersion":"1.0.0"}'))],
    blob(layer),
    blob(config),
    blob(manifest),
    ['index.json', blobOf(Buffer.from(JSON.stringify(index)))],
  ]);
  return { files, manifest };
}

function writeLayoutDir(dir: string, files: Map<string, Blob>): void {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  for (const [path, b] of files) {
    if (b.file) copyFileSync(b.file, join(dir, path));
    else writeFileSync(join(dir, path), b.bytes!);
  }
}

function writeLayoutArchive(file: string, files: Map<string, Blob>, epoch: Time): string {
  const t = new Tree({ mode: 0o755, mtime: epoch });
  t.mkdirp('blobs/sha256', { mode: 0o755, mtime: epoch });
  for (const [path, b] of files) {
    const content = b.file ? fileContent(b.file, statSync(b.file).size) : bytesContent(b.bytes!);
    t.set(path, makeNode('file', { mode: 0o644, mtime: epoch }, { content }));
  }
  const out = new ArtifactFile(file);
  try {
    writePaxTar(t, (chunk) => out.write(chunk));
    return out.commit();
  } catch (e) {
    out.abort();
    throw e;
  }
}

/** Writes the built image where `spec` says; returns what was written, for the log. */
export function writeOutputImage(built: BuiltImage, spec: string, cwd: string, epoch: Time): string {
  const target = parseOutputImage(spec, cwd);
  const tmp = mkdtempSync(join(tmpdir(), 'fp-output-image-'));
  try {
    const { files, manifest } = layoutFiles(built, writeLayer(built.tree, join(tmp, 'layer.tar')), target.ref);
    if (target.kind === 'oci') writeLayoutDir(target.path, files);
    else writeLayoutArchive(target.path, files, epoch);
    return `${target.kind}:${target.path} (${target.ref}, manifest ${manifest.digest})`;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

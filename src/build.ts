// build(): config files in, artifact and manifest.json out. The library entry the CLI
// calls; everything it writes goes to temp files renamed into place at the end.
import { existsSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { checkFledgeConfig } from './config/fledge.js';
import { checkManifestTemplate, loadManifestTemplate, manifestJson, renderManifest } from './config/manifest.js';
import type { Problem } from './config/types.js';
import { writeFileAtomic } from './artifact.js';
import { buildEpoch, clampTimes } from './epoch.js';
import { UsageError } from './errors.js';
import { builtImage, buildConfig } from './dockerfile/source.js';
import { imageName } from './oci/source.js';
import { initramfsTree } from './pipeline/initramfs.js';
import { ociRootfsTree } from './pipeline/oci-rootfs.js';
import { checkRootfsType, writeRootfs } from './pipeline/write-rootfs.js';
import { INITRAMFS_FORMAT, type InitramfsCompression, writeInitramfs } from './pipeline/write-initramfs.js';

export interface BuildOptions {
  /** fledge.toml; default ./fledge.toml */
  config?: string;
  /** manifest.toml; default ./manifest.toml when it exists */
  manifest?: string;
  /** the artifact's path, exactly; default <name>.cpio.gz, <name>.img (ext4) or <name>.squashfs in cwd */
  output?: string;
  /** manifest.json names the artifact as urlBase + file name instead of a relative path */
  urlBase?: string;
  /** the initramfs compression; default gzip */
  compression?: InitramfsCompression;
  /** build an initramfs whatever the strategy says */
  outputInitramfs?: boolean;
  dockerArchive?: string;
  /** os/arch[/variant] of a multi-platform image; default linux/amd64 */
  platform?: string;
  /** registries spoken to over plain HTTP besides loopback ones */
  insecure?: string[];
  dockerfile?: string;
  context?: string;
  target?: string;
  buildArgs?: string[];
  /** progress lines; default none */
  log?: (line: string) => void;
  cwd?: string;
}

export interface BuildResult {
  artifact: string;
  sha256: string;
  size: number;
  /** the manifest.json written, when there was a manifest.toml */
  manifest?: string;
}


function defaultManifest(cwd: string, given?: string): string | undefined {
  if (given) return resolve(cwd, given);
  const path = resolve(cwd, 'manifest.toml');
  return existsSync(path) ? path : undefined;
}

/** The artifact's base name: the manifest's name, else the image's (or Dockerfile folder's) name, else "plugin". */
function artifactName(manifestName: string | undefined, image: string | undefined, built: string | undefined): string {
  if (manifestName) return manifestName;
  if (built) return built;
  return image ? imageName(image) : 'plugin';
}

function artifactUrl(artifact: string, manifestPath: string, urlBase?: string): string {
  if (urlBase) return urlBase.replace(/\/*$/, '/') + basename(artifact);
  return relative(dirname(manifestPath), artifact).split(sep).join('/');
}

export async function build(o: BuildOptions = {}): Promise<BuildResult> {
  const cwd = o.cwd ?? process.cwd();
  const log = o.log ?? (() => {});
  const epoch = buildEpoch();
  const config = buildConfig(o, cwd);
  const manifestFile = defaultManifest(cwd, o.manifest);
  const template = manifestFile ? loadManifestTemplate(manifestFile) : undefined;
  const strategy = o.outputInitramfs ? 'initramfs' : config.strategy;
  const image = o.dockerArchive ? `docker-archive:${o.dockerArchive}` : config.source.image;
  // an image path in fledge.toml is relative to it; --docker-archive to the working folder
  const imageCwd = o.dockerArchive ? cwd : config.dir;
  const built = await builtImage(o, config, { cwd: imageCwd, epoch, log });
  const name = artifactName(template?.name, image, built?.name);
  const sourceOptions = { config, epoch, log, cwd: imageCwd, platform: o.platform, insecure: o.insecure, built };

  let written: { sha256: string; size: number };
  let artifact: string;
  let ref: { kind: 'initramfs' | 'rootfs'; format: string };
  let kernelArgs: string | undefined;
  if (strategy === 'initramfs') {
    const compression = o.compression ?? 'gzip';
    const format = INITRAMFS_FORMAT[compression];
    if (!format) throw new UsageError(`--compression ${compression}: use gzip or zstd`);
    artifact = outputPath(cwd, o.output ?? `${name}.${format}`);
    log('initramfs: assembling the tree');
    const tree = await initramfsTree({ ...sourceOptions, image });
    logClamped(log, clampTimes(tree));
    log(`initramfs: writing ${artifact}`);
    const w = await writeInitramfs(tree, artifact, compression);
    if (w.droppedXattrs) log(`warning: ${w.droppedXattrs} entries carry xattrs, which newc cpio cannot hold: left out`);
    written = w;
    ref = { kind: 'initramfs', format };
  } else {
    const fs = config.filesystem!;
    if (o.compression) throw new UsageError(`--compression ${o.compression} is for initramfs builds; a ${fs.type} image's compression is [filesystem] compression_level`);
    if (!image && !built) throw new UsageError(`${config.file}: [source] image is missing; oci_rootfs needs an image (or pass --docker-archive FILE)`);
    checkRootfsType(fs);
    artifact = outputPath(cwd, o.output ?? `${name}.${fs.type === 'squashfs' ? 'squashfs' : 'img'}`);
    log('oci_rootfs: assembling the tree');
    const tree = await ociRootfsTree({ ...sourceOptions, image });
    logClamped(log, clampTimes(tree));
    log(`oci_rootfs: writing ${fs.type} ${artifact}`);
    const w = await writeRootfs(tree, artifact, fs, epoch);
    if (w.droppedXattrs) log(`warning: ${w.droppedXattrs} entries carry xattrs squashfs has no namespace for (system.*, POSIX ACLs): left out`);
    written = w;
    ref = { kind: 'rootfs', format: w.format };
    kernelArgs = w.kernelArgs;
  }
  log(`${ref.kind}: ${written.size} bytes, sha256 ${written.sha256}`);

  const result: BuildResult = { artifact, sha256: written.sha256, size: written.size };
  if (template) {
    const manifest = resolve(dirname(artifact), `${name}.manifest.json`);
    const json = renderManifest(
      template,
      { ...ref, url: artifactUrl(artifact, manifest, o.urlBase), checksum: `sha256:${written.sha256}` },
      { kernelArgs },
    );
    writeFileAtomic(manifest, manifestJson(json));
    log(`manifest: ${manifest}`);
    result.manifest = manifest;
  } else {
    log('manifest: no manifest.toml, so no manifest.json (pass --manifest to write one)');
  }
  return result;
}

function logClamped(log: (line: string) => void, clamped: number): void {
  if (clamped) log(`SOURCE_DATE_EPOCH: ${clamped} newer times clamped to it`);
}

function outputPath(cwd: string, output: string): string {
  const artifact = resolve(cwd, output);
  if (!existsSync(dirname(artifact))) throw new UsageError(`--output ${artifact}: folder ${dirname(artifact)} does not exist; create it first`);
  return artifact;
}

/** Every problem of both files; an empty list means both are valid. */
export function validate(o: { config?: string; manifest?: string; cwd?: string } = {}): Problem[] {
  const cwd = o.cwd ?? process.cwd();
  const problems = checkFledgeConfig(resolve(cwd, o.config ?? 'fledge.toml')).problems;
  const manifestFile = defaultManifest(cwd, o.manifest);
  if (manifestFile) problems.push(...checkManifestTemplate(manifestFile).problems);
  return problems;
}

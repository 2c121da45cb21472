// build(): config files in, artifact and manifest.json out. The library entry the CLI
// calls; everything it writes goes to temp files renamed into place at the end.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { isBundlePath, writeBundle } from './bundle.js';
import { checkFledgeConfig, loadFledgeConfig } from './config/fledge.js';
import { checkManifestTemplate, loadManifestTemplate, manifestJson, renderManifest } from './config/manifest.js';
import type { FilesystemConfig, FledgeConfig, Problem, Strategy } from './config/types.js';
import type { Time } from './tree/tree.js';
import { writeFileAtomic } from './artifact.js';
import { buildEpoch, clampTimes } from './epoch.js';
import { UsageError } from './errors.js';
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
  /**
   * the artifact's path, exactly; default <name>.cpio.gz, <name>.img (ext4), <name>.qcow2
   * (disk_format = "qcow2") or <name>.squashfs in cwd. A path ending in .qcow2 asks for a
   * qcow2 disk; one ending in .tar.gz or .tgz for a bundle of the artifact and manifest.json.
   */
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
  /** the artifact, or the bundle holding it */
  artifact: string;
  sha256: string;
  size: number;
  /** the manifest.json written, when there was a manifest.toml (inside the bundle: none) */
  manifest?: string;
}

/** Where the artifact goes: `--output`, its default name in cwd, or a hidden folder for a bundle. */
interface Target {
  place(defaultName: string): string;
  /** the bundle's path and the folder its artifact is staged in */
  bundle?: { path: string; stage: string };
}

function target(cwd: string, output: string | undefined, urlBase: string | undefined): Target {
  if (!output || !isBundlePath(output)) return { place: (name) => outputPath(cwd, output ?? name) };
  if (urlBase) throw new UsageError(`--url-base with --output ${output}: a bundle's manifest names the artifact beside it inside the bundle; drop --url-base, or write a plain artifact`);
  const path = outputPath(cwd, output);
  const stage = mkdtempSync(join(dirname(path), `.${basename(path)}.`));
  return { place: (name) => join(stage, name), bundle: { path, stage } };
}

/** qcow2 when the config asks for it or the output's name ends in .qcow2. */
function withDiskFormat(fs: FilesystemConfig, output: string | undefined): FilesystemConfig {
  return output && /\.qcow2$/i.test(output) ? { ...fs, disk_format: 'qcow2' } : fs;
}

function rootfsExtension(fs: FilesystemConfig): string {
  if (fs.disk_format === 'qcow2') return 'qcow2';
  return fs.type === 'squashfs' ? 'squashfs' : 'img';
}

function refuseLaterCapabilities(o: BuildOptions): void {
  if (o.dockerfile || o.context || o.target || o.buildArgs?.length) {
    throw new UsageError('building from a Dockerfile needs an image build step fledge-pure does not have: build the image yourself and pass it as an image source');
  }
}

function defaultManifest(cwd: string, given?: string): string | undefined {
  if (given) return resolve(cwd, given);
  const path = resolve(cwd, 'manifest.toml');
  return existsSync(path) ? path : undefined;
}

/** The artifact's base name: the manifest's name, else the image's name, else "plugin". */
function artifactName(manifestName: string | undefined, image: string | undefined): string {
  if (manifestName) return manifestName;
  return image ? imageName(image) : 'plugin';
}

function artifactUrl(artifact: string, manifestPath: string, urlBase?: string): string {
  if (urlBase) return urlBase.replace(/\/*$/, '/') + basename(artifact);
  return relative(dirname(manifestPath), artifact).split(sep).join('/');
}

export async function build(o: BuildOptions = {}): Promise<BuildResult> {
  const cwd = o.cwd ?? process.cwd();
  const log = o.log ?? (() => {});
  refuseLaterCapabilities(o);
  const epoch = buildEpoch();
  const config = loadFledgeConfig(resolve(cwd, o.config ?? 'fledge.toml'));
  const manifestFile = defaultManifest(cwd, o.manifest);
  const template = manifestFile ? loadManifestTemplate(manifestFile) : undefined;
  const strategy = o.outputInitramfs ? 'initramfs' : config.strategy;
  if (config.source.dockerfile) {
    throw new UsageError(`${config.file}: [source] dockerfile needs an image build step fledge-pure does not have: build and save the image yourself (docker save -o image.tar), then use --docker-archive image.tar`);
  }
  const image = o.dockerArchive ? `docker-archive:${o.dockerArchive}` : config.source.image;
  const name = artifactName(template?.name, image);
  // an image path in fledge.toml is relative to it; --docker-archive to the working folder
  const imageCwd = o.dockerArchive ? cwd : config.dir;
  const sourceOptions = { config, epoch, log, cwd: imageCwd, platform: o.platform, insecure: o.insecure };
  if (o.output && isBundlePath(o.output) && !template)
    throw new UsageError(`--output ${o.output}: a bundle holds manifest.json, which needs a manifest.toml; create one (or pass --manifest FILE), or write a plain artifact`);
  const out = target(cwd, o.output, o.urlBase);
  try {
    const made = await writeArtifact({ o, config, strategy, image, name, out, sourceOptions, epoch, log });
    const { artifact, written, ref, kernelArgs } = made;
    log(`${ref.kind}: ${written.size} bytes, sha256 ${written.sha256}`);
    if (!template) {
      log('manifest: no manifest.toml, so no manifest.json (pass --manifest to write one)');
      return { artifact, sha256: written.sha256, size: written.size };
    }
    const entry = { ...ref, checksum: `sha256:${written.sha256}` };
    if (out.bundle) {
      const json = manifestJson(renderManifest(template, { ...entry, url: basename(artifact) }, { kernelArgs }));
      const bundle = writeBundle(out.bundle.path, json, artifact, epoch);
      log(`bundle: ${out.bundle.path} (${basename(artifact)} and manifest.json), ${bundle.size} bytes, sha256 ${bundle.sha256}`);
      return { artifact: out.bundle.path, ...bundle };
    }
    const manifest = resolve(dirname(artifact), `${name}.manifest.json`);
    const json = renderManifest(template, { ...entry, url: artifactUrl(artifact, manifest, o.urlBase) }, { kernelArgs });
    writeFileAtomic(manifest, manifestJson(json));
    log(`manifest: ${manifest}`);
    return { artifact, sha256: written.sha256, size: written.size, manifest };
  } finally {
    if (out.bundle) rmSync(out.bundle.stage, { recursive: true, force: true });
  }
}

interface ArtifactJob {
  o: BuildOptions;
  config: FledgeConfig;
  strategy: Strategy;
  image: string | undefined;
  name: string;
  out: Target;
  sourceOptions: Omit<Parameters<typeof initramfsTree>[0], 'image'>;
  epoch: Time;
  log: (line: string) => void;
}

interface MadeArtifact {
  artifact: string;
  written: { sha256: string; size: number };
  ref: { kind: 'initramfs' | 'rootfs'; format: string };
  kernelArgs?: string;
}

/** Assembles the tree and writes the artifact (initramfs or root filesystem image). */
async function writeArtifact(j: ArtifactJob): Promise<MadeArtifact> {
  const { o, config, image, name, out, sourceOptions, epoch, log } = j;
  if (j.strategy === 'initramfs') {
    const compression = o.compression ?? 'gzip';
    const format = INITRAMFS_FORMAT[compression];
    if (!format) throw new UsageError(`--compression ${compression}: use gzip or zstd`);
    if (o.output && /\.qcow2$/i.test(o.output)) throw new UsageError(`--output ${o.output}: a qcow2 disk holds a root filesystem image (strategy = "oci_rootfs"); an initramfs is a ${format} archive: name it .${format}`);
    const artifact = out.place(`${name}.${format}`);
    log('initramfs: assembling the tree');
    const tree = await initramfsTree({ ...sourceOptions, image });
    logClamped(log, clampTimes(tree));
    log(`initramfs: writing ${artifact}`);
    const w = await writeInitramfs(tree, artifact, compression);
    if (w.droppedXattrs) log(`warning: ${w.droppedXattrs} entries carry xattrs, which newc cpio cannot hold: left out`);
    return { artifact, written: w, ref: { kind: 'initramfs', format } };
  }
  const fs = withDiskFormat(config.filesystem!, o.output);
  if (o.compression) throw new UsageError(`--compression ${o.compression} is for initramfs builds; a ${fs.type} image's compression is [filesystem] compression_level`);
  if (!image) throw new UsageError(`${config.file}: [source] image is missing; oci_rootfs needs an image (or pass --docker-archive FILE)`);
  checkRootfsType(fs);
  const artifact = out.place(`${name}.${rootfsExtension(fs)}`);
  log('oci_rootfs: assembling the tree');
  const tree = await ociRootfsTree({ ...sourceOptions, image });
  logClamped(log, clampTimes(tree));
  log(`oci_rootfs: writing ${fs.type}${fs.disk_format === 'qcow2' ? ' in qcow2' : ''} ${artifact}`);
  const w = await writeRootfs(tree, artifact, fs, epoch);
  if (w.droppedXattrs) log(`warning: ${w.droppedXattrs} entries carry xattrs squashfs has no namespace for (system.*, POSIX ACLs): left out`);
  return { artifact, written: w, ref: { kind: 'rootfs', format: w.format }, kernelArgs: w.kernelArgs };
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

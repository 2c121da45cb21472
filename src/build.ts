// build(): config files in, artifact and manifest.json out. The library entry the CLI
// calls; everything it writes goes to temp files renamed into place at the end. The
// code of one kind of build (initramfs or root filesystem, --output-image, a bundle) is
// loaded when the build asks for it, not at start-up.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isBundlePath } from './bundle.js';
import { trackTemp, untrackTemp } from './cleanup.js';
import { checkFledgeConfig, ConfigError, formatProblem } from './config/fledge.js';
import { baseUrlFromImage, type ImageDefaults, imageDefaults, templateFromImage } from './config/image-defaults.js';
import {
  checkManifestTemplate,
  loadManifestTemplate,
  manifestJson,
  renderManifest,
  type ManifestTemplate,
} from './config/manifest.js';
import type { FilesystemConfig, FledgeConfig, Problem } from './config/types.js';
import { misreadWarning } from './config/volant-url.js';
import { writeFileAtomic } from './artifact.js';
import { buildEpoch, clampTimes, sourceDateEpoch } from './epoch.js';
import { defaultCacheDir } from './cache.js';
import { CompressedCache } from './compressed-cache.js';
import { GITHUB_API } from './pipeline/agent.js';
import type { Time } from './tree/tree.js';
import { UsageError } from './errors.js';
import type { Limits } from './limits.js';
import type { BuiltImage } from './dockerfile/build.js';
import { builtImage, buildConfig } from './dockerfile/source.js';
import { imageName } from './oci/sources/open.js';
import type { InitramfsCompression } from './pipeline/write-initramfs.js';
import type * as RootfsWriter from './pipeline/write-rootfs.js';

export interface BuildOptions {
  /** fledge.toml; default ./fledge.toml */
  config?: string;
  /** manifest.toml; default ./manifest.toml when it exists */
  manifest?: string;
  /**
   * the artifact's path, exactly; default <name>.cpio.gz, <name>.img (ext4), <name>.xfs,
   * <name>.btrfs, <name>.squashfs or <name>.qcow2 (disk_format = "qcow2") in cwd; seed 002's single-file form:
   * <name>.tar.gz. A path ending in .qcow2 asks for a qcow2 disk; one ending in .tar.gz or
   * .tgz for a bundle of the artifact and manifest.json.
   */
  output?: string;
  /** manifest.json names the artifact as urlBase + file name instead of its absolute path */
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
  /** Dockerfile builds: run every RUN step, ignoring the step cache */
  noCache?: boolean;
  /** Dockerfile builds: also write the built image as `oci:DIR[:REF]` or `oci-archive:FILE[:REF]` */
  outputImage?: string;
  /** progress lines; default none */
  log?: (line: string) => void;
  cwd?: string;
  /** timeouts and caps for image sources (src/limits.ts) */
  limits?: Partial<Limits>;
  /**
   * The environment, read here once and nowhere deeper: SOURCE_DATE_EPOCH, and
   * XDG_CACHE_HOME and FLEDGE_PURE_GITHUB_API for the two options below when they are
   * not given. Default process.env.
   */
  env?: NodeJS.ProcessEnv;
  /** the cache folder (src/cache.ts); default $XDG_CACHE_HOME/fledge-pure (~/.cache/fledge-pure) */
  cacheDir?: string;
  /** the GitHub API base that release agents are looked up at; default https://api.github.com */
  githubApi?: string;
  /**
   * bound of the compressed-output cache (squashfs blocks, cpio.gz chunks, qcow2 clusters
   * by content, src/compressed-cache.ts) in the cache folder; default 1 GiB, 0 = no cache
   */
  compressedCacheBytes?: number;
}

export interface BuildResult {
  /** the artifact, or the bundle holding it */
  artifact: string;
  sha256: string;
  size: number;
  /** the manifest.json written: from manifest.toml, or from the image alone when it gives every required field */
  manifest?: string;
}

/** Where the artifact goes: `--output`, its default name in cwd, or a hidden folder for a bundle. */
interface Target {
  /** the output asked for (seed 002's single-file form: <name>.tar.gz by default) */
  output?: string;
  place(defaultName: string): string;
  /** the bundle's path and the folder its artifact is staged in */
  bundle?: { path: string; stage: string };
}

function target(cwd: string, output: string | undefined, urlBase: string | undefined): Target {
  if (!output || !isBundlePath(output)) return { output, place: (name) => outputPath(cwd, output ?? name) };
  if (urlBase)
    throw new UsageError(
      `--url-base with --output ${output}: a bundle's manifest names the artifact beside it inside the bundle; drop --url-base, or write a plain artifact`,
    );
  const path = outputPath(cwd, output);
  const stage = mkdtempSync(join(dirname(path), `.${basename(path)}.`));
  trackTemp(stage);
  return { output, place: (name) => join(stage, name), bundle: { path, stage } };
}

/**
 * qcow2 when the output's name ends in .qcow2, or the config asks for it. Seed 002's form
 * asks for a qcow2 disk in its bundle; another --output name (NAME.img) is the raw image.
 */
function withDiskFormat(config: FledgeConfig, output: string | undefined): FilesystemConfig {
  const fs = config.filesystem!;
  if (output && /\.qcow2$/i.test(output)) return { ...fs, disk_format: 'qcow2' };
  if (config.plugin && output && !isBundlePath(output)) return { ...fs, disk_format: 'raw' };
  return fs;
}

/** The manifest: fledge.toml's own ([plugin.manifest]) or manifest.toml's; never both. */
function manifestTemplateOf(config: FledgeConfig, manifestFile: string | undefined): ManifestTemplate | undefined {
  if (config.manifest && manifestFile)
    throw new UsageError(
      `${manifestFile}: ${config.file} defines the manifest already ([plugin.manifest]); remove one of them (or move manifest.toml away)`,
    );
  return config.manifest ?? (manifestFile ? loadManifestTemplate(manifestFile) : undefined);
}

function defaultManifest(cwd: string, given?: string): string | undefined {
  if (given) return resolve(cwd, given);
  const path = resolve(cwd, 'manifest.toml');
  return existsSync(path) ? path : undefined;
}

/** The artifact's base name: the manifest's name, else the image's (or the Dockerfile folder's) name, else "plugin". */
function artifactName(manifestName: string | undefined, image: string | undefined, built: string | undefined): string {
  if (manifestName) return manifestName;
  if (built) return built;
  return image ? imageName(image) : 'plugin';
}

/** The artifact as manifest.json names it: its absolute path, or --url-base + its file name. */
function artifactUrl(artifact: string, urlBase?: string): string {
  if (urlBase) return urlBase.replace(/\/*$/, '/') + basename(artifact);
  return artifact;
}

function checkUrlBase(urlBase: string | undefined): void {
  if (urlBase !== undefined && !/^https?:\/\/[^/]/i.test(urlBase))
    throw new UsageError(
      `--url-base ${JSON.stringify(urlBase)}: must be an http:// or https:// URL (Volant's launcher ` +
        `opens anything else as a local path); leave it out to name the artifact by its absolute path`,
    );
}

/** What the tree's makers (src/pipeline) are given. */
interface SourceOptions {
  config: FledgeConfig;
  epoch: Time;
  log: (line: string) => void;
  cwd: string;
  platform?: string;
  insecure?: string[];
  limits?: Partial<Limits>;
  cacheDir: string;
  githubApi: string;
  onImageConfig: (c: Buffer) => void;
  built?: BuiltImage;
}

/** What the build steps share. */
interface Run {
  o: BuildOptions;
  cwd: string;
  log: (line: string) => void;
  config: FledgeConfig;
  image?: string;
  name: string;
  out: Target;
  /** SOURCE_DATE_EPOCH when set: the time newer times are clamped to */
  sourceDate?: Time;
  sourceOptions: SourceOptions;
  /** compressed output kept by content, when not turned off */
  compressed?: CompressedCache;
}

interface Written {
  artifact: string;
  sha256: string;
  size: number;
  ref: { kind: 'initramfs' | 'rootfs'; format: string };
  kernelArgs?: string;
}

async function writeBuiltImage(
  spec: string,
  built: BuiltImage | undefined,
  { cwd, epoch, sourceDate, log }: { cwd: string; epoch: Time; sourceDate?: Time; log: (line: string) => void },
): Promise<void> {
  if (!built)
    throw new UsageError(
      `--output-image ${spec}: only a Dockerfile build makes an image to write; give the Dockerfile (fledge-pure build ./Dockerfile)`,
    );
  clampTimes(built.tree, sourceDate);
  const { writeOutputImage } = await import('./dockerfile/output-image.js');
  log(`image: written as ${writeOutputImage(built, spec, cwd, epoch)}`);
}

export async function build(o: BuildOptions = {}): Promise<BuildResult> {
  const cwd = o.cwd ?? process.cwd();
  const log = o.log ?? (() => {});
  checkUrlBase(o.urlBase);
  const env = o.env ?? process.env;
  const sourceDate = sourceDateEpoch(env);
  const epoch = buildEpoch(sourceDate);
  const cacheDir = o.cacheDir ?? defaultCacheDir(env);
  const githubApi = o.githubApi ?? (env.FLEDGE_PURE_GITHUB_API || GITHUB_API);
  const config = buildConfig(o, cwd);
  const template = manifestTemplateOf(config, defaultManifest(cwd, o.manifest));
  for (const w of config.warnings ?? []) log(`warning: ${formatProblem(w)}`);
  // --docker-archive is the image whatever [source] says (seed 002: `fledge build --docker-archive image.tar`)
  const image = o.dockerArchive ? `docker-archive:${o.dockerArchive}` : config.source.image;
  // an image path in fledge.toml is relative to it; --docker-archive to the working folder
  const imageCwd = o.dockerArchive ? cwd : config.dir;
  // a typo fails before the build
  if (o.outputImage) (await import('./dockerfile/output-image.js')).parseOutputImage(o.outputImage, cwd);
  const built = await builtImage(o, config, { cwd: imageCwd, epoch, sourceDate, log, cacheDir });
  if (o.outputImage) await writeBuiltImage(o.outputImage, built, { cwd, epoch, sourceDate, log });
  let imageConfig: Buffer | undefined;
  const name = artifactName(template?.name, image, built?.name);
  const run: Run = {
    o,
    cwd,
    log,
    config,
    image,
    name,
    sourceDate,
    out: target(cwd, o.output ?? (config.plugin ? `${name}.tar.gz` : undefined), o.urlBase),
    sourceOptions: {
      config,
      epoch,
      log,
      cwd: imageCwd,
      platform: o.platform,
      insecure: o.insecure,
      limits: o.limits,
      cacheDir,
      githubApi,
      onImageConfig: (c) => (imageConfig = c),
      built,
    },
  };
  const strategy = o.outputInitramfs ? 'initramfs' : config.strategy;
  if (o.compressedCacheBytes !== 0) run.compressed = new CompressedCache(cacheDir, o.compressedCacheBytes);
  try {
    const w = strategy === 'initramfs' ? await buildInitramfs(run) : await buildRootfs(run);
    log(`${w.ref.kind}: ${w.size} bytes, sha256 ${w.sha256}`);
    if (run.out.bundle) return await writeBundleOf(run, run.out.bundle.path, w, template, imageConfig);
    const result: BuildResult = { artifact: w.artifact, sha256: w.sha256, size: w.size };
    const manifest = writeManifest(run, w, template, imageConfig);
    if (manifest) result.manifest = manifest;
    return result;
  } finally {
    run.compressed?.trim();
    if (run.out.bundle) {
      rmSync(run.out.bundle.stage, { recursive: true, force: true });
      untrackTemp(run.out.bundle.stage);
    }
  }
}

/** How much of the compressed output came from the cache. */
function logCompressed(log: (line: string) => void, c: CompressedCache | undefined): void {
  if (c && c.hits + c.misses)
    log(
      `compressed cache: ${c.hits} of ${c.hits + c.misses} blocks reused${c.corrupt ? `, ${c.corrupt} corrupt entries replaced` : ''}`,
    );
}

async function buildInitramfs({
  o,
  log,
  image,
  name,
  out,
  sourceDate,
  sourceOptions,
  compressed,
}: Run): Promise<Written> {
  const { INITRAMFS_FORMAT, writeInitramfs } = await import('./pipeline/write-initramfs.js');
  const { initramfsTree } = await import('./pipeline/initramfs.js');
  const compression = o.compression ?? 'gzip';
  const format = INITRAMFS_FORMAT[compression];
  if (!format) throw new UsageError(`--compression ${compression}: use gzip or zstd`);
  if (out.output && /\.qcow2$/i.test(out.output))
    throw new UsageError(
      `--output ${out.output}: a qcow2 disk holds a root filesystem image (strategy = "oci_rootfs"); an initramfs is a ${format} archive: name it .${format}`,
    );
  const artifact = out.place(`${name}.${format}`);
  log('initramfs: assembling the tree');
  const tree = await initramfsTree({ ...sourceOptions, image });
  logClamped(log, clampTimes(tree, sourceDate));
  log(`initramfs: writing ${artifact}`);
  const w = await writeInitramfs(tree, artifact, compression, compressed);
  logCompressed(log, compressed);
  if (w.droppedXattrs) log(`warning: ${w.droppedXattrs} entries carry xattrs, which newc cpio cannot hold: left out`);
  return { artifact, sha256: w.sha256, size: w.size, ref: { kind: 'initramfs', format } };
}

async function buildRootfs({
  o,
  log,
  config,
  image,
  name,
  out,
  sourceDate,
  sourceOptions,
  compressed,
}: Run): Promise<Written> {
  const rootfs: typeof RootfsWriter = await import('./pipeline/write-rootfs.js');
  const fs = withDiskFormat(config, out.output);
  if (o.compression)
    throw new UsageError(
      `--compression ${o.compression} is for initramfs builds; a ${fs.type} image's compression is [filesystem] compression_level`,
    );
  if (!image && !sourceOptions.built)
    throw new UsageError(
      `${config.file}: [source] image is missing; oci_rootfs needs an image (or pass --docker-archive FILE)`,
    );
  rootfs.checkRootfsType(fs);
  const artifact = out.place(fs.disk_format === 'qcow2' ? `${name}.qcow2` : rootfs.rootfsFileName(name, fs));
  const misread = misreadWarning(basename(artifact), fs.type);
  if (misread) log(`warning: --output ${basename(artifact)}: ${misread}`);
  await rootfs.startRootfsThreads(fs);
  log('oci_rootfs: assembling the tree');
  const { ociRootfsTree } = await import('./pipeline/oci-rootfs.js');
  const tree = await ociRootfsTree({ ...sourceOptions, image });
  logClamped(log, clampTimes(tree, sourceDate));
  log(`oci_rootfs: writing ${fs.type}${fs.disk_format === 'qcow2' ? ' in qcow2' : ''} ${artifact}`);
  const w = await rootfs.writeRootfs(tree, artifact, fs, sourceOptions.epoch, compressed, true);
  logCompressed(log, compressed);
  if (w.droppedXattrs)
    log(
      `warning: ${w.droppedXattrs} entries carry xattrs squashfs has no namespace for (system.*, POSIX ACLs): left out`,
    );
  return {
    artifact,
    sha256: w.sha256,
    size: w.size,
    ref: { kind: 'rootfs', format: w.format },
    kernelArgs: w.kernelArgs,
  };
}

/** The manifest template to render: the given one (base_url and entrypoint from the image when it has none), else one from the image alone. */
function manifestTemplate(
  run: Run,
  template: ManifestTemplate | undefined,
  imageConfig: Buffer | undefined,
  file: string,
): ManifestTemplate | undefined {
  const defaults = imageConfig ? imageDefaults(imageConfig) : { tcpPorts: [], argv: [] };
  if (template) return completeFromImage(run, template, defaults);
  const direct = templateFromImage(run.name, defaults, file);
  const fix = 'no manifest.json written (add a manifest.toml, or pass --manifest)';
  if (!direct.template && !imageConfig)
    run.log(`warning: no manifest.toml and no image to take workload.entrypoint and workload.base_url from; ${fix}`);
  else if (!direct.template)
    run.log(
      `warning: no manifest.toml, and the image lacks what Volant requires: ${direct.missing.join(', ')}; ${fix}`,
    );
  else run.log('manifest: no manifest.toml: name, version, entrypoint and base_url from the image, 1 CPU, 512 MB');
  return direct.template;
}

/** Fills a template's missing base_url and entrypoint from the image, or fails with the template's own file:line problem. */
function completeFromImage(run: Run, t: ManifestTemplate, d: ImageDefaults): ManifestTemplate {
  const workload = { ...t.workload };
  if (!workload.base_url) {
    workload.base_url = baseUrlFromImage(d);
    if (!workload.base_url) throw new ConfigError([t.missingBaseUrl!]);
    run.log(`manifest: workload.base_url ${workload.base_url}, from the image's one exposed tcp port`);
  }
  if (!workload.entrypoint.length) {
    if (!d.argv.length) throw new ConfigError([t.missingEntrypoint!]);
    workload.entrypoint = d.argv;
    run.log(`manifest: workload.entrypoint ${JSON.stringify(d.argv)}, the image's Entrypoint + Cmd`);
  }
  return { ...t, workload };
}

function writeManifest(
  run: Run,
  w: Written,
  template: ManifestTemplate | undefined,
  imageConfig: Buffer | undefined,
): string | undefined {
  const manifest = resolve(dirname(w.artifact), `${run.name}.manifest.json`);
  const t = manifestTemplate(run, template, imageConfig, manifest);
  if (!t) return undefined;
  const ref = { ...w.ref, url: artifactUrl(w.artifact, run.o.urlBase), checksum: `sha256:${w.sha256}` };
  writeFileAtomic(manifest, manifestJson(renderManifest(t, ref, { kernelArgs: w.kernelArgs })));
  run.log(`manifest: ${manifest}`);
  return manifest;
}

/** The bundle: the artifact and its manifest.json (url = the artifact's bare file name); a bundle needs a manifest. */
async function writeBundleOf(
  run: Run,
  path: string,
  w: Written,
  template: ManifestTemplate | undefined,
  imageConfig: Buffer | undefined,
): Promise<BuildResult> {
  const t = manifestTemplate(run, template, imageConfig, join(dirname(w.artifact), 'manifest.json'));
  if (!t)
    throw new UsageError(
      `--output ${basename(path)}: a bundle holds manifest.json, and there is none to write (see the ` +
        `warning above); add a manifest.toml, or write a plain artifact`,
    );
  const ref = { ...w.ref, url: basename(w.artifact), checksum: `sha256:${w.sha256}` };
  const { writeBundle } = await import('./bundle.js');
  const bundle = await writeBundle(
    path,
    manifestJson(renderManifest(t, ref, { kernelArgs: w.kernelArgs, bundled: true })),
    w.artifact,
    run.sourceOptions.epoch,
  );
  run.log(`bundle: ${path} (${basename(w.artifact)} and manifest.json), ${bundle.size} bytes, sha256 ${bundle.sha256}`);
  return { artifact: path, ...bundle };
}

function logClamped(log: (line: string) => void, clamped: number): void {
  if (clamped) log(`SOURCE_DATE_EPOCH: ${clamped} newer times clamped to it`);
}

function outputPath(cwd: string, output: string): string {
  if (output === '-')
    throw new UsageError(
      '--output -: build writes the artifact and manifest.json as files and prints their paths; give a file path (export -o - writes a tar to stdout)',
    );
  const artifact = resolve(cwd, output);
  if (!existsSync(dirname(artifact)))
    throw new UsageError(`--output ${artifact}: folder ${dirname(artifact)} does not exist; create it first`);
  return artifact;
}

/** Every problem of both files; an empty list means both are valid. */
export function validate(
  o: { config?: string; manifest?: string; cwd?: string; onWarning?: (p: Problem) => void } = {},
): Problem[] {
  const cwd = o.cwd ?? process.cwd();
  const { config, problems } = checkFledgeConfig(resolve(cwd, o.config ?? 'fledge.toml'));
  for (const w of config?.warnings ?? []) o.onWarning?.(w);
  const manifestFile = defaultManifest(cwd, o.manifest);
  if (!manifestFile) return problems;
  if (config?.manifest) {
    problems.push({
      file: manifestFile,
      message: `${config.file} defines the manifest already ([plugin.manifest]); remove one of them (or move manifest.toml away)`,
    });
    return problems;
  }
  const m = checkManifestTemplate(manifestFile);
  problems.push(...m.problems);
  // a missing base_url can still come from the image's exposed port; without an image it cannot
  const missing = m.template?.missingBaseUrl;
  if (missing && config && !config.source.image && !config.source.dockerfile) problems.push(missing);
  return problems;
}

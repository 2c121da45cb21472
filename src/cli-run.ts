// What the command line does once its arguments are parsed (by the fast path of
// src/cli-args.ts or by yargs in src/cli-yargs.ts): the build command, the conversions of
// the flags every image command shares, and the one-line error exit.
import { UsageError } from './errors.js';
import { type Limits, parseSize } from './limits.js';
import { progress } from './progress.js';

/** The arguments of `build`, by flag name, as yargs hands them to the command. */
export interface BuildArgs {
  dockerfile?: string;
  config: string;
  manifest?: string;
  output?: string;
  'url-base'?: string;
  compression?: 'gzip' | 'zstd';
  'output-initramfs': boolean;
  'docker-archive'?: string;
  context?: string;
  target?: string;
  'build-arg'?: string[];
  cache: boolean;
  'compressed-cache-size'?: string;
  'output-image'?: string;
  quiet: boolean;
  platform?: string;
  'insecure-registry'?: string[];
  'network-timeout'?: number;
  'max-layer-size'?: string;
  'max-image-size'?: string;
}

function sizeFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = parseSize(text);
  if (n === undefined || n <= 0)
    throw new UsageError(`--${flag} ${text}: write a size like 20G, 512M or a number of bytes`);
  return n;
}

/** --compressed-cache-size: a size, or 0 for no cache. */
function cacheSizeFlag(text: string | undefined): number | undefined {
  return text?.trim() === '0' ? 0 : sizeFlag('compressed-cache-size', text);
}

/** The limits the image flags set; the rest keep their defaults. */
export function limitsFrom(a: {
  'network-timeout'?: number;
  'max-layer-size'?: string;
  'max-image-size'?: string;
}): Partial<Limits> {
  const t = a['network-timeout'];
  if (t !== undefined && !(t > 0 && t <= 86_400))
    throw new UsageError(`--network-timeout ${t}: give seconds, more than 0 and at most 86400`);
  const ms = t === undefined ? undefined : Math.round(t * 1000);
  return {
    connectTimeoutMs: ms,
    idleTimeoutMs: ms,
    documentDeadlineMs: ms === undefined ? undefined : 4 * ms,
    maxLayerBytes: sizeFlag('max-layer-size', a['max-layer-size']),
    maxImageBytes: sizeFlag('max-image-size', a['max-image-size']),
  };
}

/**
 * The exit status by class (src/errors.ts): 2 for a UsageError (ConfigError and
 * DockerfileError among them), 1 for every other BuildError. Anything else escaped by
 * mistake (a bug, or a system error nobody named): 1 as well, so a script sees a failure.
 */
function exitStatus(e: unknown): 1 | 2 {
  return e instanceof UsageError ? 2 : 1;
}

export function fail(e: unknown): never {
  process.stderr.write(`fledge-pure: ${(e as Error).message}\n`);
  process.exit(exitStatus(e));
}

/** `fledge-pure build`: the artifact and its manifest.json; prints their paths. */
export async function runBuild(a: BuildArgs): Promise<void> {
  const p = progress(a.quiet);
  try {
    const { build } = await import('./build.js');
    const r = await build({
      config: a.config,
      manifest: a.manifest,
      output: a.output,
      urlBase: a['url-base'],
      outputInitramfs: a['output-initramfs'],
      compression: a.compression,
      dockerArchive: a['docker-archive'],
      platform: a.platform,
      insecure: a['insecure-registry'],
      dockerfile: a.dockerfile,
      context: a.context,
      target: a.target,
      buildArgs: a['build-arg'],
      noCache: !a.cache, // yargs reads --no-cache as cache = false
      outputImage: a['output-image'],
      log: p.log,
      limits: limitsFrom(a),
      compressedCacheBytes: cacheSizeFlag(a['compressed-cache-size']),
    });
    p.done();
    process.stdout.write(`${r.artifact}\n${r.manifest ? `${r.manifest}\n` : ''}`);
  } catch (e) {
    p.done();
    fail(e);
  }
}

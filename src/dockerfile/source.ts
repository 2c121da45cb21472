// Where a build's Dockerfile, context, target and build args come from: the positional
// DOCKERFILE and --context/--target/--build-arg (they win), else fledge.toml's [source]
// dockerfile/context/target/build_args. A positional Dockerfile with no fledge.toml is
// Fledge's direct mode (seed 003): oci_rootfs, ext4, the agent from its latest release.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadFledgeConfig } from '../config/fledge.js';
import type { FledgeConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { Time } from '../tree/tree.js';
import type { BuiltImage } from './build.js';

export interface DockerfileFlags {
  config?: string;
  dockerfile?: string;
  context?: string;
  target?: string;
  buildArgs?: string[];
  dockerArchive?: string;
  platform?: string;
  insecure?: string[];
  noCache?: boolean;
}

function directConfig(dockerfile: string, cwd: string): FledgeConfig {
  return {
    file: dockerfile,
    dir: cwd,
    version: '1',
    strategy: 'oci_rootfs',
    agent: { source_strategy: 'release', version: 'latest' },
    source: { build_args: {} },
    filesystem: {
      type: 'ext4',
      compression: 'zstd',
      compression_level: 15,
      block_size: 131072,
      overlay_size: '1G',
      size_buffer_mb: 0,
      preallocate: false,
      disk_format: 'raw',
      qcow2_compression: true,
    },
    init: { mode: 'default' },
    mappings: [],
  };
}

/** fledge.toml, or the direct-mode config when a Dockerfile is given and there is no fledge.toml. */
export function buildConfig(o: DockerfileFlags, cwd: string): FledgeConfig {
  const file = resolve(cwd, o.config ?? 'fledge.toml');
  if (o.dockerfile && !existsSync(file)) return directConfig(resolve(cwd, o.dockerfile), cwd);
  const config = loadFledgeConfig(file, { imageGiven: !!o.dockerArchive });
  if (o.dockerfile && config.source.image)
    throw new UsageError(
      `${config.file}: [source] image and the Dockerfile ${o.dockerfile} both name the image; keep one`,
    );
  return config;
}

/** KEY=VALUE, or KEY alone for the value of that environment variable (as docker build). */
export function parseBuildArgs(args: string[] = [], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    const key = i < 0 ? a : a.slice(0, i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new UsageError(`--build-arg ${a}: write KEY=VALUE (KEY: letters, digits, _)`);
    if (i >= 0) out[key] = a.slice(i + 1);
    else if (env[key] !== undefined) out[key] = env[key]!;
  }
  return out;
}

/** The image the Dockerfile builds, or undefined when the build has no Dockerfile. */
export async function builtImage(
  o: DockerfileFlags,
  config: FledgeConfig,
  at: { cwd: string; epoch: Time; sourceDate?: Time; log: (line: string) => void; cacheDir: string },
): Promise<BuiltImage | undefined> {
  const dockerfile = o.dockerfile ? resolve(at.cwd, o.dockerfile) : config.source.dockerfile;
  if (!dockerfile) {
    if (o.context || o.target || o.buildArgs?.length)
      throw new UsageError(
        '--context, --target and --build-arg are for Dockerfile builds: give the Dockerfile (fledge-pure ' +
          'build ./Dockerfile) or [source] dockerfile in fledge.toml',
      );
    return undefined;
  }
  // --docker-archive is the image whatever [source] says (seed 002); only a positional Dockerfile conflicts with it
  if (o.dockerArchive && o.dockerfile)
    throw new UsageError('--docker-archive and a Dockerfile both name the image; keep one');
  if (o.dockerArchive) return undefined;
  const context = o.context
    ? resolve(at.cwd, o.context)
    : o.dockerfile
      ? dirname(dockerfile)
      : (config.source.context ?? dirname(dockerfile));
  at.log(`dockerfile: ${dockerfile} (context ${context})`);
  // the Dockerfile builder (and the VM code under it) is loaded only for a Dockerfile build
  const { buildDockerfile } = await import('./build.js');
  return buildDockerfile({
    dockerfile,
    context,
    target: o.target ?? config.source.target,
    buildArgs: { ...config.source.build_args, ...parseBuildArgs(o.buildArgs) },
    platform: o.platform,
    insecure: o.insecure,
    cwd: dirname(dockerfile),
    epoch: at.epoch,
    clamp: at.sourceDate,
    log: at.log,
    noCache: o.noCache,
    cacheDir: at.cacheDir,
  });
}

#!/usr/bin/env node
// The command line: build and validate. Exit 0 on success, 1 when a build fails,
// 2 for a usage or config error; every error is one line on stderr.
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { build, validate } from './build.js';
import { defaultCacheDir } from './cache.js';
import { exitCleanlyOnSignals } from './cleanup.js';
import { formatProblem } from './config/fledge.js';
import { UsageError } from './errors.js';
import { exportImage, inspectImage } from './export/commands.js';
import { type Limits, parseSize } from './limits.js';
import { progress } from './progress.js';

function imageOptions<T>(y: Argv<T>) {
  return y
    .option('platform', {
      type: 'string',
      describe: 'os/arch[/variant] to pick from a multi-platform image (default linux/amd64)',
    })
    .option('insecure-registry', { type: 'string', array: true, describe: 'registry host spoken to over plain HTTP' })
    .option('network-timeout', {
      type: 'number',
      describe:
        'seconds a server may take to answer, or stay silent mid-download (default 30); a manifest or token must arrive whole within 4 times that',
    })
    .option('max-layer-size', { type: 'string', describe: 'most a layer may decompress to, e.g. 64G (the default)' })
    .option('max-image-size', {
      type: 'string',
      describe: "most an image's layers may decompress to together, e.g. 256G (the default)",
    });
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
function limitsFrom(a: {
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

function fail(e: unknown): never {
  process.stderr.write(`fledge-pure: ${(e as Error).message}\n`);
  process.exit(exitStatus(e));
}

exitCleanlyOnSignals();

await yargs(hideBin(process.argv))
  .scriptName('fledge-pure')
  .usage('$0 <command> [options]\n\nBuild Volant microVM boot artifacts from fledge.toml, rootless.')
  .command(
    'build [dockerfile]',
    'build the artifact and its manifest.json',
    (y) =>
      imageOptions(y)
        .positional('dockerfile', { type: 'string', describe: 'build from this Dockerfile (direct mode)' })
        .option('config', { alias: 'c', type: 'string', default: 'fledge.toml', describe: 'build config' })
        .option('manifest', {
          alias: 'm',
          type: 'string',
          describe: 'runtime defaults (default ./manifest.toml when it exists)',
        })
        .option('output', {
          alias: 'o',
          type: 'string',
          describe:
            'artifact path, used exactly as given; NAME.qcow2 writes a qcow2 disk, NAME.tar.gz or NAME.tgz a bundle of the artifact and manifest.json',
        })
        .option('url-base', {
          type: 'string',
          describe: 'manifest.json names the artifact as URL-BASE/<file> instead of a relative path',
        })
        .option('compression', {
          choices: ['gzip', 'zstd'] as const,
          describe: 'initramfs compression (default gzip; zstd: .cpio.zst, level 3)',
        })
        .option('output-initramfs', {
          type: 'boolean',
          default: false,
          describe: 'build an initramfs (.cpio.gz) instead of a rootfs image',
        })
        .option('docker-archive', { type: 'string', describe: 'image from a `docker save` archive' })
        .option('context', { type: 'string', describe: 'Dockerfile build context' })
        .option('target', { type: 'string', describe: 'Dockerfile multi-stage target' })
        .option('build-arg', { type: 'string', array: true, describe: 'Dockerfile build argument KEY=VALUE' })
        .option('cache', {
          type: 'boolean',
          default: true,
          describe: 'Dockerfile builds: --no-cache runs every RUN step in a VM, ignoring the step cache',
        })
        .option('compressed-cache-size', {
          type: 'string',
          describe:
            'bound of the cache of compressed blocks (squashfs, cpio.gz, qcow2) that makes rebuilds fast, e.g. 4G (default 1G; 0 turns it off)',
        })
        .option('output-image', {
          type: 'string',
          describe: 'Dockerfile builds: also write the built image as oci:DIR[:REF] or oci-archive:FILE[:REF]',
        })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines' }),
    async (a) => {
      const p = progress(a.quiet);
      try {
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
    },
  )
  .command(
    'validate',
    'check fledge.toml and manifest.toml; print ok or every problem',
    (y) =>
      y
        .option('config', { alias: 'c', type: 'string', default: 'fledge.toml', describe: 'build config' })
        .option('manifest', {
          alias: 'm',
          type: 'string',
          describe: 'runtime defaults (default ./manifest.toml when it exists)',
        }),
    (a) => {
      const problems = validate({
        config: a.config,
        manifest: a.manifest,
        onWarning: (w) => process.stderr.write(`warning: ${formatProblem(w)}\n`),
      });
      if (!problems.length) {
        process.stdout.write('ok\n');
        return;
      }
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      process.exit(2);
    },
  )
  .command(
    'export <image>',
    'write the flattened filesystem of an image as a PAX tar',
    (y) =>
      imageOptions(
        y.positional('image', {
          type: 'string',
          demandOption: true,
          describe: 'docker://REF, docker-archive:PATH, oci:PATH[:REF], oci-archive:PATH, or a reference',
        }),
      )
        .option('output', {
          alias: 'o',
          type: 'string',
          demandOption: true,
          describe: 'the tar to write (- for stdout; a device or FIFO is written directly)',
        })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines' }),
    async (a) => {
      const p = progress(a.quiet);
      try {
        const output = a.output === '-' ? '-' : resolve(a.output);
        const r = await exportImage(a.image, output, {
          platform: a.platform,
          insecure: a['insecure-registry'],
          log: p.log,
          limits: limitsFrom(a),
          cacheDir: defaultCacheDir(process.env),
        });
        p.done();
        for (const s of r.skipped)
          process.stderr.write(`warning: /${s} is a socket, which tar cannot hold: left out\n`);
        if (output !== '-') process.stdout.write(`${output}\n`);
      } catch (e) {
        p.done();
        fail(e);
      }
    },
  )
  .command(
    'inspect <image>',
    "print an image's config summary and its flattened listing (type mode uid:gid size sha256|target path)",
    (y) => imageOptions(y.positional('image', { type: 'string', demandOption: true, describe: 'as for export' })),
    async (a) => {
      try {
        process.stdout.write(
          await inspectImage(a.image, {
            platform: a.platform,
            insecure: a['insecure-registry'],
            limits: limitsFrom(a),
            cacheDir: defaultCacheDir(process.env),
          }),
        );
      } catch (e) {
        fail(e);
      }
    },
  )
  .demandCommand(1, 'name a command: build, validate, export or inspect')
  .strict()
  .help()
  .alias('help', 'h')
  .version()
  .fail((msg, err) => {
    if (err) fail(err);
    process.stderr.write(`fledge-pure: ${msg} (see fledge-pure --help)\n`);
    process.exit(2);
  })
  .parseAsync();

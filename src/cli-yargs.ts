// The whole command line, parsed by yargs: help, every command and flag, usage errors.
// src/cli.ts loads it only when its fast path (src/cli-args.ts) leaves the command line
// to it; each command loads its own code when it runs.
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { defaultCacheDir } from './cache.js';
import { type BuildArgs, fail, limitsFrom, runBuild } from './cli-run.js';
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

/** The flags of `build`. */
function buildOptions<T>(y: Argv<T>) {
  return imageOptions(y)
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
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines' });
}

/** The flags every image command shares. */
type ImageArgs = Parameters<typeof limitsFrom>[0] & {
  image: string;
  platform?: string;
  'insecure-registry'?: string[];
};

/** `fledge-pure validate`: ok, or every problem of fledge.toml and manifest.toml (exit 2). */
async function runValidate(a: { config: string; manifest?: string }): Promise<void> {
  const { validate } = await import('./build.js');
  const { formatProblem } = await import('./config/toml-file.js');
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
}

/** `fledge-pure export`: the flattened image as a tar. */
async function runExport(a: ImageArgs & { output: string; quiet: boolean }): Promise<void> {
  const p = progress(a.quiet);
  try {
    const output = a.output === '-' ? '-' : resolve(a.output);
    const { exportImage } = await import('./export/commands.js');
    const r = await exportImage(a.image, output, {
      platform: a.platform,
      insecure: a['insecure-registry'],
      log: p.log,
      limits: limitsFrom(a),
      cacheDir: defaultCacheDir(process.env),
    });
    p.done();
    for (const s of r.skipped) process.stderr.write(`warning: /${s} is a socket, which tar cannot hold: left out\n`);
    if (output !== '-') process.stdout.write(`${output}\n`);
  } catch (e) {
    p.done();
    fail(e);
  }
}

/** `fledge-pure inspect`: the config summary and the flattened listing. */
async function runInspect(a: ImageArgs): Promise<void> {
  try {
    const { inspectImage } = await import('./export/commands.js');
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
}

/** What the commands do with their arguments (a test swaps `build` for one that records them). */
export interface Handlers {
  build: (a: BuildArgs) => Promise<void>;
}

/** The parser of argv (the arguments after the script's name). */
export function cliParser(argv: string[], handlers: Handlers = { build: runBuild }) {
  return yargs(argv)
    .scriptName('fledge-pure')
    .usage('$0 <command> [options]\n\nBuild Volant microVM boot artifacts from fledge.toml, rootless.')
    .command(
      'build [dockerfile]',
      'build the artifact and its manifest.json',
      (y) => buildOptions(y),
      (a) => handlers.build(a),
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
      (a) => runValidate(a),
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
      (a) => runExport(a),
    )
    .command(
      'inspect <image>',
      "print an image's config summary and its flattened listing (type mode uid:gid size sha256|target path)",
      (y) => imageOptions(y.positional('image', { type: 'string', demandOption: true, describe: 'as for export' })),
      (a) => runInspect(a),
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
    });
}

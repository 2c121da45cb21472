#!/usr/bin/env node
// The command line: build and validate. Exit 0 on success, 1 when a build fails,
// 2 for a usage or config error; every error is one line on stderr.
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { build, validate } from './build.js';
import { formatProblem } from './config/fledge.js';
import { exportImage, inspectImage } from './export/commands.js';
import { progress } from './progress.js';

function imageOptions<T>(y: Argv<T>) {
  return y
    .option('platform', { type: 'string', describe: 'os/arch[/variant] to pick from a multi-platform image (default linux/amd64)' })
    .option('insecure-registry', { type: 'string', array: true, describe: 'registry host spoken to over plain HTTP' });
}

function fail(e: unknown): never {
  const err = e as Error & { exitCode?: number };
  process.stderr.write(`fledge-pure: ${err.message}\n`);
  process.exit(err.exitCode ?? 1);
}

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
        .option('manifest', { alias: 'm', type: 'string', describe: 'runtime defaults (default ./manifest.toml when it exists)' })
        .option('output', { alias: 'o', type: 'string', describe: 'artifact path, used exactly as given' })
        .option('url-base', { type: 'string', describe: 'manifest.json names the artifact as URL-BASE/<file> instead of a relative path' })
        .option('compression', { choices: ['gzip', 'zstd'] as const, describe: 'initramfs compression (default gzip; zstd: .cpio.zst, level 3)' })
        .option('output-initramfs', { type: 'boolean', default: false, describe: 'build an initramfs (.cpio.gz) instead of a rootfs image' })
        .option('docker-archive', { type: 'string', describe: 'image from a `docker save` archive' })
        .option('context', { type: 'string', describe: 'Dockerfile build context' })
        .option('target', { type: 'string', describe: 'Dockerfile multi-stage target' })
        .option('build-arg', { type: 'string', array: true, describe: 'Dockerfile build argument KEY=VALUE' })
        .option('no-cache', { type: 'boolean', default: false, describe: 'Dockerfile builds: run every RUN step in a VM, ignoring the step cache' })
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
          noCache: a['no-cache'],
          log: p.log,
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
        .option('manifest', { alias: 'm', type: 'string', describe: 'runtime defaults (default ./manifest.toml when it exists)' }),
    (a) => {
      const problems = validate({ config: a.config, manifest: a.manifest });
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
      imageOptions(y.positional('image', { type: 'string', demandOption: true, describe: 'docker://REF, docker-archive:PATH, oci:PATH[:REF], oci-archive:PATH, or a reference' }))
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the tar to write' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines' }),
    async (a) => {
      const p = progress(a.quiet);
      try {
        const r = await exportImage(a.image, resolve(a.output), { platform: a.platform, insecure: a['insecure-registry'], log: p.log });
        p.done();
        for (const s of r.skipped) process.stderr.write(`warning: /${s} is a socket, which tar cannot hold: left out\n`);
        process.stdout.write(`${resolve(a.output)}\n`);
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
        process.stdout.write(await inspectImage(a.image, { platform: a.platform, insecure: a['insecure-registry'] }));
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

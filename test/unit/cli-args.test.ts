// The command line's fast path (src/cli-args.ts) against yargs (src/cli-yargs.ts): every
// `build` command line the fast path takes must give the build exactly the arguments
// yargs would; every other one must be left to yargs.
import { describe, expect, it } from 'vitest';
import { fastBuildArgs } from '../../src/cli-args.js';
import type { BuildArgs } from '../../src/cli-run.js';
import { cliParser } from '../../src/cli-yargs.js';

const KEYS: Array<keyof BuildArgs> = [
  'dockerfile',
  'config',
  'manifest',
  'output',
  'url-base',
  'compression',
  'output-initramfs',
  'docker-archive',
  'context',
  'target',
  'build-arg',
  'cache',
  'compressed-cache-size',
  'output-image',
  'quiet',
  'platform',
  'insecure-registry',
  'network-timeout',
  'max-layer-size',
  'max-image-size',
];

/** The build arguments, without the keys that are not set. */
function pick(a: Partial<BuildArgs>): Partial<BuildArgs> {
  return Object.fromEntries(KEYS.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
}

async function viaYargs(argv: string[]): Promise<Partial<BuildArgs>> {
  let got: BuildArgs | undefined;
  await cliParser(argv, {
    build: async (a) => {
      got = a;
    },
  }).parseAsync();
  if (!got) throw new Error(`yargs ran no build for ${argv.join(' ')}`);
  return pick(got);
}

const TAKEN = [
  ['build'],
  ['build', '-q', '-c', 'x.toml', '-o', 'out.img', '--compressed-cache-size', '0'],
  ['build', '--quiet', '--config', 'a b.toml', '--output=o.img', '--compressed-cache-size=1G'],
  ['build', 'Dockerfile', '--context', 'ctx', '--target', 'final', '--no-cache', '--output-image', 'oci:dir:tag'],
  [
    'build',
    '--cache',
    '--output-initramfs',
    '--compression',
    'zstd',
    '-m',
    'manifest.toml',
    '--url-base',
    'https://x/',
  ],
  ['build', '--docker-archive', 'img.tar', '--platform', 'linux/arm64', '--max-layer-size', '1G'],
  ['build', '--max-image-size=2G', '-o', '0123', '--manifest', 'true', '123'],
  ['build', '--compression=gzip', '--config', 'c=d.toml', '-q', 'Dockerfile.dev'],
];

const LEFT = [
  [],
  ['--version'],
  ['-q', 'build'],
  ['validate'],
  ['export', 'img', '-o', 'x.tar'],
  ['build', '--help'],
  ['build', '-h'],
  ['build', '--no-such-flag'],
  ['build', '-qc', 'x.toml'],
  ['build', '-c=x.toml'],
  ['build', '--config'],
  ['build', '--config', ''],
  ['build', '--output', '-'],
  ['build', '-c', 'a', '-c', 'b'],
  ['build', '--cache', '--no-cache'],
  ['build', '--quiet', 'false'],
  ['build', '-q', 'true'],
  ['build', '--quiet=true'],
  ['build', 'a', 'b'],
  ['build', '--compression', 'lz4'],
  ['build', '--build-arg', 'A=1'],
  ['build', '--insecure-registry', 'localhost:5000'],
  ['build', '--network-timeout', '10'],
  ['build', '--configFile', 'x'],
  ['build', '--', 'x'],
];

describe('the command line fast path', () => {
  it('parses every plain build command line as yargs does', async () => {
    for (const argv of TAKEN) {
      const fast = fastBuildArgs(argv);
      expect(fast, argv.join(' ')).toBeDefined();
      expect(pick(fast!), argv.join(' ')).toEqual(await viaYargs(argv));
    }
  });

  it('leaves help, other commands, repeated, unknown and list flags to yargs', () => {
    for (const argv of LEFT) expect(fastBuildArgs(argv), argv.join(' ')).toBeUndefined();
  });
});

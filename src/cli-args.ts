// The fast path of the command line: a `build` whose every argument is one this parser
// reads exactly as yargs does (src/cli-yargs.ts) is parsed here, without loading yargs.
// Anything else — help, another command, a flag not listed here, a repeated flag, a
// value that starts with "-", a boolean given a value — returns undefined and is left
// to yargs, which parses it or says what is wrong. test/unit/cli-args.test.ts checks
// that both parsers give the same arguments.
import type { BuildArgs } from './cli-run.js';

type StringFlag = Exclude<
  keyof BuildArgs,
  'output-initramfs' | 'cache' | 'quiet' | 'build-arg' | 'insecure-registry' | 'network-timeout' | 'dockerfile'
>;

/** Flags that take one value: --name VALUE or --name=VALUE (short: -c VALUE). */
const STRING_FLAGS: Record<string, StringFlag> = {
  '--config': 'config',
  '-c': 'config',
  '--manifest': 'manifest',
  '-m': 'manifest',
  '--output': 'output',
  '-o': 'output',
  '--url-base': 'url-base',
  '--compression': 'compression',
  '--docker-archive': 'docker-archive',
  '--context': 'context',
  '--target': 'target',
  '--compressed-cache-size': 'compressed-cache-size',
  '--output-image': 'output-image',
  '--platform': 'platform',
  '--max-layer-size': 'max-layer-size',
  '--max-image-size': 'max-image-size',
};

/** Flags that take no value, and what they set. */
const BOOLEAN_FLAGS: Record<string, ['quiet' | 'output-initramfs' | 'cache', boolean]> = {
  '--quiet': ['quiet', true],
  '-q': ['quiet', true],
  '--output-initramfs': ['output-initramfs', true],
  '--cache': ['cache', true],
  '--no-cache': ['cache', false],
};

const COMPRESSIONS: ReadonlySet<string> = new Set(['gzip', 'zstd']);

/** The arguments of a plain `build` command line, or undefined to leave it to yargs. */
export function fastBuildArgs(argv: readonly string[]): BuildArgs | undefined {
  if (argv[0] !== 'build') return undefined;
  const a: BuildArgs = { config: 'fledge.toml', 'output-initramfs': false, cache: true, quiet: false };
  const seen = new Set<string>();
  const once = (key: string) => !seen.has(key) && !!seen.add(key);
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      if (arg === '' || !once('dockerfile')) return undefined;
      a.dockerfile = arg;
      continue;
    }
    const bool = BOOLEAN_FLAGS[arg];
    if (bool) {
      // yargs takes a following "true" or "false" as the boolean's value
      if (!once(bool[0]) || /^(true|false)$/.test(argv[i + 1] ?? '')) return undefined;
      a[bool[0]] = bool[1];
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const key = STRING_FLAGS[eq < 0 ? arg : arg.slice(0, eq)];
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (!key || value === undefined || value === '' || value.startsWith('-') || !once(key)) return undefined;
    if (key === 'compression') {
      if (!COMPRESSIONS.has(value)) return undefined;
      a.compression = value as 'gzip' | 'zstd';
    } else a[key] = value;
  }
  return a;
}

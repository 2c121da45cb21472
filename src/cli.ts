#!/usr/bin/env node
// The command line: build, validate, export and inspect. Exit 0 on success, 1 when a
// build fails, 2 for a usage or config error; every error is one line on stderr.
// A plain `build` command line (src/cli-args.ts) starts building at once; anything else
// (help, another command, a flag the fast path leaves alone, a usage error) goes to
// yargs (src/cli-yargs.ts), loaded only then: yargs and the code of the other
// commands are a good part of a warm build's start-up time.
import { exitCleanlyOnSignals } from './cleanup.js';
import { fastBuildArgs } from './cli-args.js';
import { runBuild } from './cli-run.js';

exitCleanlyOnSignals();

const argv = process.argv.slice(2);
const fast = fastBuildArgs(argv);
if (fast) await runBuild(fast);
else await (await import('./cli-yargs.js')).cliParser(argv).parseAsync();

// Errors arrive as their class (src/errors.ts), both for library users (`instanceof`) and
// as the CLI's exit status the README states (1 a build failed, 2 usage or config): a
// registry that cannot be reached, a malformed image, an entry the format cannot hold,
// and an invalid fledge.toml. A real listener-less port and real OCI layouts; no mocks.
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  build,
  BuildError,
  ConfigError,
  FormatLimitError,
  ImageError,
  NetworkError,
  UsageError,
} from '../src/index.js';
import { exportImage, inspectImage } from '../src/export/commands.js';
import { project, runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { entry, tarOf } from './helpers/tar-craft.js';

/** A loopback port nobody listens on: taken, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** An OCI layout whose oci-layout file names a version no reader knows. */
function badLayout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-bad-layout-'));
  writeHardLayout(dir, [tarOf(entry({ name: 'a', data: Buffer.from('a') }))], 'none');
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"9.9.9"}');
  return dir;
}

/** A valid OCI layout holding a file whose name (256 bytes) no Linux file system, nor the tar export, can hold. */
function longNameLayout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-long-name-'));
  const name = 'n'.repeat(256);
  writeHardLayout(dir, [tarOf(entry({ name: 'long', data: Buffer.from('x') }, [['path', name]]))], 'none');
  return dir;
}

const BAD_CONFIG = { 'fledge.toml': 'version = "1"\nstrategy = "no-such-strategy"\n' };

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('error classes', () => {
  it('reach library users as their class, each a BuildError', async () => {
    const port = await deadPort();
    const network = await caught(
      inspectImage(`docker://127.0.0.1:${port}/none/x:1`, { limits: { maxRetryAfterMs: 10 } }),
    );
    expect(network).toBeInstanceOf(NetworkError);
    expect((network as Error).cause).toBeDefined();

    const image = await caught(inspectImage(`oci:${badLayout()}`));
    expect(image).toBeInstanceOf(ImageError);
    expect((image as Error).message).toMatch(/imageLayoutVersion "9.9.9"; only 1.0.0 is known$/);

    const out = join(mkdtempSync(join(tmpdir(), 'fp-out-')), 'root.tar');
    const limit = await caught(exportImage(`oci:${longNameLayout()}`, out));
    expect(limit).toBeInstanceOf(FormatLimitError);
    expect((limit as Error).message).toMatch(
      /^tar export: \/n{256}: name of 256 bytes, tar export holds at most 255 bytes;/,
    );

    const config = await caught(build({ cwd: project(BAD_CONFIG) }));
    expect(config).toBeInstanceOf(ConfigError);
    expect(config).toBeInstanceOf(UsageError);
    expect((config as ConfigError).problems.length).toBeGreaterThan(0);

    for (const e of [network, image, limit, config]) expect(e).toBeInstanceOf(BuildError);
    for (const e of [network, image, limit]) expect(e).not.toBeInstanceOf(UsageError);
  });

  it('give the CLI the exit status the README states, with one line', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'fp-cli-errors-'));
    const port = await deadPort();
    const cases: [string[], string, number, RegExp][] = [
      [['inspect', `docker://127.0.0.1:${port}/none/x:1`], cwd, 1, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v2\//],
      [['inspect', `oci:${badLayout()}`], cwd, 1, /only 1\.0\.0 is known$/],
      [
        ['export', '-q', `oci:${longNameLayout()}`, '-o', join(cwd, 'root.tar')],
        cwd,
        1,
        /tar export holds at most 255 bytes/,
      ],
      [['build'], project(BAD_CONFIG), 2, /fledge\.toml:2: strategy: /],
    ];
    for (const [args, dir, code, message] of cases) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
  });
});

// Images from a Docker daemon: no engine runs here, so a loopback unix-socket server
// answers the two Engine API calls we make (/_ping, /images/{name}/get) with a real
// docker-archive written by skopeo.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';
import { skopeoEnv } from './helpers/skopeo.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-daemon-'));
const socket = join(scratch, 'docker.sock');
const seen: string[] = [];
let server: Server;

beforeAll(async () => {
  writeHardLayout(join(scratch, 'layout'), hardLayers(), 'gzip');
  const archive = join(scratch, 'saved.tar');
  execFileSync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--quiet',
      `oci:${join(scratch, 'layout')}:hard`,
      `docker-archive:${archive}:hard:v1`,
    ],
    { stdio: 'pipe', env: skopeoEnv() },
  );
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/_ping') return void res.writeHead(200, { 'Api-Version': '1.43' }).end('OK');
    if (req.url === `/v1.43/images/${encodeURIComponent('docker.io/library/hard:v1')}/get`) {
      return void res.writeHead(200, { 'Content-Type': 'application/x-tar' }).end(readFileSync(archive));
    }
    res.writeHead(404).end('{"message":"No such image"}');
  });
  await new Promise<void>((r) => server.listen(socket, r));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('docker daemon source', () => {
  const env = { DOCKER_HOST: `unix://${socket}` };

  it('a plain reference comes from the daemon when there is one', async () => {
    const r = await runCli(['inspect', 'hard:v1'], { cwd: scratch, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/file    4755 1000:1000 2 [0-9a-f]{64} \/usr\/bin\/su\n/);
    expect(seen).toContain('/_ping');
  });

  it('docker-daemon:REF too; an image the daemon lacks is one clear line', async () => {
    expect((await runCli(['inspect', 'docker-daemon:hard:v1'], { cwd: scratch, env })).code).toBe(0);
    const r = await runCli(['inspect', 'docker-daemon:other:v2'], { cwd: scratch, env });
    expect([r.code, r.stderr]).toEqual([
      1,
      'fledge-pure: docker-daemon:other:v2: the docker daemon has no image docker.io/library/other:v2; pull or build it first\n',
    ]);
  });

  it('without a daemon socket, docker-daemon: says so', async () => {
    const r = await runCli(['inspect', 'docker-daemon:hard:v1'], {
      cwd: scratch,
      env: { DOCKER_HOST: `unix://${join(scratch, 'none.sock')}` },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fledge-pure: docker-daemon:hard:v1: no docker daemon socket .*\n$/);
  });
});

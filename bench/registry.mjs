// A local registry for the cold-build case: Debian's docker-registry on a loopback port,
// storage under the bench's work folder, the bench image pushed once with skopeo.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const status = (url) =>
  new Promise((resolve) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', () => resolve(0));
  });

/** Starts the registry in `dir`; returns { host, stop() }. */
export async function startRegistry(dir) {
  mkdirSync(dir, { recursive: true });
  const host = `127.0.0.1:${await freePort()}`;
  const config =
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n` +
    `  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\n  secret: fledge-pure-bench\n`;
  writeFileSync(join(dir, 'config.yml'), config);
  const log = openSync(join(dir, 'registry.log'), 'w');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 15_000;
  while ((await status(`http://${host}/v2/`)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`docker-registry did not start; see ${join(dir, 'registry.log')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, stop: () => child.kill('SIGTERM') };
}

/** Pushes the OCI layout's tag to docker://dest (untimed, once). */
export function push(layout, tag, dest) {
  execFileSync(
    'skopeo',
    ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${dest}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

// The published package works: `npm pack`, installed into an empty folder, gives an
// `npx fledge-pure` that builds the example into an initramfs that boots, and the
// ext4 and squashfs examples into their golden bytes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootInitramfs } from './helpers/qemu.js';

describe('npm package', () => {
  it('installs from its tarball and builds a bootable initramfs with npx', async () => {
    const packDir = mkdtempSync(join(tmpdir(), 'fp-pack-'));
    // --ignore-scripts: prepack's tsc would rewrite dist/ under the CLI tests running
    // beside this one (an emptied dist/cli.js runs as a no-op and exits 0); the global
    // setup has just compiled it
    execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const [tarball] = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    const listing = execFileSync('tar', ['-tzf', join(packDir, tarball)]).toString();
    expect(listing).toContain('package/dist/cli.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).not.toContain('package/test/');

    const app = mkdtempSync(join(tmpdir(), 'fp-install-'));
    execFileSync('npm', ['init', '-y'], { cwd: app, stdio: 'ignore' });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', join(packDir, tarball)], {
      cwd: app,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const lib = execFileSync(
      'node',
      ['--input-type=module', '-e', "import('fledge-pure').then(m => console.log(typeof m.build, typeof m.validate))"],
      { cwd: app },
    ).toString();
    expect(lib.trim()).toBe('function function');

    const example = join(app, 'example');
    cpSync(resolve('examples/hello'), example, { recursive: true });
    execFileSync('npx', ['--no-install', 'fledge-pure', 'build', '--quiet'], {
      cwd: example,
      env: { ...process.env, XDG_CACHE_HOME: join(app, 'cache') },
    });
    const boot = await bootInitramfs(join(example, 'hello.cpio.gz'));
    expect(boot.output).toContain('kestrel stand-in running as PID 1');
    expect(boot.exitedCleanly).toBe(true);

    // the rootfs writers from the installed package (squashfs's compression workers
    // included) give the golden bytes
    const golden = readFileSync('golden/examples.sha256', 'utf8');
    for (const name of ['hello-image', 'hello-ext4', 'hello-squashfs'])
      cpSync(resolve('examples', name), join(app, name), { recursive: true });
    cpSync(resolve('examples/hello'), join(app, 'hello'), { recursive: true });
    for (const [dir, artifact] of [
      ['hello-ext4', 'hello-ext4.img'],
      ['hello-squashfs', 'hello-squashfs.squashfs'],
    ]) {
      execFileSync('npx', ['--no-install', 'fledge-pure', 'build', '--quiet'], {
        cwd: join(app, dir),
        env: { ...process.env, XDG_CACHE_HOME: join(app, 'cache') },
      });
      expect(golden).toContain(
        `${createHash('sha256')
          .update(readFileSync(join(app, dir, artifact)))
          .digest('hex')}  ${artifact}`,
      );
    }
  });
});

// `fledge-pure build` for strategy oci_rootfs with [filesystem] type = "squashfs": the
// compiled CLI writes NAME.squashfs and NAME.manifest.json from an OCI layout.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { project, runCli } from './helpers/cli.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';

describe('fledge-pure build, oci_rootfs squashfs', () => {
  it('writes NAME.squashfs and a manifest naming it, with the kernel arguments', async () => {
    const dir = project({
      'fledge.toml':
        'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n' +
        'path = "./kestrel"\n\n[source]\nimage = "oci:./layout:hard"\n\n[filesystem]\n' +
        'type = "squashfs"\ncompression_level = 9\nblock_size = 65536\noverlay_size = "2G"\n',
      'manifest.toml':
        'name = "app"\nversion = "1.0.0"\nruntime = "app"\n\n[workload]\nentrypoint = "/usr/bin/tool"\nbase_url = "http://127.0.0.1:80"\n',
      kestrel: 'agent-bytes',
    });
    writeHardLayout(join(dir, 'layout'), hardLayers(), 'gzip', 'hard');
    const r = await runCli(['build', '-q'], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['app.squashfs', 'app.manifest.json']));
    const img = join(dir, 'app.squashfs');
    const bytes = readFileSync(img);
    const manifest = JSON.parse(readFileSync(join(dir, 'app.manifest.json'), 'utf8'));
    expect(manifest.rootfs).toEqual({
      url: img,
      checksum: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      format: 'squashfs',
    });
    expect(manifest.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=squashfs overlay_size=2G');
    // the config reached the writer: block size, level, creation time
    expect(bytes.readUInt32LE(8)).toBe(1700000000);
    expect(bytes.readUInt32LE(12)).toBe(65536);
    expect(bytes.readUInt32LE(98)).toBe(9);
    const list = execFileSync('unsquashfs', ['-lln', '-n', img], { encoding: 'utf8' });
    expect(list).toMatch(/^-rwxr-xr-x 0\/0 +11 .* squashfs-root\/usr\/bin\/kestrel$/m);
    expect(list).toMatch(/^-rwsr-xr-x 1000\/1000 .* squashfs-root\/usr\/bin\/su$/m);
    // the same build again gives the same bytes
    const again = await runCli(['build', '-q', '-o', 'again.squashfs'], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(again.code).toBe(0);
    expect(readFileSync(join(dir, 'again.squashfs')).equals(bytes)).toBe(true);
    // compression = "lz4" reaches the writer too
    const toml = join(dir, 'fledge.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('compression_level = 9', 'compression = "lz4"'));
    const lz4 = await runCli(['build', '-q', '-o', 'lz4.squashfs'], { cwd: dir });
    expect([lz4.code, lz4.stderr]).toEqual([0, '']);
    expect(execFileSync('unsquashfs', ['-s', join(dir, 'lz4.squashfs')], { encoding: 'utf8' })).toMatch(
      /^Compression lz4$/m,
    );
  });
});

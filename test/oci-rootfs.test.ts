// The oci_rootfs tree: the image kept whole, plus fsify-entrypoint, the agent and the
// mappings, placed through the image's own /bin → usr/bin symlink.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFledgeConfig } from '../src/config/fledge.js';
import { ociRootfsTree } from '../src/pipeline/oci-rootfs.js';
import { readContent } from '../src/tree/content.js';
import type { Node } from '../src/tree/tree.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';

const text = (n: Node | undefined) =>
  Buffer.concat([...readContent(n!.content!)].map((c) => Buffer.from(c))).toString();

describe('oci_rootfs tree', () => {
  it('adds fsify-entrypoint, /bin/kestrel (through /bin → usr/bin) and mappings to the whole image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-ocirootfs-'));
    process.env.XDG_CACHE_HOME = join(dir, 'cache');
    writeHardLayout(join(dir, 'layout'), hardLayers(), 'gzip');
    writeFileSync(join(dir, 'kestrel'), 'agent-bytes', { mode: 0o600 });
    writeFileSync(join(dir, 'app.conf'), 'k=v');
    writeFileSync(
      join(dir, 'fledge.toml'),
      'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n' +
        '\n[source]\nimage = "oci:./layout:hard"\n\n[filesystem]\ntype = "ext4"\n\n[mappings]\n"./app.conf" = "/etc/app.conf"\n',
    );
    const config = loadFledgeConfig(join(dir, 'fledge.toml'));
    const epoch = { sec: 1234, nsec: 0 };
    const tree = await ociRootfsTree({ config, image: config.source.image!, epoch, log: () => {}, cwd: dir });
    const blobs = join(dir, 'layout/blobs/sha256');
    const manifest = JSON.parse(
      readFileSync(
        join(blobs, JSON.parse(readFileSync(join(dir, 'layout/index.json'), 'utf8')).manifests[0].digest.slice(7)),
        'utf8',
      ),
    );
    expect(text(tree.get('etc/fsify-entrypoint'))).toBe(
      readFileSync(join(blobs, manifest.config.digest.slice(7)), 'utf8'),
    );
    expect(tree.get('bin')?.type).toBe('symlink');
    expect(tree.get('usr/bin/kestrel')).toMatchObject({ mode: 0o755, uid: 0, gid: 0, mtime: epoch });
    expect(text(tree.get('usr/bin/kestrel'))).toBe('agent-bytes');
    expect(tree.get('etc/app.conf')).toMatchObject({ mode: 0o644 });
    // the image itself is untouched: setuid owner, capability xattr, hard link
    expect(tree.get('usr/bin/su')).toMatchObject({ mode: 0o4755, uid: 1000, gid: 1000 });
    expect(tree.get('usr/bin/ping')!.xattrs.has('security.capability')).toBe(true);
    expect(tree.get('usr/sbin/tool-link')).toBe(tree.get('usr/bin/tool'));
  });
});

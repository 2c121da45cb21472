// The bench input, made once and cached: a Debian bookworm image of a few hundred MB as
// an OCI layout with three gzip layers, built by debootstrap (root needed) and GNU tar.
//   1. base: debootstrap --variant=minbase
//   2. packages: a second debootstrap with --include=…, diffed against the first (new and
//      changed entries, their parent folders, `.wh.` whiteouts for what disappeared)
//   3. changes: whiteouts (a folder, a file), an opaque folder, a hard link pair, xattrs
//      (user.*, security.capability), an owner, a sparse file
// Layers: tar --format=pax --xattrs --sort=name --numeric-owner --mtime --clamp-mtime,
// gzip -n; index.json, manifest and config (rootfs.diff_ids) written here. Reproducible-ish:
// the archive's mtimes are clamped and the tars sorted, but what debootstrap installs
// follows the mirror's current bookworm point release.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Bump when the recipe changes: a new folder name means a fresh image. */
export const IMAGE_VERSION = 'debian-bookworm-v1';
export const IMAGE_TAG = 'bench';
const SUITE = 'bookworm';
const PACKAGES = ['python3', 'perl', 'git', 'curl', 'ca-certificates', 'vim-tiny', 'less', 'xz-utils', 'procps'];
const EPOCH = 1700000000;

const sh = (cmd, opts = {}) => execFileSync('sh', ['-ec', cmd], { maxBuffer: 1 << 26, ...opts });
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** The Debian mirror apt uses here (sources.list one-line or deb822 .sources), else deb.debian.org. */
export function debianMirror() {
  const files = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d'))
    for (const f of readdirSync('/etc/apt/sources.list.d').sort())
      if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k) => new RegExp(`^${k}:\\s*(.+)$`, 'mi').exec(stanza)?.[1].trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb') || !field('Suites').includes(SUITE)) continue;
        const uri = field('URIs').find((u) => /^https?:\/\//.test(u) && !/security/.test(u));
        if (uri) return uri;
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m && m[2] === SUITE && /^https?:\/\//.test(m[1]) && !/security/.test(m[1])) return m[1];
      }
    }
  }
  return 'http://deb.debian.org/debian';
}

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** path (relative, no leading ./) → lstat facts, for every entry under root. */
function walk(root) {
  const out = new Map();
  const visit = (rel) => {
    const abs = rel ? join(root, rel) : root;
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : 'other';
      out.set(r, {
        type,
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        size: st.size,
        rdev: st.rdev,
        target: type === 'link' ? readlinkSync(join(root, r)) : undefined,
      });
      if (type === 'dir') visit(r);
    }
  };
  visit('');
  return out;
}

function sameFile(a, b, pa, pb) {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.type === 'link') return a.target === b.target;
  if (a.type === 'other') return a.rdev === b.rdev;
  if (a.type === 'file') return a.size === b.size && (a.size === 0 || readFileSync(pa).equals(readFileSync(pb)));
  return true;
}

/** Stages in `dest` the entries of `upper` that differ from `lower`, plus whiteouts. */
function diffInto(lower, upper, dest, log) {
  const lo = walk(lower);
  const up = walk(upper);
  const take = new Set();
  for (const [p, u] of up) {
    const l = lo.get(p);
    if (l && sameFile(l, u, join(lower, p), join(upper, p))) continue;
    take.add(p);
    for (let d = p; d.includes('/');) take.add((d = d.slice(0, d.lastIndexOf('/'))));
  }
  const gone = [...lo.keys()].filter((p) => !up.has(p) && !hasGoneParent(p, up));
  const list = join(dest, '..', 'layer2.list');
  writeFileSync(
    list,
    [...take]
      .sort()
      .map((p) => `./${p}\0`)
      .join(''),
  );
  sh(
    `tar -C ${q(upper)} --no-recursion --null -T ${q(list)} --format=pax --xattrs --xattrs-include='*' ` +
      `-cf - | tar -C ${q(dest)} --xattrs --xattrs-include='*' --numeric-owner -xpf -`,
  );
  for (const p of gone) {
    const i = p.lastIndexOf('/');
    const wh = join(dest, p.slice(0, i + 1), `.wh.${p.slice(i + 1)}`);
    mkdirSync(join(wh, '..'), { recursive: true });
    writeFileSync(wh, '');
  }
  log(`layer 2: ${take.size} entries new or changed, ${gone.length} whiteouts`);
}

function hasGoneParent(p, up) {
  for (let d = p; d.includes('/');) {
    d = d.slice(0, d.lastIndexOf('/'));
    if (!up.has(d)) return true;
  }
  return false;
}

/** Layer 3, staged in `dest`: the cases that break flatteners, on top of `flat` (layers 1+2). */
function changesInto(flat, dest) {
  const put = (p, data, mode = 0o644) => {
    mkdirSync(join(dest, p, '..'), { recursive: true });
    writeFileSync(join(dest, p), data, { mode });
  };
  // whiteouts: a whole folder (the docs) and one file
  mkdirSync(join(dest, 'usr/share'), { recursive: true });
  writeFileSync(join(dest, 'usr/share/.wh.doc'), '');
  put('etc/.wh.motd', '');
  // an opaque folder: the man pages replaced by one file
  put('usr/share/man/.wh..wh..opq', '');
  put('usr/share/man/README', 'man pages removed by the bench image\n');
  // a hard link pair, owned by a user, with xattrs; a capability on a copy of a binary
  put('opt/bench/bin/tool', readFileSync(join(flat, 'usr/bin/ls')), 0o755);
  sh(
    'ln opt/bench/bin/tool opt/bench/bin/tool-link && chown -R 1000:1000 opt/bench && setfattr -n user.bench -v "fledge-pure=bench" opt/bench/bin/tool',
    { cwd: dest },
  );
  put('usr/local/bin/ping-like', readFileSync(join(flat, 'usr/bin/cat')), 0o755);
  sh('setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 usr/local/bin/ping-like', {
    cwd: dest,
  });
  // some data: a compressible log-like text and a sparse file with two islands
  const lines = [];
  for (let i = 0; i < 200000; i++)
    lines.push(`${String(i).padStart(6, '0')} bench line ${(i * 2654435761) % 4294967296}`);
  put('var/log/bench.log', lines.join('\n') + '\n');
  sh(
    'truncate -s 64M var/lib/sparse.img && printf island | dd of=var/lib/sparse.img bs=1 seek=1048576 ' +
      'conv=notrunc 2>/dev/null && printf tail | dd of=var/lib/sparse.img bs=1 seek=67108860 conv=notrunc 2>/dev/null',
    { cwd: (mkdirSync(join(dest, 'var/lib'), { recursive: true }), dest) },
  );
}

const TAR =
  `tar --format=pax --xattrs --xattrs-include='*' --sparse --sort=name --numeric-owner ` +
  `--mtime=@${EPOCH} --clamp-mtime --pax-option=delete=atime,delete=ctime`;

function cleanApt(root) {
  sh(
    'rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/*; mkdir -p var/lib/apt/lists/partial',
    { cwd: root },
  );
}

/**
 * The cached OCI layout (made now when missing). Returns { layout, tag, info }.
 * `log` gets progress lines.
 */
export async function prepareImage(cacheRoot, { mirror = debianMirror(), log = () => {} } = {}) {
  const dir = join(cacheRoot, IMAGE_VERSION);
  const layout = join(dir, 'layout');
  const infoFile = join(dir, 'info.json');
  if (existsSync(infoFile)) return { layout, tag: IMAGE_TAG, info: JSON.parse(readFileSync(infoFile, 'utf8')) };
  if (process.getuid?.() !== 0)
    throw new Error(
      `the bench image is not cached yet (${dir}) and making it needs root (debootstrap creates device nodes and owners): run the bench once as root`,
    );

  mkdirSync(cacheRoot, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  const work = mkdtempSync(join(cacheRoot, 'making-'));
  const debs = join(cacheRoot, 'debs');
  mkdirSync(debs, { recursive: true });
  try {
    const base = join(work, 'base');
    const full = join(work, 'full');
    const boot = (target, include) => {
      log(
        `debootstrap ${SUITE} into ${target}${include ? ` with ${include}` : ''} (from ${mirror}; takes a minute or two)`,
      );
      sh(
        `debootstrap --variant=minbase --cache-dir=${q(debs)} ${include ? `--include=${include}` : ''} ` +
          `${SUITE} ${q(target)} ${q(mirror)} >${q(target)}.log 2>&1 || { tail -5 ${q(target)}.log >&2; exit 1; }`,
      );
      cleanApt(target);
    };
    boot(base);
    boot(full, PACKAGES.join(','));

    const l2 = join(work, 'l2');
    mkdirSync(l2);
    diffInto(base, full, l2, log);
    const l3 = join(work, 'l3');
    mkdirSync(l3);
    changesInto(full, l3);

    mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
    const blobs = join(layout, 'blobs/sha256');
    const layers = [];
    for (const [i, src] of [base, l2, l3].entries()) {
      const tar = join(work, `layer${i + 1}.tar`);
      log(`layer ${i + 1}: tar + gzip -n`);
      sh(`${TAR} -C ${q(src)} -cf ${q(tar)} .`);
      sh(`gzip -n -6 -c ${q(tar)} > ${q(tar)}.gz`);
      const diffId = await sha256File(tar);
      const digest = await sha256File(`${tar}.gz`);
      renameSync(`${tar}.gz`, join(blobs, digest));
      layers.push({
        diffId: `sha256:${diffId}`,
        digest: `sha256:${digest}`,
        size: statSync(join(blobs, digest)).size,
        tarSize: statSync(tar).size,
      });
      rmSync(tar);
    }
    const blob = (obj, mediaType) => {
      const bytes = Buffer.from(JSON.stringify(obj));
      const hex = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(blobs, hex), bytes);
      return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
    };
    const config = blob(
      {
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/bash'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = blob(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: layers.map((l) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: l.digest,
          size: l.size,
        })),
      },
      'application/vnd.oci.image.manifest.v1+json',
    );
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': IMAGE_TAG } }],
      }),
    );
    const info = {
      version: IMAGE_VERSION,
      suite: SUITE,
      mirror,
      packages: PACKAGES,
      made: new Date().toISOString(),
      layers,
      uncompressedBytes: layers.reduce((s, l) => s + l.tarSize, 0),
      compressedBytes: layers.reduce((s, l) => s + l.size, 0),
    };
    writeFileSync(infoFile, JSON.stringify(info, null, 2) + '\n');
    return { layout, tag: IMAGE_TAG, info };
  } catch (e) {
    rmSync(layout, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

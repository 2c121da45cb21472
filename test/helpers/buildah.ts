// The oracle for Dockerfile builds: buildah (Debian package, run as root) builds the
// same Dockerfile with `--isolation chroot` on vfs storage, pushes the image to an OCI
// layout, and `umoci unpack` flattens it. Everything buildah writes stays in the given
// folder: --root/--runroot for storage, TMPDIR for its temp files, a signature policy
// file there, and — because containers/image keeps its blob-info cache in
// /var/lib/containers/cache for root, with no flag to move it — a private mount
// namespace (unshare -m) where that folder's `varlib` is bind-mounted on /var/lib.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BuildahBuild {
  context: string;
  dockerfile: string;
  target?: string;
  buildArgs?: Record<string, string>;
}

let counter = 0;

/** Builds with buildah; returns the rootfs folder umoci unpacked, and the image config's `config`. */
export function buildahBuild(dir: string, b: BuildahBuild): { rootfs: string; config: Record<string, unknown> } {
  const id = `b${++counter}`;
  const work = join(dir, id);
  for (const d of ['root', 'runroot', 'tmp', 'varlib']) mkdirSync(join(work, d), { recursive: true });
  const policy = join(work, 'policy.json');
  writeFileSync(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  const g = `--root ${work}/root --runroot ${work}/runroot --storage-driver vfs`;
  const args = [
    ...(b.target ? ['--target', b.target] : []),
    ...Object.entries(b.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
  ]
    .map((a) => `'${a}'`)
    .join(' ');
  const script = [
    `mount --bind ${work}/varlib /var/lib`,
    `buildah ${g} bud -q --isolation chroot --tls-verify=false --identity-label=false --signature-policy ` +
      `${policy} -f '${b.dockerfile}' ${args} -t ${id} '${b.context}' >/dev/null`,
    `buildah ${g} push -q --signature-policy ${policy} ${id} oci:${work}/image:${id}`,
  ].join(' && ');
  execFileSync('unshare', ['-m', 'sh', '-ec', script], {
    env: { ...process.env, TMPDIR: join(work, 'tmp') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  execFileSync('umoci', ['unpack', '--image', `${work}/image:${id}`, join(work, 'bundle')], { stdio: 'pipe' });
  const blob = (digest: string) => JSON.parse(readFileSync(join(work, 'image/blobs/sha256', digest.slice(7)), 'utf8'));
  const index = JSON.parse(readFileSync(join(work, 'image/index.json'), 'utf8'));
  const config = blob(blob(index.manifests[0].digest).config.digest) as { config: Record<string, unknown> };
  return { rootfs: join(work, 'bundle/rootfs'), config: config.config };
}

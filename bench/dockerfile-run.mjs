// `npm run bench -- --dockerfile`: Dockerfile builds (not a test).
// 1. A COPY-only build (`FROM scratch`, `COPY . /app/`) of a generated context (2 000 files
//    in 100 folders, 64 MiB): `fledge-pure build` writing the built image as an OCI layout
//    (--output-image oci:) and its ext4 artifact, against `buildah bud` + `buildah push
//    oci:` of the same context (as root, --isolation chroot, vfs storage in the bench's
//    folder, in a private mount namespace so /var/lib is not touched). Rounds alternate.
// 2. A RUN build's time split, from fledge-pure's `RUN: time:` line: writing the disks,
//    the VM's start (to the step), the step, and the layer read-back (GNU tar in the VM,
//    then the host's copy and apply); KVM when /dev/kvm works, else TCG.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');
const TOML =
  'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n' +
  '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n';

/** The COPY context: 100 folders × 20 files of 32 KiB, deterministic bytes. */
function copyContext(dir) {
  mkdirSync(dir, { recursive: true });
  let x = 2463534242;
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(dir, `d${d}`));
    for (let f = 0; f < 20; f++) {
      const buf = Buffer.alloc(32 * 1024);
      for (let i = 0; i < buf.length; i += 4) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        buf.writeUInt32LE(x, i);
      }
      writeFileSync(join(dir, `d${d}`, `f${f}`), buf);
    }
  }
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n');
  writeFileSync(join(dir, 'fledge.toml'), TOML);
  writeFileSync(join(dir, 'kestrel'), '#!/bin/sh\n');
  chmodSync(join(dir, 'kestrel'), 0o755);
}

function buildahArgv(work, ctx, n) {
  const w = join(work, `buildah${n}`);
  for (const d of ['root', 'runroot', 'tmp', 'varlib']) mkdirSync(join(w, d), { recursive: true });
  writeFileSync(join(w, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  const g = `--root ${w}/root --runroot ${w}/runroot --storage-driver vfs`;
  const script =
    `mount --bind ${w}/varlib /var/lib && TMPDIR=${w}/tmp buildah ${g} bud -q --isolation ` +
    `chroot --signature-policy ${w}/policy.json -t b ${ctx} >/dev/null && TMPDIR=${w}/tmp buildah ${g} ` +
    `push -q --signature-policy ${w}/policy.json b oci:${w}/image:b`;
  return ['unshare', '-m', 'sh', '-ec', script];
}

function copyCase(work, rounds, timed, env, log) {
  const ctx = join(work, 'copy-ctx');
  copyContext(ctx);
  const r = { case: 'dockerfile COPY', fledgePure: [], buildah: [] };
  for (let i = 0; i < rounds; i++) {
    log(`dockerfile COPY: round ${i + 1}/${rounds}`);
    r.fledgePure.push(
      timed(
        [
          'node',
          CLI,
          'build',
          '-q',
          '-o',
          join(work, `copy${i}.img`),
          '--output-image',
          `oci:${join(work, `copy-layout${i}`)}`,
        ],
        { cwd: ctx, env },
      ).wall,
    );
    r.buildah.push(timed(buildahArgv(work, ctx, i)).wall);
  }
  return r;
}

function runCase(work, env, log) {
  const ctx = join(work, 'run-ctx');
  mkdirSync(ctx, { recursive: true });
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /out && /bin/busybox seq 1 100000 > /out/n"]\n',
  );
  writeFileSync(join(ctx, 'fledge.toml'), TOML);
  writeFileSync(join(ctx, 'kestrel'), '#!/bin/sh\n');
  chmodSync(join(ctx, 'kestrel'), 0o755);
  log('dockerfile RUN: one step in the build VM (--no-cache)');
  const t0 = process.hrtime.bigint();
  const p = spawnSync('node', [CLI, 'build', '--no-cache', '-o', join(work, 'run.img')], {
    cwd: ctx,
    env,
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (p.status !== 0) throw new Error(`the RUN build failed: ${p.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const m = /RUN: time: disks ([\d.]+) s, VM start ([\d.]+) s, step ([\d.]+) s, layer read-back ([\d.]+) s/.exec(
    p.stderr,
  );
  if (!m) throw new Error('the RUN build printed no time line');
  const accel = existsSync('/dev/kvm') ? 'KVM when /dev/kvm works' : 'TCG: no /dev/kvm';
  return {
    case: 'dockerfile RUN',
    wall,
    accel,
    disks: Number(m[1]),
    vmStart: Number(m[2]),
    step: Number(m[3]),
    readBack: Number(m[4]),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runDockerfile({ json, log, machine, describeMachine, timed, setWork, rounds, env }) {
  const work = mkdtempSync(join(tmpdir(), 'fledge-pure-bench-dockerfile-'));
  setWork(work);
  try {
    const copy = copyCase(work, rounds, timed, env, log);
    const run = runCase(work, env, log);
    if (json) {
      process.stdout.write(`${JSON.stringify({ machine, results: [copy, run] }, null, 2)}\n`);
      return;
    }
    const fp = median(copy.fledgePure);
    const bu = median(copy.buildah);
    process.stdout.write(`${describeMachine(machine)}\n`);
    process.stdout.write(
      `dockerfile COPY (2 000 files, 64 MiB; median of ${rounds}): fledge-pure ${fp.toFixed(2)} s (ext4 ` +
        `artifact + OCI layout), buildah bud + push oci: ${bu.toFixed(2)} s; ratio ${(fp / bu).toFixed(2)}\n`,
    );
    process.stdout.write(
      `dockerfile RUN (one step, ${run.accel}): ${run.wall.toFixed(1)} s in all; disks ${run.disks} s, ` +
        `VM start ${run.vmStart} s, step ${run.step} s, layer read-back ${run.readBack} s\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

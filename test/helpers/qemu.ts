// Test harness: boot an initramfs under QEMU (TCG, no KVM) with the host's Debian kernel.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface BootOptions {
  /** Extra kernel command line, appended after "console=ttyS0 no_timer_check panic=-1 quiet". */
  append?: string;
  /** Kill QEMU after this long (default 120 s). */
  timeoutMs?: number;
  /** Kill QEMU shortly (graceMs) after the serial output matches this. */
  until?: RegExp;
  graceMs?: number;
  memMb?: number;
  /**
   * Disk images, attached as virtio-blk (/dev/vda, /dev/vdb, ...): a path (a raw image) or
   * a path with its format (qcow2). Needs virtio_pci + virtio_blk modules in the guest.
   */
  drives?: (string | { file: string; format: 'raw' | 'qcow2' })[];
  /** Kernel to boot; default: kernelPath(), booted as uncompressed vmlinux via PVH when possible. */
  kernel?: string;
}

export interface BootResult {
  /** Serial console output (stdout+stderr of QEMU), "\r" removed. */
  output: string;
  /** QEMU exited on its own with status 0 and the kernel did not panic. */
  exitedCleanly: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** Newest /boot/vmlinuz-* (Debian's linux-image-amd64). */
export function kernelPath(): string {
  const names = existsSync('/boot') ? readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')) : [];
  if (names.length === 0) throw new Error('no /boot/vmlinuz-* found: install linux-image-amd64');
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return join('/boot', names[names.length - 1]);
}

/**
 * Decompress a bzImage into an ELF vmlinux (cached in tmpdir). QEMU boots an ELF vmlinux
 * through its PVH entry point, skipping the in-guest XZ decompression, which costs ~3.5 s under TCG.
 * Returns undefined when extraction is impossible (caller falls back to the bzImage).
 */
function extractVmlinux(bzImage: string): string | undefined {
  const st = statSync(bzImage);
  const out = join(tmpdir(), `fledge-pure-${basename(bzImage)}-${st.size}-${Math.floor(st.mtimeMs)}.vmlinux`);
  if (existsSync(out)) return out;
  const data = readFileSync(bzImage);
  const formats: [Buffer, string, string[]][] = [
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz', ['-dc', '--single-stream']],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd', ['-dcq']],
    [Buffer.from([0x1f, 0x8b, 0x08]), 'gzip', ['-dc']],
  ];
  for (const [magic, cmd, args] of formats) {
    for (let i = data.indexOf(magic); i >= 0; i = data.indexOf(magic, i + 1)) {
      const r = spawnSync(cmd, args, { input: data.subarray(i), maxBuffer: 1 << 30 });
      // Trailing data after the stream can make the decompressor exit non-zero; the ELF header is what counts.
      if (r.stdout && r.stdout.length > 1 << 20 && r.stdout.readUInt32BE(0) === 0x7f454c46) {
        const tmp = `${out}.${process.pid}.tmp`;
        writeFileSync(tmp, r.stdout);
        renameSync(tmp, out);
        return out;
      }
    }
  }
  return undefined;
}

let bootKernelCache: string | undefined;
function bootKernel(): string {
  if (!bootKernelCache) {
    const k = kernelPath();
    bootKernelCache = (process.env.FLEDGE_QEMU_NO_PVH ? undefined : extractVmlinux(k)) ?? k;
  }
  return bootKernelCache;
}

// Safety net: kill any QEMU still running if the test process exits abruptly.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function qemuArgs(initrd: string, opts: BootOptions = {}): string[] {
  const args = [
    '-machine',
    'q35',
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-m',
    String(opts.memMb ?? 512),
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    opts.kernel ?? bootKernel(),
    '-initrd',
    initrd,
    '-append',
    // no_timer_check: as src/vm/arch.ts says, a loaded host's TCG can fail the IO-APIC timer check
    `console=ttyS0 no_timer_check panic=-1 quiet ${opts.append ?? ''}`.trim(),
  ];
  for (const d of opts.drives ?? []) {
    const { file, format } = typeof d === 'string' ? { file: d, format: 'raw' } : d;
    args.push('-drive', `file=${file},format=${format},if=virtio`);
  }
  return args;
}

export async function bootInitramfs(initrd: string, opts: BootOptions = {}): Promise<BootResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const start = Date.now();
  const proc = spawn('qemu-system-x86_64', qemuArgs(initrd, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let output = '';
  let timedOut = false;
  let killedByUs = false;
  let matched = false;
  const timers: NodeJS.Timeout[] = [];
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      killedByUs = true;
      proc.kill('SIGKILL');
    }
  };
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8').replace(/\r/g, '');
        if (opts.until && !matched && opts.until.test(output)) {
          matched = true;
          timers.push(setTimeout(kill, opts.graceMs ?? 300));
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.on('error', reject);
      proc.on('close', (c) => resolve(c));
      timers.push(
        setTimeout(() => {
          timedOut = true;
          kill();
        }, timeoutMs),
      );
    });
    const panicked = /Kernel panic/.test(output);
    return { output, exitedCleanly: !killedByUs && code === 0 && !panicked, timedOut, durationMs: Date.now() - start };
  } finally {
    for (const t of timers) clearTimeout(t);
    kill();
    live.delete(proc);
  }
}

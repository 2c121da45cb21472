// What every hostile-input case asserts about a CLI run: its exit code, one line on
// stderr naming the problem (never a JS internal), no partial file left anywhere, no
// host file content in the output, and bounded time and memory (the peak RSS comes from
// a preload that writes process.resourceUsage().maxRSS at exit).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CACHE, CLI } from './cli.js';

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
  rssMiB: number;
}

const PRELOAD = join(mkdtempSync(join(tmpdir(), 'fp-rss-')), 'rss.cjs');
writeFileSync(
  PRELOAD,
  "process.on('exit', () => require('fs').writeFileSync(process.env.FP_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
);

/** Runs the CLI; `onStart` gets the child (to signal it). */
export function runMeasured(
  args: string[],
  o: { cwd: string; env?: Record<string, string>; onStart?: (pid: number) => void; stdin?: 'ignore' },
): Promise<MeasuredRun> {
  const rssFile = join(o.cwd, `.rss-${Math.random().toString(36).slice(2)}`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', PRELOAD, CLI, ...args], {
      cwd: o.cwd,
      env: { ...process.env, XDG_CACHE_HOME: CACHE, FP_TEST_RSS_FILE: rssFile, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('spawn', () => o.onStart?.(child.pid!));
    child.on('close', (code, signal) => {
      let rssMiB = 0;
      try {
        rssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
        rmSync(rssFile);
      } catch {
        /* killed before exit */
      }
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, ms: Date.now() - started, rssMiB });
    });
  });
}

const JS_INTERNALS =
  /Cannot read propert|is not a function|is not iterable|Unexpected token|Unexpected end of JSON|out of range|Maximum call stack|at .*\.js:\d+|ERR_[A-Z_]+|^\s+at /m;

/** Exit code, exactly one stderr line starting "fledge-pure: " and matching `problem`, no JS internals, time and memory bounded. */
export function expectOneLineFailure(
  r: MeasuredRun,
  code: number,
  problem: RegExp,
  bounds: { ms?: number; rssMiB?: number } = {},
): void {
  const lines = r.stderr.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  expect(last, r.stderr).toMatch(/^fledge-pure: /);
  expect(last, r.stderr).toMatch(problem);
  expect(
    lines.filter((l) => l.startsWith('fledge-pure: ')),
    r.stderr,
  ).toHaveLength(1);
  expect(r.stderr).not.toMatch(JS_INTERNALS);
  expect(r.code, r.stderr).toBe(code);
  expect(r.ms).toBeLessThan(bounds.ms ?? 60_000);
  if (r.rssMiB) expect(r.rssMiB).toBeLessThan(bounds.rssMiB ?? 600);
}

/** Every file under dirs whose name says it is a temp file. */
export function partialFiles(...dirs: string[]): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]) {
      if (/\.partial$/.test(e.name)) found.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
    }
  }
  return found;
}

/** The partial files of the shared cache and the given folders: none may be left. */
export function expectNoPartials(...dirs: string[]): void {
  expect(partialFiles(CACHE, ...dirs)).toEqual([]);
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export type Doc = Record<string, unknown> | unknown[] | Buffer | string | null;

export interface LayoutParts {
  index: (manifest: Record<string, unknown>) => Doc;
  manifest: (config: Record<string, unknown>, layer: Record<string, unknown>) => Doc;
  config: (diffId: string) => Doc;
}

const asBytes = (d: Doc): Buffer =>
  Buffer.isBuffer(d) ? d : Buffer.from(typeof d === 'string' ? d : JSON.stringify(d));

/** The default shapes of a one-layer OCI image; a test replaces one part. */
export const GOOD: LayoutParts = {
  index: (m) => ({
    schemaVersion: 2,
    manifests: [{ ...m, annotations: { 'org.opencontainers.image.ref.name': 'x' } }],
  }),
  manifest: (config, layer) => ({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [layer],
  }),
  config: (diffId) => ({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [diffId] },
  }),
};

/** A one-layer tar of `files`, made by GNU tar. */
export function layerTar(files: Record<string, string>): Buffer {
  const src = mkdtempSync(join(tmpdir(), 'fp-src-'));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(src, name), data);
  const tar = execFileSync(
    'tar',
    ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '-C', src, '.'],
    { maxBuffer: 1 << 28 },
  );
  rmSync(src, { recursive: true });
  return tar;
}

/** An OCI layout in a new folder, each part as `parts` says (a Buffer or string is written as is). */
export function writeLayout(
  parts: Partial<LayoutParts> = {},
  layer = execFileSync('gzip', ['-nc'], { input: layerTar({ hello: 'hi\n' }) }),
): string {
  const p = { ...GOOD, ...parts };
  const dir = mkdtempSync(join(tmpdir(), 'fp-layout-'));
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const blob = (bytes: Buffer, mediaType: string) => {
    const digest = sha256(bytes);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const tar = execFileSync('gzip', ['-dc'], { input: layer, maxBuffer: 1 << 28 });
  const layerDesc = blob(layer, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = blob(asBytes(p.config(sha256(tar))), 'application/vnd.oci.image.config.v1+json');
  const manifest = blob(asBytes(p.manifest(config, layerDesc)), 'application/vnd.oci.image.manifest.v1+json');
  writeFileSync(join(dir, 'index.json'), asBytes(p.index(manifest)));
  return dir;
}

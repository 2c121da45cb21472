// What Volant (volantvm/volant, Go) does with a manifest.json and its artifact, written down
// as facts with the file and commit each was read from. The tests check our manifests
// against these facts and run the consumer path that can run here (the launcher's fetch and
// checksum). Read from the source, not copied: each rule is restated as data.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';

export const SOURCES = {
  pluginspec: 'internal/pluginspec/spec.go @ f289af92543c3e74faa0ce10bb19308a0fe77ed9 (v0.6.5 line)',
  imagespec: 'internal/imagespec/spec.go @ 279c12bab56badb229a9bc0020a73e4418dbf0c0 (after the plugins→images rename)',
  volar: 'internal/cli/standard/plugins.go @ f289af92543c3e74faa0ce10bb19308a0fe77ed9 (newPluginsInstallCmd)',
  launcher:
    'internal/server/orchestrator/cloudhypervisor/launcher.go streamFile @ ' +
    'f289af92543c3e74faa0ce10bb19308a0fe77ed9 and 97513f2ec78f7a1fb9e7093d0c8f268eb2b89312',
  orchestrator:
    'internal/server/orchestrator/orchestrator.go detectRootFSType @ 52d6f5e32f2c2bcd3f971e5cdd12c9e649dccf5d',
  fsdetect: 'pkg/fsdetect/fsdetect.go DetectFormat @ 97513f2ec78f7a1fb9e7093d0c8f268eb2b89312',
  schema: 'docs/schemas/plugin-manifest-v1.json @ f289af92543c3e74faa0ce10bb19308a0fe77ed9 ($id)',
} as const;

export type VolantLine = 'v0.6.5' | 'newer';

interface ArtifactJson {
  url?: string;
  checksum?: string;
  format?: string;
}

/** The parts of a manifest.json the rules read. */
export interface ManifestJson {
  name?: string;
  version?: string;
  runtime?: string;
  resources?: Record<string, number>;
  workload?: { type?: string; base_url?: string; entrypoint?: string[] };
  rootfs?: ArtifactJson;
  initramfs?: ArtifactJson;
  network?: { mode?: string } & Record<string, unknown>;
}

/** Manifest.Validate and its parts, per line of Volant. */
export const VALIDATE = {
  /** RootFS.Validate / Initramfs.Validate: the trimmed url must start with one of these (both lines) */
  urlPrefixes: ['http://', 'https://', 'file://', '/'],
  /** Validate: name, version, runtime non-empty after trimming (Normalize sets runtime = name when empty) */
  required: ['name', 'version', 'runtime'],
  /** ResourceSpec: cpu_cores > 0, memory_mb > 0 */
  positive: ['cpu_cores', 'memory_mb'],
  /** a checksum without ":" must be at least 32 characters */
  checksumMinBare: 32,
  /** allowedDiskFormats, used for rootfs.format (empty reads as raw) */
  rootfsFormats: { 'v0.6.5': ['raw', 'qcow2'], newer: ['raw', 'qcow2', 'squashfs', 'ext4', 'xfs', 'btrfs'] },
  /** Workload.Validate: accepted types; http needs base_url and entrypoint[0] */
  workloadTypes: { 'v0.6.5': ['http'], newer: ['exec', 'http', 'grpc'] },
  networkModes: ['vsock', 'bridged', 'dhcp'],
  /** NetworkConfig's JSON fields */
  networkFields: {
    'v0.6.5': ['mode', 'subnet', 'gateway', 'auto_assign'],
    newer: ['mode', 'subnet', 'gateway', 'auto_assign', 'expose'],
  },
  /** Initramfs's JSON fields (encoding/json ignores any other key) */
  initramfsFields: ['url', 'checksum'],
} as const;

/** volar plugins install FILE: a url that is neither http(s)://, file:// nor absolute is joined to FILE's folder, not made absolute. */
export function volarInstallUrl(url: string, manifestPath: string): string {
  const u = url.trim();
  if (/^(https?|file):\/\//.test(u) || isAbsolute(u)) return u;
  return normalize(join(dirname(manifestPath), u));
}

/** Every rule of `line` the manifest breaks (empty: Volant's validator takes it). */
export function volantProblems(m: ManifestJson, line: VolantLine): string[] {
  const out: string[] = [];
  for (const key of VALIDATE.required) if (!String(m[key as 'name'] ?? '').trim()) out.push(`${key} required`);
  for (const key of VALIDATE.positive) if (!((m.resources?.[key] ?? 0) > 0)) out.push(`${key} must be > 0`);
  const w = m.workload ?? {};
  const type = String(w.type ?? '')
    .trim()
    .toLowerCase();
  if (!(VALIDATE.workloadTypes[line] as readonly string[]).includes(type))
    out.push(`workload type ${JSON.stringify(w.type)} not supported`);
  if (type === 'http' && !String(w.base_url ?? '').trim()) out.push('workload.base_url required');
  if (!Array.isArray(w.entrypoint) || !String(w.entrypoint[0] ?? '').trim()) out.push('workload.entrypoint required');
  for (const kind of ['rootfs', 'initramfs'] as const) {
    const url = String(m[kind]?.url ?? '').trim();
    if (url && !VALIDATE.urlPrefixes.some((p) => url.startsWith(p)))
      out.push(`${kind} url must be http(s), file://, or absolute path`);
    const sum = String(m[kind]?.checksum ?? '').trim();
    if (sum && !sum.includes(':') && sum.length < VALIDATE.checksumMinBare)
      out.push(`${kind} checksum needs an algorithm prefix`);
  }
  if (m.rootfs?.url) {
    const format =
      String(m.rootfs.format ?? '')
        .trim()
        .toLowerCase() || 'raw';
    if (!(VALIDATE.rootfsFormats[line] as readonly string[]).includes(format))
      out.push(`rootfs format ${JSON.stringify(m.rootfs.format)} not supported`);
  }
  if (!m.rootfs?.url && !m.initramfs?.url) out.push('one of rootfs.url or initramfs.url must be set');
  if (m.network && !(VALIDATE.networkModes as readonly string[]).includes(String(m.network.mode).toLowerCase()))
    out.push('network mode unsupported');
  return out;
}

/** Keys of `m.network` that `line` has no field for (dropped silently by encoding/json). */
export function droppedNetworkKeys(m: ManifestJson, line: VolantLine): string[] {
  return Object.keys(m.network ?? {}).filter((k) => !(VALIDATE.networkFields[line] as readonly string[]).includes(k));
}

/**
 * The launcher's streamFile: http(s):// is fetched with GET (status ≥ 300 fails), anything
 * else is opened as a local path as written (so file://… fails); the sha256 of the bytes
 * must equal the checksum with "sha256:" trimmed off, compared case-insensitively.
 */
export async function launcherFetch(url: string, checksum: string): Promise<Buffer> {
  let data: Buffer;
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const r = await fetch(url);
    if (r.status >= 300) throw new Error(`download ${url}: status ${r.status}`);
    data = Buffer.from(await r.arrayBuffer());
  } else {
    data = readFileSync(url);
  }
  const expected = checksum.trim().replace(/^sha256:/, '');
  const actual = createHash('sha256').update(data).digest('hex');
  if (expected.toLowerCase() !== actual) throw new Error(`checksum mismatch: expected ${expected} got ${actual}`);
  return data;
}

/** The rootfstype newer Volant boots a rootfs url with. */
export const FSTYPE_FROM_URL = [
  // orchestrator 52d6f5e: case-sensitive suffixes, anything else ext4
  {
    source: SOURCES.orchestrator,
    lower: false,
    suffixes: { '.squashfs': 'squashfs', '.xfs': 'xfs', '.btrfs': 'btrfs', '.img': 'ext4' },
    otherwise: 'ext4',
  },
  // fsdetect 97513f2: lower-cased, anything else squashfs
  {
    source: SOURCES.fsdetect,
    lower: true,
    suffixes: {
      '.squashfs': 'squashfs',
      '.qcow2': 'qcow2',
      '.xfs': 'xfs',
      '.btrfs': 'btrfs',
      '.ext4': 'ext4',
      '.img': 'ext4',
    },
    otherwise: 'squashfs',
  },
] as const;

export function fstypeFromUrl(url: string, rule: (typeof FSTYPE_FROM_URL)[number]): string {
  const u = rule.lower ? url.toLowerCase() : url;
  const hit = Object.entries(rule.suffixes).find(([s]) => u.endsWith(s));
  return hit ? hit[1] : rule.otherwise;
}

// fledge.toml: parse, validate every rule, resolve paths against the config file's folder.

import * as path from 'node:path';
import type {
  AgentConfig,
  DiskFormat,
  FilesystemConfig,
  FilesystemType,
  SquashfsCompression,
  FledgeConfig,
  InitConfig,
  Mapping,
  Problem,
  SourceConfig,
  Strategy,
} from './types.js';
import { checkPluginForm, isPluginForm } from './plugin-form.js';
import { Checker, ConfigError, isHttpUrl, readTomlFile, type Table } from './toml-file.js';
import {
  BLOCK_SIZE_MAX,
  BLOCK_SIZE_MIN,
  COMPRESSOR_LEVELS,
  COMPRESSOR_NAMES,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_COMPRESSOR,
} from '../squashfs/limits.js';

export { ConfigError, formatProblem } from './toml-file.js';

const TOP = ['version', 'strategy', 'agent', 'source', 'filesystem', 'init', 'mappings'] as const;
const SECTIONS = ['agent', 'source', 'filesystem', 'init', 'mappings'];
const AGENT_KEYS = ['source_strategy', 'version', 'path', 'url', 'checksum'];
const SOURCE_KEYS = ['image', 'dockerfile', 'context', 'target', 'build_args', 'busybox_url', 'busybox_sha256'];
const FS_KEYS = [
  'type',
  'compression',
  'compression_level',
  'block_size',
  'overlay_size',
  'size_buffer_mb',
  'preallocate',
  'disk_format',
  'qcow2_compression',
];
const INIT_KEYS = ['path', 'none'];
const STRATEGIES: readonly Strategy[] = ['oci_rootfs', 'initramfs'];
const AGENT_STRATEGIES = ['release', 'local', 'http'] as const;
const FS_TYPES: readonly FilesystemType[] = ['squashfs', 'ext4', 'xfs', 'btrfs'];
/** the squashfs writer's compressors and levels (src/squashfs/limits.ts) */
const COMPRESSIONS: readonly SquashfsCompression[] = COMPRESSOR_NAMES;
const LEVEL_MAX = Math.max(...COMPRESSIONS.map((name) => COMPRESSOR_LEVELS[name].max));
const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2'];
/** [filesystem] keys that only one kind of image reads: squashfs (compressed, read-only under a tmpfs overlay) or a disk filesystem (sized, writable) */
const SQUASHFS_ONLY = ['compression', 'compression_level', 'block_size', 'overlay_size'];
const DISK_ONLY = ['size_buffer_mb', 'preallocate'];
/** which agent key belongs to which source_strategy */
const AGENT_KEY_OWNER: Record<string, (typeof AGENT_STRATEGIES)[number]> = {
  version: 'release',
  path: 'local',
  url: 'http',
  checksum: 'http',
};

/** 1 TiB of free space in an ext4 image: far more than a root filesystem needs, small enough to plan in memory */
const MAX_SIZE_BUFFER_MB = 1 << 20;

const MISSING_FIX =
  'pass --config <path to fledge.toml>, or create fledge.toml in this folder (see the README for an example)';

export interface CheckOptions {
  /** the image comes from elsewhere (--docker-archive): oci_rootfs needs no [source] image */
  imageGiven?: boolean;
}

export function loadFledgeConfig(file: string, o: CheckOptions = {}): FledgeConfig {
  const { config, problems } = checkFledgeConfig(file, o);
  if (!config) throw new ConfigError(problems);
  return config;
}

/** Validate `file`, collecting every problem; `config` is set only when there are none. */
export function checkFledgeConfig(file: string, o: CheckOptions = {}): { config?: FledgeConfig; problems: Problem[] } {
  const read = readTomlFile(file, MISSING_FIX);
  if (!read.source) return { problems: read.problems };
  const c = new Checker(read.source);
  const data = read.source.data;
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const resolve = (p: string) => path.resolve(dir, p);

  if (isPluginForm(data)) {
    const config = checkPluginForm(c, data, file);
    return config ? { config, problems: [] } : { problems: c.sorted() };
  }
  c.keys(data, [], { allowed: TOP, sections: SECTIONS });

  const version = c.str(data, 'version', [], { required: 'version = "1" at the top of the file' });
  if (version !== undefined && version !== '1')
    c.report(['version'], `unsupported config version ${JSON.stringify(version)}; fledge-pure reads version = "1"`);

  const strategyRaw = c.str(data, 'strategy', [], {
    required: 'strategy = "oci_rootfs" (image → disk image) or strategy = "initramfs" at the top of the file',
  });
  const strategy = c.oneOf(strategyRaw, STRATEGIES, ['strategy']);

  const init = checkInit(c, data, strategy, resolve);
  const agent = checkAgent(c, data, strategy, init, resolve);
  const source = checkSource(c, data, strategy, resolve, o);
  const filesystem = checkFilesystem(c, data, strategy);
  const mappings = checkMappings(c, data, resolve);

  const problems = c.sorted();
  if (problems.length || !strategy || !init || !source || !mappings) return { problems };
  const config: FledgeConfig = { file: abs, dir, version: '1', strategy, source, init, mappings };
  if (c.warnings.length) config.warnings = c.warnings;
  if (agent) config.agent = agent;
  if (filesystem) config.filesystem = filesystem;
  return { config, problems };
}

function checkInit(
  c: Checker,
  data: Table,
  strategy: Strategy | undefined,
  resolve: (p: string) => string,
): InitConfig | undefined {
  const t = c.table(data, 'init', [], '[init] with path = "./my-init" or none = true');
  if (!t) return data.init === undefined ? { mode: 'default' } : undefined;
  c.keys(t, ['init'], { allowed: INIT_KEYS, topLevel: TOP });
  if (strategy === 'oci_rootfs')
    c.report(
      ['init'],
      'is only used with strategy = "initramfs"; remove the [init] section (an oci_rootfs image keeps its own init)',
    );
  const p = c.str(t, 'path', ['init'], { nonEmpty: true });
  const none = c.bool(t, 'none', ['init']);
  if (none === true && p !== undefined) {
    c.report(
      ['init', 'none'],
      'cannot be combined with init.path; keep path = "..." (that file becomes /init) or none = true (you map /init yourself), not both',
    );
    return undefined;
  }
  if (none === true) return { mode: 'none' };
  if (p !== undefined) return { mode: 'custom', path: resolve(p) };
  if (t.path !== undefined || (t.none !== undefined && none === undefined)) return undefined; // type errors reported
  return { mode: 'default' };
}

function checkAgent(
  c: Checker,
  data: Table,
  strategy: Strategy | undefined,
  init: InitConfig | undefined,
  resolve: (p: string) => string,
): AgentConfig | undefined {
  const t = c.table(data, 'agent', [], '[agent] with source_strategy = "release" and version = "latest"');
  if (data.agent === undefined) {
    if (strategy === 'oci_rootfs')
      c.missing(
        ['agent'],
        'an [agent] section for strategy = "oci_rootfs", e.g. [agent] source_strategy = "release" version = "latest"',
      );
    if (strategy === 'initramfs' && init?.mode === 'default') return { source_strategy: 'release', version: 'latest' };
    return undefined;
  }
  if (!t) return undefined;
  c.keys(t, ['agent'], { allowed: AGENT_KEYS, topLevel: TOP });
  if (strategy === 'initramfs' && init && init.mode !== 'default') {
    const why = init.mode === 'custom' ? '[init] path is set (custom init)' : '[init] none = true';
    c.report(
      ['agent'],
      `is not allowed when ${why}: the kestrel agent is not installed then; remove the [agent] section, or remove [init] to use the default init with kestrel`,
    );
  }
  const sp = ['agent'];
  const kind = c.oneOf(
    c.str(t, 'source_strategy', sp, { required: 'source_strategy = "release" (or "local" / "http") under [agent]' }),
    AGENT_STRATEGIES,
    ['agent', 'source_strategy'],
  );
  const version = c.str(t, 'version', sp, { nonEmpty: true });
  const p = c.str(t, 'path', sp, { nonEmpty: true });
  const url = c.str(t, 'url', sp, { nonEmpty: true });
  const checksumRaw = c.str(t, 'checksum', sp, { nonEmpty: true });
  if (!kind) return undefined;
  for (const [key, owner] of Object.entries(AGENT_KEY_OWNER)) {
    if (t[key] !== undefined && owner !== kind)
      c.report(['agent', key], `is only used with source_strategy = "${owner}" (this one is "${kind}"); remove it`);
  }
  switch (kind) {
    case 'release':
      if (version === undefined && t.version === undefined)
        c.missing(['agent', 'version'], 'version = "latest" (or a release tag such as "v0.6.5") under [agent]');
      return version !== undefined ? { source_strategy: 'release', version } : undefined;
    case 'local':
      if (p === undefined && t.path === undefined)
        c.missing(['agent', 'path'], 'path = "./kestrel" (the agent binary, relative to this file) under [agent]');
      return p !== undefined ? { source_strategy: 'local', path: resolve(p) } : undefined;
    case 'http': {
      if (url === undefined && t.url === undefined)
        c.missing(['agent', 'url'], 'url = "https://.../kestrel" under [agent]');
      if (url !== undefined && !isHttpUrl(url))
        c.report(['agent', 'url'], `must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
      const checksum = checksumRaw === undefined ? undefined : sha256(c, checksumRaw, ['agent', 'checksum']);
      if (url === undefined || !isHttpUrl(url) || (checksumRaw !== undefined && !checksum)) return undefined;
      return checksum ? { source_strategy: 'http', url, checksum } : { source_strategy: 'http', url };
    }
  }
}

/** "sha256:ABC…" or "abc…" → 64 lowercase hex digits, or undefined (reported). */
function sha256(c: Checker, value: string, at: (string | number)[]): string | undefined {
  const hex = value.trim().replace(/^sha256:/i, '');
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return hex.toLowerCase();
  c.report(
    at,
    `must be a sha256 digest: 64 hex digits, optionally prefixed with "sha256:" (got ${JSON.stringify(value)}); compute it with sha256sum`,
  );
  return undefined;
}

function checkSource(
  c: Checker,
  data: Table,
  strategy: Strategy | undefined,
  resolve: (p: string) => string,
  o: CheckOptions,
): SourceConfig | undefined {
  const t = c.table(data, 'source', [], '[source] with image = "nginx:alpine"');
  if (data.source !== undefined && !t) return undefined;
  const s = t ?? {};
  const sp = ['source'];
  if (t) c.keys(t, sp, { allowed: SOURCE_KEYS, topLevel: TOP });
  const image = c.str(s, 'image', sp, { nonEmpty: true });
  const dockerfile = c.str(s, 'dockerfile', sp, { nonEmpty: true });
  const context = c.str(s, 'context', sp, { nonEmpty: true });
  const target = c.str(s, 'target', sp);
  const buildArgs = c.strMap(s, 'build_args', sp, 'build_args = { VERSION = "1.2" }');
  const busyboxUrl = c.str(s, 'busybox_url', sp, { nonEmpty: true });
  const busyboxShaRaw = c.str(s, 'busybox_sha256', sp, { nonEmpty: true });

  if (s.image !== undefined && s.dockerfile !== undefined)
    c.report(
      ['source', 'dockerfile'],
      'cannot be combined with source.image; keep one: image = "<reference>" to pull an image, or dockerfile = "./Dockerfile" to build one',
    );
  if (strategy === 'oci_rootfs' && s.image === undefined && s.dockerfile === undefined && !o.imageGiven)
    c.missing(
      ['source'],
      'source.image = "nginx:alpine" or source.dockerfile = "./Dockerfile" under [source] (oci_rootfs needs an image), or pass --docker-archive image.tar',
    );
  if (s.dockerfile === undefined)
    for (const key of ['context', 'target', 'build_args'])
      if (s[key] !== undefined)
        c.report(
          ['source', key],
          'is only used with source.dockerfile; add dockerfile = "./Dockerfile" or remove this key',
        );
  if (strategy === 'oci_rootfs')
    for (const key of ['busybox_url', 'busybox_sha256'])
      if (s[key] !== undefined)
        c.report(
          ['source', key],
          'is only used with strategy = "initramfs"; remove it (an oci_rootfs image brings its own userland)',
        );
  // busybox_url: an http(s):// or file:// URL, or a local path (resolved like every other path)
  const busyboxIsUrl = busyboxUrl !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(busyboxUrl);
  if (busyboxIsUrl && !isHttpUrl(busyboxUrl!) && !/^file:\/\/\//i.test(busyboxUrl!))
    c.report(
      ['source', 'busybox_url'],
      `must be an http(s):// URL, a file:/// URL or a local path (got ${JSON.stringify(busyboxUrl)})`,
    );
  const busyboxSha = busyboxShaRaw === undefined ? undefined : sha256(c, busyboxShaRaw, ['source', 'busybox_sha256']);

  const out: SourceConfig = { build_args: buildArgs ?? {} };
  if (image !== undefined) out.image = image;
  if (dockerfile !== undefined) {
    out.dockerfile = resolve(dockerfile);
    // README: context defaults to the Dockerfile's directory
    out.context = context !== undefined ? resolve(context) : path.dirname(out.dockerfile);
    if (target) out.target = target;
  }
  if (busyboxUrl !== undefined) out.busybox_url = busyboxIsUrl ? busyboxUrl : resolve(busyboxUrl);
  if (busyboxSha !== undefined) out.busybox_sha256 = busyboxSha;
  return out;
}

function checkFilesystem(c: Checker, data: Table, strategy: Strategy | undefined): FilesystemConfig | undefined {
  const t = c.table(data, 'filesystem', [], '[filesystem] with type = "squashfs"');
  if (data.filesystem === undefined) {
    if (strategy === 'oci_rootfs')
      c.missing(
        ['filesystem'],
        'a [filesystem] section for strategy = "oci_rootfs", e.g. [filesystem] type = "squashfs"',
      );
    return undefined;
  }
  if (!t) return undefined;
  const fp = ['filesystem'];
  c.keys(t, fp, { allowed: FS_KEYS, topLevel: TOP });
  if (strategy === 'initramfs')
    c.report(
      fp,
      'is only used with strategy = "oci_rootfs"; remove the [filesystem] section (an initramfs is always a gzip-compressed cpio archive)',
    );
  const type = c.oneOf(c.str(t, 'type', fp), FS_TYPES, ['filesystem', 'type']);
  const compression =
    c.oneOf(c.str(t, 'compression', fp), COMPRESSIONS, ['filesystem', 'compression']) ?? DEFAULT_COMPRESSOR;
  const levels = COMPRESSOR_LEVELS[compression];
  const level = c.int(
    t,
    'compression_level',
    fp,
    1,
    LEVEL_MAX,
    `compression_level = ${COMPRESSOR_LEVELS[DEFAULT_COMPRESSOR].defaultLevel}`,
  );
  if (compression === 'gzip' && level !== undefined && level > levels.max)
    c.report(
      ['filesystem', 'compression_level'],
      `gzip levels are 1 to ${levels.max} (got ${level}); e.g. compression_level = ` +
        `${levels.defaultLevel}, or compression = "zstd" for levels up to ${LEVEL_MAX}`,
    );
  if (compression === 'lz4' && level !== undefined)
    c.report(
      ['filesystem', 'compression_level'],
      'lz4 has no levels in squashfs; remove compression_level, or use compression = "zstd" or "gzip"',
    );
  const blockSize = c.int(t, 'block_size', fp, BLOCK_SIZE_MIN, BLOCK_SIZE_MAX, `block_size = ${DEFAULT_BLOCK_SIZE}`);
  if (blockSize !== undefined && (blockSize & (blockSize - 1)) !== 0)
    c.report(
      ['filesystem', 'block_size'],
      `must be a power of two (got ${blockSize}); e.g. block_size = ${DEFAULT_BLOCK_SIZE} (128 KiB) or ${BLOCK_SIZE_MAX} (1 MiB)`,
    );
  const overlay = c.str(t, 'overlay_size', fp);
  if (overlay !== undefined && !/^[1-9][0-9]*[KMGT]?$/i.test(overlay))
    c.report(
      ['filesystem', 'overlay_size'],
      `must be a size: digits with an optional K, M, G or T suffix (got ${JSON.stringify(overlay)}); e.g. overlay_size = "1G"`,
    );
  const buffer = c.int(t, 'size_buffer_mb', fp, 0, MAX_SIZE_BUFFER_MB, 'size_buffer_mb = 100');
  const prealloc = c.bool(t, 'preallocate', fp);
  const diskFormat = c.oneOf(c.str(t, 'disk_format', fp), DISK_FORMATS, ['filesystem', 'disk_format']);
  const qcow2Compression = c.bool(t, 'qcow2_compression', fp);
  warnOtherTypeKeys(c, t, type ?? 'squashfs');
  return {
    type: type ?? 'squashfs',
    compression,
    compression_level: compression === 'lz4' ? levels.defaultLevel : (level ?? levels.defaultLevel),
    block_size: blockSize ?? DEFAULT_BLOCK_SIZE,
    overlay_size: overlay?.toUpperCase() ?? '1G',
    size_buffer_mb: buffer ?? 0,
    preallocate: prealloc ?? false,
    disk_format: diskFormat ?? 'raw',
    qcow2_compression: qcow2Compression ?? true,
  };
}

/** Keys the chosen filesystem type does not read: a warning each, not silence. */
function warnOtherTypeKeys(c: Checker, t: Table, type: FilesystemType): void {
  const squashfs = type === 'squashfs';
  for (const key of squashfs ? DISK_ONLY : SQUASHFS_ONLY) {
    if (t[key] === undefined) continue;
    const why = squashfs
      ? 'is only read for ext4/xfs/btrfs images; a squashfs image is sized to its content and the VM writes into a tmpfs overlay of overlay_size'
      : `is only read for squashfs images; this ${type} image is not compressed and is written to directly`;
    c.warn(['filesystem', key], `${why}; remove it`);
  }
}

function checkMappings(c: Checker, data: Table, resolve: (p: string) => string): Mapping[] | undefined {
  const t = c.table(data, 'mappings', [], '[mappings] with "./local/file" = "/destination/in/image"');
  if (data.mappings !== undefined && !t) return undefined;
  const out: Mapping[] = [];
  for (const [src, dst] of Object.entries(t ?? {})) {
    const at = ['mappings', src];
    if (typeof dst !== 'string') {
      c.report(
        at,
        typeof dst === 'object' && dst !== null && !Array.isArray(dst)
          ? 'must be a string destination path, not a table; a source path with dots must be quoted: "./app.conf" = "/etc/app.conf"'
          : `must be a string destination path, not ${typeof dst === 'number' ? 'a number' : typeof dst}; e.g. "./myapp" = "/usr/bin/myapp"`,
      );
      continue;
    }
    if (src.trim() === '') {
      c.report(
        at,
        'has an empty source path; write the local file or folder as the key, e.g. "./myapp" = "/usr/bin/myapp"',
      );
      continue;
    }
    if (!dst.startsWith('/')) {
      c.report(at, `destination ${JSON.stringify(dst)} must be an absolute path inside the image (start it with /)`);
      continue;
    }
    if (dst.split('/').includes('..')) {
      c.report(
        at,
        `destination ${JSON.stringify(dst)} must not contain a ".." component; write the plain absolute path`,
      );
      continue;
    }
    out.push({ source: resolve(src), destination: dst });
  }
  return out;
}

// The validated, resolved form of fledge.toml. Every local path here is absolute
// (resolved against the folder of the config file).
import type { CompressorName } from '../squashfs/limits.js';
import type { ManifestTemplate } from './manifest.js';

export type Strategy = 'oci_rootfs' | 'initramfs';

export type AgentConfig =
  | { source_strategy: 'release'; version: string }
  | { source_strategy: 'local'; path: string }
  | { source_strategy: 'http'; url: string; checksum?: string };

export interface SourceConfig {
  image?: string;
  dockerfile?: string;
  context?: string;
  target?: string;
  build_args: Record<string, string>;
  busybox_url?: string;
  busybox_sha256?: string;
}

export type FilesystemType = 'squashfs' | 'ext4' | 'xfs' | 'btrfs';

/** the squashfs writer's compressors (src/squashfs/limits.ts) */
export type SquashfsCompression = CompressorName;

/** how the filesystem image is stored: as it is (raw) or in a qcow2 disk */
export type DiskFormat = 'raw' | 'qcow2';

export interface FilesystemConfig {
  type: FilesystemType;
  /** squashfs only: zstd (default), gzip or lz4 */
  compression: SquashfsCompression;
  compression_level: number;
  /** squashfs data block size in bytes: a power of two, 4096 to 1048576 */
  block_size: number;
  overlay_size: string;
  /** MiB of free space in an ext4 image; 0 = Fledge's auto rule (25 % of the content, 64–1024 MiB) */
  size_buffer_mb: number;
  preallocate: boolean;
  /** raw (default) or qcow2 */
  disk_format: DiskFormat;
  /** qcow2 only: compressed clusters; default true */
  qcow2_compression: boolean;
}

/** Seed 002's [plugin] table. */
export interface PluginInfo {
  name: string;
  version: string;
  description?: string;
}

export type InitConfig = { mode: 'default' } | { mode: 'custom'; path: string } | { mode: 'none' };

export interface Mapping {
  source: string;
  destination: string;
}

export interface FledgeConfig {
  /** absolute path of the fledge.toml this came from */
  file: string;
  /** its folder: relative paths resolve against it */
  dir: string;
  version: '1';
  strategy: Strategy;
  /** undefined when no agent is used (custom / none init modes) */
  agent?: AgentConfig;
  source: SourceConfig;
  /** present for oci_rootfs only */
  filesystem?: FilesystemConfig;
  init: InitConfig;
  mappings: Mapping[];
  /** set when the file is in seed 002's single-file form ([plugin]) */
  plugin?: PluginInfo;
  /** the manifest the file itself defines (seed 002's [plugin.manifest]) */
  manifest?: ManifestTemplate;
  /** lines to show as warnings (keys that do nothing for this filesystem type) */
  warnings?: Problem[];
}

/** One problem found in a config file: printed as `file:line: key: message` */
export interface Problem {
  file: string;
  line?: number;
  key?: string;
  message: string;
}

// Tree → filesystem image (ext4, xfs, btrfs or squashfs) → artifact file, plus the kernel arguments
// Volant boots it with (root=/dev/vda rootfstype=<type>; squashfs adds overlay_size=,
// the size of the tmpfs the agent lays over the read-only root).
import { ArtifactFile } from '../artifact.js';
import { writeBtrfs } from '../btrfs/write.js';
import type { FilesystemConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { writeExt4 } from '../ext4/write.js';
import { writeSquashfs } from '../squashfs/write.js';
import { writeXfs } from '../xfs/write.js';
import type { Time, Tree } from '../tree/tree.js';

export interface WrittenRootfs {
  path: string;
  sha256: string;
  size: number;
  format: 'ext4' | 'xfs' | 'btrfs' | 'squashfs';
  kernelArgs: string;
  /** entries whose xattrs the filesystem cannot hold (squashfs: system.*), written without them */
  droppedXattrs: number;
}

export function rootfsKernelArgs(fs: FilesystemConfig): string {
  const args = `root=/dev/vda rootfstype=${fs.type}`;
  return fs.type === 'squashfs' ? `${args} overlay_size=${fs.overlay_size}` : args;
}

export function checkRootfsType(fs: FilesystemConfig): asserts fs is FilesystemConfig & { type: 'ext4' | 'xfs' | 'btrfs' | 'squashfs' } {
  if (fs.type !== 'ext4' && fs.type !== 'xfs' && fs.type !== 'btrfs' && fs.type !== 'squashfs')
    throw new UsageError(`[filesystem] type = "${fs.type}": fledge-pure writes ext4, xfs, btrfs and squashfs images only; use one of those types`);
}

/** The artifact's file name: Volant takes the filesystem type from a rootfs url's extension
 *  (.squashfs, .xfs, .btrfs, else ext4: see src/config/volant-url.ts). */
export function rootfsFileName(name: string, fs: FilesystemConfig): string {
  return `${name}.${fs.type === 'ext4' ? 'img' : fs.type}`;
}

export async function writeRootfs(tree: Tree, path: string, fs: FilesystemConfig, epoch: Time): Promise<WrittenRootfs> {
  checkRootfsType(fs);
  const file = new ArtifactFile(path, { positional: true });
  try {
    let droppedXattrs = 0;
    if (fs.type === 'ext4') writeExt4(tree, file, { sizeBufferMb: fs.size_buffer_mb, preallocate: fs.preallocate, epoch });
    else if (fs.type === 'xfs') writeXfs(tree, file, { sizeBufferMb: fs.size_buffer_mb, preallocate: fs.preallocate, epoch });
    else if (fs.type === 'btrfs') writeBtrfs(tree, file, { sizeBufferMb: fs.size_buffer_mb, preallocate: fs.preallocate, epoch });
    else ({ droppedXattrs } = await writeSquashfs(tree, file, { compressor: fs.compression, level: fs.compression_level, blockSize: fs.block_size, epoch }));
    const size = file.size;
    return { path, sha256: file.commit(), size, format: fs.type, kernelArgs: rootfsKernelArgs(fs), droppedXattrs };
  } catch (e) {
    file.abort();
    throw e;
  }
}

// Tree → filesystem image (ext4 or squashfs) → artifact file, plus the kernel arguments
// Volant boots it with (root=/dev/vda rootfstype=<type>; squashfs adds overlay_size=,
// the size of the tmpfs the agent lays over the read-only root). With disk_format =
// "qcow2" the filesystem image is first written to a hidden raw file beside the target,
// then converted (src/qcow2) into the artifact; the raw file is removed either way.
import { availableParallelism } from 'node:os';
import { ArtifactFile, type ImageSink } from '../artifact.js';
import type { FilesystemConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { writeExt4 } from '../ext4/write.js';
import { writeQcow2 } from '../qcow2/write.js';
import { writeSquashfs } from '../squashfs/write.js';
import type { Time, Tree } from '../tree/tree.js';

export interface WrittenRootfs {
  path: string;
  sha256: string;
  size: number;
  /** the filesystem type, or qcow2 for a qcow2 disk holding it */
  format: 'ext4' | 'squashfs' | 'qcow2';
  kernelArgs: string;
  /** entries whose xattrs the filesystem cannot hold (squashfs: system.*), written without them */
  droppedXattrs: number;
}

export function rootfsKernelArgs(fs: FilesystemConfig): string {
  const args = `root=/dev/vda rootfstype=${fs.type}`;
  return fs.type === 'squashfs' ? `${args} overlay_size=${fs.overlay_size}` : args;
}

export function checkRootfsType(fs: FilesystemConfig): asserts fs is FilesystemConfig & { type: 'ext4' | 'squashfs' } {
  if (fs.type !== 'ext4' && fs.type !== 'squashfs')
    throw new UsageError(`[filesystem] type = "${fs.type}": fledge-pure writes ext4 and squashfs images only (Fledge's legacy ${fs.type} needs mkfs and a loop mount); use type = "ext4" or "squashfs"`);
}

async function writeFilesystem(tree: Tree, out: ImageSink, fs: FilesystemConfig & { type: 'ext4' | 'squashfs' }, epoch: Time): Promise<number> {
  if (fs.type === 'ext4') {
    writeExt4(tree, out, { sizeBufferMb: fs.size_buffer_mb, preallocate: fs.preallocate, epoch });
    return 0;
  }
  const { droppedXattrs } = await writeSquashfs(tree, out, { compressor: fs.compression, level: fs.compression_level, blockSize: fs.block_size, epoch });
  return droppedXattrs;
}

export async function writeRootfs(tree: Tree, path: string, fs: FilesystemConfig, epoch: Time): Promise<WrittenRootfs> {
  checkRootfsType(fs);
  const qcow2 = fs.disk_format === 'qcow2';
  const file = new ArtifactFile(path);
  const raw = qcow2 ? new ArtifactFile(`${path}.raw`) : file;
  try {
    const droppedXattrs = await writeFilesystem(tree, raw, fs, epoch);
    if (qcow2) await writeQcow2(raw.tmp, file, { compress: fs.qcow2_compression !== false, workers: availableParallelism() });
    const size = file.size;
    return { path, sha256: file.commit(), size, format: qcow2 ? 'qcow2' : fs.type, kernelArgs: rootfsKernelArgs(fs), droppedXattrs };
  } catch (e) {
    file.abort();
    throw e;
  } finally {
    if (qcow2) raw.abort();
  }
}

// Tree → filesystem image (ext4, xfs, btrfs or squashfs) → artifact file, plus the kernel arguments
// Volant boots it with (root=/dev/vda rootfstype=<type>; squashfs adds overlay_size=,
// the size of the tmpfs the agent lays over the read-only root). With disk_format =
// "qcow2" the filesystem image is first written to a hidden raw file beside the target,
// then converted (src/qcow2) into the artifact; the raw file is removed either way.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ArtifactFile } from '../artifact.js';
import type { FilesystemConfig } from '../config/types.js';
import { BuildError, FormatLimitError, ImageError, UsageError } from '../errors.js';
import type { CompressedCache } from '../compressed-cache.js';
import { compiledWorker } from '../worker-url.js';
import type { FsJob, FsResult } from './fs-worker.js';
import type { Content } from '../tree/content.js';
import type { Time, Tree } from '../tree/tree.js';
import { releaseTree } from '../tree/release.js';
import { encodeTree } from '../tree/wire.js';

export interface WrittenRootfs {
  path: string;
  sha256: string;
  size: number;
  /** the filesystem type, or qcow2 for a qcow2 disk holding it */
  format: 'ext4' | 'xfs' | 'btrfs' | 'squashfs' | 'qcow2';
  kernelArgs: string;
  /** entries whose xattrs the filesystem cannot hold (squashfs: system.*), written without them */
  droppedXattrs: number;
}

export function rootfsKernelArgs(fs: FilesystemConfig): string {
  const args = `root=/dev/vda rootfstype=${fs.type}`;
  return fs.type === 'squashfs' ? `${args} overlay_size=${fs.overlay_size}` : args;
}

export function checkRootfsType(
  fs: FilesystemConfig,
): asserts fs is FilesystemConfig & { type: 'ext4' | 'xfs' | 'btrfs' | 'squashfs' } {
  if (fs.type !== 'ext4' && fs.type !== 'xfs' && fs.type !== 'btrfs' && fs.type !== 'squashfs')
    throw new UsageError(
      `[filesystem] type = "${fs.type}": fledge-pure writes ext4, xfs, btrfs and squashfs images only; use one of those types`,
    );
}

/** The artifact's file name: Volant takes the filesystem type from a rootfs url's extension
 *  (.squashfs, .xfs, .btrfs, else ext4: see src/config/volant-url.ts). */
export function rootfsFileName(name: string, fs: FilesystemConfig): string {
  return `${name}.${fs.type === 'ext4' ? 'img' : fs.type}`;
}

/** `hashOut`: hash `out` (the artifact) while the ext4 writer writes it (src/pipeline/ext4-handoff.ts). */
async function writeFilesystem(
  tree: Tree,
  out: ArtifactFile,
  fs: FilesystemConfig & { type: 'ext4' | 'xfs' | 'btrfs' | 'squashfs' },
  epoch: Time,
  cache: CompressedCache | undefined,
  hashOut: boolean,
  consumeTree: boolean,
): Promise<number> {
  if (fs.type === 'squashfs')
    return (
      // loaded when asked for, as the qcow2 converter below: a build needs one writer
      (
        await (
          await import('../squashfs/write.js')
        ).writeSquashfs(tree, out, {
          compressor: fs.compression,
          level: fs.compression_level,
          blockSize: fs.block_size,
          epoch,
          cache,
        })
      ).droppedXattrs
    );
  const disk = { sizeBufferMb: fs.size_buffer_mb, preallocate: fs.preallocate, epoch };
  // the ext4 hand-off (and the ext4 code it uses on this thread) is loaded for ext4 only
  const ext4 = fs.type === 'ext4' ? await import('./ext4-handoff.js') : undefined;
  const handoff = ext4?.newHandoff(hashOut);
  // ext4: the files in the writer's inode order, listed as the tree is encoded, for the content digest
  const files: Content[] = [];
  const job = {
    type: fs.type,
    tree: encodeTree(tree, ext4 ? files : undefined),
    fd: out.descriptor,
    path: out.path,
    disk,
    handoff,
  };
  const written = writeOnWorker(job);
  try {
    // the content digest goes on from the list of files, so the tree can go now: the
    // worker writes from its own copy
    const serving = ext4 && handoff ? ext4.serveWorker(handoff, files, hashOut ? out : undefined, written) : undefined;
    if (consumeTree) releaseTree(tree);
    await serving;
  } catch (e) {
    await written.catch(() => {}); // the worker stops (no digest): nothing written after the abort
    throw e;
  }
  out.setSize(await written);
  return 0;
}

/** The error classes a writer throws, rebuilt by name on this side of the thread. */
const ERRORS: Record<string, new (message: string) => Error> = { BuildError, ImageError, FormatLimitError, UsageError };

/** The writer's thread started ahead, waiting for its job (unref'd: it keeps no process alive). */
let started: { worker: Worker; type: FsJob['type'] } | undefined;

function newFsWorker(type: FsJob['type']): Worker {
  // the thread loads the one writer it is started for (workerData), not all three
  const worker = new Worker(compiledWorker(import.meta.url, 'pipeline/fs-worker.js'), { workerData: { type } });
  worker.unref();
  worker.on('error', () => {}); // reported by writeOnWorker's own listener, or by its replacement
  return worker;
}

/**
 * Starts the thread of the ext4, xfs and btrfs writers ahead of its job, so that it loads
 * its modules while this thread flattens the layers (a few hundred ms at start).
 */
function startFsWorker(type: FsJob['type']): void {
  started ??= { worker: newFsWorker(type), type };
}

/**
 * Starts the threads the write of `fs` will use ahead of it (they load their modules
 * while this thread flattens the layers): the ext4, xfs and btrfs writer's thread, or
 * squashfs's compression workers.
 */
export async function startRootfsThreads(fs: FilesystemConfig): Promise<void> {
  // ext4's hand-off (this thread's share of the write) loads meanwhile too: writeFilesystem
  // imports it right after the flattening, before the content digest can start
  if (fs.type === 'ext4') void import('./ext4-handoff.js').catch(() => {}); // a failure shows at that import
  if (fs.type !== 'squashfs') return startFsWorker(fs.type);
  const { startSquashfsWorkers } = await import('../squashfs/write.js');
  startSquashfsWorkers({ compressor: fs.compression, level: fs.compression_level });
}

/**
 * Runs a synchronous writer (ext4, xfs, btrfs) on a worker thread (src/pipeline/fs-worker.ts)
 * so that this thread's event loop, and with it the SIGINT/SIGTERM handlers, keeps running.
 * Resolves to the image's size.
 */
function writeOnWorker(job: FsJob): Promise<number> {
  // a thread started ahead that has stopped (threadId -1) is replaced: the new one says why
  const ready = started && started.worker.threadId !== -1 && started.type === job.type;
  if (started && !ready) void started.worker.terminate(); // started for another writer, or stopped
  const worker = ready ? started!.worker : newFsWorker(job.type);
  started = undefined;
  worker.ref();
  worker.postMessage(job, [job.tree]);
  return new Promise((resolve, reject) => {
    let result: FsResult | undefined;
    worker.once('message', (r: FsResult) => (result = r));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!result) return reject(new Error(`the ${job.type} writer's thread stopped (exit ${code}) without a result`));
      if ('error' in result) return reject(new (ERRORS[result.error.name] ?? Error)(result.error.message));
      resolve(result.size);
    });
  });
}

/** `cache` keeps compressed output by content (squashfs blocks, qcow2 clusters).
 *  `consumeTree`: the caller is done with the tree, which an ext4, xfs or btrfs write
 *  empties once it is encoded for the writer's thread (src/tree/release.ts). */
export async function writeRootfs(
  tree: Tree,
  path: string,
  fs: FilesystemConfig,
  epoch: Time,
  cache?: CompressedCache,
  consumeTree = false,
): Promise<WrittenRootfs> {
  checkRootfsType(fs);
  const qcow2 = fs.disk_format === 'qcow2';
  const file = new ArtifactFile(path, { positional: true });
  let raw: ArtifactFile | undefined;
  try {
    raw = qcow2 ? new ArtifactFile(`${path}.raw`, { positional: true }) : undefined;
    const droppedXattrs = await writeFilesystem(tree, raw ?? file, fs, epoch, cache, !raw, consumeTree);
    if (raw?.tmp)
      await (
        await import('../qcow2/write.js')
      ).writeQcow2(raw.tmp, file, {
        compress: fs.qcow2_compression !== false,
        workers: availableParallelism(),
        cache,
      });
    const size = file.size;
    return {
      path,
      sha256: await file.commitImage(),
      size,
      format: qcow2 ? 'qcow2' : fs.type,
      kernelArgs: rootfsKernelArgs(fs),
      droppedXattrs,
    };
  } catch (e) {
    file.abort();
    throw e;
  } finally {
    raw?.abort();
  }
}

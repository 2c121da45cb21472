// The ext4, xfs and btrfs writers are synchronous: run on the main thread they would
// hold its event loop for the whole write, and a SIGINT/SIGTERM would wait for the end.
// So they run here, on a worker thread, while the main thread waits on a promise and its
// signal handlers (src/cleanup.ts) can remove the temp file and exit at once.
// The tree arrives as bytes (src/tree/wire.ts), a transferred ArrayBuffer, not as a
// structured clone, which would copy every node with its own Map and strings (about 600
// bytes an entry, on top of the main thread's tree); a hard link stays one node.
// The image goes to the artifact's open file descriptor (one per process, shared with
// the worker), at positions, as the writers write it.
import { ftruncateSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { outputError, type ImageSink } from '../artifact.js';
import type { Time, Tree } from '../tree/tree.js';
import { decodeTree } from '../tree/wire.js';
import { workerHooks } from './ext4-handoff.js';

export interface FsJob {
  type: 'ext4' | 'xfs' | 'btrfs';
  /** the tree, encodeTree's bytes */
  tree: ArrayBuffer;
  fd: number;
  /** the artifact's name, for error messages */
  path: string;
  disk: { sizeBufferMb: number; preallocate: boolean; epoch: Time };
  /** ext4: the main thread's share of the work (src/pipeline/ext4-handoff.ts) */
  handoff?: SharedArrayBuffer;
}

/** What the worker posts back: the image's size, or the error it stopped with. */
export type FsResult = { size: number } | { error: { name: string; message: string } };

function fdSink(fd: number, path: string): ImageSink & { size: number } {
  const guard = (io: () => void) => {
    try {
      io();
    } catch (e) {
      throw outputError(e, path);
    }
  };
  return {
    size: 0,
    writeAt(chunk, position) {
      guard(() => {
        for (let o = 0; o < chunk.length;) o += writeSync(fd, chunk, o, chunk.length - o, position + o);
      });
    },
    setSize(size) {
      guard(() => ftruncateSync(fd, size));
      this.size = size;
    },
  };
}

type Writer = (tree: Tree, sink: ImageSink, o: FsJob['disk'] & Partial<ReturnType<typeof workerHooks>>) => void;

/** The writer of each type, loaded when the thread starts for it (workerData.type). */
const WRITERS: Record<FsJob['type'], () => Promise<Writer>> = {
  ext4: async () => (await import('../ext4/write.js')).writeExt4,
  xfs: async () => (await import('../xfs/write.js')).writeXfs,
  btrfs: async () => (await import('../btrfs/write.js')).writeBtrfs,
};

function run(job: FsJob, write: Writer): FsResult {
  const tree = decodeTree(job.tree);
  // the decoded tree keeps no view of the bytes (src/tree/wire.ts): let them go, or
  // workerData would hold them to the end of the write
  job.tree = new ArrayBuffer(0);
  const sink = fdSink(job.fd, job.path);
  try {
    write(tree, sink, { ...job.disk, ...(job.handoff && workerHooks(job.handoff)) });
    return { size: sink.size };
  } catch (e) {
    return { error: { name: (e as Error).constructor.name, message: (e as Error).message } };
  }
}

// the job comes as a message: the thread may be started before the tree exists
// (src/pipeline/write-rootfs.ts startFsWorker)
const writer = WRITERS[(workerData as { type: FsJob['type'] }).type]();
parentPort?.once('message', async (job: FsJob) => parentPort?.postMessage(run(job, await writer)));

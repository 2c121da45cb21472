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
import { parentPort } from 'node:worker_threads';
import { outputError, type ImageSink } from '../artifact.js';
import { writeBtrfs } from '../btrfs/write.js';
import { writeExt4 } from '../ext4/write.js';
import type { Time } from '../tree/tree.js';
import { decodeTree } from '../tree/wire.js';
import { writeXfs } from '../xfs/write.js';
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

function run(job: FsJob): FsResult {
  const tree = decodeTree(job.tree);
  // the decoded tree keeps no view of the bytes (src/tree/wire.ts): let them go, or
  // workerData would hold them to the end of the write
  job.tree = new ArrayBuffer(0);
  const sink = fdSink(job.fd, job.path);
  try {
    const write = { ext4: writeExt4, xfs: writeXfs, btrfs: writeBtrfs }[job.type];
    write(tree, sink, { ...job.disk, ...(job.handoff && workerHooks(job.handoff)) });
    return { size: sink.size };
  } catch (e) {
    return { error: { name: (e as Error).constructor.name, message: (e as Error).message } };
  }
}

// the job comes as a message: the thread may be started before the tree exists
// (src/pipeline/write-rootfs.ts startFsWorker)
parentPort?.once('message', (job: FsJob) => parentPort?.postMessage(run(job)));

// The ext4 writer's two slow hashes, moved off its thread (src/pipeline/fs-worker.ts)
// onto the main thread, which would otherwise wait idle for it:
// - the data's hash (the UUID's input, src/ext4/data.ts contentDigest), computed here
//   over the same tree while the worker plans, and handed to the worker when it asks;
// - the artifact's sha256: the worker writes file data last and in ascending order
//   and publishes how far the image is final; this thread reads that part back and
//   hashes it as it grows, instead of reading the whole image after the worker ends;
//   every 64 MiB it also starts an fsync on libuv's pool, so the disk writes while the
//   worker does and the artifact's last fsync has little left.
// The bytes hashed are the same as before; only the thread and the time change.
// Shared memory: Int32 state (0 pending, 1 digest ready, 2 no digest: the main thread
// failed), a BigInt64 count of final bytes, a BigInt64 offset from which the image is
// all zeros (its free space: hashed from memory, never read back), the 32-byte digest.
import type { ArtifactFile } from '../artifact.js';
import { contentDigestAsync } from '../ext4/data.js';
import type { Content } from '../tree/content.js';
import type { Node, Tree } from '../tree/tree.js';

const STATE = 0;
const FINAL_AT = 8;
const ZEROS_AT = 16;
const DIGEST_AT = 24;
const SIZE = DIGEST_AT + 32;
const PENDING = 0;
const READY = 1;
const FAILED = 2;
/** bytes hashed between two looks at the worker */
const STEP = 8 << 20;
/** written bytes between two fsyncs started while the worker writes (the disk works meanwhile) */
const SYNC_STEP = 64 << 20;

export function newHandoff(): SharedArrayBuffer {
  return new SharedArrayBuffer(SIZE);
}

/** The worker's side: the hooks of the ext4 writer's options. */
export function workerHooks(shared: SharedArrayBuffer): {
  contentDigest: () => Buffer;
  final: (bytes: number) => void;
  zerosFrom: (bytes: number) => void;
} {
  const state = new Int32Array(shared, STATE, 1);
  const final = new BigInt64Array(shared, FINAL_AT, 1);
  const zeros = new BigInt64Array(shared, ZEROS_AT, 1);
  return {
    contentDigest() {
      Atomics.wait(state, 0, PENDING);
      if (Atomics.load(state, 0) !== READY) throw new Error('ext4: the main thread gave no content digest');
      return Buffer.from(new Uint8Array(shared, DIGEST_AT, 32));
    },
    final: (bytes) => void Atomics.store(final, 0, BigInt(bytes)),
    zerosFrom: (bytes) => void Atomics.store(zeros, 0, BigInt(bytes)),
  };
}

/** The tree's files in the ext4 writer's inode order: walk order, a hard-linked node once. */
function* filesInWalkOrder(tree: Tree): Generator<Content> {
  const seen = new Set<Node>();
  for (const { node } of tree.walk()) {
    if (node.type !== 'file' || seen.has(node)) continue;
    seen.add(node);
    yield node.content;
  }
}

/** The files one by one, each let go once taken (the list holds no file the hash is done with). */
function* draining(files: Content[]): Generator<Content> {
  for (let k = 0; k < files.length; k++) {
    const c = files[k];
    files[k] = NOTHING;
    yield c;
  }
}

const NOTHING: Content = { size: 0, pieces: [] };

/**
 * The main thread's side, while the worker writes: the content digest for it, then the
 * artifact (`out`, when given) hashed as far as it is final, until `done` settles (the
 * worker's end). It reads the tree only before its first await: the caller may let the
 * tree go once it has called this.
 */
export async function serveWorker(
  shared: SharedArrayBuffer,
  tree: Tree,
  out: ArtifactFile | undefined,
  done: Promise<unknown>,
): Promise<void> {
  const state = new Int32Array(shared, STATE, 1);
  // the files are listed before the first await: the caller may empty the tree after it
  // (src/tree/release.ts); the list keeps only their contents
  const files = [...filesInWalkOrder(tree)];
  try {
    new Uint8Array(shared, DIGEST_AT, 32).set(await contentDigestAsync(draining(files)));
    Atomics.store(state, 0, READY);
  } finally {
    if (Atomics.load(state, 0) !== READY) Atomics.store(state, 0, FAILED);
    Atomics.notify(state, 0);
  }
  if (!out) return;
  let ended = false;
  const end = done.then(
    () => (ended = true),
    () => (ended = true),
  );
  const final = new BigInt64Array(shared, FINAL_AT, 1);
  const zeros = new BigInt64Array(shared, ZEROS_AT, 1);
  let syncedAt = 0;
  const zerosFrom = () => (out.zerosFrom = Number(Atomics.load(zeros, 0)) || Infinity);
  while (!ended) {
    zerosFrom();
    const upTo = Number(Atomics.load(final, 0));
    if (upTo - syncedAt >= SYNC_STEP) {
      out.syncAhead();
      syncedAt = upTo;
    }
    if (upTo > out.hashed) {
      out.hashFinal(Math.min(upTo, out.hashed + STEP));
      await new Promise((resolve) => setImmediate(resolve)); // the worker's end, a signal
    } else await Promise.race([end, new Promise((resolve) => setTimeout(resolve, 5))]);
  }
  zerosFrom();
}

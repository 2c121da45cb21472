// The ext4 writer's two slow hashes, moved off its thread (src/pipeline/fs-worker.ts)
// onto the main thread, which would otherwise wait idle for it:
// - the data's hash (the UUID's input, src/ext4/data.ts contentDigest), computed here
//   over the same tree while the worker plans, and handed to the worker when it asks;
// - the artifact's sha256: the worker writes file data last and in ascending order,
//   from buffers in shared memory (SLOTS of them, each filled by several writes when
//   metadata blocks break the data's runs), and records where each write went; this
//   thread hashes each write in place — never reading the data back from the file,
//   only the metadata between two writes — and hands the buffers back. Every 64 MiB it
//   also starts an fsync on libuv's pool, so the disk writes while the worker does and
//   the artifact's last fsync has little left.
// The bytes hashed are the same as before; only the thread and the time change.
// Shared memory: Int32 control words (state: 0 pending, 1 digest ready, 2 failed: the
// main thread gave no digest or stopped hashing; the writes recorded, the writes hashed,
// whether this thread hashes the image, the buffers handed back), a BigInt64 offset from
// which the image is all zeros (its free space: hashed from memory, never read back),
// the 32-byte digest, a ring of RECORDS write records (position, offset in the shared
// memory, length, which buffer), then the buffers.
import type { ArtifactFile } from '../artifact.js';
import { contentDigestAsync } from '../ext4/data.js';
import type { DataHooks } from '../ext4/write.js';
import type { Content } from '../tree/content.js';

const STATE = 0;
const WRITTEN = 1;
const HASHED = 2;
const HASHING = 3;
const FREED = 4;
const ZEROS_AT = 24;
const DIGEST_AT = 32;
/** write records: as many as the worker may be ahead of this thread */
const RECORDS = 256;
const POSITIONS_AT = 64;
const OFFSETS_AT = POSITIONS_AT + 8 * RECORDS;
const LENGTHS_AT = OFFSETS_AT + 4 * RECORDS;
const BUFFERS_AT = LENGTHS_AT + 4 * RECORDS;
const SLOTS = 4;
/** a buffer: 2 MiB, whole blocks (the data is read into it 1 MiB at most at a time) */
const SLOT = 2 << 20;
const SLOTS_AT = 8192;
const PENDING = 0;
const READY = 1;
const FAILED = 2;
/** bytes hashed between two turns of the event loop (signals are handled meanwhile) */
const STEP = 8 << 20;
/** written bytes between two fsyncs started while the worker writes (the disk works meanwhile) */
const SYNC_STEP = 64 << 20;

const slotAt = (k: number) => SLOTS_AT + k * SLOT;

/** The record ring's arrays. */
function records(shared: SharedArrayBuffer) {
  return {
    positions: new Float64Array(shared, POSITIONS_AT, RECORDS),
    offsets: new Int32Array(shared, OFFSETS_AT, RECORDS),
    lengths: new Int32Array(shared, LENGTHS_AT, RECORDS),
    buffers: new Int32Array(shared, BUFFERS_AT, RECORDS),
  };
}

/** `hashing`: this thread hashes the image as the worker writes it (serveWorker gets `out`). */
export function newHandoff(hashing: boolean): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(hashing ? slotAt(SLOTS) : SLOTS_AT);
  new Int32Array(shared)[HASHING] = hashing ? 1 : 0;
  return shared;
}

/** The worker's side: the hooks of the ext4 writer's options. */
export function workerHooks(shared: SharedArrayBuffer): {
  contentDigest: () => Buffer;
  data?: DataHooks;
  zerosFrom: (bytes: number) => void;
} {
  const ctl = new Int32Array(shared, 0, 5);
  const zeros = new BigInt64Array(shared, ZEROS_AT, 1);
  return {
    contentDigest() {
      Atomics.wait(ctl, STATE, PENDING);
      if (Atomics.load(ctl, STATE) !== READY) throw new Error('ext4: the main thread gave no content digest');
      return Buffer.from(new Uint8Array(shared, DIGEST_AT, 32));
    },
    data: ctl[HASHING] ? sharedBuffers(shared) : undefined,
    zerosFrom: (bytes) => void Atomics.store(zeros, 0, BigInt(bytes)),
  };
}

/** The worker's data buffers: the shared ones in turn, each taken once this thread has hashed what it held. */
function sharedBuffers(shared: SharedArrayBuffer): DataHooks {
  const ctl = new Int32Array(shared, 0, 5);
  const r = records(shared);
  let taken = 0;
  let written = 0;
  /** waits until the main thread has moved ctl[word] past `least` */
  const awaitPast = (word: number, least: number) => {
    for (let v = Atomics.load(ctl, word); v < least; v = Atomics.load(ctl, word)) {
      if (Atomics.load(ctl, STATE) === FAILED) throw new Error('ext4: the main thread stopped hashing the image');
      Atomics.wait(ctl, word, v, 1000);
    }
  };
  return {
    buffer() {
      awaitPast(FREED, taken - SLOTS + 1);
      return Buffer.from(shared, slotAt(taken++ % SLOTS), SLOT);
    },
    written(chunk, position) {
      const slot = taken - 1;
      const at = chunk.byteOffset - slotAt(slot % SLOTS);
      if (chunk.buffer !== shared || at < 0 || at + chunk.length > SLOT)
        throw new Error(`ext4: data at byte ${position} written from outside the shared buffers`);
      awaitPast(HASHED, written - RECORDS + 1);
      const k = written % RECORDS;
      r.positions[k] = position;
      r.offsets[k] = chunk.byteOffset;
      r.lengths[k] = chunk.length;
      r.buffers[k] = slot;
      Atomics.store(ctl, WRITTEN, ++written);
      Atomics.notify(ctl, WRITTEN);
    },
  };
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
 * artifact (`out`, when newHandoff was told so) hashed as the worker writes it, until
 * `done` settles (the worker's end). `files`: the tree's files in the ext4 writer's inode
 * order (walk order, a hard-linked file once), as encodeTree lists them while it encodes
 * the tree for the worker (src/tree/wire.ts); the list keeps only their contents, so the
 * caller may empty the tree (src/tree/release.ts), and each is let go once hashed.
 */
export async function serveWorker(
  shared: SharedArrayBuffer,
  files: Content[],
  out: ArtifactFile | undefined,
  done: Promise<unknown>,
): Promise<void> {
  const ctl = new Int32Array(shared, 0, 5);
  if (!out !== !ctl[HASHING]) throw new Error('ext4: the handoff was made for another output');
  let served = false;
  try {
    new Uint8Array(shared, DIGEST_AT, 32).set(await contentDigestAsync(draining(files)));
    Atomics.store(ctl, STATE, READY);
    Atomics.notify(ctl, STATE);
    if (out) await hashBehind(shared, out, done);
    served = true;
  } finally {
    if (!served) {
      Atomics.store(ctl, STATE, FAILED);
      Atomics.notify(ctl, STATE);
      Atomics.notify(ctl, HASHED);
      Atomics.notify(ctl, FREED);
    }
  }
}

/** Hashes the image as the worker writes it, each write in place, until `done` settles. */
async function hashBehind(shared: SharedArrayBuffer, out: ArtifactFile, done: Promise<unknown>): Promise<void> {
  const ctl = new Int32Array(shared, 0, 5);
  const r = records(shared);
  const zeros = new BigInt64Array(shared, ZEROS_AT, 1);
  let ended = false;
  const end = done.then(
    () => (ended = true),
    () => (ended = true),
  );
  let syncedAt = 0;
  let turnAt = 0;
  for (let hashed = 0; ;) {
    const written = Atomics.load(ctl, WRITTEN);
    if (hashed === written) {
      if (ended) break;
      await Promise.race([end, changed(ctl, WRITTEN, written)]);
      continue;
    }
    out.zerosFrom = Number(Atomics.load(zeros, 0)) || Infinity;
    const k = hashed % RECORDS;
    // the buffers before this write's are done with: the worker may fill them again
    if (r.buffers[k] > Atomics.load(ctl, FREED)) {
      Atomics.store(ctl, FREED, r.buffers[k]);
      Atomics.notify(ctl, FREED);
    }
    out.hashWritten(new Uint8Array(shared, r.offsets[k], r.lengths[k]), r.positions[k]);
    Atomics.store(ctl, HASHED, ++hashed);
    Atomics.notify(ctl, HASHED);
    if (out.hashed - syncedAt >= SYNC_STEP) {
      out.syncAhead();
      syncedAt = out.hashed;
    }
    if (out.hashed - turnAt >= STEP) {
      turnAt = out.hashed;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  out.zerosFrom = Number(Atomics.load(zeros, 0)) || Infinity;
}

type WaitAsync = (a: Int32Array, index: number, value: number, ms: number) => { value: Promise<string> | string };

/** Settles once a[index] is no longer `value` (or after 50 ms): Atomics.waitAsync (ES2024, in Node since 16). */
function changed(a: Int32Array, index: number, value: number): Promise<unknown> {
  const { value: result } = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(a, index, value, 50);
  return typeof result === 'string' ? Promise.resolve() : result;
}

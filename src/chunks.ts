// Writers that stream (newc, PAX tar) produce their bytes as a generator of chunks; these
// drive one to its end. `drain` gives the event loop a turn every few MiB, so a SIGINT or
// SIGTERM during a long write is acted on there (src/cleanup.ts removes the temp file and
// exits) instead of after the whole artifact is written.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Bytes written between two turns of the event loop. */
const TURN_EVERY = 8 << 20;

/** Feeds every chunk to `out` in order; returns what the generator returns. */
export function drainSync<R>(chunks: Generator<Uint8Array, R>, out: (chunk: Uint8Array) => void): R {
  for (;;) {
    const next = chunks.next();
    if (next.done) return next.value;
    out(next.value);
  }
}

/** As drainSync, with a turn of the event loop every TURN_EVERY bytes. */
export async function drain<R>(chunks: Generator<Uint8Array, R>, out: (chunk: Uint8Array) => void): Promise<R> {
  let sinceTurn = 0;
  for (;;) {
    const next = chunks.next();
    if (next.done) return next.value;
    out(next.value);
    sinceTurn += next.value.length;
    if (sinceTurn >= TURN_EVERY) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
}

// HTTP requests that cannot hang or fill memory: every request has a connect timeout (the
// response headers must come within it), its body an idle timeout (re-armed by each
// chunk), a small document an overall deadline; bodies read into memory stop at a cap.
// A timed-out or abandoned request is aborted, which closes its socket.
import fetch, { type RequestInit, type Response } from 'node-fetch';
import { type Limits, formatBytes, seconds } from './limits.js';

/** A server that did not answer, or stalled, within a limit; the message says which. */
export class NetTimeout extends Error {}

/** The timers of one request; firing one aborts it with a reason. */
class Watch {
  readonly controller = new AbortController();
  reason: string | undefined;
  private timers = new Map<string, NodeJS.Timeout>();

  arm(name: string, ms: number, reason: string): void {
    clearTimeout(this.timers.get(name));
    const t = setTimeout(() => {
      this.reason ??= reason;
      this.controller.abort();
    }, ms);
    t.unref();
    this.timers.set(name, t);
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** The error to throw for e: a NetTimeout when a timer fired. */
  explain(e: unknown): unknown {
    return this.reason ? new NetTimeout(this.reason) : e;
  }
}

interface Watched {
  watch: Watch;
  idleMs: number;
  done: boolean;
}

const watches = new WeakMap<Response, Watched>();

/**
 * fetch with the connect timeout, and `deadlineMs` for the whole exchange when given;
 * the body is then read with the idle timeout (through bodyChunks or readBody).
 */
export async function timedFetch(
  url: string,
  init: RequestInit,
  limits: Limits,
  deadlineMs?: number,
): Promise<Response> {
  const watch = new Watch();
  watch.arm('idle', limits.connectTimeoutMs, `no answer within ${seconds(limits.connectTimeoutMs)}`);
  if (deadlineMs !== undefined)
    watch.arm('deadline', deadlineMs, `the answer did not complete within ${seconds(deadlineMs)}`);
  try {
    const res = await fetch(url, { ...init, signal: watch.controller.signal });
    watch.arm('idle', limits.idleTimeoutMs, `no data for ${seconds(limits.idleTimeoutMs)}`);
    watches.set(res, { watch, idleMs: limits.idleTimeoutMs, done: false });
    return res;
  } catch (e) {
    watch.stop();
    throw watch.explain(e);
  }
}

/** The body's chunks, each due within the idle timeout; leaving early aborts the request. */
export async function* bodyChunks(res: Response): AsyncGenerator<Buffer> {
  const w = watches.get(res);
  try {
    for await (const chunk of res.body ?? []) {
      w?.watch.arm('idle', w.idleMs, `no data for ${seconds(w.idleMs)}`);
      yield chunk as Buffer;
    }
    if (w) w.done = true;
  } catch (e) {
    throw w ? w.watch.explain(e) : e;
  } finally {
    release(res);
  }
}

/** Stop the request's timers; abort it if its body was not read to the end (closes the socket). */
export function release(res: Response): void {
  const w = watches.get(res);
  if (!w) return;
  w.watch.stop();
  if (!w.done) w.watch.controller.abort();
  w.done = true;
}

/**
 * The body, at most `max` bytes. Beyond that: `tooLarge` is thrown, or without it the
 * first `max` bytes are returned (an error page read for its message).
 */
export async function readBody(res: Response, max: number, tooLarge?: (max: string) => Error): Promise<Buffer> {
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (tooLarge && length > max) {
    release(res);
    throw tooLarge(formatBytes(max));
  }
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyChunks(res)) {
    parts.push(chunk);
    size += chunk.length;
    if (size <= max) continue;
    if (tooLarge) throw tooLarge(formatBytes(max));
    break;
  }
  return Buffer.concat(parts).subarray(0, max);
}

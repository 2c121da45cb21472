// Whole-block positional writes into an ImageSink, gathered into large writes when the
// blocks are consecutive (the ext4 and xfs writers).
import type { ImageSink } from './artifact.js';

/** Writes whole blocks, gathering consecutive ones into large writes. */
export class BlockWriter {
  private buf: Buffer | undefined;
  private used = 0;
  private at = 0;

  /**
   * `buffers`: where the gathering buffers come from — by default one buffer of 8 MiB,
   * reused; when given, a buffer taken from it and used once: each write is a view of
   * it the sink may keep (the ext4 data's hash reads them on another thread), the next
   * writes fill the rest of it, then the next buffer is taken.
   */
  constructor(
    private readonly out: ImageSink,
    private readonly blockSize: number,
    private readonly buffers?: () => Buffer,
  ) {}

  write(block: number, data: Uint8Array): void {
    const pos = block * this.blockSize;
    if (this.used && pos !== this.at + this.used) this.flush();
    if (!this.used) this.at = pos;
    let o = 0;
    while (o < data.length) {
      const buf = this.buffer(1);
      const n = Math.min(data.length - o, buf.length - this.used);
      buf.set(data.subarray(o, o + n), this.used);
      this.used += n;
      o += n;
      if (this.used === buf.length) {
        const next = this.at + this.used;
        this.flush();
        this.at = next;
      }
    }
  }

  /**
   * The next `length` bytes (whole blocks, at most a buffer) from block `block` on, as a
   * view of the gathering buffer for the caller to fill before its next call: the bytes
   * are read straight into it, not copied in.
   */
  reserve(block: number, length: number): Buffer {
    const pos = block * this.blockSize;
    if (this.used && (pos !== this.at + this.used || this.used + length > this.buffer(0).length)) this.flush();
    if (!this.used) this.at = pos;
    const buf = this.buffer(length);
    this.used += length;
    return buf.subarray(this.used - length, this.used);
  }

  flush(): void {
    if (this.buf && this.used) {
      this.out.writeAt(this.buf.subarray(0, this.used), this.at);
      if (this.buffers) this.buf = this.buf.subarray(this.used);
    }
    this.used = 0;
  }

  /** The gathering buffer, with room for `need` more bytes (a taken buffer too short for them is left). */
  private buffer(need: number): Buffer {
    if (this.buf && this.buf.length - this.used >= need) return this.buf;
    if (this.used) throw new Error('BlockWriter: a buffer is full before its write');
    this.buf = this.buffers ? this.buffers() : Buffer.allocUnsafe(8 << 20);
    if (need > this.buf.length) throw new Error(`BlockWriter: ${need} bytes asked for, more than a buffer holds`);
    return this.buf;
  }
}

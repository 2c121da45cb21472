// Whole-block positional writes into an ImageSink, gathered into large writes when the
// blocks are consecutive (the ext4 and xfs writers).
import type { ImageSink } from './artifact.js';

/** Writes whole blocks, gathering consecutive ones into large writes. */
export class BlockWriter {
  private buf: Buffer | undefined;
  private used = 0;
  private at = 0;

  /**
   * `buffers`: where each gathering buffer comes from — by default one buffer of 8 MiB,
   * reused; when given, a buffer taken from it for each write (the sink may keep the
   * bytes it was handed: the ext4 data's hash reads them on another thread).
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
      const buf = this.buffer();
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
    if (this.used && (pos !== this.at + this.used || this.used + length > this.buffer().length)) this.flush();
    if (!this.used) this.at = pos;
    const buf = this.buffer();
    if (length > buf.length) throw new Error(`BlockWriter: ${length} bytes reserved, more than a buffer holds`);
    this.used += length;
    return buf.subarray(this.used - length, this.used);
  }

  flush(): void {
    if (this.buf && this.used) {
      this.out.writeAt(this.buf.subarray(0, this.used), this.at);
      if (this.buffers) this.buf = undefined;
    }
    this.used = 0;
  }

  private buffer(): Buffer {
    this.buf ??= this.buffers ? this.buffers() : Buffer.allocUnsafe(8 << 20);
    return this.buf;
  }
}

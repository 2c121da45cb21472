// Whole-block positional writes into an ImageSink, gathered into large writes when the
// blocks are consecutive (the ext4 and xfs writers).
import type { ImageSink } from './artifact.js';

/** Writes whole blocks, gathering consecutive ones into large writes. */
export class BlockWriter {
  private buf = Buffer.allocUnsafe(8 << 20);
  private used = 0;
  private at = 0;
  constructor(
    private readonly out: ImageSink,
    private readonly blockSize: number,
  ) {}

  write(block: number, data: Uint8Array): void {
    const pos = block * this.blockSize;
    if (this.used && pos !== this.at + this.used) this.flush();
    if (!this.used) this.at = pos;
    let o = 0;
    while (o < data.length) {
      const n = Math.min(data.length - o, this.buf.length - this.used);
      this.buf.set(data.subarray(o, o + n), this.used);
      this.used += n;
      o += n;
      if (this.used === this.buf.length) {
        const next = this.at + this.used;
        this.flush();
        this.at = next;
      }
    }
  }

  flush(): void {
    if (this.used) this.out.writeAt(this.buf.subarray(0, this.used), this.at);
    this.used = 0;
  }
}

/**
 * @module formats/_document-window
 * Internal. A sliding window over a large JSON document's bytes for the byte scanners of Jaeger
 * and Zipkin documents (`_byte-scan.ts`, ScanWindow): the document is read a window at a time from
 * its byte stream, where reading it whole held all of it (a 630 MB Jaeger document: 786 MB peak
 * RSS, docs/analyzer.md "Large documents"). One buffer is reused; at each of the scanner's pauses
 * that asks for it, the bytes not yet scanned move to its start and the stream fills the rest. An
 * element larger than the window (one trace of many spans) grows it: the scanner reads that
 * element again from the larger window.
 */

import type { ScanWindow, WindowWant } from './_byte-scan.js';

/**
 * Sizes: documents past `documentBytes` are read through a window of `windowBytes` that keeps
 * `aheadBytes` of room ahead of each element (most traces fit: few are read twice), small next to
 * the heap reading whole held. A property, so that tests can lower them.
 */
export const WINDOWED = { documentBytes: 16 << 20, windowBytes: 8 << 20, aheadBytes: 1 << 20 };

/** A ScanWindow over a byte stream (chunks valid until the next is asked for, as ByteSource.transientChunks gives them). */
export class DocumentWindow implements ScanWindow {
  buf: Buffer;
  pos = 0;
  end = 0;
  ahead: number;
  want: WindowWant = 'room';
  /** Bytes taken from the stream so far (all of it, once read to its end). */
  taken = 0;
  /** Bytes of the last chunk that did not fit, copied out of it (the stream may reuse its chunk). */
  private spill: Buffer | undefined;
  private done = false;

  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly size = WINDOWED.windowBytes,
    ahead = WINDOWED.aheadBytes,
  ) {
    this.buf = Buffer.allocUnsafe(size);
    this.ahead = Math.min(ahead, size >> 1);
  }

  /** True when the scanner's last pause asked for the window to slide or grow. */
  needsSliding(): boolean {
    return this.ahead > 0 && (this.want !== 'room' || this.end - this.pos < this.ahead);
  }

  /**
   * Starts the window at the stream's first bytes (the document starting at `start` of them) and
   * fills it.
   */
  async open(start: number): Promise<void> {
    await this.fill(this.size);
    this.pos = Math.min(start, this.end);
  }

  /**
   * Moves the bytes from `pos` on to the window's start and reads on: to a full window, to twice
   * what was left when the scanner ran past the end (`more`), or to the end of the document
   * (`rest`).
   */
  async slide(): Promise<void> {
    const left = this.end - this.pos;
    const target = this.want === 'rest' ? Number.POSITIVE_INFINITY : this.want === 'more' ? Math.max(this.size, 2 * left) : this.size;
    if (Number.isFinite(target) && target > this.buf.length) {
      const grown = Buffer.allocUnsafe(target);
      this.buf.copy(grown, 0, this.pos, this.end);
      this.buf = grown;
    } else {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.pos = 0;
    this.end = left;
    this.want = 'room';
    await this.fill(target);
  }

  /** Reads from the stream until `target` bytes are held (growing the buffer past its size only toward an infinite target) or it ends. */
  private async fill(target: number): Promise<void> {
    while (this.end < target && !this.done) {
      let chunk = this.spill;
      this.spill = undefined;
      if (chunk === undefined) {
        const next = await this.chunks.next();
        if (next.done === true) {
          this.done = true;
          break;
        }
        chunk = next.value;
      }
      let room = this.buf.length - this.end;
      if (room < chunk.length && !Number.isFinite(target)) {
        // The rest of the document: the window grows to hold it.
        const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.end + chunk.length));
        this.buf.copy(grown, 0, 0, this.end);
        this.buf = grown;
        room = grown.length - this.end;
      }
      const n = Math.min(room, chunk.length);
      chunk.copy(this.buf, this.end, 0, n);
      this.end += n;
      this.taken += n;
      if (n < chunk.length) {
        this.spill = Buffer.from(chunk.subarray(n));
        break;
      }
    }
    if (this.done && this.spill === undefined) this.ahead = 0;
  }
}

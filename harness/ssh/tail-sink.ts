// A writable sink that keeps only the last `cap` bytes of a stream and counts what it dropped, so a guest
// printing gigabytes costs at most `cap` bytes of memory.
import { Writable } from 'node:stream';
import { HarnessError } from '../errors.js';

export class TailSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes that fell off the front because of the cap. */
  dropped = 0;

  constructor(readonly cap: number) {
    super();
    if (!Number.isInteger(cap) || cap < 0) throw new HarnessError(`expected maxOutputBytes to be a non-negative integer, got ${cap}`);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.add(chunk);
    callback();
  }

  /** Appends a chunk, then trims from the front until at most `cap` bytes remain. */
  add(chunk: Buffer): void {
    if (chunk.length >= this.cap) {
      this.dropped += this.size + chunk.length - this.cap;
      // Copy so the kept tail does not pin the (possibly huge) source buffer.
      this.chunks = this.cap > 0 ? [Buffer.from(chunk.subarray(chunk.length - this.cap))] : [];
      this.size = this.cap;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.cap) {
      const first = this.chunks[0]!;
      const excess = this.size - this.cap;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** The kept tail as UTF-8; when bytes were dropped, a split multi-byte character at the start is skipped. */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (this.dropped > 0) {
      let i = 0;
      while (i < buf.length && i < 3 && (buf[i]! & 0xc0) === 0x80) i++;
      buf = buf.subarray(i);
    }
    return buf.toString('utf8');
  }
}

import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TailSink } from './tail-sink.js';

describe('TailSink', () => {
  it('keeps the last cap bytes across many chunks and counts the rest as dropped', async () => {
    const sink = new TailSink(10);
    await pipeline(Readable.from(['0123456789', 'abcdef', 'ghij', 'k'].map((s) => Buffer.from(s))), sink);
    expect(sink.text()).toBe('bcdefghijk');
    expect(sink.dropped).toBe(11);
  });

  it('handles one chunk larger than the cap, and a cap of 0', () => {
    const big = new TailSink(4);
    big.add(Buffer.from('xy'));
    big.add(Buffer.from('0123456789'));
    expect([big.text(), big.dropped]).toEqual(['6789', 8]);
    const none = new TailSink(0);
    none.add(Buffer.from('abc'));
    expect([none.text(), none.dropped]).toEqual(['', 3]);
  });

  it('does not start the kept text inside a multi-byte character', () => {
    const sink = new TailSink(5);
    sink.add(Buffer.from('aé€b', 'utf8')); // a(1) é(2) €(3) b(1) = 7 bytes; the tail starts inside é
    expect(sink.text()).toBe('€b');
    expect(sink.dropped).toBe(2);
  });

  it('rejects a negative cap, naming the option', () => {
    expect(() => new TailSink(-1)).toThrow(/maxOutputBytes to be a non-negative integer, got -1/);
  });
});

// The container log redacts per complete line: a secret the engine delivers in two chunks is still caught in the
// file, the tail and the bus.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { EmittedEvent } from '../events.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';
import { ContainerLog } from './container-log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'container-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function feed(chunks: string[]): Promise<{ file: string; tail: string[]; bus: string[] }> {
  const bus: string[] = [];
  const log = new ContainerLog('box', join(dir, 'box.log'), (e: EmittedEvent) => e.type === 'vm.log' && bus.push(e.line));
  const stream = new PassThrough({ encoding: 'utf8' });
  log.attach(stream);
  for (const c of chunks) {
    stream.write(c);
    await new Promise((r) => setImmediate(r)); // one 'data' event per chunk, as the engine delivers them
  }
  stream.end();
  await log.closed;
  return { file: await readFile(join(dir, 'box.log'), 'utf8'), tail: log.lastLines(), bus };
}

test('a token split across two chunks is redacted in the file, the tail and the bus; CRLF and a last partial line are kept', async () => {
  const secret = 'deadbeef-1c2d-4e5f-8a9b-0123456789ab';
  const { file, tail, bus } = await feed(['starting\r\nPVEAPIToken=root@pam!ci=deadbeef-1c2d-', '4e5f-8a9b-0123456789ab\nready', ' now']);
  for (const where of [file, tail.join('\n'), bus.join('\n')]) {
    expect(where).not.toContain(secret);
    expect(where).not.toContain('4e5f-8a9b');
  }
  expect(file).toBe('starting\r\nPVEAPIToken=[REDACTED]\nready now');
  expect(tail).toEqual(['starting', 'PVEAPIToken=[REDACTED]', 'ready now']);
  expect(bus).toEqual(tail);
});

test('a private key printed in pieces leaves no body line in the file', async () => {
  const key = generateEd25519KeyPair().private;
  const body = key.split('\n').filter((l) => l && !l.startsWith('-----'));
  const mid = Math.floor(key.length / 2);
  const { file } = await feed(['before\n', key.slice(0, mid), key.slice(mid), 'after\n']);
  for (const l of body) expect(file).not.toContain(l);
  expect(file).toMatch(/^before\n\[REDACTED PRIVATE KEY\]\n/);
  expect(file).toContain('after');
});

test('a newline-less flood is written out in bounded pieces, not held in memory', async () => {
  const { file, bus } = await feed(['x'.repeat(70 * 1024), 'tail\n']);
  expect(file.length).toBe(70 * 1024 + 5);
  expect(bus).toHaveLength(2);
});

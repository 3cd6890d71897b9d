import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { ed25519KeyPairFromSeed, generateEd25519KeyPair } from './keygen.js';

const run = promisify(execFile);
// A seed whose public key starts with a zero byte: the case ssh2's own generator breaks (mscdex/ssh2#1513).
const ZERO_LEADING_SEED = Buffer.from('c32cbf67ce2c8e551b7c8d146999dc54ce62cdf2e6cadd8b66048efc996c1610', 'hex');

function publicBytes(publicLine: string): Buffer {
  const blob = Buffer.from(publicLine.split(' ')[1]!, 'base64');
  expect(blob.readUInt32BE(15)).toBe(32);
  return blob.subarray(19);
}

function parse(text: string): ssh2.ParsedKey {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) throw parsed;
  return Array.isArray(parsed) ? parsed[0]! : parsed;
}

describe('ed25519 key pairs', () => {
  it('keeps a public key that starts with a zero byte at its full 32 bytes, and ssh2 reads both halves', () => {
    const pair = ed25519KeyPairFromSeed(ZERO_LEADING_SEED, 'edge');
    expect(publicBytes(pair.public)[0]).toBe(0);
    const priv = parse(pair.private);
    const pub = parse(pair.public);
    expect(priv.getPublicSSH().equals(pub.getPublicSSH())).toBe(true);
    const data = Buffer.from('signed by the harness');
    expect(pub.verify(data, priv.sign(data))).toBe(true);
  });

  it('OpenSSH derives the same public key from the private file, comment included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keygen-'));
    try {
      for (const [name, pair] of [['edge', ed25519KeyPairFromSeed(ZERO_LEADING_SEED, 'edge@harness')], ['random', generateEd25519KeyPair('random@harness')]] as const) {
        const file = join(dir, name);
        await writeFile(file, pair.private, { mode: 0o600 });
        const { stdout } = await run('ssh-keygen', ['-y', '-f', file]);
        expect(stdout.trim()).toBe(pair.public);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('every one of 2000 generated pairs parses, with distinct keys', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const pair = generateEd25519KeyPair();
      expect(parse(pair.private).getPublicSSH().equals(parse(pair.public).getPublicSSH())).toBe(true);
      seen.add(pair.public);
    }
    expect(seen.size).toBe(2000);
  });

  it('leaves out the comment field when there is none, and rejects a seed of the wrong size', () => {
    expect(generateEd25519KeyPair().public.split(' ')).toHaveLength(2);
    expect(() => ed25519KeyPairFromSeed(Buffer.alloc(31))).toThrow(/32 bytes, got 31/);
  });
});

// The host key conversion with the real dropbear tools: the dropbear-format private key must derive the very
// public line we pin, and no OpenSSH-format private key may be left behind.
import { execa } from 'execa';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDropbearHostKey } from './host-key.js';

describe('generateDropbearHostKey', () => {
  it('returns a dropbear key whose public half is the pinned line, and leaves nothing in the work dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostkey-test-'));
    try {
      const key = await generateDropbearHostKey(dir, 'test-host');
      expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ test-host$/);
      expect(key.dropbearPrivate.toString('latin1')).not.toContain('PRIVATE KEY'); // dropbear's binary format
      expect(await readdir(dir)).toEqual([]);
      const f = join(dir, 'k');
      await writeFile(f, key.dropbearPrivate, { mode: 0o600 });
      const { stdout } = await execa('dropbearkey', ['-y', '-f', f]);
      expect(/^(ssh-ed25519 \S+)/m.exec(stdout)?.[1]).toBe(key.publicKey.split(' ').slice(0, 2).join(' '));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives each image its own key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostkey-test-'));
    try {
      const [a, b] = [await generateDropbearHostKey(dir), await generateDropbearHostKey(dir)];
      expect(a.publicKey).not.toBe(b.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says which package to install when the converter is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostkey-test-'));
    try {
      await expect(generateDropbearHostKey(dir, 'x', { tool: { path: 'dropbearconvert-missing' } })).rejects.toThrow(/dropbearconvert-missing` was not found on PATH/);
      await expect(generateDropbearHostKey(dir, 'x', { tool: { path: 'dropbearconvert', env: { PATH: '/nonexistent' } } })).rejects.toThrow(
        /fix: apt-get install -y dropbear-bin/,
      );
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

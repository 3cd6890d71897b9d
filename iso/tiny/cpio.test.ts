// The cpio writer against a real cpio implementation (busybox's, as the kernel's unpacker is not callable
// from here), and against our own reader.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itReal } from '../../fixtures/real-backend.js';
import { isSymlink, readCpio, writeCpio, type CpioEntry } from './cpio.js';

const entries: CpioEntry[] = [
  { type: 'dir', path: 'bin', mode: 0o755 },
  { type: 'file', path: 'bin/hello', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { type: 'symlink', path: 'bin/hi', target: 'hello' },
  { type: 'dir', path: 'root', mode: 0o700 },
  { type: 'file', path: 'root/odd-size', mode: 0o600, data: Buffer.from('abcde') },
  { type: 'chardev', path: 'console', mode: 0o600, major: 5, minor: 1 },
];

const noBusybox = existsSync('/bin/busybox') ? undefined : '/bin/busybox not found (fix: apt-get install -y busybox-static)';

describe('writeCpio / readCpio', () => {
  it('round-trips paths, modes, owners, data and symlink targets', () => {
    const members = readCpio(writeCpio(entries));
    expect(members.map((m) => m.path)).toEqual(['bin', 'bin/hello', 'bin/hi', 'root', 'root/odd-size', 'console']);
    const byPath = Object.fromEntries(members.map((m) => [m.path, m]));
    expect(byPath['bin/hello']!.data.toString()).toBe('#!/bin/sh\necho hi\n');
    expect(byPath['bin/hello']!.mode).toBe(0o100755);
    expect(byPath['root']!.mode).toBe(0o040700);
    expect(isSymlink(byPath['bin/hi']!)).toBe(true);
    expect(byPath['bin/hi']!.data.toString()).toBe('hello');
    expect(byPath['console']!.mode).toBe(0o020600);
    expect(members.every((m) => m.uid === 0 && m.gid === 0)).toBe(true);
  });

  itReal('is unpacked by busybox cpio (newc) with the same contents', noBusybox, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpio-test-'));
    try {
      const archive = join(dir, 'a.cpio');
      await writeFile(archive, writeCpio(entries.filter((e) => e.type !== 'chardev')));
      const out = join(dir, 'out');
      await execa('mkdir', [out]);
      await execa('/bin/busybox', ['cpio', '-i', '-d', '-F', archive], { cwd: out });
      expect(await readFile(join(out, 'bin/hello'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
      expect(await readFile(join(out, 'root/odd-size'), 'utf8')).toBe('abcde');
      expect(await readlink(join(out, 'bin/hi'))).toBe('hello');
      expect((await stat(join(out, 'root'))).mode & 0o777).toBe(0o700);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// The base image's inputs: a static busybox is told from a dynamic one by its ELF headers, the rootfs has the
// applets and /etc files an image needs, and the content hash follows the inputs.
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ProviderUnavailable } from '../errors.js';
import { findStaticBusybox, hasInterpreter, packRootfs, rootfsHash, writeRootfs } from './busybox-rootfs.js';

describe('busybox rootfs', () => {
  let work = '';
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('tells a static ELF (busybox-static) from a dynamic one (the node binary)', async () => {
    const busybox = await findStaticBusybox();
    expect(hasInterpreter(busybox.bytes)).toBe(false);
    expect(hasInterpreter(await readFile(process.execPath))).toBe(true);
    expect(() => hasInterpreter(Buffer.from('#!/bin/sh\necho not elf\n'.padEnd(80)))).toThrow(/not an ELF/);
  });

  it('refuses a dynamically linked busybox with the package that fixes it', async () => {
    const err = await findStaticBusybox([process.execPath, '/nonexistent/busybox']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect((err as ProviderUnavailable).message).toContain('dynamically linked');
    expect((err as ProviderUnavailable).fix).toBe('apt-get install -y busybox-static');
  });

  it('lays out applet symlinks and /etc files, and packs them reproducibly', async () => {
    work = await mkdtemp(join(tmpdir(), 'harness-rootfs-test-'));
    const busybox = await findStaticBusybox();
    const root = join(work, 'root');
    await writeRootfs(root, busybox);
    expect(await readlink(join(root, 'bin/sh'))).toBe('/bin/busybox');
    expect(await readlink(join(root, 'usr/sbin/httpd'))).toBe('/bin/busybox');
    expect((await lstat(join(root, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);

    await packRootfs(root, join(work, 'a.tar'));
    await packRootfs(root, join(work, 'b.tar'));
    expect((await readFile(join(work, 'a.tar'))).equals(await readFile(join(work, 'b.tar')))).toBe(true);
    const { stdout } = await execa('tar', ['-tvf', join(work, 'a.tar')]);
    expect(stdout).toMatch(/ 0\/0 .* \.\/bin\/busybox$/m);
  });

  it('hashes the inputs: same binary, same tag; one byte changed, another tag', async () => {
    const { bytes } = await findStaticBusybox();
    const changed = Buffer.from(bytes);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0xff;
    expect(rootfsHash(bytes)).toBe(rootfsHash(Buffer.from(bytes)));
    expect(rootfsHash(changed)).not.toBe(rootfsHash(bytes));
    expect(rootfsHash(bytes)).toMatch(/^[0-9a-f]{12}$/);
  });
});

// The qemu provider's tool checks, without booting anything (booting is covered by the conformance suite).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipOrFail } from '../../fixtures/real-backend.js';
import { findOnPath } from '../find-on-path.js';
import { QemuProvider } from './qemu.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qemu-tools-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('qemu provider without qemu', () => {
  it('probe and start say which tool is missing and how to install it, without spawning anything', async () => {
    const p = new QemuProvider({ cacheDir: dir, privateKeyPath: '', binary: join(dir, 'no-qemu') });
    expect(await p.probe()).toMatchObject({ available: false, reason: `${join(dir, 'no-qemu')} not found`, fix: expect.stringContaining('apt-get install') });
    const err = await p.start({ name: 'x', vmsDir: join(dir, 'vms') } as never).catch((e) => e);
    expect(err.constructor.name).toBe('ProviderUnavailable');
    expect(err.message).toContain('no-qemu not found');
  });
  it('with qemu present the probe reports its version', async (ctx) => {
    if (!(await findOnPath('qemu-system-x86_64'))) skipOrFail(ctx, 'qemu-system-x86_64 is not installed (fix: apt-get install -y qemu-system-x86)');
    expect(await new QemuProvider({ cacheDir: dir, privateKeyPath: '' }).probe()).toMatchObject({ available: true, reason: expect.stringMatching(/^QEMU emulator version/) });
  });
});

// Boots scenarios/smoke.yaml once (real qemu, TCG here) and drives the VM through the fixture's verb API.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { AssertionFailed } from 'vm-harness';
import { useScenario } from 'vm-harness/vitest';

const env = useScenario('scenarios/smoke.yaml');

describe('smoke VM through the fixture', () => {
  test('succeed returns stdout of a command run in the guest', async () => {
    const out = await env.vm('server').succeed('uname -s; cat /proc/sys/kernel/hostname');
    expect(out).toMatch(/^Linux\n/);
  });

  test('succeed throws AssertionFailed with the command and exit code when the command fails', async () => {
    const err = await env.vm('server').succeed('echo oops >&2; exit 7').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AssertionFailed);
    expect(String((err as Error).message)).toContain('exit 7');
    expect(String((err as Error).message)).toContain('oops');
  });

  test('fail expects a non-zero exit', async () => {
    await env.vm('server').fail('test -e /nonexistent');
    await expect(env.vm('server').fail('true')).rejects.toThrow();
  });

  test('waitForPort sees sshd listening inside the guest', async () => {
    await env.vm('server').waitForPort(22);
  });

  test('files copy to and from the VM intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'harness-copy-'));
    const payload = `payload ${Date.now()}\n`.repeat(1000);
    await writeFile(join(dir, 'up.txt'), payload);
    await env.vm('server').copyTo(join(dir, 'up.txt'), '/tmp/up.txt');
    expect(await env.vm('server').succeed('wc -c < /tmp/up.txt')).toContain(String(Buffer.byteLength(payload)));
    await env.vm('server').copyFrom('/tmp/up.txt', join(dir, 'down.txt'));
    expect(await readFile(join(dir, 'down.txt'), 'utf8')).toBe(payload);
  });

  test('the bus recorded which accelerator was used and why', () => {
    const accel = env.bus().history.find((e) => e.type === 'vm.accel');
    expect(accel).toBeDefined();
    expect(accel && 'reason' in accel ? accel.reason : '').not.toBe('');
    // On hosts without nested virtualization (these CI machines) the probe must have chosen TCG.
    if (!/\b(vmx|svm)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) expect(accel && 'accel' in accel ? accel.accel : '').toBe('tcg');
  });
});

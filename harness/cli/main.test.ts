// Dispatch in main(): help, unknown commands and usage errors, against an in-memory CliIo (no process spawned).
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './command.js';
import { commands } from './commands/index.js';
import { main } from './main.js';

function memoryIo(env: NodeJS.ProcessEnv = {}): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (s) => void (out += s), err: (s) => void (err += s), env, cwd: process.cwd(), isTTY: false, stdout: () => out, stderr: () => err };
}

describe('harness main', () => {
  it('--help lists every command with its summary and exits 0; no arguments exits 2', async () => {
    const io = memoryIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const c of commands) expect(io.stdout()).toMatch(new RegExp(`^  ${c.name} +${c.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
    expect(await main([], memoryIo())).toBe(2);
  });

  it('every listed command loads, and its --help prints its own usage', async () => {
    for (const c of commands) {
      const cmd = await c.load();
      expect(cmd.name).toBe(c.name);
      const io = memoryIo();
      expect(await main([c.name, '--help'], io)).toBe(0);
      expect(io.stdout()).toMatch(new RegExp(`usage:\\s+harness ${c.name}\\b`));
    }
  });

  it('an unknown command exits 2 naming it, with the command list', async () => {
    const io = memoryIo();
    expect(await main(['rnu'], io)).toBe(2);
    expect(io.stderr()).toMatch(/unknown command "rnu"[\s\S]*run +run a scenario file/);
  });

  it('a usage error exits 2 with that command\'s usage', async () => {
    const vms = await mkdtemp(join(tmpdir(), 'main-'));
    try {
      const io = memoryIo({ HARNESS_VMS_DIR: vms, HARNESS_DB: join(vms, 'h.db') });
      expect(await main(['run'], io)).toBe(2);
      expect(io.stderr()).toMatch(/harness run: expected exactly one scenario FILE[\s\S]*usage: harness run FILE/);
    } finally {
      await rm(vms, { recursive: true, force: true });
    }
  });
});

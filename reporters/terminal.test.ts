import { describe, expect, it } from 'vitest';
import type { HarnessEvent } from '../harness/events.js';
import { registerSecret, clearRegisteredSecrets } from '../harness/redact.js';
import { resolveColor, TerminalReporter, type TerminalReporterOptions } from './terminal.js';
import { bootTimeoutRun, failedRun, passedRun } from './testing/sample-events.js';

/** Captures what the reporter writes, chunk by chunk. */
function capture(o: Partial<TerminalReporterOptions> = {}) {
  const chunks: string[] = [];
  const r = new TerminalReporter({ stream: { write: (s: string) => chunks.push(s) }, isTTY: false, env: {}, ...o });
  return { r, chunks, text: () => chunks.join('') };
}

function run(events: HarnessEvent[], o: Partial<TerminalReporterOptions> = {}): string {
  const c = capture(o);
  for (const e of events) c.r.onEvent(e);
  c.r.close();
  return c.text();
}

/**
 * What a terminal shows after the output: \r returns to column 0, ESC[2K clears the line, SGR colours are
 * invisible. A tiny screen model, enough for the reporter's own sequences; anything else fails the test.
 */
function screen(out: string): string[] {
  const lines: string[] = [''];
  let col = 0;
  for (let i = 0; i < out.length; i++) {
    const ch = out[i]!;
    if (ch === '\x1b') {
      const m = /^\x1b\[([0-9;]*)([A-Za-z])/.exec(out.slice(i));
      if (!m) throw new Error(`unexpected escape at ${i}: ${JSON.stringify(out.slice(i, i + 8))}`);
      if (m[2] === 'K' && m[1] === '2') lines[lines.length - 1] = '';
      else if (m[2] !== 'm') throw new Error(`unexpected sequence ${JSON.stringify(m[0])}`);
      i += m[0].length - 1;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      lines.push('');
      col = 0;
    } else {
      const cur = lines[lines.length - 1]!;
      lines[lines.length - 1] = cur.slice(0, col) + ch + cur.slice(col + 1);
      col++;
    }
  }
  return lines;
}

describe('terminal reporter, not a TTY', () => {
  it('writes plain append-only lines: no escape code, no carriage return', () => {
    for (const events of [passedRun(), failedRun(), bootTimeoutRun()]) {
      const out = run(events);
      expect(out).not.toMatch(/\x1b/);
      expect(out).not.toMatch(/\r/);
    }
  });

  it('shows each VM phase with its duration', () => {
    const out = run(failedRun());
    expect(out).toContain('[server] image tiny: built in 12.3s');
    expect(out).toContain('[client] image tiny: reused from cache 3f2a9c81d0e4 (40ms)');
    expect(out).toContain('[server] created: qemu x86_64, 1 cpu, 256 MiB, ssh 127.0.0.1:22220');
    expect(out).toContain('[server] booting');
    expect(out).toContain('[server] ready: SSH answered after 14.0s');
    expect(out).toContain('[client] PASS step 1 "server answers ping" (1.2s)');
    expect(out).toContain('[server] FAIL step 2 "nginx is active" (2.5s)');
    expect(out).toContain('[client] SKIP step 3 "client can fetch page"');
    expect(out).toMatch(/\[server\] teardown \(keep-on-failure\): kept .*reach it with: harness vm ssh server/);
    expect(out).toContain('[client] teardown (keep-on-failure): destroyed (850ms)');
  });

  it('logs "waiting for SSH" at most every 10 s of boot instead of every event', () => {
    const out = run(bootTimeoutRun());
    const waits = out.split('\n').filter((l) => l.startsWith('[client] waiting for SSH'));
    expect(waits.map((l) => /\((\d+)s/.exec(l)?.[1])).toEqual(['0', '10', '20']);
    expect(waits[2]).toContain('handshake: Timed out while waiting for handshake');
  });

  it('summarises counts, durations and each failure with command, exit code and output tails', () => {
    const out = run(failedRun());
    const summary = out.slice(out.indexOf('Summary:'));
    expect(summary).toMatch(/^Summary: web-stack FAILED in 31\.2s \(exit 1\)$/m);
    expect(summary).toContain('3 steps (1 passed, 1 failed, 1 skipped)');
    expect(summary).toContain('server: image built 12.3s, SSH ready 14.0s, tcg, teardown kept');
    expect(summary).toContain('1. step 2 "nginx is active" on server (2.5s)');
    expect(summary).toContain('command:   systemctl is-active nginx && curl -s "http://localhost/?a=1&b=<2>"');
    expect(summary).toContain('exit code: 3');
    expect(summary).toContain('| inactive');
    expect(summary).toContain('| nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)');
    expect(summary).toContain('Kept for inspection: harness vm ssh server');
    // The run's own error repeats the step failure: listed once, not twice.
    expect(summary).not.toContain('2. ');
  });

  it('a passing run has a clean summary with no failure section', () => {
    const out = run(passedRun());
    expect(out).toMatch(/^Summary: smoke PASSED in 19\.\ds \(exit 0\)$/m);
    expect(out).toContain('3 steps (3 passed, 0 failed, 0 skipped)');
    expect(out).not.toContain('Failures:');
    expect(out).not.toContain('Kept for inspection');
  });

  it('explains a boot timeout: which VM, how long it waited, the console tail with control bytes made visible', () => {
    const out = run(bootTimeoutRun());
    expect(out).toContain('0 steps (0 passed, 0 failed, 0 skipped)');
    expect(out).toContain('client: image reused, never ready (waited 29.0s)');
    expect(out).toContain('1. client: VM client did not answer SSH within 30s (last error: Timed out while waiting for handshake)');
    expect(out).toContain('| Kernel panic - not syncing: VFS: Unable to mount root fs');
    expect(out).toContain('| end Kernel panic <unknown-block(0,0)> & halt\\x07\\x00');
    expect(out).toContain('console log: vms/client/client.log');
  });

  it('prints a summary at close for a run that never finished', () => {
    const events = failedRun().filter((e) => e.type !== 'run.finished');
    const out = run(events.slice(0, events.findIndex((e) => e.type === 'step.finished' && e.status === 'failed')));
    expect(out).toContain('Summary: web-stack DID NOT FINISH');
    expect(out).toContain('step 2 "nginx is active" on server (did not finish)');
  });

  it('redacts registered secrets in what it prints', () => {
    registerSecret('hunter2-very-secret');
    try {
      const events = failedRun().map((e) => (e.type === 'step.finished' && e.status === 'failed' ? { ...e, stderrTail: 'login with hunter2-very-secret failed' } : e));
      const out = run(events);
      expect(out).not.toContain('hunter2-very-secret');
      expect(out).toContain('login with [REDACTED] failed');
    } finally {
      clearRegisteredSecrets();
    }
  });
});

describe('terminal reporter: output cut by the cap', () => {
  const MiB = 1024 * 1024;
  /** failedRun with its failed step's stdout cut (49 MiB dropped under a 1 MiB cap) and its first step's stderr cut by 3 KiB. */
  function truncatedRun(): HarnessEvent[] {
    return failedRun().map((e) => {
      if (e.type !== 'step.finished' || e.status === 'skipped') return e;
      const droppedBytes = e.status === 'failed' ? { stdout: 49 * MiB, stderr: 0 } : { stdout: 0, stderr: 3 * 1024 };
      return { ...e, droppedBytes, outputCapBytes: MiB };
    });
  }

  it('says which stream was cut, how much was dropped and that the end was kept, for failed and passed steps', () => {
    const lines = run(truncatedRun()).split('\n');
    const failedAt = lines.findIndex((l) => /FAIL step \d+/.test(l));
    const passedAt = lines.findIndex((l) => /PASS step \d+/.test(l));
    // Under the step's own line, live: the failed step (after its error), and the passed one.
    expect(lines.slice(failedAt + 1, failedAt + 3)).toContain('      stdout truncated: 49 MiB dropped (kept the last 1 MiB)');
    expect(lines[passedAt + 1]).toBe('      stderr truncated: 3 KiB dropped (kept the last 1 MiB)');
    // And in the failure summary, next to the tails.
    const summary = lines.slice(lines.findIndex((l) => l.startsWith('Failures:')));
    expect(summary).toContain('     stdout truncated: 49 MiB dropped (kept the last 1 MiB)');
    expect(lines.filter((l) => l.includes('stderr truncated'))).toHaveLength(1); // nothing said for the stream that lost nothing
  });

  it('says nothing when the cap dropped nothing', () => {
    const clean = truncatedRun().map((e) => (e.type === 'step.finished' && e.droppedBytes ? { ...e, droppedBytes: { stdout: 0, stderr: 0 } } : e));
    expect(run(clean)).not.toMatch(/truncated/);
  });
});

describe('terminal reporter on a TTY', () => {
  it('rewrites one status line with the seconds spent waiting for SSH', () => {
    const c = capture({ isTTY: true });
    const events = passedRun();
    const at12 = events.findIndex((e) => e.type === 'vm.waiting' && e.elapsedMs === 12_000);
    for (const e of events.slice(0, at12 + 1)) c.r.onEvent(e);
    const s = screen(c.text());
    expect(s.at(-1)).toBe('server: waiting for SSH (12s)');
    // Earlier seconds were overwritten, not appended.
    expect(s.some((l) => l.includes('waiting for SSH (11s)'))).toBe(false);
  });

  it('shows the running step in the status line, and leaves a clean screen at the end', () => {
    const c = capture({ isTTY: true });
    const events = passedRun();
    const stepStart = events.findIndex((e) => e.type === 'step.started' && e.index === 2);
    for (const e of events.slice(0, stepStart + 1)) c.r.onEvent(e);
    expect(screen(c.text()).at(-1)).toBe('server: step 3 "disk has space"');
    for (const e of events.slice(stepStart + 1)) c.r.onEvent(e);
    c.r.close();
    const s = screen(c.text());
    expect(s.at(-1)).toBe('');
    expect(s.join('\n')).not.toMatch(/^server: (waiting for SSH|step|booting)/m);
    expect(s).toContain('[server] ✓ step 3 "disk has space" (4.0s)');
    // The screen reads like the plain log minus the throttled waiting lines.
    const plain = run(events).split('\n').filter((l) => !l.includes('waiting for SSH'));
    expect(s.join('\n').replace(/✓/g, 'PASS')).toBe(plain.join('\n'));
  });

  it('colours results unless NO_COLOR is set', () => {
    const coloured = run(failedRun(), { isTTY: true });
    expect(coloured).toContain('\x1b[31m✗\x1b[0m');
    expect(coloured).toContain('\x1b[32m✓\x1b[0m');
    const plain = run(failedRun(), { isTTY: true, env: { NO_COLOR: '1' } });
    expect(plain).not.toMatch(/\x1b\[\d+m/);
    expect(plain).toContain('\r\x1b[2K'); // still a live status line
  });

  it('never lets the status line wrap past the terminal width', () => {
    const c = capture({ isTTY: true, columns: 30 });
    for (const e of failedRun()) c.r.onEvent(e);
    const statusWrites = c.chunks.filter((w) => w.startsWith('\r\x1b[2K') && !w.endsWith('\n')).map((w) => w.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, ''));
    expect(statusWrites.length).toBeGreaterThan(10);
    for (const w of statusWrites) expect(w.length).toBeLessThan(30);
  });
});

describe('colour choice', () => {
  it('follows the flag, then FORCE_COLOR, then NO_COLOR, then the TTY', () => {
    expect(resolveColor(true, {})).toBe(true);
    expect(resolveColor(false, {})).toBe(false);
    expect(resolveColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(resolveColor(true, { NO_COLOR: '' })).toBe(true);
    expect(resolveColor(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(resolveColor(false, { FORCE_COLOR: '' })).toBe(true);
    expect(resolveColor(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(resolveColor(false, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
    expect(resolveColor(true, { FORCE_COLOR: '1' }, false)).toBe(false);
  });

  it('FORCE_COLOR off a TTY colours lines but still never rewrites them', () => {
    const out = run(failedRun(), { env: { FORCE_COLOR: '1' } });
    expect(out).toContain('\x1b[31mFAIL\x1b[0m');
    expect(out).not.toMatch(/\r|\x1b\[2K/);
  });
});

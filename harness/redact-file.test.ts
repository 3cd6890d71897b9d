// Console logs written by qemu/virtlogd: read back redacted, and rewritten redacted once the harness is done with
// them; a live rewrite keeps the writer's O_APPEND descriptor pointing at the file everyone reads.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readLogTail } from '../reporters/log-tail.js';
import { consoleTail } from './providers/vm-state.js';
import { readRedactedTail, redactConsoleLog, redactLogFile } from './redact-file.js';
import { clearRegisteredSecrets, registerSecret } from './redact.js';
import { generateEd25519KeyPair } from './ssh/keygen.js';

const SECRET = 'deadbeef-1c2d-4e5f-8a9b-0123456789ab';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redact-file-'));
});
afterEach(async () => {
  clearRegisteredSecrets();
  await rm(dir, { recursive: true, force: true });
});

describe('readRedactedTail', () => {
  test('redacts the window, drops its cut first line, and removes a key block whole though only its end is kept', async () => {
    const key = generateEd25519KeyPair().private;
    const log = join(dir, 'vm.log');
    const content = `${'x'.repeat(100)}\nboot ok\ntoken=${SECRET}\n${key.trimEnd()}\nlogin:\n`;
    await writeFile(log, content);
    const text = (await readRedactedTail(log, content.length - 50))!; // the window starts inside the x line
    expect(text.startsWith('x')).toBe(false); // the cut first line is gone
    expect(text).toContain('boot ok\ntoken=[REDACTED]\n[REDACTED PRIVATE KEY]\nlogin:');
    for (const l of key.split('\n').slice(1, -2)) expect(text).not.toContain(l);
    expect(await readRedactedTail(join(dir, 'none.log'))).toBeUndefined();
  });
});

test('the console tails errors (BootTimeout, VM exited) and file reports (HTML, JUnit) embed are read redacted', async () => {
  const log = join(dir, 'vm.log');
  await writeFile(log, `boot\r\n\x1b[1mtoken=${SECRET}\x1b[0m\r\nlogin:\r\n`);
  expect(await consoleTail(log, 2)).toEqual(['token=[REDACTED]', 'login:']);
  const report = (await readLogTail(log, 3))!;
  expect(report).toHaveLength(3);
  expect(report.join('\n')).not.toContain(SECRET);
  expect(report[1]).toContain('token=[REDACTED]');
});

describe('redactLogFile', () => {
  test('a stopped log: redacted through a temp file and rename, mode kept, non-UTF-8 bytes kept, a clean file untouched', async () => {
    const log = join(dir, 'vm.log');
    const bytes = Buffer.concat([Buffer.from('\x1b[0m boot\r\n'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(`\nPVEAPIToken=root@pam!ci=${SECRET}\n`)]);
    await writeFile(log, bytes);
    await chmod(log, 0o640);
    const before = await stat(log);
    expect(await redactLogFile(log)).toBe('redacted');
    const after = await readFile(log);
    expect(after.includes(Buffer.from(SECRET))).toBe(false);
    expect(after.subarray(0, 13)).toEqual(bytes.subarray(0, 13)); // escape codes, CR and the invalid bytes as they were
    expect(after.toString('latin1')).toContain('PVEAPIToken=[REDACTED]\n');
    expect((await stat(log)).ino).not.toBe(before.ino);
    expect((await stat(log)).mode & 0o777).toBe(0o640);

    const clean = await stat(log);
    expect(await redactLogFile(log)).toBe('clean');
    expect((await stat(log)).mtimeMs).toBe(clean.mtimeMs);
    expect(await redactLogFile(join(dir, 'none.log'))).toBe('missing');
  });

  test('a registered secret (a value, not a shape) goes too', async () => {
    registerSecret('hunter2-ünïcode');
    const log = join(dir, 'vm.log');
    await writeFile(log, 'login: root\nPassword typed: hunter2-ünïcode\n');
    expect(await redactLogFile(log)).toBe('redacted');
    expect(await readFile(log, 'utf8')).toBe('login: root\nPassword typed: [REDACTED]\n');
  });

  test('a live log: same inode, and what the O_APPEND writer writes afterwards lands after the redacted text', async () => {
    const log = join(dir, 'vm.log');
    const fd = openSync(log, constants.O_CREAT | constants.O_WRONLY | constants.O_APPEND, 0o644); // as qemu logappend=on opens it
    try {
      writeSync(fd, `boot\ntoken=${SECRET}\n`);
      const ino = (await stat(log)).ino;
      expect(await redactLogFile(log, { live: true })).toBe('redacted');
      writeSync(fd, 'after keep\n');
      expect((await stat(log)).ino).toBe(ino);
      expect(await readFile(log, 'utf8')).toBe('boot\ntoken=[REDACTED]\nafter keep\n');
    } finally {
      closeSync(fd);
    }
  });

  test('redactConsoleLog also rewrites the rotated backups virtlogd leaves (NAME.log.0, .1), and nothing else', async () => {
    const log = join(dir, 'vm.log');
    await writeFile(log, 'nothing here\n');
    await writeFile(`${log}.0`, `token=${SECRET}\n`);
    await writeFile(`${log}.1`, `token=${SECRET}\n`);
    await writeFile(`${log}.bak`, `token=${SECRET}\n`);
    expect((await redactConsoleLog(log)).sort()).toEqual([`${log}.0`, `${log}.1`]);
    expect(await readFile(`${log}.bak`, 'utf8')).toContain(SECRET);
  });
});

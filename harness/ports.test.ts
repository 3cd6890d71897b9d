// portRange: $HARNESS_PORT_RANGE narrows where ports are picked; a malformed value is refused, not ignored.
import { describe, expect, test } from 'vitest';
import { itReal } from '../fixtures/real-backend.js';
import { DEFAULT_PORT_RANGE, ensureReservationDir, portRange, reservationDir } from './ports.js';

describe('portRange', () => {
  test('defaults when unset', () => {
    expect(portRange({})).toEqual(DEFAULT_PORT_RANGE);
  });

  test('reads LO-HI', () => {
    expect(portRange({ HARNESS_PORT_RANGE: '31000-31002' })).toEqual([31000, 31002]);
    expect(portRange({ HARNESS_PORT_RANGE: ' 40000 - 40000 ' })).toEqual([40000, 40000]);
  });

  test.each(['31000', '31002-31000', '80-90', '60000-70000', 'a-b'])('refuses %s, naming what it expected', (raw) => {
    expect(() => portRange({ HARNESS_PORT_RANGE: raw })).toThrow(/HARNESS_PORT_RANGE: expected "LO-HI".*got/);
  });
});

describe('the shared default reservation dir', () => {
  itReal('is made sticky and world-writable like /tmp; another owner\'s 0755 dir is refused with the fix', process.getuid?.() !== 0 && 'needs root (chown of the test dir)', async () => {
    const { mkdtemp, rm, stat, mkdir, chown, chmod } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const tmp = await mkdtemp(join((await import('node:os')).tmpdir(), 'ports-shared-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // os.tmpdir() reads it on each call: the "default" dir lands in this sandbox
    try {
      const dir = reservationDir({});
      expect(dir).toBe(join(tmp, 'harness-ports'));
      await ensureReservationDir(dir);
      expect((await stat(dir)).mode & 0o7777).toBe(0o1777);
      await rm(dir, { recursive: true });
      await mkdir(dir, { mode: 0o755 });
      await chown(dir, 65534, 65534);
      await chmod(dir, 0o755);
      await expect(ensureReservationDir(dir)).rejects.toThrow(/mode 755 \(owner uid 65534\).*chmod 1777 .*HARNESS_PORTS_DIR/);
      const own = join(tmp, 'mine');
      await mkdir(own, { mode: 0o700 });
      await ensureReservationDir(own); // a dir the user chose keeps its mode
      expect((await stat(own)).mode & 0o7777).toBe(0o700);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(tmp, { recursive: true, force: true });
    }
  }, undefined);
});

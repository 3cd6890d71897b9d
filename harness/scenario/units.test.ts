import { describe, expect, it } from 'vitest';
import { formatSize, parseDurationMs, parseSizeBytes, QEMU_SIZE_RE, toMiB } from './units.js';
import { durationSchema, sizeSchema } from './schema.js';

describe('QEMU sizes', () => {
  it.each([
    ['512M', 512 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['2g', 2 * 1024 ** 3],
    ['0.5G', 512 * 1024 ** 2],
    ['1048576K', 1024 ** 3],
    ['1T', 1024 ** 4],
    ['4096', 4096],
    ['100B', 100],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSizeBytes(text)).toBe(bytes);
  });

  it.each(['2GB', '-1G', '1.G', '.5G', 'G', '', '1 G', '01G', '1Q', '1e3M'])('refuses %j', (text) => {
    expect(QEMU_SIZE_RE.test(text)).toBe(false);
    expect(() => parseSizeBytes(text)).toThrow(/not a QEMU size/);
  });

  it('rounds up to whole MiB for qemu -m', () => {
    expect(toMiB(512 * 1024 ** 2)).toBe(512);
    expect(toMiB(512 * 1024 ** 2 + 1)).toBe(513);
  });

  it('prints sizes briefly', () => {
    expect(formatSize(8 * 1024 ** 3)).toBe('8G');
    expect(formatSize(1.5 * 1024 ** 3)).toBe('1.5G');
    expect(formatSize(100)).toBe('100 bytes');
  });

  it('the schema takes a number as bytes, refuses zero, fractions of bytes and sizes beyond 8P', () => {
    expect(sizeSchema.parse(1024)).toBe(1024);
    expect(sizeSchema.parse('1G')).toBe(1024 ** 3);
    expect(sizeSchema.safeParse(0).success).toBe(false);
    expect(sizeSchema.safeParse('0K').success).toBe(false);
    expect(sizeSchema.safeParse(1.5).success).toBe(false);
    expect(sizeSchema.safeParse('9999999T').success).toBe(false);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['5', '5 minutes', '-5s', '1d', 's', '1.s'])('refuses %j', (text) => {
    expect(() => parseDurationMs(text)).toThrow(/not a duration/);
  });

  it('the schema takes a number as seconds and refuses zero, negative and over 24h', () => {
    expect(durationSchema.parse(2)).toBe(2000);
    expect(durationSchema.parse('250ms')).toBe(250);
    for (const bad of [0, -1, '0s', '25h', 86_401, 1e300, '0.1ms']) expect(durationSchema.safeParse(bad).success, String(bad)).toBe(false);
    expect(durationSchema.parse('24h')).toBe(86_400_000);
  });
});

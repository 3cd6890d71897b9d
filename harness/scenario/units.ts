// QEMU-format sizes (512M, 2G, 0.5G, 1048576K, plain bytes; suffixes as qemu_strtosz reads them, any case)
// and human durations (30s, 500ms, 2m, 1h).

export const QEMU_SIZE_RE = /^(0|[1-9][0-9]*)(\.[0-9]+)?[BKMGTPE]?$/i;
export const DURATION_RE = /^[0-9]+(\.[0-9]+)?(ms|s|m|h)$/;

const SIZE_FACTORS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
  E: 1024 ** 6,
};
const DURATION_FACTORS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Bytes for a QEMU size string. May exceed Number.MAX_SAFE_INTEGER for absurd inputs: callers bound it. */
export function parseSizeBytes(s: string): number {
  if (!QEMU_SIZE_RE.test(s)) throw new Error(`not a QEMU size: ${s}`);
  const m = /^([0-9.]+)([A-Za-z]?)$/.exec(s)!;
  return Math.round(Number(m[1]) * SIZE_FACTORS[m[2]!.toUpperCase()]!);
}

export function parseDurationMs(s: string): number {
  if (!DURATION_RE.test(s)) throw new Error(`not a duration: ${s}`);
  const m = /^([0-9.]+)(ms|s|m|h)$/.exec(s)!;
  return Math.round(Number(m[1]) * DURATION_FACTORS[m[2]!]!);
}

/** The QEMU `-m` / qemu-img argument for a byte count, in whole MiB. */
export function toMiB(bytes: number): number {
  return Math.ceil(bytes / 1024 ** 2);
}

/** A short human form of a byte count for messages: 512M, 7.7G, 1536 bytes. */
export function formatSize(bytes: number): string {
  const units: [string, number][] = [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ];
  for (const [suffix, factor] of units) {
    if (bytes >= factor) {
      const v = bytes / factor;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${suffix}`;
    }
  }
  return `${bytes} bytes`;
}

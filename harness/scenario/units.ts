// QEMU-format sizes (512M, 2G, 1048576K, plain bytes) and human durations (30s, 500ms, 2m, 1h).

export const QEMU_SIZE_RE = /^[1-9][0-9]*(\.[0-9]+)?[KMGT]?$/;
export const DURATION_RE = /^[0-9]+(\.[0-9]+)?(ms|s|m|h)$/;

const SIZE_FACTORS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const DURATION_FACTORS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Bytes for a QEMU size string. */
export function parseSizeBytes(s: string): number {
  const m = /^([0-9.]+)([KMGT]?)$/.exec(s);
  if (!m) throw new Error(`not a QEMU size: ${s}`);
  return Math.round(Number(m[1]) * SIZE_FACTORS[m[2]!]!);
}

export function parseDurationMs(s: string): number {
  const m = /^([0-9.]+)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`not a duration: ${s}`);
  return Math.round(Number(m[1]) * DURATION_FACTORS[m[2]!]!);
}

/** The QEMU `-m` / qemu-img argument for a byte count, in whole MiB. */
export function toMiB(bytes: number): number {
  return Math.ceil(bytes / 1024 ** 2);
}

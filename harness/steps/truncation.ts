// Says when a command's output was cut by the output cap. Targets keep the LAST maxOutputBytes of each stream
// (harness/ssh/tail-sink.ts), so what was dropped is always the start; every reader (terminal, JUnit, `runs show`,
// command_logs) words it the same way through truncationNotes.

export interface DroppedBytes {
  stdout: number;
  stderr: number;
}

/** 512 bytes, 3.5 KiB, 49 MiB, 1.2 GiB: binary units, one decimal, ".0" dropped. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return `${n} bytes`;
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}

/**
 * One line per stream that lost bytes, e.g. "stdout truncated: 49 MiB dropped (kept the last 1 MiB)";
 * empty when nothing was dropped or nothing is known (steps that ran no command, records from before the cap was kept).
 */
export function truncationNotes(dropped: DroppedBytes | null | undefined, capBytes: number | null | undefined): string[] {
  if (!dropped) return [];
  const kept = capBytes === null || capBytes === undefined ? 'kept the end' : `kept the last ${formatBytes(capBytes)}`;
  return (['stdout', 'stderr'] as const)
    .filter((s) => dropped[s] > 0)
    .map((s) => `${s} truncated: ${formatBytes(dropped[s])} dropped (${kept})`);
}

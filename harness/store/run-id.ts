// Run ids sort by start time and carry enough randomness that CI shards recorded apart never clash on merge.
import { randomBytes } from 'node:crypto';

export function newRunId(now: Date = new Date()): string {
  const iso = now.toISOString(); // 2024-05-01T12:34:56.789Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(4).toString('hex')}`;
}

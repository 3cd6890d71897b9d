// Steps say when the output cap cut a command's output: bytes dropped from the start of each stream and the cap
// (each stream kept its last output_cap_bytes). NULL when the step ran no command, and for rows written before.
import type { Migration } from './migration.js';

export const migration002: Migration = {
  version: 2,
  name: 'step-output-cap',
  up: `
ALTER TABLE steps ADD COLUMN stdout_dropped_bytes INTEGER;
ALTER TABLE steps ADD COLUMN stderr_dropped_bytes INTEGER;
ALTER TABLE steps ADD COLUMN output_cap_bytes INTEGER;
`,
  down: `
ALTER TABLE steps DROP COLUMN output_cap_bytes;
ALTER TABLE steps DROP COLUMN stderr_dropped_bytes;
ALTER TABLE steps DROP COLUMN stdout_dropped_bytes;
`,
};

// Every schema migration, in version order. Add a file NNN-name.ts and one entry here.
import { migration001 } from './001-initial.js';
import { migration002 } from './002-step-output-cap.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';
export const migrations: readonly Migration[] = [migration001, migration002];

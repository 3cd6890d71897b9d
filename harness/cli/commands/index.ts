// Every CLI command, in the order `harness --help` lists them. Add one import and one entry per command.
import type { CliCommand } from '../command.js';

export const commands: CliCommand[] = [];

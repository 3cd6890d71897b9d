// Every CLI command, in the order `harness --help` lists them. Add one import and one entry per command.
import type { CliCommand } from '../command.js';
import { dbCommand } from './db.js';
import { runCommand } from './run.js';
import { vmCommand } from './vm.js';
import { doctorCommand } from './doctor.js';
import { setupCommand } from './setup.js';
import { runsCommand } from './runs.js';
import { isoCommand } from './iso.js';

export const commands: CliCommand[] = [runCommand, vmCommand, doctorCommand, setupCommand, runsCommand, isoCommand, dbCommand];

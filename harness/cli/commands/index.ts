// Every CLI command, in the order `harness --help` lists them: its name, one line for the help, and how to load
// it. Commands load on demand, so `harness vm list` or `--help` does not pay for importing what `run` needs
// (about 100 ms of module loading). Add one entry per command.
import type { CliCommand } from '../command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<CliCommand>;
}

export const commands: CommandEntry[] = [
  { name: 'run', summary: 'run a scenario file: boot its machines, run its steps, tear down by policy', load: async () => (await import('./run.js')).runCommand },
  { name: 'vm', summary: 'list, inspect, ssh into, stop and clean VMs in vms/', load: async () => (await import('./vm.js')).vmCommand },
  { name: 'doctor', summary: 'say which providers and tools work here, why not, and how to fix it', load: async () => (await import('./doctor.js')).doctorCommand },
  { name: 'setup', summary: 'install missing host packages (as root) and build the tiny image', load: async () => (await import('./setup.js')).setupCommand },
  { name: 'runs', summary: 'list, show, find flaky steps in, prune and merge run records', load: async () => (await import('./runs.js')).runsCommand },
  { name: 'iso', summary: 'build images and manage the image cache (build, list, prune)', load: async () => (await import('./iso.js')).isoCommand },
  { name: 'db', summary: 'migrate, roll back, inspect or reset the run database', load: async () => (await import('./db.js')).dbCommand },
];

// Where the harness keeps things. Every location can be moved with an environment variable (tests use this).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface HarnessPaths {
  /** Project root: scenario paths, vms/ and .harness/ resolve against it. */
  root: string;
  /** Runtime VM state, one folder per VM (DESIGN.md "Machine state on disk"). */
  vms: string;
  /** Content-addressed image cache and downloaded packages; shared by every run. */
  cache: string;
  /** Per-project SSH keypair; deliberately outside vms/ (private keys never live there). */
  keys: string;
  /** The run record (SQLite). */
  db: string;
}

/** Command-line overrides. Like any CLI argument, a relative path resolves against the working directory. */
export interface PathFlags {
  /** `--db FILE` (run, runs, db): wins over HARNESS_DB. */
  db?: string;
}

export function harnessPaths(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), flags: PathFlags = {}): HarnessPaths {
  const root = resolve(env.HARNESS_PROJECT_DIR ?? cwd);
  const vms = resolve(root, env.HARNESS_VMS_DIR ?? 'vms');
  return {
    root,
    vms,
    cache: resolve(root, env.HARNESS_CACHE_DIR ?? join('.harness', 'cache')),
    keys: resolve(root, env.HARNESS_KEYS_DIR ?? join('.harness', 'keys')),
    db: flags.db ? resolve(cwd, flags.db) : resolve(root, env.HARNESS_DB ?? join(vms, 'harness.db')),
  };
}

/** The per-VM state directory and the files in it, named as quickemu names them. */
export function vmFiles(vmsDir: string, name: string) {
  const dir = join(vmsDir, name);
  return {
    dir,
    disk: join(dir, 'disk.qcow2'),
    pid: join(dir, `${name}.pid`),
    ports: join(dir, `${name}.ports`),
    log: join(dir, `${name}.log`),
    monitor: join(dir, `${name}-monitor.socket`),
    serial: join(dir, `${name}-serial.socket`),
    spec: join(dir, 'vm.json'),
    lock: join(vmsDir, `${name}.lock`),
  };
}

export function userConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, 'harness') : join(homedir(), '.config', 'harness');
}

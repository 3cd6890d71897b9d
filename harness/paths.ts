// Where the harness keeps things. Every location can be moved with an environment variable (tests use this).
// They belong to the project that uses the harness (found from the working directory, as npm finds it), never
// to the harness's own install dir under node_modules.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';

export interface HarnessPaths {
  /** Project root (HARNESS_PROJECT_DIR, else projectRoot(cwd)): vms/ and .harness/ resolve against it. */
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
  const root = env.HARNESS_PROJECT_DIR ? resolve(cwd, env.HARNESS_PROJECT_DIR) : projectRoot(cwd);
  const vms = resolve(root, env.HARNESS_VMS_DIR ?? 'vms');
  return {
    root,
    vms,
    cache: resolve(root, env.HARNESS_CACHE_DIR ?? join('.harness', 'cache')),
    keys: resolve(root, env.HARNESS_KEYS_DIR ?? join('.harness', 'keys')),
    db: flags.db ? resolve(cwd, flags.db) : resolve(root, env.HARNESS_DB ?? join(vms, 'harness.db')),
  };
}

/**
 * The project a working directory belongs to: the nearest directory at or above it with a package.json, outside
 * any node_modules (a command started inside an installed package still works for the project that installed it);
 * the working directory itself when there is none.
 */
export function projectRoot(cwd: string, exists: (path: string) => boolean = existsSync): string {
  const abs = resolve(cwd);
  const nm = abs.split(sep).indexOf('node_modules');
  const start = nm > 0 ? abs.split(sep).slice(0, nm).join(sep) || sep : abs;
  for (let dir = start; ; dir = dirname(dir)) {
    if (exists(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return nm > 0 ? start : abs;
  }
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

// One sandbox per README-claim suite: its own vms dir, record and port reservations, and the real CLI
// (`node bin/harness.js ...` as a subprocess, from the project root) pointed at them. The image cache and the
// project key are shared (HARNESS_CACHE_DIR / HARNESS_KEYS_DIR): the tiny image is built once by global-setup.
// Port reservations stay in the machine-wide dir on purpose: that keeps these VMs off other runs' ports.
import { execa, type Result } from 'execa';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { harnessPaths } from '../../harness/paths.js';
import { reservationDir } from '../../harness/ports.js';
import { domainName } from '../../harness/providers/libvirt/naming.js';
import { QemuProvider } from '../../harness/providers/qemu.js';

export const PROJECT = resolve(import.meta.dirname, '../..');

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
}

export interface Sandbox {
  root: string;
  vmsDir: string;
  db: string;
  /** The environment every command of this sandbox gets (HARNESS_* dirs, NO_COLOR). */
  env: Record<string, string>;
  /** `node bin/harness.js ARGS` from the project root; never rejects (read exitCode). */
  cli(args: string[], opts?: CliOptions): Promise<Result<{ reject: false }>>;
  /** Writes a scenario (or any file) into the sandbox; returns its absolute path. */
  write(name: string, text: string): Promise<string>;
  /** VM state dirs left in vms/ (locks and the record excluded). */
  vmDirs(): Promise<string[]>;
  /** Files inside vms/NAME/, sorted. */
  filesOf(name: string): Promise<string[]>;
  /** Host ports still reserved for VMs of this sandbox (qemu's or libvirt's, by VM name). */
  reservations(names: string[]): Promise<number[]>;
  /** Processes whose command line names this sandbox's vms dir (a qemu a run left behind). */
  processes(): Promise<number[]>;
  /** `vm clean` whatever a failed assertion left, then removes the sandbox. */
  dispose(): Promise<void>;
}

export async function makeSandbox(tag: string): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), `harness-readme-${tag}-`));
  const vmsDir = join(root, 'vms');
  const db = join(root, 'harness.db');
  const env = {
    HARNESS_VMS_DIR: vmsDir,
    HARNESS_DB: db,
    HARNESS_CACHE_DIR: harnessPaths().cache,
    HARNESS_KEYS_DIR: harnessPaths().keys,
    NO_COLOR: '1',
  };
  const cli = (args: string[], opts: CliOptions = {}) => {
    return execa('node', [join(PROJECT, 'bin/harness.js'), ...args], { reject: false, cwd: opts.cwd ?? PROJECT, env: { ...env, ...opts.env }, stdin: 'ignore' });
  };
  const vmDirs = async () =>
    (await readdir(vmsDir, { withFileTypes: true }).catch(() => []))
      .filter((e) => e.isDirectory() && !e.name.endsWith('.lock'))
      .map((e) => e.name)
      .sort();
  return {
    root,
    vmsDir,
    db,
    env,
    cli,
    async write(name, text) {
      const path = join(root, name);
      await writeFile(path, text);
      return path;
    },
    vmDirs,
    filesOf: async (name) => (await readdir(join(vmsDir, name))).sort(),
    async reservations(names) {
      const owners = new Set(names.flatMap((n) => [`${vmsDir}/${n}`, `libvirt:${domainName(n, vmsDir)}`]));
      const dir = reservationDir();
      const held: number[] = [];
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        const r = await readFile(join(dir, f), 'utf8').then((t) => JSON.parse(t) as { port: number; owner: string }, () => undefined);
        if (r && owners.has(r.owner)) held.push(r.port);
      }
      return held.sort();
    },
    async processes() {
      const pids: number[] = [];
      for (const pid of (await readdir('/proc')).filter((f) => /^\d+$/.test(f))) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes(vmsDir) && Number(pid) !== process.pid) pids.push(Number(pid));
      }
      return pids;
    },
    async dispose() {
      for (const name of await vmDirs()) await cli(['vm', 'clean', name]);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Why qemu cannot boot VMs here (for describeReal), or undefined. */
export async function qemuUnavailable(): Promise<string | undefined> {
  const p = await new QemuProvider({ cacheDir: harnessPaths().cache, privateKeyPath: '' }).probe();
  return p.available ? undefined : `${p.reason} (fix: ${p.fix})`;
}

/** stdout and stderr of a CLI result, for assertions and failure messages. */
export const output = (r: { stdout: unknown; stderr: unknown }) => `${String(r.stdout)}\n${String(r.stderr)}`;

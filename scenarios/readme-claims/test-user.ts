// A real non-root user for the README-claim suites, and a sandbox where the harness runs as that user: everything it
// writes (vms, record, image cache, key, port reservations, HOME with libvirt's session daemon) lives in one
// user-owned dir under a temp dir this suite creates. The user `harness-readme` (system account, no login, no home
// of its own) is created with useradd when absent and left in place: suites may run side by side.
import { execa, type Result } from 'execa';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessPaths } from '../../harness/paths.js';
import { PROJECT } from './sandbox.js';

export const TEST_USER = 'harness-readme';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

/** Why a user cannot be switched to here (for describeReal), or undefined. */
export async function userSwitchUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (to create and become a test user)';
  for (const tool of ['setpriv', 'useradd']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) return `${tool} not found (apt-get install -y util-linux passwd)`;
  }
  return undefined;
}

export async function ensureTestUser(): Promise<TestUser> {
  const id = async (flag: string) => execa('id', [flag, TEST_USER], { reject: false });
  if ((await id('-u')).exitCode !== 0) {
    const add = await execa('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_USER], { reject: false });
    // Another suite may have created it in the meantime (exit 9: already exists).
    if (add.exitCode !== 0 && add.exitCode !== 9) throw new Error(`useradd ${TEST_USER}: ${add.stderr}`);
  }
  return { name: TEST_USER, uid: Number((await id('-u')).stdout), gid: Number((await id('-g')).stdout) };
}

export interface UserSandbox {
  user: TestUser;
  /** Root-owned, 0755: the user may traverse it, not write it. */
  root: string;
  /** The user's own dir: home, cache, keys, vms, ports, record. */
  dir: string;
  home: string;
  vmsDir: string;
  env: Record<string, string>;
  /** `node bin/harness.js ARGS` as the user (setpriv, a clean environment); never rejects. */
  cli(args: string[], opts?: { path?: string }): Promise<Result<{ reject: false }>>;
  /** Any command as the user, same environment. */
  run(argv: string[], opts?: { path?: string }): Promise<Result<{ reject: false }>>;
  /** A file owned by the user in its dir; returns the path. */
  write(name: string, text: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * `seedDebs`: copy the project cache's .debs (and apt's resolved versions) into the user's image cache, so the user's
 * own tiny image build needs no network; the build itself still runs, as the user.
 */
export async function makeUserSandbox(tag: string, opts: { seedDebs?: boolean } = {}): Promise<UserSandbox> {
  const user = await ensureTestUser();
  // Short paths: libvirt's session daemon puts each domain's monitor socket under HOME/.config/libvirt/qemu/lib/
  // domain-N-NAME/, and a UNIX socket path may not exceed 107 bytes (a longer HOME fails `virsh start`).
  const root = await mkdtemp(join(tmpdir(), `hr-${tag}-`));
  await chmod(root, 0o755);
  const dir = join(root, 'u');
  const home = join(dir, 'h');
  const sub = { cache: join(dir, 'cache'), keys: join(dir, 'keys'), vms: join(dir, 'vms'), ports: join(dir, 'ports') };
  for (const d of [dir, home, ...Object.values(sub)]) await mkdir(d, { recursive: true });
  if (opts.seedDebs) {
    const from = join(harnessPaths().cache, 'debs');
    await mkdir(join(sub.cache, 'debs'));
    for (const f of await readdir(from)) if (f.endsWith('.deb') || f === 'resolved.json') await copyFile(join(from, f), join(sub.cache, 'debs', f));
  }
  await execa('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  const env = {
    HOME: home,
    NO_COLOR: '1',
    HARNESS_VMS_DIR: sub.vms,
    HARNESS_DB: join(dir, 'harness.db'),
    HARNESS_CACHE_DIR: sub.cache,
    HARNESS_KEYS_DIR: sub.keys,
    // No HARNESS_PORTS_DIR: the user reserves in the machine-wide default dir root's runs use too (harness/ports.ts
    // makes it sticky and world-writable like /tmp).
  };
  const run = (argv: string[], o: { path?: string } = {}) =>
    execa(
      'setpriv',
      [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', 'env', '-i', `PATH=${o.path ?? process.env.PATH}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv],
      { reject: false, cwd: PROJECT, stdin: 'ignore' },
    );
  return {
    user,
    root,
    dir,
    home,
    vmsDir: sub.vms,
    env,
    run,
    cli: (args, o) => run([process.execPath, join(PROJECT, 'bin/harness.js'), ...args], o),
    async write(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      await chown(path, user.uid, user.gid);
      return path;
    },
    async dispose() {
      // The session daemons virsh autostarted for the user: ended by the pids they recorded (they idle out in 120 s).
      for (const f of ['libvirtd.pid', 'virtlogd.pid']) {
        const pid = Number((await readFile(join(home, '.cache', 'libvirt', f), 'utf8').catch(() => '')).trim());
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            /* gone already */
          }
        }
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

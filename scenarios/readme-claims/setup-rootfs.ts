// A bare Debian 12 for `harness setup` to meet as on a fresh machine: a minbase rootfs made with mmdebstrap from
// deb.debian.org, holding every package setup asks for except the ones named, imported as a local docker image
// (never pulled). The image is tagged by its inputs and kept, so a rerun reuses it; `docker rmi` the tag to free
// its ~400 MB. The harness runs inside with the host's node binary and the project mounted read-only.
import { createHash } from 'node:crypto';
import { execa, type Result } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_PACKAGES } from '../../harness/cli/commands/setup.js';
import { PROJECT } from './sandbox.js';

const SUITES = ['bookworm', 'bookworm-updates', 'bookworm-security'];
const sources = () =>
  SUITES.map((s) => `deb http://deb.debian.org/${s.endsWith('-security') ? 'debian-security' : 'debian'} ${s} main`).join('\n') + '\n';

/** Why the rootfs cannot be made here (for describeReal), or undefined. */
export async function rootfsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (mmdebstrap root mode, docker)';
  if ((await execa('sh', ['-c', 'command -v mmdebstrap'], { reject: false })).exitCode !== 0) return 'mmdebstrap not found (apt-get install -y mmdebstrap)';
  const docker = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { reject: false });
  if (docker.exitCode !== 0) return `dockerd does not answer (${String(docker.stderr).trim().split('\n').pop()}; bash .ci/start-daemons)`;
  return undefined;
}

export interface Rootfs {
  image: string;
  /** True when this call made it (mmdebstrap + docker import), false when the tagged image was already there. */
  built: boolean;
  /** The packages of HOST_PACKAGES it holds. */
  packages: string[];
}

/** The local image with every HOST_PACKAGES package but `without`; made when absent. */
export async function ensureSetupRootfs(without: string[]): Promise<Rootfs> {
  const packages = Object.keys(HOST_PACKAGES).filter((p) => !without.includes(p)).sort();
  const tag = createHash('sha256').update(JSON.stringify({ v: 1, packages, sources: sources() })).digest('hex').slice(0, 12);
  const image = `harness-readme/setup-rootfs:${tag}`;
  if ((await execa('docker', ['image', 'inspect', image], { reject: false })).exitCode === 0) return { image, built: false, packages };
  const work = await mkdtemp(join(tmpdir(), 'harness-rootfs-'));
  try {
    await writeFile(join(work, 'sources.list'), sources());
    // The apt lists stay in the image: setup's own `apt-get update` is then incremental, as on a used machine.
    await execa('mmdebstrap', ['--variant=minbase', `--include=${packages.join(',')}`, '--skip=cleanup/apt/lists', 'bookworm', join(work, 'rootfs.tar'), '-'], {
      inputFile: join(work, 'sources.list'),
    });
    await execa('docker', ['import', join(work, 'rootfs.tar'), image]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { image, built: true, packages };
}

export interface ContainerRun {
  image: string;
  /** docker --user (default: the image's root). */
  user?: string;
  /** Host dirs to mount read-write: host path -> container path. */
  mounts?: Record<string, string>;
  env?: Record<string, string>;
}

/** `node /project/bin/harness.js ARGS` in a throwaway container (removed on exit); never rejects. */
export function harnessInContainer(args: string[], o: ContainerRun): Promise<Result<{ reject: false }>> {
  const env = { NO_COLOR: '1', HOME: '/tmp', HARNESS_VMS_DIR: '/tmp/vms', HARNESS_DB: '/tmp/harness.db', HARNESS_KEYS_DIR: '/tmp/keys', HARNESS_CACHE_DIR: '/tmp/cache', ...o.env };
  return execa(
    'docker',
    [
      'run', '--rm', '--network', 'bridge',
      ...(o.user ? ['--user', o.user] : []),
      '-v', `${PROJECT}:/project:ro`,
      '-v', `${process.execPath}:/usr/local/bin/node:ro`,
      ...Object.entries(o.mounts ?? {}).flatMap(([h, c]) => ['-v', `${h}:${c}`]),
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      '-w', '/project',
      o.image,
      'node', '/project/bin/harness.js', ...args,
    ],
    { reject: false, stdin: 'ignore' } as const,
  );
}

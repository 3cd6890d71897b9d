// Time-to-SSH of `harness run` against a bare qemu + ssh polling loop on the same ISO, alternated over several
// runs (so machine load hits all alike). Prints each sample, the medians, and last `ratio=X` (harness / bare).
// Two harness variants run side by side: its default (boot.yaml: qemu loads the ISO's kernel and initramfs
// directly) and `boot: iso` (boot-iso.yaml: BIOS and GRUB from the ISO, exactly what the bare loop does), so the
// like-for-like overhead is printed too (`iso_ratio=`). The last line is the ratio of what `harness run` does.
// Run: npm run bench:boot   (BENCH_RUNS=5 for more samples)
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessPaths } from '../../harness/paths.js';
import { projectKeyPair } from '../../harness/keys.js';
import { buildImage } from '../../iso/index.js';
import { allocatePorts, releasePorts } from '../../harness/ports.js';
import { knownHostsLine } from '../../harness/ssh/host-key.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const paths = harnessPaths();
const keys = await projectKeyPair(paths.keys);
const image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: paths.cache });

/** Seconds from spawning `harness run` until its terminal reporter says SSH is ready. */
async function harnessSample(scenario: string): Promise<number> {
  const vms = await mkdtemp(join(tmpdir(), 'bench-boot-'));
  const t0 = performance.now();
  const child = execa('node', ['bin/harness.js', 'run', scenario], { env: { HARNESS_VMS_DIR: vms, NO_COLOR: '1' }, reject: false });
  let readyAt: number | undefined;
  child.stdout?.on('data', (d: Buffer) => {
    if (readyAt === undefined && /ready: SSH answered/.test(d.toString())) readyAt = performance.now();
  });
  const r = await child;
  await rm(vms, { recursive: true, force: true });
  if (r.exitCode !== 0 || readyAt === undefined) throw new Error(`harness run failed (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  return (readyAt - t0) / 1000;
}

/** Seconds from spawning qemu by hand until `ssh ... true` succeeds, polling every 200 ms. */
async function bareSample(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bare-'));
  const [port] = await allocatePorts(1, { owner: 'bench-bare' });
  const known = join(dir, 'known_hosts');
  await writeFile(known, knownHostsLine('127.0.0.1', port!, image.hostPublicKey!) + '\n');
  const t0 = performance.now();
  const qemu = execa('qemu-system-x86_64', [
    '-machine', 'pc,accel=tcg', '-m', '256', '-nodefaults', '-display', 'none', '-serial', 'none',
    '-cdrom', image.path, '-boot', 'order=d',
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0',
    '-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0',
  ], { reject: false });
  try {
    for (;;) {
      const r = await execa('ssh', ['-i', keys.privateKeyPath, '-p', String(port), '-o', `UserKnownHostsFile=${known}`, '-o', 'StrictHostKeyChecking=yes',
        '-o', 'ConnectTimeout=1', '-o', 'BatchMode=yes', 'root@127.0.0.1', 'true'], { reject: false, timeout: 10_000 });
      if (r.exitCode === 0) return (performance.now() - t0) / 1000;
      if (performance.now() - t0 > 300_000) throw new Error('bare qemu: no SSH within 300 s');
      await new Promise((res) => setTimeout(res, 200));
    }
  } finally {
    qemu.kill('SIGKILL');
    await qemu;
    await releasePorts([port!]);
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples = { harness: [] as number[], harnessIso: [] as number[], bare: [] as number[] };
const takers: Record<keyof typeof samples, () => Promise<number>> = {
  harness: () => harnessSample('bench/boot/boot.yaml'),
  harnessIso: () => harnessSample('bench/boot/boot-iso.yaml'),
  bare: bareSample,
};
const kinds = Object.keys(takers) as (keyof typeof samples)[];
for (let i = 0; i < RUNS; i++) {
  // Rotate which goes first, so none always runs on a warmer machine.
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[(i + k) % kinds.length]!;
    samples[kind].push(await takers[kind]());
  }
  console.log(`run ${i + 1}: harness ${samples.harness[i]!.toFixed(2)}s  harness boot:iso ${samples.harnessIso[i]!.toFixed(2)}s  bare ${samples.bare[i]!.toFixed(2)}s`);
}
const [h, hi, b] = [median(samples.harness), median(samples.harnessIso), median(samples.bare)];
console.log(`median time-to-SSH (${RUNS} runs each, TCG): harness ${h.toFixed(2)}s, harness boot:iso ${hi.toFixed(2)}s, bare qemu + ssh loop ${b.toFixed(2)}s`);
console.log(`iso_ratio=${(hi / b).toFixed(3)}   (harness booting the ISO like the bare loop / bare)`);
console.log(`ratio=${(h / b).toFixed(3)}`);

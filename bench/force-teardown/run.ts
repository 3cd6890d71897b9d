// Benchmark (not a test): how much sooner `harness run` exits when a second SIGINT forces the teardown of a hung
// guest than when it sits through the graceful teardown, measured side by side and alternated (so machine load
// hits both alike). Each sample boots the tiny image with qemu, waits until a step runs, SIGSTOPs qemu (a hung
// guest), then sends SIGINT once (graceful: QMP quit times out, then SIGTERM and SIGKILL seconds apart) or twice
// (forced: SIGKILL at once). Prints each sample, the medians, and last `ratio=X` (forced / graceful; goal well under 1).
// scenarios/hardening/signals.test.ts proves from the record that the force path did the killing; this says how fast.
// Run: npx tsx bench/force-teardown/run.ts   (BENCH_RUNS=5 for more samples)
import { execa } from 'execa';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessPaths } from '../../harness/paths.js';
import { pidAlive } from '../../harness/lock.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const paths = harnessPaths();

// The guest calls this when its step has started (user-mode networking: the host is 10.0.2.2).
const hits = new Set<string>();
const beacon = createServer((req, res) => {
  hits.add(req.url ?? '');
  res.end('ok\n');
});
await new Promise<void>((r) => beacon.listen(0, '127.0.0.1', r));
const beaconPort = (beacon.address() as AddressInfo).port;

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}, in vain`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Seconds from the last SIGINT until `harness run` exited, with one SIGINT (graceful) or two (forced). */
async function sample(kind: 'graceful' | 'forced', i: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), `bench-force-${kind}-`));
  await chmod(dir, 0o711);
  const vmsDir = join(dir, 'vms');
  const mark = `${kind}-${i}`;
  const file = join(dir, 'sleeper.yaml');
  await writeFile(file, `name: bench-${mark}\nvms:\n  vm1: { memory: 256M, bootTimeout: 300s }\nsteps:\n  - name: sleeps\n    on: vm1\n    run: "wget -q -O /dev/null http://10.0.2.2:${beaconPort}/${mark}; sleep 600"\n    timeout: 900s\n`);
  const env = { HARNESS_VMS_DIR: vmsDir, HARNESS_DB: join(vmsDir, 'harness.db'), HARNESS_CACHE_DIR: paths.cache, HARNESS_KEYS_DIR: paths.keys, NO_COLOR: '1' };
  const run = execa('node', ['bin/harness.js', 'run', file], { reject: false, env, all: true, timeout: 600_000 });
  let out = '';
  run.all.on('data', (d: Buffer) => (out += d.toString()));
  let qpid: number | undefined;
  try {
    await until(`the step of ${mark} to start`, 300_000, async () => {
      if (run.exitCode !== null) throw new Error(`harness exited (${run.exitCode}) first:\n${out}`);
      return hits.has(`/${mark}`) || undefined;
    });
    qpid = Number.parseInt(await readFile(join(vmsDir, 'vm1', 'vm1.pid'), 'utf8'), 10);
    process.kill(qpid, 'SIGSTOP');
    process.kill(run.pid!, 'SIGINT');
    if (kind === 'forced') {
      await until('the first SIGINT to be taken', 30_000, async () => (/tearing down by policy/.test(out) ? true : undefined));
      process.kill(run.pid!, 'SIGINT');
    }
    const t0 = performance.now();
    const r = await run;
    const s = (performance.now() - t0) / 1000;
    if (r.exitCode !== 130) throw new Error(`expected exit 130 from the ${kind} sample, got ${r.exitCode}:\n${out}`);
    return s;
  } finally {
    if (qpid && pidAlive(qpid)) process.kill(qpid, 'SIGKILL');
    run.kill('SIGKILL');
    await run.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples = { graceful: [] as number[], forced: [] as number[] };
try {
  for (let i = 0; i < RUNS; i++) {
    for (const kind of ['forced', 'graceful'] as const) {
      const s = await sample(kind, i);
      samples[kind].push(s);
      console.log(`run ${i + 1}/${RUNS} ${kind.padEnd(8)} exited ${s.toFixed(2)} s after the last SIGINT`);
    }
  }
  const [f, g] = [median(samples.forced), median(samples.graceful)];
  console.log(`median: forced ${f.toFixed(2)} s, graceful ${g.toFixed(2)} s (hung qemu, ${RUNS} runs each)`);
  console.log(`ratio=${(f / g).toFixed(3)}`);
} finally {
  beacon.close();
}

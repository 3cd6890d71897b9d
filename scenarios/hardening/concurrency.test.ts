// Hardening, concurrency: many `harness run` processes started at the same instant share one image cache, one
// record and one port range. Each protection (port reservation, bind-clash retry, per-key cache build lock,
// per-VM lock) has a test here that fails when the protection is taken out.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmod, copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { qemuUnavailable } from '../../fixtures/backend-probes.js';
import { describeReal } from '../../fixtures/real-backend.js';
import { projectKeyPair } from '../../harness/keys.js';
import { harnessPaths } from '../../harness/paths.js';
import { allocatePorts, liveReservations, releasePorts } from '../../harness/ports.js';
import { QemuProvider } from '../../harness/providers/qemu.js';
import type { EmittedEvent } from '../../harness/events.js';
import { vmSchema } from '../../harness/scenario/schema.js';
import { buildImage } from '../../iso/index.js';
import { filesUnder, harness, imageOf, parseReport, writeScenario, type RunReport } from './support-concurrency/cli.js';
import { listeners } from './support-concurrency/proc-net.js';

const noQemu = await qemuUnavailable();
const project = harnessPaths();
const GRAB = resolve('scenarios/hardening/support-concurrency/grab-port-qemu.mjs');
const ROUNDS = 20;
/** Ports no other harness run uses (the default range is 20000-29999) and below Linux's ephemeral range. */
const RANGE = { lo: 31_000, hi: 31_002 };

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'harness-hardening-conc-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A free port on 127.0.0.1 that nothing listens on, chosen by the kernel. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const listen = (port: number) =>
  new Promise<Server>((res, rej) => {
    const s = createServer();
    s.once('error', rej).listen(port, '127.0.0.1', () => res(s));
  });

describeReal('ports: a foreign process on a port', noQemu, () => {
  test('allocatePorts skips a port something already listens on', async () => {
    const dir = join(work, 'ports-skip');
    const base = await freePort();
    const server = await listen(base).catch(() => undefined);
    if (!server) return expect.unreachable(`could not listen on ${base} for the test`);
    try {
      for (let i = 0; i < 5; i++) {
        // Range of two: the listener's port and one other. Only the other may ever come back.
        const [p] = await allocatePorts(1, { owner: 'test', range: [base, base + 1], dir });
        expect(p).toBe(base + 1);
        await releasePorts([p!], dir);
      }
    } finally {
      server.close();
    }
  });

  test('a port reserved by a live process is not handed out again; the reservation dies with its owner', async () => {
    const dir = join(work, 'ports-reserved');
    const base = await freePort();
    const [first] = await allocatePorts(1, { owner: 'a', range: [base, base], dir });
    expect(first).toBe(base);
    // Reserved (by us, alive) but not bound: only the reservation protects it.
    await expect(allocatePorts(1, { owner: 'b', range: [base, base], dir })).rejects.toThrow(/expected 1 free port/);
    // A reservation whose pid is dead is swept and the port is free again.
    await writeFile(join(dir, `${base}.json`), JSON.stringify({ port: base, pid: 2 ** 22 + 12345, owner: 'dead' }));
    expect((await liveReservations(dir)).map((r) => r.port)).not.toContain(base);
    expect(await allocatePorts(1, { owner: 'c', range: [base, base], dir })).toEqual([base]);
    await releasePorts([base], dir);
  });

  test('qemu start retries with a fresh port when a foreign process grabs the port between check and bind', async () => {
    const vmsDir = join(work, 'grab-vms');
    await mkdir(vmsDir, { recursive: true });
    const marker = join(work, 'grabbed-port');
    const wrapper = join(work, 'qemu-grab.sh');
    await writeFile(wrapper, `#!/bin/sh\nGRAB_MARKER='${marker}' exec node '${GRAB}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const keys = await projectKeyPair(project.keys);
    const image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: project.cache });
    const provider = new QemuProvider({ cacheDir: project.cache, privateKeyPath: keys.privateKeyPath, binary: wrapper });
    const events: EmittedEvent[] = [];
    const config = vmSchema.parse({ memory: '256M', accel: 'tcg', bootTimeout: '180s' });
    try {
      const m = await provider.start({ name: 'grab', config, image, dir: join(vmsDir, 'grab'), vmsDir, emit: (e) => void events.push(e) });
      const grabbed = Number(await readFile(marker, 'utf8'));
      expect(grabbed).toBeGreaterThan(0); // the stand-in did take the first port
      expect(events.filter((e) => e.type === 'log' && /port clash/.test(e.message))).toHaveLength(1);
      expect(await m.isAlive()).toBe(true);
      // The machine that came up listens on its (fresh) port, and that port is on 127.0.0.1.
      const l = await listeners(m.sshPort);
      expect(l.map((x) => x.address)).toEqual(['127.0.0.1']);
      expect(m.sshPort).not.toBe(grabbed);
    } finally {
      await provider.clean('grab', vmsDir);
    }
  }, 120_000);
});

describeReal(`${ROUNDS} rounds of two \`harness run\` processes started together`, noQemu, () => {
  test('one image build, no port clash, no corrupted cache entry, no lost record', async () => {
    const cache = join(work, 'cache'); // empty: the first round races to build the image
    const vmsDir = join(work, 'vms');
    const db = join(work, 'record', 'harness.db');
    const portsDir = join(work, 'ports');
    // The .debs only (no image): the build still happens, without fetching 70 MB again.
    await mkdir(join(cache, 'debs'), { recursive: true });
    for (const f of await readdir(join(project.cache, 'debs')).catch(() => [] as string[])) {
      if (!f.endsWith('.deb')) continue;
      await link(join(project.cache, 'debs', f), join(cache, 'debs', f)).catch(() => copyFile(join(project.cache, 'debs', f), join(cache, 'debs', f)));
    }
    await mkdir(join(work, 'record'), { recursive: true });
    const short = await writeScenario(join(work, 'scn'), 'conc-timeout.yaml', { vm: 'box', bootTimeout: '2s' });
    const full = await writeScenario(join(work, 'scn'), 'conc-boot.yaml', {
      vm: 'box',
      bootTimeout: '240s',
      steps: '  - name: kernel\n    on: box\n    run: uname -s\n    expect: { exitCode: 0, stdout: Linux }\n',
    });
    const env = {
      HARNESS_VMS_DIR: vmsDir,
      HARNESS_CACHE_DIR: cache,
      HARNESS_KEYS_DIR: project.keys,
      HARNESS_DB: db,
      HARNESS_PORTS_DIR: portsDir,
      HARNESS_PORT_RANGE: `${RANGE.lo}-${RANGE.hi}`,
    };

    const all: Array<{ round: number; report: RunReport; stderr: string }> = [];
    let isoHash = '';
    for (let round = 1; round <= ROUNDS; round++) {
      // The last round boots for real: the image both raced to build must work, over the ports they were given.
      const file = round === ROUNDS ? full : short;
      const procs = ['a', 'b'].map((p) => harness(['run', file, '--json', '--name-prefix', `r${round}${p}-`], env));
      const results = await Promise.all(procs);
      const reports = results.map((r) => ({ report: parseReport(r.stdout, r.stderr), stderr: r.stderr, exitCode: r.exitCode }));
      for (const { report, stderr, exitCode } of reports) {
        all.push({ round, report, stderr });
        const why = `round ${round}: ${report.error ?? ''}\n${stderr.slice(-1500)}`;
        if (round === ROUNDS) {
          expect(exitCode, why).toBe(0);
        } else {
          // A BootTimeout and nothing else: no bind clash, no cache error, no lock error.
          expect(exitCode, why).toBe(3);
          expect(report.error, why).toMatch(/^VM r\d+[ab]-box did not answer SSH within 2s/);
        }
        expect(stderr, why).not.toMatch(/already in use|host forwarding|ENOTEMPTY|EEXIST|locked by/i);
        expect(report.logs.filter((l) => /port clash/.test(l.message)), why).toEqual([]);
      }
      // Both VMs ran at the same time: their SSH ports must differ, and come from the range.
      const ports = reports.map((r) => r.report.vms[0]?.sshPort);
      expect(new Set(ports).size, `round ${round} ports ${ports.join(', ')}`).toBe(2);
      for (const p of ports) {
        expect(p).toBeGreaterThanOrEqual(RANGE.lo);
        expect(p).toBeLessThanOrEqual(RANGE.hi);
      }

      const images = reports.map((r) => imageOf(r.report));
      // One cache entry for both, every round.
      expect(images[0]!.cacheKey).toMatch(/^[0-9a-f]{64}$/);
      expect(images[1]!.cacheKey).toBe(images[0]!.cacheKey);
      if (round === 1) {
        // Built once: one run built it, the other waited for that build and reused it.
        expect(images.map((i) => i.reused).sort()).toEqual([false, true]);
        const waiter = reports.find((_, i) => images[i]!.reused)!;
        expect(waiter.report.logs.map((l) => l.message).join('\n')).toMatch(/waiting for another build of tiny image/);
        isoHash = await sha256(images[0]!.path!);
      } else {
        expect(images.map((i) => i.reused)).toEqual([true, true]);
      }
    }

    // The cache: exactly one complete entry, nothing half-written left, and its files agree with its meta.
    const key = imageOf(all[0]!.report).cacheKey!;
    const root = join(cache, 'images');
    const names = await readdir(root);
    expect(names.filter((n) => !n.startsWith('.'))).toEqual([key]);
    expect(names.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    const entry = join(root, key);
    const meta = JSON.parse(await readFile(join(entry, 'meta.json'), 'utf8')) as { key: string; size: number; artifact: string; hostPublicKey: string };
    expect(meta.key).toBe(key);
    const files = (await filesUnder(entry)).filter((f) => !f.endsWith('/meta.json'));
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(meta.size);
    expect((await readFile(join(entry, 'host_key.pub'), 'utf8')).trim()).toBe(meta.hostPublicKey.trim());
    expect(await sha256(join(entry, meta.artifact))).toBe(isoHash); // nobody rewrote it after round 1
    const initrd = gunzipSync(await readFile(join(entry, 'initrd.gz'))); // a truncated or mixed file fails here
    expect(initrd.includes(Buffer.from((await projectKeyPair(project.keys)).publicKey.split(' ')[1]!))).toBe(true);

    // The record: every run, each with its VM row and the port its report named.
    const sql = new Database(db, { readonly: true });
    try {
      const runs = sql.prepare('SELECT id, exit_code AS exitCode FROM runs').all() as Array<{ id: string; exitCode: number }>;
      expect(runs).toHaveLength(2 * ROUNDS);
      expect(new Set(runs.map((r) => r.id))).toEqual(new Set(all.map((a) => a.report.id)));
      expect(runs.filter((r) => r.exitCode === 3)).toHaveLength(2 * (ROUNDS - 1));
      const vms = sql.prepare('SELECT run_id AS runId, name, ssh_port AS sshPort FROM vms').all() as Array<{ runId: string; name: string; sshPort: number }>;
      expect(vms).toHaveLength(2 * ROUNDS);
      for (const { report } of all) {
        expect(vms.filter((v) => v.runId === report.id).map((v) => [v.name, v.sshPort])).toEqual([[report.vms[0]!.name, report.vms[0]!.sshPort]]);
      }
    } finally {
      sql.close();
    }
    // Nothing left running or reserved.
    expect((await readdir(vmsDir)).filter((n) => !n.endsWith('.db') && !n.startsWith('harness.db'))).toEqual([]);
    expect(await liveReservations(portsDir)).toEqual([]);
  }, 30 * 60_000);
});

describeReal('two runs of the same VM name', noQemu, () => {
  test('the second refuses the lock naming the holder pid (exit 3); with --wait-lock it waits, then succeeds', async () => {
    const vmsDir = join(work, 'same-vms');
    const env = { HARNESS_VMS_DIR: vmsDir, HARNESS_CACHE_DIR: project.cache, HARNESS_KEYS_DIR: project.keys, HARNESS_DB: join(work, 'same.db') };
    // The holder: boots, then sleeps in a step, holding the VM lock all the while.
    const holderFile = await writeScenario(join(work, 'same'), 'holder.yaml', {
      vm: 'same',
      bootTimeout: '240s',
      steps: '  - name: hold\n    on: same\n    run: sleep 15\n',
    });
    const waiterFile = await writeScenario(join(work, 'same'), 'waiter.yaml', {
      vm: 'same',
      bootTimeout: '240s',
      steps: '  - name: kernel\n    on: same\n    run: uname -s\n    expect: { exitCode: 0, stdout: Linux }\n',
    });
    const holder = harness(['run', holderFile, '--json'], env);
    const lockHolder = join(vmsDir, 'same.lock.holder.json');
    // Wait until the holder has the lock (its holder file names it), then race it.
    for (let i = 0; i < 300; i++) {
      const h = await readFile(lockHolder, 'utf8').catch(() => '');
      if (h.includes(`"pid":${holder.pid}`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [refused, waiter] = await Promise.all([harness(['run', waiterFile, '--json'], env), harness(['run', waiterFile, '--json', '--wait-lock', '120s'], env), holder]);
    const held = await holder;

    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(refused.stdout + refused.stderr).toMatch(new RegExp(`VM same is locked by pid ${holder.pid}\\b`));
    // The refused run booted nothing: no qemu of its own was ever started.
    expect(parseReport(refused.stdout, refused.stderr).vms).toEqual([]);

    expect(held.exitCode, held.stderr).toBe(0);
    expect(waiter.exitCode, waiter.stderr).toBe(0);
    expect(waiter.stderr).toMatch(new RegExp(`VM same is locked by pid ${holder.pid}; waiting`));
    expect(parseReport(held.stdout, held.stderr).steps.map((st) => st.status)).toEqual(['passed']);
    expect(parseReport(waiter.stdout, waiter.stderr).vms.map((v) => v.name)).toEqual(['same']);
  }, 600_000);
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

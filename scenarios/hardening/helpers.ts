// Shared by the crash/signal/VM-death suites: a sandbox (own vms/ and record, shared image cache and keys), the
// CLI as a real subprocess, a host-side beacon the guest calls when a step really started, and ways to see what a
// killed harness left behind (processes naming a dir, lock dirs, run rows).
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import Database from 'better-sqlite3';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessPaths } from '../../harness/paths.js';
import { pidAlive } from '../../harness/lock.js';

export interface Sandbox {
  dir: string;
  vmsDir: string;
  db: string;
  env: Record<string, string>;
}

/** A fresh temp project: VMs and the SQLite record isolated, image cache and keys shared with the project. */
export async function makeSandbox(prefix: string): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), `harness-${prefix}-`));
  // libvirt's qemu runs as libvirt-qemu and must traverse to the VM dir (mkdtemp makes it 0700).
  await chmod(dir, 0o711);
  const vmsDir = join(dir, 'vms');
  const db = join(vmsDir, 'harness.db');
  const env = { HARNESS_VMS_DIR: vmsDir, HARNESS_DB: db, HARNESS_CACHE_DIR: harnessPaths().cache, HARNESS_KEYS_DIR: harnessPaths().keys, NO_COLOR: '1' };
  return { dir, vmsDir, db, env };
}

/** One CLI command to completion (e.g. the "next command" that must reap). */
export function cli(sb: Sandbox, args: string[], timeoutMs = 120_000) {
  return execa('node', ['bin/harness.js', ...args], { reject: false, env: sb.env, timeout: timeoutMs, all: true });
}

export interface LiveRun {
  proc: ResultPromise<{ reject: false; all: true }>;
  pid: number;
  /** Everything printed so far (stdout and stderr interleaved). */
  output(): string;
  waitForOutput(re: RegExp, timeoutMs: number): Promise<void>;
}

/** `harness run FILE` in the background, so a test can inject a fault while it runs. */
export function startRun(sb: Sandbox, file: string, extra: string[] = []): LiveRun {
  const proc = execa('node', ['bin/harness.js', 'run', file, ...extra], { reject: false, env: sb.env, all: true, timeout: 600_000 });
  let out = '';
  proc.all.on('data', (d: Buffer) => (out += d.toString()));
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    waitForOutput: async (re, timeoutMs) => {
      await waitFor(`output matching ${re}`, timeoutMs, async () => {
        if (proc.exitCode !== null) throw new Error(`harness exited (${proc.exitCode}) before printing ${re}:\n${out}`);
        return re.test(out) || undefined;
      });
    },
  };
}

/** Polls `check` until it returns a value; an error thrown by `check` ends the wait at once (e.g. the run exited). */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}, in vain`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * An HTTP listener on 127.0.0.1 that a guest reaches as 10.0.2.2 (user-mode networking). A step that starts with
 * `wget http://10.0.2.2:PORT/NAME` proves to the host that it is running, without another SSH session.
 */
export async function startBeacon() {
  const hits = new Set<string>();
  const server = createServer((req, res) => {
    hits.add(req.url ?? '');
    res.end('ok\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    /** Shell snippet for a step: tells the beacon `name` started. */
    call: (name: string) => `wget -q -O /dev/null http://10.0.2.2:${port}/${name}`,
    waitHit: (name: string, timeoutMs: number, run?: LiveRun) =>
      waitFor(`the guest to call the beacon /${name}`, timeoutMs, async () => {
        if (run && run.proc.exitCode !== null) throw new Error(`harness exited (${run.proc.exitCode}) first:\n${run.output()}`);
        return hits.has(`/${name}`) || undefined;
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Live processes whose command line mentions `needle` (e.g. a VM dir): what a reaper must (or must not) kill. */
export async function pidsMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle) && pidAlive(Number(e))) pids.push(Number(e));
  }
  return pids;
}

/** The pid in vms/<name>/<name>.pid once it exists and is alive. */
export async function qemuPid(vmsDir: string, name: string): Promise<number | undefined> {
  const text = await readFile(join(vmsDir, name, `${name}.pid`), 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}

/** What is in a vms dir, split into VM/container state dirs and lock dirs (the record file is left out). */
export async function vmsContents(vmsDir: string): Promise<{ dirs: string[]; locks: string[] }> {
  const entries = await readdir(vmsDir, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => !e.name.startsWith('harness.db'));
  return {
    dirs: names.filter((e) => e.isDirectory() && !e.name.endsWith('.lock')).map((e) => e.name).sort(),
    locks: names.filter((e) => e.name.includes('.lock')).map((e) => e.name).sort(),
  };
}

export interface RunRow {
  id: string;
  status: string;
  pid: number | null;
  exit_code: number | null;
  error: string | null;
}

/** The runs table read directly (not through `harness runs`, which would itself mark dead runs aborted). */
export function runRows(db: string): RunRow[] {
  if (!existsSync(db)) return [];
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return h.prepare('SELECT id, status, pid, exit_code, error FROM runs ORDER BY started_at').all() as RunRow[];
  } finally {
    h.close();
  }
}

export interface ForcedTeardown {
  vm: string;
  killedPids: number[];
  killedContainers: string[];
}

/**
 * The record's forced teardowns (teardown.forced, on the VM timeline): machines the second signal's force path
 * ended itself, with the pids it SIGKILLed and the containers it removed at once. Only that path writes them.
 */
export function forcedTeardowns(db: string): ForcedTeardown[] {
  if (!existsSync(db)) return [];
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const rows = h.prepare('SELECT vm, details FROM vm_events WHERE details IS NOT NULL ORDER BY id').all() as Array<{ vm: string; details: string }>;
    return rows
      .map((r) => ({ vm: r.vm, d: JSON.parse(r.details) as { forced?: boolean; killedPids: number[]; killedContainers: string[] } }))
      .filter((r) => r.d.forced === true)
      .map((r) => ({ vm: r.vm, killedPids: r.d.killedPids, killedContainers: r.d.killedContainers }));
  } finally {
    h.close();
  }
}

export async function writeScenario(sb: Sandbox, name: string, yaml: string): Promise<string> {
  const file = join(sb.dir, `${name}.yaml`);
  await writeFile(file, yaml);
  return file;
}

/** SIGKILL and wait for the exit (the harness gets no chance to clean up: that is the point). */
export async function hardKill(run: LiveRun): Promise<void> {
  process.kill(run.pid, 'SIGKILL');
  await run.proc;
}

/** Best effort at the end of a suite: kill anything still naming the sandbox (a failed test must not leak qemu). */
export async function killLeftovers(needle: string): Promise<void> {
  for (const pid of await pidsMentioning(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** A pid that certainly belongs to no live process: one of a child that has exited. */
export async function deadPid(): Promise<number> {
  const p = execa('true');
  await p;
  return p.pid!;
}

/**
 * The shared setup of the fault suites: one beacon for the file, and sandboxes whose leftovers are killed
 * after the last test even when a test failed half-way.
 */
export function useFaultSuite(): { beacon: Pick<Beacon, 'call' | 'waitHit'>; sandbox: (prefix: string) => Promise<Sandbox> } {
  let live: Beacon | undefined;
  const sandboxes: Sandbox[] = [];
  beforeAll(async () => {
    live = await startBeacon();
  });
  afterAll(async () => {
    await live?.close();
    for (const sb of sandboxes) await killLeftovers(sb.dir);
  });
  const need = () => {
    if (!live) throw new Error('the beacon is not started (use it inside a test)');
    return live;
  };
  return {
    beacon: { call: (name) => need().call(name), waitHit: (name, timeoutMs, run) => need().waitHit(name, timeoutMs, run) },
    sandbox: async (prefix) => {
      const sb = await makeSandbox(prefix);
      sandboxes.push(sb);
      return sb;
    },
  };
}

type Beacon = Awaited<ReturnType<typeof startBeacon>>;

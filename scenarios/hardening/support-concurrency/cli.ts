// Runs `node bin/harness.js` as a user would, with an explicit environment, and parses what tests need from it.
import { execa, type ResultPromise } from 'execa';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunReport {
  id: string;
  exitCode: number;
  error?: string;
  vms: Array<{ name: string; sshPort: number | null }>;
  timeline: Array<{ message: string; details?: { cacheKey?: string; reused?: boolean; path?: string } }>;
  logs: Array<{ level: string; message: string }>;
  steps: Array<{ name: string; status: string }>;
}

/** Starts `harness ARGS` (not awaited) with `env` on top of a minimal environment; never rejects. */
export function harness(args: string[], env: Record<string, string>, timeoutMs = 400_000): ResultPromise<{ reject: false; timeout: number }> {
  return execa('node', ['bin/harness.js', ...args], { reject: false, timeout: timeoutMs, env: { NO_COLOR: '1', ...env } });
}

/** The --json report a run printed on stdout; throws with the output when there is none (the test shows why). */
export function parseReport(stdout: string, stderr: string): RunReport {
  try {
    return JSON.parse(stdout) as RunReport;
  } catch {
    throw new Error(`expected a JSON run report on stdout, found:\n${stdout.slice(-2000)}\n--- stderr ---\n${stderr.slice(-2000)}`);
  }
}

/** The image step of a run: which cache entry it used and whether it built it. */
export function imageOf(report: RunReport): { cacheKey?: string; reused?: boolean; path?: string } {
  return report.timeline.find((t) => t.details?.cacheKey !== undefined)?.details ?? {};
}

/** Writes a one-VM scenario booting the tiny image, for the concurrency rounds. */
export async function writeScenario(dir: string, file: string, opts: { vm: string; bootTimeout: string; steps?: string }): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, file);
  const steps = opts.steps ?? `  - name: never reached\n    on: ${opts.vm}\n    run: "true"\n`;
  await writeFile(path, `name: ${file.replace(/\.ya?ml$/, '')}\nvms:\n  ${opts.vm}: { image: { builder: tiny }, memory: 256M, accel: tcg, bootTimeout: ${opts.bootTimeout} }\nsteps:\n${steps}teardown: destroy\n`);
  return path;
}

/** Every regular file under `root` (recursively), skipping sockets and the like. */
export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

export const readText = (p: string) => readFile(p, 'utf8');

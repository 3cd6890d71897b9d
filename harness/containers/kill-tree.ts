// Kills a host process and all its descendants. Why: the Docker API cannot kill an exec'd process, so a timed-out
// `exec` is killed through its host pid (ExecInspect.Pid), which works when the engine runs on this host.
import { readdir, readFile } from 'node:fs/promises';

/** Sends SIGKILL to `pid` and every descendant; returns the pids signalled (empty when `pid` is not visible). */
export async function killProcessTree(pid: number): Promise<number[]> {
  if (!Number.isInteger(pid) || pid <= 1) return [];
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid) follows the command name in parentheses, which may itself contain spaces or parens.
    const m = /\) \S+ (\d+)/.exec(stat.slice(stat.lastIndexOf(')')));
    if (!m) continue;
    const ppid = Number(m[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const all: number[] = [];
  const visit = (p: number) => {
    all.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  const signalled: number[] = [];
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
      signalled.push(p);
    } catch {
      /* already gone, or not ours to see */
    }
  }
  return signalled;
}

// Commands that look inside a guest with nothing but busybox (no ss, no pgrep), and parsers for what they print.
// Parsing happens here, not in the guest, so it can be tested without a VM.
import { shQuote } from '../ssh/shell-quote.js';

/** Prints the kernel's TCP socket tables; a missing tcp6 (IPv6 off) is fine. */
export const LISTENING_PORTS_COMMAND = 'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; true';

/** TCP ports in LISTEN state (st 0A) in /proc/net/tcp{,6} text. */
export function parseListeningPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st ...; header lines have "local_address" in f[1]
    if (f.length < 4 || f[3] !== '0A') continue;
    const m = /:([0-9A-Fa-f]{4})$/.exec(f[1]!);
    if (m) ports.add(parseInt(m[1]!, 16));
  }
  return ports;
}

/**
 * One line per process: "pid<TAB>comm<TAB>cmdline with spaces". Uses only sh builtins, cat-free `read` and `tr`,
 * and skips the probe's own shell.
 */
export const PROCESS_LIST_COMMAND =
  `for p in /proc/[0-9]*; do n=\${p#/proc/}; [ "$n" = "$$" ] && continue; ` +
  `read -r c 2>/dev/null < "$p/comm" || continue; a=$(tr '\\000' ' ' 2>/dev/null < "$p/cmdline"); ` +
  `printf '%s\\t%s\\t%s\\n' "$n" "$c" "$a"; done`;

export interface GuestProcess {
  pid: number;
  comm: string;
  cmdline: string;
}

export function parseProcessList(text: string): GuestProcess[] {
  const out: GuestProcess[] = [];
  for (const line of text.split('\n')) {
    const [pid, comm, cmdline = ''] = line.split('\t');
    if (!pid || comm === undefined || !/^\d+$/.test(pid)) continue;
    out.push({ pid: Number(pid), comm, cmdline: cmdline.trim() });
  }
  return out;
}

/**
 * A process matches NAME when its comm or the base name of its argv[0] is NAME (comm is cut to 15 characters
 * by the kernel), or, for a NAME with a space or slash, when its command line contains NAME.
 */
export function findProcesses(list: GuestProcess[], name: string): GuestProcess[] {
  return list.filter((p) => {
    const argv0 = p.cmdline.split(' ')[0] ?? '';
    const base = argv0.slice(argv0.lastIndexOf('/') + 1);
    if (p.comm === name || base === name) return true;
    if (name.length > 15 && p.comm === name.slice(0, 15)) return true;
    return /[ /]/.test(name) && p.cmdline.includes(name);
  });
}

export function fileExistsCommand(path: string): string {
  return `test -e ${shQuote(path)}`;
}

export function fileContentCommand(path: string): string {
  return `cat ${shQuote(path)}`;
}

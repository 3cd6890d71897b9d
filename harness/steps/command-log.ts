// Every command a step runs, line by line on the bus as vm.log events, so the record's command_logs hold what
// VMs printed (not only containers): stream 'command' for the command line (when it starts) and notes, then
// 'stdout' and 'stderr' for its output (when it ends). Bounded: the run keeps its events in memory, so per command
// at most the last COMMAND_LOG_LINES lines / COMMAND_LOG_BYTES of each stream go out, whatever the guest printed;
// the recorder then prunes command_logs to its per-VM cap.
import type { EmittedEvent } from '../events.js';
import type { ExecOptions, ExecResult, Target } from '../targets/target.js';
import { tailText } from './result.js';
import { truncationNotes } from './truncation.js';

/** Output lines per stream per command that reach the bus (the store's default per-VM cap). */
export const COMMAND_LOG_LINES = 500;
/** And at most this many bytes of them. */
export const COMMAND_LOG_BYTES = 64 * 1024;
/** Lines of a (multi-line) command line logged before the rest is elided. */
const COMMAND_LINES = 50;

type Emit = (e: EmittedEvent) => void;

/** The command line as it starts: "$ first line", "> further lines". */
export function commandStartEvents(vm: string, command: string): EmittedEvent[] {
  const lines = command.split('\n');
  const shown = lines.slice(0, COMMAND_LINES).map((l, i) => (i === 0 ? `$ ${l}` : `> ${l}`));
  if (lines.length > COMMAND_LINES) shown.push(`[${lines.length - COMMAND_LINES} more lines of the command not logged]`);
  return shown.map((line) => ({ type: 'vm.log', vm, stream: 'command', line }));
}

/** What the command printed: notes on anything cut first, then the logged lines of stdout, then of stderr. */
export function commandOutputEvents(vm: string, r: ExecResult): EmittedEvent[] {
  const events: EmittedEvent[] = truncationNotes(r.droppedBytes, r.maxOutputBytes).map((line) => ({ type: 'vm.log', vm, stream: 'command', line }));
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = r[stream];
    if (text === '') continue;
    const all = lineCount(text);
    const lines = tailText(text, COMMAND_LOG_LINES, COMMAND_LOG_BYTES).split('\n');
    if (lines.length < all) events.push({ type: 'vm.log', vm, stream: 'command', line: `${stream}: logged the last ${lines.length} of ${all} lines` });
    for (const line of lines) events.push({ type: 'vm.log', vm, stream, line: line.replace(/\r$/, '') });
  }
  return events;
}

/** `target` with every exec logged to `emit` under machine name `vm`; copies pass through unlogged. */
export function loggingTarget(target: Target, vm: string, emit: Emit): Target {
  return {
    name: target.name,
    kind: target.kind,
    async exec(command: string, options?: ExecOptions): Promise<ExecResult> {
      options?.signal?.throwIfAborted(); // nothing runs, so nothing is logged
      for (const e of commandStartEvents(vm, command)) emit(e);
      const r = await target.exec(command, options);
      for (const e of commandOutputEvents(vm, r)) emit(e);
      return r;
    },
    copyTo: (from, to, options) => target.copyTo(from, to, options),
    copyFrom: (from, to, options) => target.copyFrom(from, to, options),
    close: () => target.close(),
  };
}

function lineCount(text: string): number {
  const trimmed = text.endsWith('\n') ? text.slice(0, -1) : text;
  let n = 1;
  for (let i = trimmed.indexOf('\n'); i !== -1; i = trimmed.indexOf('\n', i + 1)) n++;
  return n;
}

// `harness` entry: dispatches to a command and maps typed errors to exit codes
// (0 ok, 1 a step failed, 2 invalid input, 3 infrastructure failure).
import { HarnessError } from '../errors.js';
import { UsageError, type CliIo } from './command.js';
import { commands } from './commands/index.js';
import { harnessPaths } from '../paths.js';

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(helpText());
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(`harness: unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.usage + '\n');
    return 0;
  }
  try {
    // Crash recovery before any command: orphans of a killed harness are reaped by the marks it left, and each
    // reaped VM is recorded in its run through the SQLite recorder (loaded here, not by the core).
    const [{ reapOrphans }, { openRunAppender }] = await Promise.all([import('./extensions.js'), import('../../reporters/sqlite-recorder.js')]);
    await reapOrphans(harnessPaths(io.env, io.cwd), (m) => io.err(`harness: ${m}\n`), openRunAppender);
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`harness ${name}: ${e.message}\n\n${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof HarnessError) {
      io.err(`harness ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`harness ${name}: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 3;
  }
}

function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'usage: harness <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'harness <command> --help shows the options of one command.',
    '',
  ].join('\n');
}

export function processIo(): CliIo {
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
  };
}

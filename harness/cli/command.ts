// The shape of a CLI command. Each command lives in its own file under commands/ and is listed in commands/index.ts.

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isTTY: boolean;
}

export interface CliCommand {
  /** First word(s) on the command line, e.g. "run", "vm", "runs", "iso", "db", "doctor". */
  name: string;
  /** Full usage text printed for --help and on usage errors. */
  usage: string;
  /** Returns the process exit code. Throw a HarnessError to let main map it to its exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Thrown for a malformed command line (exit 2, usage printed). */
export class UsageError extends Error {
  readonly exitCode = 2;
}

// Where a command is on PATH, found in-process: spawning `tool --version` just to learn a tool exists costs
// 30-70 ms a call (qemu loads its libraries), and that sits inside every time-to-SSH.
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The executable `cmd` resolves to (as execa would find it), or undefined. Paths with a slash are checked as they are. */
export async function findOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const executable = (p: string) => access(p, constants.X_OK).then(() => true, () => false);
  if (cmd.includes('/')) return (await executable(cmd)) ? cmd : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && (await executable(join(dir, cmd)))) return join(dir, cmd);
  }
  return undefined;
}

// Runs the host tools the image builders depend on. A missing tool becomes ProviderUnavailable carrying the
// exact apt command that installs it, so `doctor` and a failed build say the same thing.
import { execa } from 'execa';
import { ProviderUnavailable } from '../harness/errors.js';

/** The Debian package that provides each tool we shell out to. */
export const TOOL_PACKAGES: Record<string, string> = {
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  dropbearconvert: 'dropbear-bin',
  'grub-mkrescue': 'grub-common grub-pc-bin xorriso mtools',
  xorriso: 'xorriso',
  osirrox: 'xorriso',
  ldd: 'libc-bin',
  tar: 'tar',
};

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd args` and returns its output. A missing binary throws ProviderUnavailable (with the install
 * command); a non-zero exit throws an Error naming the command, its exit code and the stderr tail.
 */
export async function runTool(
  component: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const r = await execa(cmd, args, {
    cwd: opts.cwd,
    cancelSignal: opts.signal,
    env: opts.env,
    reject: false,
    stripFinalNewline: true,
  });
  if ((r as { code?: string }).code === 'ENOENT') {
    throw toolMissing(component, cmd);
  }
  if (r.isCanceled) throw new Error(`${cmd} was cancelled`, { cause: opts.signal?.reason });
  if (r.exitCode !== 0) {
    const tail = String(r.stderr || r.stdout).split('\n').slice(-15).join('\n');
    throw new Error(`\`${[cmd, ...args].join(' ')}\` exited with ${r.exitCode ?? r.signal}:\n${tail}`);
  }
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function toolMissing(component: string, cmd: string): ProviderUnavailable {
  const pkg = TOOL_PACKAGES[cmd];
  return new ProviderUnavailable(component, `\`${cmd}\` was not found on PATH`, pkg ? `apt-get install -y ${pkg}` : undefined);
}

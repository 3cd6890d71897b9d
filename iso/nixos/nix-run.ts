// Runs the nix CLI for an ISO build: `nix build` (flake mode) or `nixos-generate` (classic mode). Streams
// stderr line by line to onProgress (nix prints progress and, with -L, build logs there), keeps the tail
// for errors, and turns a failure into a typed error. stdout carries the result (JSON or the image path).
import { findOnPath } from '../../harness/find-on-path.js';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { classifyNixFailure, nixMissing } from './nix-errors.js';
import { SYSTEM } from './nix-config.js';

export interface NixRunOptions {
  cwd: string;
  /** Environment for nix (PATH decides which nix runs); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** Extra arguments, e.g. ['--offline'] or ['--option', 'substituters', '']. */
  extraArgs?: readonly string[];
}

/** Lines of stderr kept for classification (the error tail shows the last 30 of them). */
const KEEP_LINES = 400;
export const EXPERIMENTAL_FLAGS = ['--extra-experimental-features', 'nix-command flakes'] as const;

/**
 * `nix build path:<dir>#<attr> --json -L -o <outLink>`; returns the `out` store path. The experimental
 * features flag is always passed, so a nix without flakes in its config still builds.
 */
export async function nixFlakeBuild(flakeDir: string, attr: string, outLink: string, opts: NixRunOptions): Promise<string> {
  // path: (not .) so a build folder inside a git work tree is read as a plain folder, git-ignored files included.
  const args = [...EXPERIMENTAL_FLAGS, 'build', `path:${flakeDir}#${attr}`, '--json', '-L', '-o', outLink, ...(opts.extraArgs ?? [])];
  const { stdout } = await runStreaming('nix', args, opts);
  return parseBuildJson(stdout, `nix ${args.join(' ')}`);
}

/** `nixos-generate -f iso -c <config> -I <nixpkgs> --system x86_64-linux -o <outLink>`; returns the image path. */
export async function nixosGenerate(configPath: string, nixpkgsSearchPath: string, outLink: string, opts: NixRunOptions): Promise<string> {
  const args = ['-f', 'iso', '-c', configPath, '-I', nixpkgsSearchPath, '--system', SYSTEM, '-o', outLink, ...(opts.extraArgs ?? [])];
  const { stdout } = await runStreaming('nixos-generate', args, opts);
  const path = stdout.trim().split('\n').filter(Boolean).at(-1);
  if (!path) throw classifyNixFailure(`nixos-generate ${args.join(' ')}`, 0, ['nixos-generate exited 0 but printed no image path on stdout']);
  return path;
}

/** `[{"drvPath": ..., "outputs": {"out": "/nix/store/..."}}]` -> the out path. */
export function parseBuildJson(stdout: string, command: string): string {
  try {
    const parsed = JSON.parse(stdout) as Array<{ outputs?: Record<string, string> }>;
    const out = parsed[0]?.outputs?.out;
    if (typeof out === 'string' && out.startsWith('/')) return out;
  } catch {
    /* fall through to the typed error */
  }
  throw classifyNixFailure(command, 0, [`expected nix build --json to print [{"outputs":{"out":"/nix/store/..."}}], got: ${stdout.slice(0, 200) || '(nothing)'}`]);
}

async function runStreaming(cmd: string, args: string[], opts: NixRunOptions): Promise<{ stdout: string }> {
  const env = opts.env ?? process.env;
  if (!(await findOnPath(cmd, env))) throw nixMissing(cmd);
  const child = execa(cmd, args, { cwd: opts.cwd, env, extendEnv: false, reject: false, cancelSignal: opts.signal, forceKillAfterDelay: 5000, stdin: 'ignore' });
  const lines: string[] = [];
  const rl = createInterface({ input: child.stderr! });
  rl.on('line', (line) => {
    lines.push(line);
    if (lines.length > KEEP_LINES) lines.shift();
    opts.onProgress?.(line);
  });
  const r = await child;
  rl.close();
  if ((r as { code?: string }).code === 'ENOENT') throw nixMissing(cmd);
  if (r.isCanceled) throw new Error(`${cmd} was cancelled`, { cause: opts.signal?.reason });
  if (r.exitCode !== 0) throw classifyNixFailure(`${cmd} ${args.map(quoteArg).join(' ')}`, r.exitCode, lines);
  return { stdout: String(r.stdout) };
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./#-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

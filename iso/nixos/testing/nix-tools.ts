// Test helpers: the real nix-instantiate (Debian nix-bin) for parsing and evaluating generated Nix, and the
// folder of stand-in `nix` / `nixos-generate` scripts (clearly labelled stand-ins, see bin/standin-lib.sh).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEd25519KeyPair } from '../../../harness/ssh/keygen.js';

export const STANDIN_BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin');

/** The real nix-instantiate, or a clear failure saying how to install it (tests must not pass without it). */
export function realNixInstantiate(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v nix-instantiate'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('these tests need the real nix-instantiate: apt-get install -y nix-bin');
  }
}

/** `nix-instantiate --parse FILE`; returns stderr on failure, undefined on success. */
export function parseError(file: string): string | undefined {
  try {
    execFileSync(realNixInstantiate(), ['--parse', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e);
  }
}

/** Evaluates a Nix expression strictly to JSON with the real evaluator (no store writes for plain data). */
export function evalJson(expr: string, cwd?: string): unknown {
  const out = execFileSync(realNixInstantiate(), ['--eval', '--strict', '--json', '-E', expr], { encoding: 'utf8', cwd });
  return JSON.parse(out);
}

/** A user keypair whose public comment is full of Nix and YAML metacharacters. */
export function trickyUserKey(): { privateKey: string; publicKey: string } {
  const pair = generateEd25519KeyPair();
  const [type, body] = pair.public.trim().split(/\s+/);
  return { privateKey: pair.private, publicKey: `${type} ${body} o'brien "quoted" \${builtins.currentTime} back\\slash $HOME: #x` };
}

/**
 * A fragment of an OpenSSH private key file that holds secret bytes (every such file starts with the same
 * header, so the start would match any key): what must never appear in any image or generated file.
 */
export function privateKeySecret(privateKey: string): string {
  const body = privateKey.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  return body.slice(-120, -40);
}

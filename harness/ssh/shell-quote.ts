// POSIX sh quoting for paths and values we splice into remote commands (busybox sh, dash, bash alike).
import { HarnessError } from '../errors.js';

/** Single-quotes a string for sh: `it's` -> `'it'\''s'`. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `export K='v'; ` prefixes for an env map; SSH `env` requests are refused by most servers (AcceptEnv, dropbear). */
export function envPrefix(env: Record<string, string> | undefined): string {
  if (!env) return '';
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new HarnessError(`expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got ${JSON.stringify(k)}`);
      return `export ${k}=${shQuote(v)}; `;
    })
    .join('');
}

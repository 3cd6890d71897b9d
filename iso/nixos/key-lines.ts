// Authorised public keys for an image, checked before anything is generated: a malformed key is reported
// with the file and line it came from and what is wrong; a private key is refused without echoing it.
import { readFile } from 'node:fs/promises';
import { ScenarioError, type ScenarioIssue } from '../../harness/errors.js';
import { validatePublicKey } from '../../harness/scenario/ssh-key-format.js';

/** One key line and where it came from (1-based line in its key file). */
export interface KeyLine {
  key: string;
  file: string;
  line: number;
}

/** Reads an authorized_keys-style file (blank lines and # comments skipped). Throws ScenarioError naming file:line. */
export async function readPublicKeyFile(path: string): Promise<KeyLine[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ScenarioError([{ file: path, path: 'ssh key file', expected: 'a readable public key file (.pub)', found: e.code ?? e.message }], { cause: e });
  });
  const lines = text.split(/\r?\n/);
  const privateAt = lines.findIndex((l) => /PRIVATE KEY/.test(l));
  if (privateAt >= 0) {
    // Say nothing of the content: it is a secret.
    throw new ScenarioError([
      { file: path, line: privateAt + 1, path: 'ssh key file', expected: 'a public key file (e.g. id_ed25519.pub)', found: 'a private key (its content is not shown)' },
    ]);
  }
  const keys = lines.map((key, i) => ({ key: key.trim(), file: path, line: i + 1 })).filter((k) => k.key && !k.key.startsWith('#'));
  if (keys.length === 0) {
    throw new ScenarioError([{ file: path, path: 'ssh key file', expected: 'at least one public key line', found: 'no key lines' }]);
  }
  checkAuthorizedKeys(keys, path);
  return keys;
}

/**
 * Validates every key (all problems reported at once) and returns the key lines. Plain strings are scenario
 * entries, reported as `ssh.authorizedKeys[i]`.
 */
export function checkAuthorizedKeys(keys: ReadonlyArray<string | KeyLine>, file = '(image config)'): string[] {
  const issues: ScenarioIssue[] = [];
  keys.forEach((k, i) => {
    const line = typeof k === 'string' ? { key: k.trim(), file, line: undefined } : k;
    const problem = /PRIVATE KEY/.test(line.key) ? 'a public key (this is a private key; it never goes into an image)' : validatePublicKey(line.key);
    if (!problem) return;
    issues.push({
      file: line.file,
      ...(line.line !== undefined ? { line: line.line } : {}),
      path: typeof k === 'string' ? `ssh.authorizedKeys[${i}]` : 'ssh key',
      expected: problem,
      found: /PRIVATE KEY/.test(line.key) ? 'a private key (not shown)' : JSON.stringify(line.key.length > 60 ? `${line.key.slice(0, 60)}...` : line.key),
    });
  });
  if (keys.length === 0) issues.push({ file, path: 'ssh.authorizedKeys', expected: 'at least one authorised public key', found: 'none' });
  if (issues.length) throw new ScenarioError(issues);
  return keys.map((k) => (typeof k === 'string' ? k.trim() : k.key));
}

// Secrets never reach the database, the terminal or a report: every text the recorder stores and every
// reporter prints goes through `redact`. It knows the shapes secrets come in (PEM/OpenSSH private key
// blocks, Proxmox API tokens, bearer tokens, `password=...`/`token: ...`) plus any value registered at
// runtime with `registerSecret` (API secrets read from the environment, generated passwords).

export const REDACTED = '[REDACTED]';

/** Values shorter than this are not registered: redacting "a" or "42" everywhere would wreck every line. */
const MIN_SECRET_LENGTH = 4;

const secrets = new Set<string>();

const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
const PVE_TOKEN = /(PVEAPIToken=)[^\s"'`]+/gi;
const BEARER = /(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*/gi;
// key=value, key: value, "key":"value" where the key names a secret (password, passwd, token, secret, api key).
const SECRET_ASSIGNMENT =
  /(\b[A-Za-z0-9_.-]*(?:password|passwd|passphrase|token|secret|api[_-]?key)[A-Za-z0-9_-]*)(["']?\s*[=:]\s*["']?)(?!\[REDACTED\])([^\s"'&,;})\]]+)/gi;
// Cheap pre-check so the common line (no secret-looking word at all) costs one scan.
const MAYBE_SECRET = /PRIVATE KEY|PVEAPIToken|bearer|pass(?:word|wd|phrase)|token|secret|api[_-]?key/i;
const SECRET_KEY_NAME = /password|passwd|passphrase|token|secret|api[_-]?key|private[_-]?key|authorization/i;

/** Registers a value that must never be stored or printed (plus its URL- and JSON-escaped forms). */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  for (const v of [value, value.trim(), encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
    if (v.length >= MIN_SECRET_LENGTH) secrets.add(v);
  }
}

/** Forgets every registered secret (tests; a long-lived process between unrelated runs). */
export function clearRegisteredSecrets(): void {
  secrets.clear();
}

/** Returns `text` with every known secret shape and every registered secret replaced by [REDACTED]. */
export function redact(text: string): string {
  let out = text;
  if (secrets.size > 0) {
    // Longest first, so a secret that contains another one is removed whole.
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
    }
  }
  if (!MAYBE_SECRET.test(out)) return out;
  return out
    .replace(PRIVATE_KEY_BLOCK, '[REDACTED PRIVATE KEY]')
    .replace(PVE_TOKEN, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(SECRET_ASSIGNMENT, `$1$2${REDACTED}`);
}

/** `redact` for optional text: null and undefined pass through. */
export function redactOpt(text: string | null | undefined): string | null {
  return text === null || text === undefined ? null : redact(text);
}

/**
 * Redacts a JSON-like value deeply: every string is redacted, and a string or number under a key that names
 * a secret (password, token, apiKey, ...) is replaced whole. Returns a new value; the input is untouched.
 */
export function redactDeep<T>(value: T): T {
  return walk(value) as T;
}

function walk(v: unknown): unknown {
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map(walk);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[k] = SECRET_KEY_NAME.test(k) && (typeof x === 'string' || typeof x === 'number') ? REDACTED : walk(x);
    }
    return out;
  }
  return v;
}

const BLOCK_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const BLOCK_END = /-----END [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * Redacts a stream of lines (a console, a command's output) where a private key may arrive one line at a time:
 * after a BEGIN ... PRIVATE KEY line, every line up to the matching END is replaced whole. One state per stream key.
 */
export class LineRedactor {
  private readonly inKey = new Set<string>();

  line(stream: string, text: string): string {
    if (this.inKey.has(stream)) {
      if (BLOCK_END.test(text)) this.inKey.delete(stream);
      return '[REDACTED PRIVATE KEY]';
    }
    const begin = BLOCK_BEGIN.exec(text);
    if (begin && !BLOCK_END.test(text.slice(begin.index))) {
      this.inKey.add(stream);
      return redact(text.slice(0, begin.index)) + '[REDACTED PRIVATE KEY]';
    }
    return redact(text);
  }
}

// Short "found" text for a value in an error message: its type and a truncated value, never a secret.

const MAX_TEXT = 40;

/** e.g. `string "2GB"`, `number -5`, `a list of 3 items`, `a map with keys a, b`, `nothing (the field is missing)`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'an empty value (null)';
  switch (typeof v) {
    case 'string':
      if (looksSecret(v)) return 'a private key (not shown)';
      return v === '' ? 'an empty string' : `string ${quote(v)}`;
    case 'number':
    case 'bigint':
      return `number ${String(v)}`;
    case 'boolean':
      return `boolean ${v}`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
  }
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (v instanceof Date) return 'a timestamp';
  if (v instanceof Set) return 'a set (!!set)';
  if (v instanceof Map) return 'an ordered map (!!omap)';
  if (v instanceof Uint8Array) return 'binary data (!!binary)';
  if (v instanceof RegExp) return 'a RegExp object (write the pattern as a string "/.../")';
  return describeMap(v as object);
}

function describeMap(o: object): string {
  let keys: string[];
  try {
    keys = Object.keys(o);
  } catch {
    return 'an object';
  }
  if (keys.length === 0) return 'an empty map';
  const shown = keys.slice(0, 6).map((k) => truncate(k, 20));
  return `a map with key${keys.length === 1 ? '' : 's'} ${shown.join(', ')}${keys.length > 6 ? `, ... (${keys.length} keys)` : ''}`;
}

/** A JSON-quoted, truncated string; control characters stay escaped so the message stays on one line. */
export function quote(s: string): string {
  return JSON.stringify(truncate(s, MAX_TEXT));
}

export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Private keys (and key-like blobs) are never echoed back into messages, logs or records. */
export function looksSecret(s: string): boolean {
  return /PRIVATE KEY|PuTTY-User-Key-File/.test(s);
}

// Nix literals from untrusted text (key comments, hostnames): a key comment like `"${builtins.exec}"` must stay
// text, never become Nix code. Every `$` is escaped, so `${` can never start an interpolation.

/** A Nix double-quoted string literal whose value is exactly `s`. */
export function nixString(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      case '$':
        out += '\\$';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default:
        out += ch;
    }
  }
  return out + '"';
}

/** A Nix list of string literals, one per line, indented to sit inside an attribute set. */
export function nixStringList(items: readonly string[], indent = '    '): string {
  if (items.length === 0) return '[ ]';
  return `[\n${items.map((i) => `${indent}${nixString(i)}`).join('\n')}\n${indent.slice(2)}]`;
}

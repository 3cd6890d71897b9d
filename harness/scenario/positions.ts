// Source positions for field paths in a parsed YAML document: `vms.server.memory` -> line:col of its value
// (or of its key). A path that leaves the document (a missing field) points at the deepest part that exists.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { IssuePath, Locator, Position } from './issue.js';

export function yamlLocator(doc: Document, lc: LineCounter): Locator {
  const at = (offset: number | undefined): Position => (offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset));
  return {
    locateOffset: (offset) => at(offset),
    locate(path, where) {
      return at(findOffset(doc, path, where));
    },
  };
}

/** Start offset of the node at `path` (or of its key); for a missing tail, the key that holds the deepest node found. */
function findOffset(doc: Document, path: IssuePath, where: 'key' | 'value'): number | undefined {
  let node: unknown = doc.contents;
  let fallback: number | undefined = startOf(node);
  for (let i = 0; i < path.length; i++) {
    const last = i === path.length - 1;
    node = deref(doc, node);
    const step = path[i]!;
    if (isMap(node)) {
      const pair = findPair(doc, node.items as Pair[], String(step));
      if (!pair) return fallback;
      const keyStart = startOf(pair.key);
      if (last && where === 'key') return keyStart ?? fallback;
      fallback = keyStart ?? fallback;
      node = pair.value;
      // `memory:` with nothing after it: the empty value sits after the colon; the key is the better pointer.
      if (isScalar(node) && node.value === null && (node.range?.[0] ?? 0) === (node.range?.[1] ?? 0)) {
        return fallback;
      }
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step];
      if (item === undefined) return fallback;
      node = item;
      fallback = startOf(item) ?? fallback;
    } else {
      return fallback;
    }
  }
  return startOf(node) ?? fallback;
}

/** Key -> first pair, per map: locating thousands of issues in a big map stays linear. */
const pairIndex = new WeakMap<object, Map<string, Pair>>();

function indexOf(items: Pair[]): Map<string, Pair> {
  let idx = pairIndex.get(items);
  if (!idx) {
    idx = new Map();
    for (const p of items) {
      const k = keyText(p.key);
      if (k !== undefined && !idx.has(k)) idx.set(k, p);
    }
    pairIndex.set(items, idx);
  }
  return idx;
}

/** A pair by key; also looks through `<<: *defaults` merge keys, where the value really comes from. */
function findPair(doc: Document, items: Pair[], key: string, depth = 0): Pair | undefined {
  const direct = indexOf(items).get(key);
  if (direct || depth > 5) return direct;
  const merge = indexOf(items).get('<<');
  for (const p of merge ? [merge] : []) {
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (const s of sources) {
      const m = deref(doc, s);
      if (isMap(m)) {
        const found = findPair(doc, m.items as Pair[], key, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function keyText(k: unknown): string | undefined {
  if (isScalar(k)) return k.value === null ? '' : typeof k.value === 'symbol' ? (k.value.description ?? '') : String(k.value);
  return undefined;
}

function deref(doc: Document, node: unknown): unknown {
  if (isAlias(node)) {
    try {
      return node.resolve(doc) ?? node;
    } catch {
      return node;
    }
  }
  return node;
}

function startOf(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return Array.isArray(r) ? r[0] : undefined;
}

/** The field path of the innermost node containing `offset` (used to name the field of a YAML syntax error). */
export function pathAtOffset(doc: Document, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 200; depth++) {
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => contains(p.key, offset) || contains(p.value, offset) || between(p, offset));
      if (!pair) break;
      const k = keyText(pair.key);
      if (k === undefined) break;
      path.push(k);
      if (contains(pair.key, offset)) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const idx = node.items.findIndex((it) => contains(it, offset));
      if (idx < 0) break;
      path.push(idx);
      node = node.items[idx];
    } else break;
  }
  return path;
}

function contains(node: unknown, offset: number): boolean {
  const r = (node as Node | null | undefined)?.range;
  return Array.isArray(r) && r[0] <= offset && offset < Math.max(r[2] ?? r[1], r[1] + 1);
}

function between(p: Pair, offset: number): boolean {
  const k = (p.key as Node | null)?.range;
  const v = (p.value as Node | null)?.range;
  return Array.isArray(k) && Array.isArray(v) && k[0] <= offset && offset <= v[0];
}

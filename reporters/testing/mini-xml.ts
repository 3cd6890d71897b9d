// A strict little XML reader for tests: enough of XML 1.0 to read the JUnit report back (elements, attributes,
// text, the five entities and numeric references) and to reject what a CI parser would reject (unescaped `<`/`&`,
// mismatched tags, characters XML forbids). Not a general parser: no DTD, no CDATA, no namespaces.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element. */
  text: string;
}

const FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]/;

export function parseXml(src: string): XmlElement {
  const bad = FORBIDDEN.exec(src);
  if (bad) throw new Error(`character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} is not allowed in XML (offset ${bad.index})`);
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at offset ${i}: ${JSON.stringify(src.slice(i, i + 30))}`);
  };
  const decode = (s: string): string =>
    s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (m, ref: string | undefined) => {
      if (!ref) return fail('bare & in text');
      if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
      if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      return named[ref] ?? fail(`unknown entity &${ref};`);
    });
  const skipWs = () => {
    while (/\s/.test(src[i] ?? '')) i++;
  };
  if (src.startsWith('<?xml')) i = src.indexOf('?>') + 2;
  skipWs();
  const element = (): XmlElement => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const name = /^[A-Za-z_][\w.-]*/.exec(src.slice(i))?.[0] ?? fail('expected a tag name');
    i += name.length;
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      skipWs();
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const m = /^([A-Za-z_][\w.-]*)="([^"<]*)"/.exec(src.slice(i)) ?? fail('expected attr="value"');
      if (m[1]! in el.attrs) fail(`duplicate attribute ${m[1]}`);
      // Raw newlines/tabs in attribute values are normalised to spaces by XML parsers: do the same.
      el.attrs[m[1]!] = decode(m[2]!.replace(/[\t\n\r]/g, ' '));
      i += m[0].length;
    }
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${name}>`);
      const raw = src.slice(i, lt);
      if (raw.includes('>') && raw.includes(']]>')) fail(']]> in text');
      el.text += decode(raw);
      i = lt;
      if (src.startsWith('</', i)) {
        const close = `</${name}>`;
        if (!src.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return el;
      }
      el.children.push(element());
    }
  };
  const root = element();
  skipWs();
  if (i !== src.length) fail('content after the root element');
  return root;
}

/** All descendants (depth first) with a tag name. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

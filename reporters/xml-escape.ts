// Escaping for XML and HTML output. Captured output can hold anything (escape codes, NULs, broken UTF-16), and
// XML 1.0 forbids most control characters even as character references, so text is cleaned before escaping.
import { cleanText } from './text.js';

/** Characters XML 1.0 does not allow at all: U+FFFE, U+FFFF and unpaired surrogates (C0 controls are cleaned first). */
const NOT_XML_CHAR = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text content: cleaned (no controls, redacted) and escaped. */
export function escapeXmlText(s: string): string {
  return cleanText(s)
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Attribute value in double quotes; newlines and tabs kept as references so parsers don't fold them to spaces. */
export function escapeXmlAttr(s: string): string {
  return escapeXmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** HTML text or attribute value (double-quoted). */
export function escapeHtml(s: string): string {
  return escapeXmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

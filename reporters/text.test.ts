import { describe, expect, it } from 'vitest';
import { cleanText, formatDuration, stripAnsi, Tail, tailLines } from './text.js';
import { escapeHtml, escapeXmlAttr, escapeXmlText } from './xml-escape.js';

describe('text helpers', () => {
  it('strips colour, cursor and OSC sequences from captured output', () => {
    expect(stripAnsi('\x1b[0;31mred\x1b[0m \x1b[2K\x1b[1Aup \x1b]0;title\x07done')).toBe('red up done');
  });

  it('makes control characters visible, drops CR, keeps tabs and newlines', () => {
    expect(cleanText('a\x00b\x07c\r\nd\te\x7f')).toBe('a\\x00b\\x07c\nd\te\\x7F');
  });

  it('redacts secrets before anything is printed', () => {
    expect(cleanText('Authorization: Bearer abc.def-123')).not.toContain('abc.def-123');
    expect(cleanText('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----')).not.toContain('AAAA');
  });

  it('formats durations', () => {
    expect([0, 850, 1234, 59_949, 125_000, 3_780_000].map(formatDuration)).toEqual(['0ms', '850ms', '1.2s', '59.9s', '2m05s', '1h03m']);
  });

  it('keeps tails bounded', () => {
    expect(tailLines('a\nb\nc\n', 2)).toEqual(['b', 'c']);
    const t = new Tail<number>(3);
    for (let i = 0; i < 100; i++) t.push(i);
    expect(t.toArray()).toEqual([97, 98, 99]);
    expect(t.length).toBe(3);
  });

  it('escapes XML and HTML, replacing characters XML cannot carry', () => {
    expect(escapeXmlText('<a & "b">')).toBe('&lt;a &amp; "b"&gt;');
    expect(escapeXmlAttr('x"y\'\nz\t')).toBe('x&quot;y&apos;&#10;z&#9;');
    expect(escapeXmlText('\uFFFE \uD800 ok \uD83D\uDE00')).toBe('\uFFFD \uFFFD ok \uD83D\uDE00');
    expect(escapeHtml(`<img src=x onerror='1'>`)).toBe('&lt;img src=x onerror=&#39;1&#39;&gt;');
  });
});

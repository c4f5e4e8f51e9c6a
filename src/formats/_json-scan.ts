/**
 * @module formats/_json-scan
 * Internal. A small JSON syntax scanner for the slow paths that `JSON.parse` does not serve:
 * finding where one value ends in a stream of concatenated values (Python's ConsoleSpanExporter
 * writes pretty objects back to back), and finding the exact offset and expectation of a syntax
 * error (V8's messages often carry no position). It validates syntax only; it builds nothing.
 */
import { escapedChar } from '../errors.js';

/** Result of scanning one JSON value. */
export type ScanResult =
  | { readonly ok: true; readonly end: number }
  | { readonly ok: false; readonly offset: number; readonly expected: string; readonly got: string };

const WS_SPACE = 0x20;
const WS_TAB = 0x09;
const WS_LF = 0x0a;
const WS_CR = 0x0d;

/**
 * Offset of the first non-whitespace char at or after `pos` (text length if none). A byte-order
 * mark counts as whitespace before and between values (`bom`, the default), but not inside one:
 * there JSON.parse takes only space, tab, LF and CR (RFC 8259 §2), and the callers of
 * `scanJsonValue` parse the value it accepted with JSON.parse.
 */
export function skipWhitespace(text: string, pos: number, bom = true): number {
  let i = pos;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== WS_SPACE && c !== WS_LF && c !== WS_CR && c !== WS_TAB && !(bom && c === 0xfeff)) break;
    i++;
  }
  return i;
}

function got(text: string, pos: number): string {
  if (pos >= text.length) return 'end of file';
  const ch = text[pos] ?? '';
  // A control character as `\xNN`, as the report shows one from the input: a raw one (a carriage return) would be the message's, and the terminal's, to act on.
  const code = ch.charCodeAt(0);
  return `'${ch === '\n' ? '\\n' : code < 0x20 || code === 0x7f ? escapedChar(ch) : ch}'`;
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_BODY_RE = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

/**
 * Scans one JSON value starting at `start` (leading whitespace allowed). On success `end` is the
 * offset just after the value; on failure `offset` is where the syntax broke.
 */
export function scanJsonValue(text: string, start: number): ScanResult {
  // Stack of open containers: 0x7b '{' or 0x5b '['.
  const stack: number[] = [];
  let pos = skipWhitespace(text, start);
  const fail = (expected: string): ScanResult => ({ ok: false, offset: pos, expected, got: got(text, pos) });

  const scanString = (): boolean => {
    STRING_BODY_RE.lastIndex = pos + 1;
    STRING_BODY_RE.exec(text);
    const after = STRING_BODY_RE.lastIndex;
    if (text.charCodeAt(after) !== 0x22) {
      pos = after;
      return false;
    }
    pos = after + 1;
    return true;
  };

  // Expect a value at pos; then loop closing containers.
  for (;;) {
    pos = skipWhitespace(text, pos, false);
    const c = text.charCodeAt(pos);
    if (c === 0x7b) {
      pos = skipWhitespace(text, pos + 1, false);
      if (text.charCodeAt(pos) === 0x7d) {
        pos++;
      } else {
        if (text.charCodeAt(pos) !== 0x22) return fail("a property name in double quotes or '}'");
        if (!scanString()) return fail('a closing \'"\' (unterminated or invalid string)');
        pos = skipWhitespace(text, pos, false);
        if (text.charCodeAt(pos) !== 0x3a) return fail("':' after the property name");
        pos++;
        stack.push(0x7b);
        continue;
      }
    } else if (c === 0x5b) {
      pos = skipWhitespace(text, pos + 1, false);
      if (text.charCodeAt(pos) === 0x5d) {
        pos++;
      } else {
        stack.push(0x5b);
        continue;
      }
    } else if (c === 0x22) {
      if (!scanString()) return fail('a closing \'"\' (unterminated or invalid string)');
    } else if (text.startsWith('true', pos)) {
      pos += 4;
    } else if (text.startsWith('false', pos)) {
      pos += 5;
    } else if (text.startsWith('null', pos)) {
      pos += 4;
    } else {
      NUMBER_RE.lastIndex = pos;
      if (NUMBER_RE.exec(text) === null || NUMBER_RE.lastIndex === pos) return fail('a JSON value');
      pos = NUMBER_RE.lastIndex;
    }
    // A value just ended: close containers or continue them.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return { ok: true, end: pos };
      pos = skipWhitespace(text, pos, false);
      const d = text.charCodeAt(pos);
      if (top === 0x7b) {
        if (d === 0x7d) {
          stack.pop();
          pos++;
          continue;
        }
        if (d !== 0x2c) return fail("',' or '}' after a property value");
        pos = skipWhitespace(text, pos + 1, false);
        if (text.charCodeAt(pos) !== 0x22) return fail('a property name in double quotes');
        if (!scanString()) return fail('a closing \'"\' (unterminated or invalid string)');
        pos = skipWhitespace(text, pos, false);
        if (text.charCodeAt(pos) !== 0x3a) return fail("':' after the property name");
        pos++;
        break;
      }
      if (d === 0x5d) {
        stack.pop();
        pos++;
        continue;
      }
      if (d !== 0x2c) return fail("',' or ']' after an array element");
      pos++;
      break;
    }
  }
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  let i = text.indexOf('\n');
  while (i !== -1 && i < offset) {
    line++;
    lineStart = i + 1;
    i = text.indexOf('\n', lineStart);
  }
  return { line, column: offset - lineStart + 1 };
}

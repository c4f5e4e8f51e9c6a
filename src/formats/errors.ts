/**
 * @module formats/errors
 * The one error type of the trace-format domain. Its `message` is a single line that names the
 * file, the place (line:column, line, byte offset or JSON path) and what was expected, so the CLI
 * can print it as is and exit 2 — never a stack trace.
 */

import { LatencyDoctorError } from '../errors.js';

/** A trace file that cannot be read (or, in strict mode, a part of it that had to be skipped). Exit code 2. */
export class TraceFormatError extends LatencyDoctorError {
  override readonly name = 'TraceFormatError';
  /** The file as the user named it. */
  readonly file: string;
  /** Where in the file: `12:345` (line:column), `12` (line), `byte 4096`, `$.data[0]` (JSON path, after a line when known), or '' for the whole file. */
  readonly location: string;
  /** What the reader expected there. */
  readonly expected: string;
  /** What it found instead, when known. */
  readonly got: string | undefined;

  constructor(file: string, location: string, expected: string, got?: string, hint?: string) {
    const where = location === '' ? file : location.startsWith('$') ? `${file}: ${location}` : `${file}:${location}`;
    super(`${where}: expected ${expected}${got === undefined ? '' : `, got ${got}`}${hint === undefined ? '' : ` (${hint})`}`);
    this.file = file;
    this.location = location;
    this.expected = expected;
    this.got = got;
  }
}

/** Shows a short, printable excerpt of unexpected input for an error message. */
export function describeText(text: string, max = 24): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine);
}

/** Names a JSON value's type the way error messages should (`an array`, `a string "x"`, …). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `a string ${describeText(value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `${value}`;
    case 'undefined':
      return 'nothing';
    case 'object':
      return `an object with keys {${Object.keys(value).slice(0, 6).join(', ')}${Object.keys(value).length > 6 ? ', …' : ''}}`;
    default:
      return typeof value;
  }
}

/**
 * @module formats/_process-prefix
 * Internal: trace JSON printed through a process that prefixes every output line, as Ray does
 * for actors and tasks: `(ProxyActor pid=4213) {`, `(ServeReplica:app:Model pid=77, ip=10.0.0.3)
 * "name": …`. A pretty-printed Python ConsoleSpanExporter span then spreads over many prefixed
 * lines, interleaved with other processes' output and log lines. The lines of each process are
 * put back together without the prefix, and every JSON object in them is taken out; text that
 * is not JSON (log lines) is passed over.
 * Ray's prefix: https://docs.ray.io/en/latest/ray-observability/user-guides/configure-logging.html
 */
import { lineColumn, scanJsonValue } from './_json-scan.js';

/** `(Name pid=123)` or `(Name pid=123, ip=10.0.0.1)` at the start of a line, and one space. */
const PREFIX = /^\(([^()\n]*\bpid=\d+[^()\n]*)\) ?/;

/** True when one of the first non-empty lines carries a process prefix followed by JSON. */
export function hasProcessPrefix(head: string): boolean {
  const lines = head.split('\n', 40);
  return lines.some((line) => {
    const match = PREFIX.exec(line);
    return match !== null && /^\s*[{[]/.test(line.slice(match[0].length));
  });
}

/** What `prefixedDocuments` found in a process's output. */
export interface OutputDocuments {
  /** The JSON objects and arrays, per process in the order printed. */
  readonly values: unknown[];
  /** The processes whose output ends inside one (a replica killed while printing a span). */
  readonly cut: string[];
  /** Lines of other output passed over (log lines), blank lines not counted. */
  readonly passed: number;
  /**
   * Where a span began and does not parse (another line of output printed inside it): a line
   * that is `{` alone, as ConsoleSpanExporter's pretty print opens each span, whose object breaks
   * before the output ends; its line and column (the process, in prefixed output).
   */
  readonly broken: string[];
  /** True when some line carried a process prefix. */
  readonly prefixed: boolean;
}

/**
 * The JSON objects and arrays found in a process's output, prefixed (Ray) or not (a Python
 * service's stdout as `kubectl logs` gives it: ConsoleSpanExporter's spans among the server's
 * log lines), each process's lines taken together.
 */
export function prefixedDocuments(text: string): OutputDocuments {
  const streams = new Map<string, string[]>();
  let prefixed = false;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const match = PREFIX.exec(line);
    if (match !== null) prefixed = true;
    const key = match === null ? '' : match[1]!;
    const body = match === null ? line : line.slice(match[0].length);
    const list = streams.get(key);
    if (list === undefined) streams.set(key, [body]);
    else list.push(body);
  }
  const values: unknown[] = [];
  const cut: string[] = [];
  const broken: string[] = [];
  let passed = 0;
  for (const [key, lines] of streams) {
    const joined = lines.join('\n');
    let lineStart = 0;
    while (lineStart < joined.length) {
      let next = joined.indexOf('\n', lineStart);
      if (next === -1) next = joined.length;
      const first = joined.slice(lineStart, next).search(/\S/);
      const start = first === -1 ? -1 : lineStart + first;
      if (start >= 0 && (joined[start] === '{' || joined[start] === '[')) {
        const scanned = scanJsonValue(joined, start);
        if (scanned.ok) {
          values.push(JSON.parse(joined.slice(start, scanned.end)));
          lineStart = scanned.end;
          continue;
        }
        // Text that only starts like JSON is a log line; JSON the output ends in was cut short.
        // ('' is the lines without a prefix: the driver's own beside Ray's processes, or the one process.)
        // Without prefixes there is one output: the place is the span's line and column.
        const place = (): string => {
          if (prefixed) return key;
          const { line, column } = lineColumn(joined, start);
          return `${line}:${column}`;
        };
        if (scanned.got === 'end of file' && (key !== '' || !prefixed)) cut.push(place());
        else if (joined.slice(start, next).trim() === '{') broken.push(place());
      }
      if (start >= 0) passed++;
      lineStart = next + 1;
    }
  }
  return { values, cut, passed, prefixed, broken };
}


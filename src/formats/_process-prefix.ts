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
import { scanJsonValue } from './_json-scan.js';

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

/**
 * The JSON objects and arrays found in prefixed output, per process in the order printed, and the
 * processes whose output ends inside one (a replica killed while printing a span: `cut`).
 */
export function prefixedDocuments(text: string): { values: unknown[]; cut: string[] } {
  const streams = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const match = PREFIX.exec(line);
    const key = match === null ? '' : match[1]!;
    const body = match === null ? line : line.slice(match[0].length);
    const list = streams.get(key);
    if (list === undefined) streams.set(key, [body]);
    else list.push(body);
  }
  const values: unknown[] = [];
  const cut: string[] = [];
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
        if (scanned.got === 'end of file' && key !== '') cut.push(key);
      }
      lineStart = next + 1;
    }
  }
  return { values, cut };
}

/**
 * Child process of analyze.bench.ts, so each measurement gets its own peak RSS. Plain JavaScript
 * on the built package (dist/, `npm run bench` builds first), as users run it: no TypeScript
 * loader thread in the measured process.
 *   node bench/_analyze-child.mjs baseline|baseline-document|analyze|read|scan FILE
 * `baseline-document`: one JSON.parse of the whole file (the baseline for a single JSON document).
 * `read`: the reader alone (readSpans, records; READER=full for JSON.parse per line).
 * `scan`: the reader alone as the analyzer calls it on one file (readSpanBatches: spans in our convention as column rows).
 * Prints one JSON line: elapsed ms, CPU ms of the whole process, spans seen, requests, maxRSS (bytes).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [mode, file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: _analyze-child.mjs baseline|analyze|read|scan FILE');

let spans = 0;
let requests = 0;
let started = 0;
if (mode === 'baseline') {
  started = performance.now();
  // The baseline the issue names: a bare JSON.parse of every line, nothing else.
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0) continue;
    JSON.parse(line);
    spans++;
  }
} else if (mode === 'baseline-document') {
  started = performance.now();
  JSON.parse(readFileSync(file, 'utf8'));
} else if (mode === 'scan') {
  const { readSpanBatches } = await import('../dist/formats/index.js');
  started = performance.now();
  const reader = readSpanBatches(file, { reader: process.env['READER'] === 'full' ? 'full' : 'fast' });
  for (let next = await reader.next(); next.done !== true; next = await reader.next()) spans += next.value.length;
} else if (mode === 'read') {
  const { readSpans } = await import('../dist/formats/index.js');
  started = performance.now();
  const reader = readSpans(file, { attributes: 'analysis', reader: process.env['READER'] === 'full' ? 'full' : 'fast' });
  for (let next = await reader.next(); next.done !== true; next = await reader.next()) spans += next.value.length;
} else {
  const { analyzeFiles } = await import('../dist/analyzer/index.js');
  started = performance.now();
  const idle = Number(process.env['IDLE'] ?? 0);
  // THREADS: reader threads (1: all on the main thread); unset: the analyzer's default.
  const threads = Number(process.env['THREADS'] ?? 0);
  const result = await analyzeFiles([file], { diagnose: false, ...(threads > 0 ? { threads } : {}), reader: process.env['READER'] === 'full' ? 'full' : 'fast', ...(idle > 0 ? { idleSpans: idle } : {}) });
  spans = result.spans;
  requests = result.requests;
}
const elapsedMs = performance.now() - started;
const usage = process.resourceUsage();
// CPU time (all threads) next to wall time: on a busy machine it is the steadier figure.
const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
console.log(JSON.stringify({ mode, elapsedMs, cpuMs, spans, requests, maxRssBytes: usage.maxRSS * 1024 }));

/**
 * Child process of analyze.bench.ts, so each measurement gets its own peak RSS:
 *   node --import tsx bench/_analyze-child.ts baseline|analyze FILE
 * Prints one JSON line: elapsed ms, spans seen, requests, maxRSS (bytes).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { analyzeFiles } from '../src/analyzer/index.js';

const [mode, file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: _analyze-child.ts baseline|analyze FILE');

const started = performance.now();
let spans = 0;
let requests = 0;
if (mode === 'baseline') {
  // The baseline the issue names: a bare JSON.parse of every line, nothing else.
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let parsed = 0;
  for await (const line of lines) {
    if (line.length === 0) continue;
    JSON.parse(line);
    parsed++;
  }
  spans = parsed;
} else {
  const result = await analyzeFiles([file], { diagnose: false });
  spans = result.spans;
  requests = result.requests;
}
const elapsedMs = performance.now() - started;
console.log(JSON.stringify({ mode, elapsedMs, spans, requests, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));

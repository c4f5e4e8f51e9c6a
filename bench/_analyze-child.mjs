/**
 * Child process of analyze.bench.ts, so each measurement gets its own peak RSS. Plain JavaScript
 * on the built package (dist/, `npm run bench` builds first), as users run it: no TypeScript
 * loader thread in the measured process.
 *   node bench/_analyze-child.mjs baseline|baseline-document|analyze|read|scan FILE
 * `baseline-document`: one JSON.parse of the whole file (the baseline for a single JSON document).
 * `read`: the reader alone (readSpans, records, with the analyzer's attribute projection and span events; READER=full for JSON.parse per line).
 * `scan`: the reader alone as the analyzer calls it on one file (readSpanBatches: spans in our convention as column rows).
 * `analyze`: what `latency-doctor analyze` runs, diagnosis included (DIAGNOSE=0: without it).
 * Prints one JSON line: elapsed ms; CPU ms (all threads) over the same interval as the elapsed
 * time, from the first byte read to the result, and of it the main thread's (Linux only: the
 * rest is V8's compiler and garbage collector threads, and libuv's file reads); start-up CPU ms
 * before it (Node, and the analyzer's modules: paid once per run whatever the file's size);
 * spans seen, requests, maxRSS (bytes).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [mode, file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: _analyze-child.mjs baseline|analyze|read|scan FILE');

let spans = 0;
let requests = 0;
let started = 0;
/** CPU used when the measured interval starts (process.cpuUsage: every thread of the process). */
let cpuAtStart = { user: 0, system: 0 };
/**
 * The main thread's CPU time in ms, NaN where it cannot be read. Linux's per-thread schedstat
 * (its first field: ns on a CPU; the main thread's id is the process id):
 * https://docs.kernel.org/scheduler/sched-stats.html
 */
const mainThreadCpuMs = () => {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
};
let mainCpuAtStart = Number.NaN;
const startClock = () => {
  cpuAtStart = process.cpuUsage();
  mainCpuAtStart = mainThreadCpuMs();
  started = performance.now();
};
if (mode === 'baseline') {
  startClock();
  // The baseline the issue names: a bare JSON.parse of every line, nothing else.
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0) continue;
    JSON.parse(line);
    spans++;
  }
} else if (mode === 'baseline-document') {
  startClock();
  JSON.parse(readFileSync(file, 'utf8'));
} else if (mode === 'scan') {
  const { readSpanBatches } = await import('../dist/formats/index.js');
  startClock();
  const reader = readSpanBatches(file, { reader: process.env['READER'] === 'full' ? 'full' : 'fast' });
  for (let next = await reader.next(); next.done !== true; next = await reader.next()) spans += next.value.length;
} else if (mode === 'read') {
  const { readSpans } = await import('../dist/formats/index.js');
  // The span events the analyzer keeps (Jaeger logs, Zipkin annotations), as it asks for them.
  const { CONVENTION_EVENTS } = await import('../dist/analyzer/conventions/index.js');
  startClock();
  const reader = readSpans(file, { attributes: 'analysis', events: CONVENTION_EVENTS, reader: process.env['READER'] === 'full' ? 'full' : 'fast' });
  for (let next = await reader.next(); next.done !== true; next = await reader.next()) spans += next.value.length;
} else {
  const { analyzeFiles } = await import('../dist/analyzer/index.js');
  // The collection between stages the CLI's analysis child makes (where gc is exposed, as the CLI's settings expose it).
  const { collectOption } = await import('../dist/cli/_collect.js');
  startClock();
  const idle = Number(process.env['IDLE'] ?? 0);
  // THREADS: reader threads (1: all on the main thread); unset: the analyzer's default.
  const threads = Number(process.env['THREADS'] ?? 0);
  const diagnose = process.env['DIAGNOSE'] === '0' ? { diagnose: false } : {};
  const result = await analyzeFiles([file], { ...diagnose, ...(threads > 0 ? { threads } : {}), reader: process.env['READER'] === 'full' ? 'full' : 'fast', ...(idle > 0 ? { idleSpans: idle } : {}), ...collectOption() });
  spans = result.spans;
  requests = result.requests;
}
const elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuAtStart);
// CPU time (all threads) next to wall time: on a busy machine it is the steadier figure.
const cpuMs = (cpu.user + cpu.system) / 1000;
const mainCpu = mainThreadCpuMs() - mainCpuAtStart;
const startupCpuMs = (cpuAtStart.user + cpuAtStart.system) / 1000;
const usage = process.resourceUsage();
console.log(JSON.stringify({ mode, elapsedMs, cpuMs, ...(Number.isFinite(mainCpu) ? { mainCpuMs: mainCpu } : {}), startupCpuMs, spans, requests, maxRssBytes: usage.maxRSS * 1024 }));

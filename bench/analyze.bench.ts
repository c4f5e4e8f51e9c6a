/**
 * Analysis throughput of `latency-doctor analyze` on a generated OTLP JSON lines export of at
 * least 200 MB (BENCH_MB to change), against a baseline measured in the same run on the same
 * file: a bare JSON.parse of every line (readline). Each run is a child process on the built
 * package (dist/) reporting wall time, CPU time and peak RSS; the analysis runs once on the main
 * thread and once with `--threads`. Goals (README.md, "Measured"): ≥ 50% of the baseline's throughput, peak
 * RSS < 300 MB.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toOtlpJsonLines } from '../test/support/synth.js';
import { simulate } from '../examples/traces/simulate.js';

const targetBytes = Number(process.env['BENCH_MB'] ?? 200) * 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ld-bench-'));
const file = join(dir, 'traces.otlp.jsonl');

interface ChildResult {
  mode: string;
  elapsedMs: number;
  cpuMs: number;
  spans: number;
  requests: number;
  maxRssBytes: number;
}

async function generate(): Promise<{ spans: number; requests: number; bytes: number }> {
  const out = createWriteStream(file);
  let bytes = 0;
  let spans = 0;
  let requests = 0;
  const perChunk = 1000;
  // Consecutive simulated runs of 1000 requests, each starting where time left off.
  for (let chunk = 0; bytes < targetBytes; chunk++) {
    const run = simulate({ seed: 1000 + chunk, requests: perChunk, traceOffset: chunk * perChunk, startNs: 1_772_460_000_000_000_000n + BigInt(chunk) * 12_000_000_000n });
    const text = toOtlpJsonLines(run, 64);
    bytes += Buffer.byteLength(text);
    spans += run.length;
    requests += perChunk;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { spans, requests, bytes };
}

function runChild(mode: 'baseline' | 'analyze', env: Record<string, string> = {}): ChildResult {
  const child = spawnSync(process.execPath, [join(here, '_analyze-child.mjs'), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, ...env } });
  if (child.status !== 0) throw new Error(`${mode} child failed (${child.status}): ${child.stderr}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as ChildResult;
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

try {
  const t0 = performance.now();
  const generated = await generate();
  const size = statSync(file).size;
  console.log(`generated ${mb(size)} MB, ${generated.spans.toLocaleString('en-US')} spans, ${generated.requests.toLocaleString('en-US')} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const baseline = runChild('baseline');
  const analysis = runChild('analyze');
  const threaded = runChild('analyze', { THREADS: '1' });
  for (const run of [analysis, threaded]) {
    if (run.spans !== generated.spans || run.requests !== generated.requests) {
      throw new Error(`analysis saw ${run.spans} spans / ${run.requests} requests, expected ${generated.spans} / ${generated.requests}`);
    }
  }
  const mbSize = size / 1024 / 1024;
  const line = (name: string, r: ChildResult): void => {
    const s = r.elapsedMs / 1000;
    console.log(
      `${name.padEnd(34)} ${s.toFixed(2).padStart(6)} s ${(mbSize / s).toFixed(1).padStart(6)} MB/s ${Math.round(generated.spans / s).toLocaleString('en-US').padStart(9)} spans/s  CPU ${(r.cpuMs / 1000).toFixed(2).padStart(6)} s  peak RSS ${(r.maxRssBytes / 1024 / 1024).toFixed(0)} MB`,
    );
  };
  line('baseline: JSON.parse per line', baseline);
  line('latency-doctor analyze', analysis);
  line('latency-doctor analyze --threads', threaded);
  const ratio = (r: ChildResult): string => `${((baseline.elapsedMs / r.elapsedMs) * 100).toFixed(0)}% wall, ${((baseline.cpuMs / r.cpuMs) * 100).toFixed(0)}% CPU`;
  console.log(`throughput vs baseline (goal ≥ 50%): analyze ${ratio(analysis)}; --threads ${ratio(threaded)}`);
  const rss = analysis.maxRssBytes / 1024 / 1024;
  console.log(`peak RSS of analyze: ${rss.toFixed(0)} MB (goal < 300 MB) ${rss < 300 ? 'OK' : 'ABOVE GOAL'}; --threads ${(threaded.maxRssBytes / 1024 / 1024).toFixed(0)} MB`);
  console.log('(wall-clock ratios need an otherwise idle machine; CPU-time ratios are steadier on a busy one)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

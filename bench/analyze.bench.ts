/**
 * Analysis throughput of `latency-doctor analyze` on a generated OTLP JSON lines export of at
 * least 200 MB (BENCH_MB to change), against a baseline measured in the same run on the same
 * file: a bare JSON.parse of every line (readline). Each side runs in its own child process and
 * reports its peak RSS. Goals (issue #2): ≥ 50% of the baseline's throughput, peak RSS < 300 MB.
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

function runChild(mode: 'baseline' | 'analyze'): ChildResult {
  const child = spawnSync(process.execPath, [join(here, '_analyze-child.mjs'), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
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
  if (analysis.spans !== generated.spans || analysis.requests !== generated.requests) {
    throw new Error(`analysis saw ${analysis.spans} spans / ${analysis.requests} requests, expected ${generated.spans} / ${generated.requests}`);
  }
  const rows = [baseline, analysis].map((r) => {
    const s = r.elapsedMs / 1000;
    return { name: r.mode === 'baseline' ? 'baseline: JSON.parse per line' : 'latency-doctor analyze', seconds: s, mbPerS: size / 1024 / 1024 / s, spansPerS: generated.spans / s, rssMb: r.maxRssBytes / 1024 / 1024 };
  });
  for (const r of rows) {
    console.log(`${r.name.padEnd(30)} ${r.seconds.toFixed(2).padStart(7)} s ${r.mbPerS.toFixed(1).padStart(7)} MB/s ${Math.round(r.spansPerS).toLocaleString('en-US').padStart(10)} spans/s   peak RSS ${r.rssMb.toFixed(0)} MB`);
  }
  const ratio = rows[1]!.mbPerS / rows[0]!.mbPerS;
  const rss = rows[1]!.rssMb;
  console.log(`throughput ratio analyze/baseline: ${(ratio * 100).toFixed(0)}% (goal ≥ 50%) ${ratio >= 0.5 ? 'OK' : 'BELOW GOAL'}`);
  console.log(`peak RSS of analyze: ${rss.toFixed(0)} MB (goal < 300 MB) ${rss < 300 ? 'OK' : 'ABOVE GOAL'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

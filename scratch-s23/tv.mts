import { startReplay } from '/work/wt/s23-audit-serving/test/prometheus/replay-exporter.ts';
import { startPrometheus, waitForScrapes } from '/work/wt/s23-audit-serving/test/prometheus/_prometheus.ts';
import { tritonVllmBackend } from '/work/wt/s23-audit-serving/test/prometheus/scenarios.ts';
import { execFileSync } from 'node:child_process';
const ex = [await startReplay(tritonVllmBackend(31, 'vllm_model')), await startReplay(tritonVllmBackend(32, 'vllm_small'))];
const p = await startPrometheus({ triton: ex.map((e) => new URL(e.url).host) }, '1s');
await waitForScrapes(p.url, ['triton']);
const s = Math.floor(Date.now() / 1000);
await new Promise((r) => setTimeout(r, 8000));
const e = Math.floor(Date.now() / 1000);
try {
  console.log(execFileSync('node', ['bin/latency-doctor.js', 'analyze', '--prometheus', p.url, '--start', String(s), '--end', String(e)], { encoding: 'utf8' }));
} catch (err) { console.log(String((err as {stdout?: string}).stdout), String((err as {stderr?: string}).stderr)); }
await p.stop(); for (const x of ex) await x.close();

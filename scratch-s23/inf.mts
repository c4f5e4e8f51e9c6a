import { startReplay } from '../test/prometheus/replay-exporter.ts';
import { startPrometheus, waitForScrapes } from '../test/prometheus/_prometheus.ts';
import { vllmQueue, tritonQueue } from '../test/prometheus/scenarios.ts';
import { execFileSync } from 'node:child_process';
const base = vllmQueue(17);
const ex = [await startReplay({ ...base, extra: (base.extra ?? []).map((f) => (f.name === 'vllm:e2e_request_latency_seconds' ? { ...f, le: [] } : f)) })];
const p = await startPrometheus({ job: ex.map((e) => new URL(e.url).host) }, '1s');
await waitForScrapes(p.url, ['job']);
const s = Math.floor(Date.now() / 1000);
await new Promise((r) => setTimeout(r, 10000));
const e = Math.floor(Date.now() / 1000);
for (const extra of [[], ['--slo', 'p99=2s', '--fail-on-slo']]) {
try { console.log(execFileSync('node', ['bin/latency-doctor.js', 'analyze', '--prometheus', p.url, '--start', String(s), '--end', String(e), '--step', '2s', ...extra], { encoding: 'utf8' })); }
catch (err) { console.log('EXIT', (err as any).status, String((err as any).stdout), String((err as any).stderr)); }
}
await p.stop(); for (const x of ex) await x.close();

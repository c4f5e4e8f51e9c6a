import { startReplay } from '../test/prometheus/replay-exporter.ts';
import { startPrometheus, waitForScrapes } from '../test/prometheus/_prometheus.ts';
import * as sc from '../test/prometheus/scenarios.ts';
import { execFileSync } from 'node:child_process';
const names = process.argv.slice(2);
const ex = [];
for (const n of names) { const [f, seed, arg] = n.split(':'); ex.push(await startReplay((sc as any)[f](Number(seed), arg === undefined ? undefined : isNaN(Number(arg)) ? arg : Number(arg)))); }
const p = await startPrometheus({ job: ex.map((e) => new URL(e.url).host) }, '1s', ['native-histograms']);
await waitForScrapes(p.url, ['job']);
const s = Math.floor(Date.now() / 1000);
await new Promise((r) => setTimeout(r, 10000));
const e = Math.floor(Date.now() / 1000);
try { console.log(execFileSync('node', ['bin/latency-doctor.js', 'analyze', '--prometheus', p.url, '--start', String(s), '--end', String(e), ...(process.env.EXTRA ? process.env.EXTRA.split(' ') : [])], { encoding: 'utf8' })); }
catch (err) { console.log(String((err as any).stdout), String((err as any).stderr)); }
await p.stop(); for (const x of ex) await x.close();

import { afterAll, beforeAll, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { renderDiagnosisText } from '../../src/report/diagnosis-text.js';
import { replayJob } from './_prometheus.js';
import type { ReplayedJob } from './_prometheus.js';
import { tritonVllmBackend } from './scenarios.js';
let run: ReplayedJob | undefined;
beforeAll(async () => { run = await replayJob('triton', [{ ...tritonVllmBackend(31, 'vllm_model'), growPerS: 0.1, grow: ['prefill', 'decode'] }], 16); }, 90_000);
afterAll(async () => { await run?.stop(); }, 30_000);
it('prints', async () => {
  const result = await analyzePrometheus({ url: run!.url, startS: run!.startS, endS: run!.endS, stepS: 2 });
  for (const m of result.models) { console.log(renderDiagnosisText(m.diagnosis!, {}).join('\n')); console.log(JSON.stringify(m.diagnosis!.recommendations.map(r => [r.fix, r.estimatedGain, r.evidence[0]]), null, 1)); console.log(JSON.stringify(m.diagnosis!.rules.find(r=>r.rule==='latency-drift'))); }
}, 60_000);

/**
 * A cause that confounds the other rules' estimates (a throttling GPU) ranks first, and the other
 * findings' gains say they were measured under it. Traces and GPU samples are written to files
 * as the tracer and the sidecar write them, and read back through analyzeFiles.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { rankFindings } from '../../src/analyzer/diagnose/rank.js';
import { RULES } from '../../src/analyzer/diagnose/rules.js';
import type { ClockEventReason } from '../../src/model/gpu.js';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { renderDiagnosisText } from '../../src/report/diagnosis-text.js';
import { diagnosisToJson } from '../../src/report/diagnosis-json.js';
import { renderDiagnosisMarkdown } from '../../src/report/diagnosis-markdown.js';
import { writeAs } from '../support/synth.js';
import { generate } from './gen.js';
import type { GenSpec } from './gen.js';
import { gpuSamplesFor, toSpans } from './to-spans.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-confound-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** FP16 PyTorch on a GPU: compute dominates; in the second half the GPU throttles and compute slows as it heats. */
const HALF_THROTTLED: GenSpec = {
  n: 400,
  seed: 7,
  rps: 20,
  phases: { preprocess: 2, queue: 1, compute: ({ frac, rand }) => (frac > 0.5 ? 30 + 40 * (frac - 0.5) : 30) * (0.9 + 0.2 * rand()) },
  runtime: 'pytorch',
  precision: 'fp16',
  device: 'cuda:0',
};

let counter = 0;
async function analyzeWithSamples(spec: GenSpec, reasons: (frac: number) => readonly ClockEventReason[]): Promise<Diagnosis> {
  const requests = generate(spec);
  const traces = join(dir, `t${counter}.jsonl`);
  writeFileSync(traces, writeAs('otlp-jsonl', toSpans(requests)));
  const samples = join(dir, `t${counter++}.gpu.jsonl`);
  writeFileSync(samples, gpuSamplesFor(requests, reasons));
  return (await analyzeFiles([traces, samples])).models[0]!.diagnosis!;
}

describe('a throttling GPU confounds the other estimates', () => {
  it('thermal throttling half the run ranks first, above a larger runtime-swap saving measured on the throttled GPU', async () => {
    const d = await analyzeWithSamples(HALF_THROTTLED, (f) => (f > 0.5 ? ['sw_thermal_slowdown'] : []));
    expect(d.recommendations.map((r) => r.fix)).toEqual(['latency-drift', 'optimized-runtime']);
    expect(d.primary).toBe('latency-drift');
    expect(d.recommendations[0]?.cause).toBe('thermal-throttling');
    expect(d.headline).toMatch(/thermally throttling/);
    // The runtime swap is still offered, its gain marked as measured while throttled.
    const runtime = d.recommendations[1]!;
    expect(runtime.estimatedGain?.confoundedBy).toEqual({ fix: 'latency-drift', note: 'measured while the GPU was thermally throttled; re-measure after fixing cooling' });
    expect(d.recommendations[0]?.estimatedGain?.confoundedBy).toBeUndefined();
    const text = renderDiagnosisText(d).join(' ').replace(/\s+/g, ' ');
    expect(text).toMatch(/2\. Switch to a hardware-specific runtime .*mean [\d.]+ → [\d.]+ ms; measured while the GPU was thermally throttled; re-measure after fixing cooling \(see latency-drift\)\)/);
    const markdown = renderDiagnosisMarkdown(d).join('\n');
    expect(markdown).toMatch(/#### 2\. Switch to a hardware-specific runtime[^#]*\*\*Expected:\*\* mean [\d.]+ ms → [\d.]+ ms \(.*\); measured while the GPU was thermally throttled; re-measure after fixing cooling \(see latency-drift\)\n/);
    expect(markdown).toMatch(/#### 1\. Latency drifts up[^#]*\*\*Expected:\*\* p95 [\d.]+ ms → [\d.]+ ms \(removing the cause brings latency back to the level of the first window\)\n/);
    const json = diagnosisToJson(d);
    expect(json.recommendations[1]?.estimated_gain?.confounded_by).toEqual({ fix: 'latency-drift', note: runtime.estimatedGain!.confoundedBy!.note });
    expect(json.recommendations[0]?.estimated_gain?.confounded_by).toBeNull();
  });

  it('a power cap names its own caveat', async () => {
    const d = await analyzeWithSamples(HALF_THROTTLED, (f) => (f > 0.5 ? ['sw_power_cap'] : []));
    expect(d.recommendations.map((r) => [r.fix, r.cause ?? null])).toEqual([['latency-drift', 'power-throttling'], ['optimized-runtime', null]]);
    expect(d.recommendations[1]?.estimatedGain?.confoundedBy?.note).toBe('measured while the GPU was power-capped; re-measure after fixing the power limit');
  });

  it('drift from growing GPU memory does not confound: ranking by saving stays', async () => {
    // Same latencies and no throttling: the drift has no GPU cause, so the larger saving leads and no gain carries a caveat.
    const d = await analyzeWithSamples(HALF_THROTTLED, () => []);
    expect(d.recommendations.map((r) => r.fix)).toEqual(['optimized-runtime', 'latency-drift']);
    expect(d.recommendations.every((r) => r.estimatedGain?.confoundedBy === undefined)).toBe(true);
  });
});

describe('rankFindings reads the registry', () => {
  it('only rules that declare a confounding kind lift a finding of that kind', () => {
    const confounding = RULES.filter((r) => r.confounds !== undefined).map((r) => [r.id, Object.keys(r.confounds!)]);
    expect(confounding).toEqual([
      ['latency-drift', ['thermal-throttling', 'power-throttling']],
      ['hardware-limit', ['throttling']],
    ]);
    const finding = (savedMeanMs: number, kind?: string) => ({
      confidence: 0.9,
      evidence: [],
      savedMeanMs,
      estimatedGain: { metric: 'mean_ms' as const, currentValue: 100, expectedValue: 100 - savedMeanMs, basis: 'b' },
      nextStep: { text: 'n' },
      exampleTraceIds: [],
      ...(kind !== undefined ? { kind } : {}),
    });
    const rule = (id: string) => RULES.find((r) => r.id === id)!;
    // A drift whose kind is not declared (memory growth) ranks by saving as before.
    const plain = rankFindings([
      { rule: rule('latency-drift'), finding: finding(5, 'gpu-memory-growth') },
      { rule: rule('quantization'), finding: finding(40) },
    ]);
    expect(plain.map((r) => r.fix)).toEqual(['quantization', 'latency-drift']);
    expect(plain[0]?.estimatedGain?.confoundedBy).toBeUndefined();
    // Sustained throttling behind hardware-limit goes above a larger retraining saving.
    const lifted = rankFindings([
      { rule: rule('prune-distill'), finding: finding(40) },
      { rule: rule('hardware-limit'), finding: finding(5, 'throttling') },
    ]);
    expect(lifted.map((r) => r.fix)).toEqual(['hardware-limit', 'prune-distill']);
    expect(lifted[1]?.estimatedGain?.confoundedBy?.fix).toBe('hardware-limit');
  });
});

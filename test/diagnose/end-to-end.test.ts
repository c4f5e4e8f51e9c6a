import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import type { ClockEventReason } from '../../src/model/gpu.js';
import { writeAs } from '../support/synth.js';
import type { SynthFormat } from '../support/synth.js';
import { generate } from './gen.js';
import { BOTTLENECKS, NEAR_MISSES } from './scenarios.js';
import type { Scenario } from './scenarios.js';
import { gpuSamplesFor, toSpans } from './to-spans.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-diagnose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FORMATS: readonly SynthFormat[] = ['otlp-json', 'otlp-jsonl', 'jaeger', 'zipkin'];

/** GPU samples standing in for each scenario's device evidence, written as the sidecar writes them. */
const SAMPLES: Readonly<Record<string, (frac: number) => readonly ClockEventReason[]>> = {
  'compute rises at constant load while the GPU throttles': (f) => (f > 0.6 ? ['sw_thermal_slowdown'] : []),
  'fully optimized model on a GPU throttled most of the time': () => ['sw_power_cap'],
  'optimized model, GPU throttled only now and then': (f) => (f > 0.3 && f < 0.45 ? ['sw_power_cap'] : []),
};

let counter = 0;
async function analyzeScenario(s: Scenario, format: SynthFormat) {
  const requests = generate(s.spec);
  const file = join(dir, `s${counter++}.${format === 'otlp-jsonl' ? 'jsonl' : 'json'}`);
  writeFileSync(file, writeAs(format, toSpans(requests)));
  const files = [file];
  const reasons = SAMPLES[s.name];
  if (reasons) {
    const samples = join(dir, `s${counter++}.gpu.jsonl`);
    writeFileSync(samples, gpuSamplesFor(requests, reasons));
    files.push(samples);
  }
  const result = await analyzeFiles(files, { diagnose: s.slo ? { slo: s.slo } : {} });
  expect(result.models).toHaveLength(1);
  return result.models[0]!.diagnosis!;
}

describe('traces built to show each bottleneck, in every input format, get that verdict', () => {
  for (const s of BOTTLENECKS) {
    for (const format of FORMATS) {
      it(`${s.name} (${format}) → ${s.primary}`, async () => {
        const d = await analyzeScenario(s, format);
        expect(d.primary, d.rules.map((r) => `${r.rule}: ${r.reason}`).join('\n')).toBe(s.primary);
        if (s.name.includes('throttles')) expect(d.recommendations[0]?.cause).toBe('thermal-throttling');
      });
    }
  }
});

describe('near misses read from files do not get the verdict', () => {
  for (const s of NEAR_MISSES) {
    it(`${s.name} (otlp-jsonl): not ${s.notPrimary}`, async () => {
      const d = await analyzeScenario(s, 'otlp-jsonl');
      expect(d.recommendations.map((r) => r.fix)).not.toContain(s.notPrimary);
      expect(d.primary).toBe(s.primary);
    });
  }
});

describe('the bundled demo data', () => {
  for (const file of ['inference-demo.otlp.jsonl', 'inference-demo.jaeger.json', 'inference-demo.zipkin.json']) {
    it(`${file}: queueing at batch size 1 → dynamic batching with a Triton block`, async () => {
      const result = await analyzeFiles([join('examples/traces', file)]);
      const d = result.models[0]!.diagnosis!;
      expect(d.primary).toBe('dynamic-batching');
      const top = d.recommendations[0]!;
      expect(top.evidence[0]!.text).toMatch(/^queue p95 = [\d.]+ ms, \d+% of e2e; mean batch size 1\.0 with [\d.]+ requests in flight on average$/);
      expect(top.nextStep.snippet?.code).toMatch(/dynamic_batching \{\n {2}max_queue_delay_microseconds: \d+/);
      expect(top.estimatedGain!.expectedValue).toBeLessThan(top.estimatedGain!.currentValue);
      expect(d.tail?.phase).toBe('queue');
      // Example traces exist in the input.
      const ids = new Set(result.timings.rows().map((r) => r.traceId));
      for (const id of top.exampleTraceIds) expect(ids.has(id)).toBe(true);
    });
  }
});

describe('several models in one export', () => {
  it('are diagnosed each on their own', async () => {
    const queueing = BOTTLENECKS.find((s) => s.primary === 'dynamic-batching')!;
    const compute = BOTTLENECKS.find((s) => s.primary === 'quantization')!;
    const a = generate({ ...queueing.spec, model: 'resnet50' });
    const b = generate({ ...compute.spec, model: 'bert-base', idOffset: 100_000 });
    const file = join(dir, 'two-models.jsonl');
    writeFileSync(file, writeAs('otlp-jsonl', toSpans([...a, ...b])));
    const result = await analyzeFiles([file]);
    const verdicts = Object.fromEntries(result.models.map((m) => [m.summary.model, m.diagnosis?.primary]));
    expect(verdicts).toEqual({ resnet50: 'dynamic-batching', 'bert-base': 'quantization' });
  });
});

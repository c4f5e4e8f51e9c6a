/**
 * @module test/prometheus/triton-vllm-backend.test
 * `analyze --prometheus` on a Triton server that serves LLMs through its vLLM backend: the
 * engine's families carry Triton's `model`/`version` labels instead of vLLM's `model_name`
 * (vllm_backend src/utils/metrics.py), next to Triton's own counters for the same models.
 * Replayed (test/prometheus/replay-exporter.ts) and scraped by a real Prometheus (2.42).
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { driftLines } from '../support/drift-lines.js';
import { useReplayedJob } from './_prometheus.js';
import { tritonVllmBackend } from './scenarios.js';

const TRAFFIC_S = 8;
const job = useReplayedJob('triton', () => [tritonVllmBackend(31, 'vllm_model'), tritonVllmBackend(32, 'vllm_small')], TRAFFIC_S);

describe('Triton with its vLLM backend, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it('reads each model from vLLM’s families under Triton’s model label: two models, never one merged "vllm"', async () => {
    const { url, startS, endS } = job();
    const result = await analyzePrometheus({ url, startS, endS, stepS: 2 });
    expect(result.models.map((m) => m.summary.model).sort()).toEqual(['vllm_model', 'vllm_small']);
    // The engine's view, not Triton's counters (whose compute is the backend's 0.5 ms execute call).
    expect(result.prometheus?.models.map((m) => m.source)).toEqual(['vllm', 'vllm']);
    const warnings = result.warnings.map((w) => w.message).join('\n');
    expect(warnings).toMatch(/NVIDIA Triton Inference Server also measures vllm_model, vllm_small|NVIDIA Triton Inference Server also measures vllm_small, vllm_model/);
    const slow = result.models.find((m) => m.summary.model === 'vllm_model')!.summary;
    const small = result.models.find((m) => m.summary.model === 'vllm_small')!.summary;
    // Queue medians 500 and 5 ms (log-normal, sigma 0.2: means 510 and 5.1 ms), each model its own.
    expect(slow.phases.queue?.meanMs).toBeGreaterThan(400);
    expect(slow.phases.queue?.meanMs).toBeLessThan(650);
    expect(small.phases.queue?.meanMs).toBeLessThan(10);
    expect(slow.phases.prefill?.meanMs).toBeGreaterThan(40);
    expect(slow.generation?.ttft?.meanMs).toBeGreaterThan(450);
    // Continuous batching is the verdict; its expected TTFT keeps the ~11% of TTFT outside the queue (prefill, ~60 ms
    // median): from two histograms the queue's p95 exceeds TTFT's, and TTFT p95 − queue p95 promised 0 ms.
    const m = result.models.find((x) => x.summary.model === 'vllm_model')!;
    const gain = m.diagnosis!.recommendations[0]!.estimatedGain!;
    expect(gain.metric).toBe('ttft_p95_ms');
    expect(gain.expectedValue).toBeGreaterThan(40);
    expect(gain.expectedValue).toBeLessThan(gain.currentValue / 2);
    // The engine arguments to raise go in the model's model.json on Triton, not on a vllm serve command line.
    const step = m.diagnosis!.recommendations[0]!.nextStep;
    expect(step.text).toMatch(/model_repository\/vllm_model\/1\/model\.json/);
    expect(step.snippet?.language).toBe('json');
    expect(JSON.parse(step.snippet!.code)).toMatchObject({ max_num_seqs: expect.any(Number), max_num_batched_tokens: expect.any(Number) });
    // Four requests run per decode step on the replica serving vllm_model; the other replica never ran it (its gauge
    // for that model stays 0) and does not halve the batch.
    expect(result.prometheus!.models.find((x) => x.model === 'vllm_model')!.meanBatchSize).toBeCloseTo(4, 5);
    // The KV cache gauge under its older name (gpu_cache_usage_perc), per model.
    const gauges = Object.fromEntries(result.prometheus!.models.map((m) => [m.model, m.gauges['kv_cache_usage']]));
    expect(gauges['vllm_model']).toBeCloseTo(0.6, 5);
    expect(gauges['vllm_small']).toBeCloseTo(0.2, 5);
  });
});

describe('per-step rates over a step shorter than two scrapes (1 s step, 1 s scrapes)', { timeout: 60_000 }, () => {
  it('widens the rate window and says so, instead of finding requests in none of the steps', async () => {
    const { url, startS, endS } = job();
    const result = await analyzePrometheus({ url, startS, endS, stepS: 1, model: 'vllm_model' });
    const warnings = result.warnings.map((w) => w.message).join('\n');
    // rate() over a 1 s window holds one sample of a series scraped every second: no value in any step.
    // (A step may still come out empty where a scrape was late on a loaded machine: never most of them.)
    const found = /requests in (\d+) of (\d+) steps/.exec(warnings);
    if (found !== null) expect(Number(found[1]), warnings).toBeGreaterThanOrEqual(Number(found[2]) - 2);
    expect(warnings).toMatch(/vllm_model: per-step rates use a [45] s window, not the 1 s step: vllm:e2e_request_latency_seconds_count is scraped about every 1\.\d s/);
    // The rate is the range's, not rescaled to the few steps that happened to hold two samples: 8 requests/s.
    expect(result.models[0]!.summary.throughputRps).toBeGreaterThan(6);
    expect(result.models[0]!.summary.throughputRps).toBeLessThan(10);
  });
});

describe('vLLM slowing down behind Triton at constant load (the reported drift line)', { timeout: 60_000 }, () => {
  // Prefill and decode grow 10% of their start per second over 16 s of traffic: eight 2 s steps for the trend test.
  const drifting = useReplayedJob('triton', () => [{ ...tritonVllmBackend(33, 'vllm_model'), growPerS: 0.1, grow: ['prefill', 'decode'] }], 16);

  it('reads the rise earlier → later and labels its gain as expected (now → once fixed), not "p95 1414 → 984 ms" bare', async () => {
    const { url, startS, endS } = drifting();
    const result = await analyzePrometheus({ url, startS, endS, stepS: 2 });
    const d = result.models[0]!.diagnosis!;
    const drift = driftLines(d);
    expect(drift.rise.line).toMatch(/^e2e histogram p(50|95) rises from /);
    expect(drift.rise.from).toBeLessThan(drift.rise.to);
    expect(drift.gain, drift.gainLine).toBeDefined();
    expect(drift.gain!.now).toBeCloseTo(drift.rise.to, -1);
    expect(drift.gain!.fixed).toBeCloseTo(drift.rise.from, -1);
    expect(drift.gain!.line).toMatch(/^(Expected:|; expected) histogram p(50|95) /);
  });
});

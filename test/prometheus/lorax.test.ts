/**
 * @module test/prometheus/lorax.test
 * `analyze --prometheus` on a LoRAX router (predibase/lorax, a TGI fork) whose metrics carry
 * LoRAX's own prefix (`lorax_request_duration`, …, `lorax_queue_length`), replayed
 * (test/prometheus/replay-exporter.ts) and scraped by a real Prometheus (2.42).
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { useReplayedJob } from './_prometheus.js';
import { loraxQueue } from './scenarios.js';

const job = useReplayedJob('lorax', () => [loraxQueue(41)], 8);

describe('LoRAX router metrics, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it('reads lorax_request_* as TGI’s families: the queue, validation and inference phases, the queue gauge, worded for TGI’s launcher flags', async () => {
    const run = job();
    const result = await analyzePrometheus({ url: run.url, startS: run.startS, endS: run.endS, stepS: 2 });
    expect(result.prometheus?.sources.map((s) => s.id)).toEqual(['lorax']);
    expect(result.prometheus?.sources[0]?.notes.join(' ')).toMatch(/lorax-launcher/);
    const m = result.models[0]!;
    expect(m.summary.model).toBe('lorax');
    // Log-normal medians 60, 3 and 20 ms (sigma 0.3, 0.2, 0.2); LoRAX's ×1.5 buckets keep the p50 within a bucket.
    expect(m.summary.phases.queue?.p50Ms).toBeGreaterThan(60 / 1.5);
    expect(m.summary.phases.queue?.p50Ms).toBeLessThan(60 * 1.5);
    expect(m.summary.phases.preprocess?.p50Ms).toBeLessThan(3 * 1.5);
    expect(m.summary.phases.compute?.p50Ms).toBeGreaterThan(20 / 1.5);
    expect(m.summary.throughputRps).toBeGreaterThan(32);
    expect(m.summary.throughputRps).toBeLessThan(48);
    expect(result.prometheus?.models[0]?.gauges['waiting']).toBeCloseTo(12, 5);
    expect(result.prometheus?.queries.some((q) => q.expr.includes('lorax_request_queue_duration_bucket'))).toBe(true);
    // Queue 60 ms of 83: the queue is the bottleneck, and the step is TGI's (the fork's launcher takes the same flags).
    const step = m.diagnosis!.recommendations[0]!;
    expect(m.diagnosis!.primary, m.diagnosis!.headline).toBe('dynamic-batching');
    expect(step.nextStep.text).toMatch(/--max-batch-total-tokens/);
  });
});

/**
 * @module test/prometheus/tracer-generation.test
 * `analyze --prometheus` on this project's own tracer in a token-streaming service: its phase
 * histograms include prefill and decode, and its TTFT, TPOT and token histograms are the
 * generation block, replayed (test/prometheus/replay-exporter.ts) and scraped by a real
 * Prometheus (2.42).
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { useReplayedJob } from './_prometheus.js';
import { tracerGeneration } from './scenarios.js';

const job = useReplayedJob('tracer-generation', () => [tracerGeneration(53)], 8);

describe('the tracer’s generation histograms, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it('reads prefill and decode as phases and TTFT, TPOT and tokens as the generation block; the queue-bound TTFT gives continuous batching', async () => {
    const run = job();
    const result = await analyzePrometheus({ url: run.url, startS: run.startS, endS: run.endS, stepS: 2 });
    expect(result.prometheus?.sources.map((s) => s.id)).toEqual(['tracer']);
    const m = result.models[0]!;
    expect(m.summary.model).toBe('tiny-lm');
    // Means from _sum/_count: log-normal medians 300 (sigma 0.3), 20 and 620 ms (sigma 0.1).
    expect(m.summary.phases.prefill?.meanMs).toBeGreaterThan(18);
    expect(m.summary.phases.prefill?.meanMs).toBeLessThan(23);
    expect(m.summary.phases.decode?.meanMs).toBeGreaterThan(580);
    expect(m.summary.phases.decode?.meanMs).toBeLessThan(680);
    expect(m.summary.coverage).toBeGreaterThan(0.95);
    const g = m.summary.generation!;
    expect(g.ttft?.meanMs).toBeGreaterThan(290);
    expect(g.ttft?.meanMs).toBeLessThan(370);
    expect(g.tpot?.meanMs).toBeGreaterThan(18);
    expect(g.tpot?.meanMs).toBeLessThan(23);
    expect(g.tokensIn?.mean).toBeGreaterThan(190);
    expect(g.tokensIn?.mean).toBeLessThan(215);
    expect(g.tokensOut?.mean).toBeGreaterThan(30);
    expect(g.tokensOut?.mean).toBeLessThan(35);
    // Queue ≈ 300 of a 320 ms TTFT, some 19 requests in flight: the generation form of dynamic batching.
    expect(m.diagnosis!.primary, m.diagnosis!.headline).toBe('dynamic-batching');
    expect(m.diagnosis!.recommendations[0]!.title).toBe('Batch decode steps continuously (more sequences per step)');
  });
});

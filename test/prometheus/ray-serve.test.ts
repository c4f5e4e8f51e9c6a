/**
 * @module test/prometheus/ray-serve.test
 * `analyze --prometheus` on Ray Serve's own metrics (no LLM engine): the proxy's
 * `ray_serve_http_request_latency_ms` and the replica's `ray_serve_deployment_processing_latency_ms`
 * (ms histograms), its counters written both as `_total` counters and as the deprecated gauges Ray
 * keeps beside them, replayed in Ray's exposition layout (test/prometheus/replay-exporter.ts,
 * test/fixtures/serving/ray_serve_metrics.synthetic.prom) and scraped by a real Prometheus (2.42).
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { useReplayedJob } from './_prometheus.js';
import { rayServeComposed, rayServeQueue } from './scenarios.js';

const job = useReplayedJob('ray', () => [rayServeQueue(61), rayServeComposed(62)], 8);

/** The analysis of one exporter of the job (one Ray node: its instance). */
async function analyzeNode(index: number): ReturnType<typeof analyzePrometheus> {
  const run = job();
  return analyzePrometheus({ url: run.url, startS: run.startS, endS: run.endS, stepS: 2, selector: `instance="${run.targets[index]}"` });
}

describe('Ray Serve proxy and replica metrics, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it('reads the application: end-to-end from the proxy, compute from the replica, the difference as the wait for a replica; worded for Ray Serve', async () => {
    const result = await analyzeNode(0);
    expect(result.prometheus?.sources.map((s) => s.id)).toEqual(['ray-serve']);
    expect(result.warnings).toEqual([]);
    // The health probes (no application) are no model of their own and no part of the application's latency.
    expect(result.models.map((m) => m.summary.model)).toEqual(['default']);
    const notes = result.prometheus!.sources[0]!.notes.join(' ');
    expect(notes).toMatch(/user's code/);
    expect(notes).toMatch(/max_ongoing_requests/);
    const s = result.models[0]!.summary;
    // 131 ms per request (100 waiting, 1 on the hop, 30 in the replica), every request alike: Ray's buckets
    // (…, 20, 50, 100, 200, … ms) put e2e in (100, 200] and the replica in (20, 50], where histogram_quantile
    // interpolates linearly: e2e p50 150, p95 195; compute p50 35, p95 48.5.
    expect(s.e2e.meanMs).toBeCloseTo(131, 6);
    expect(s.e2e.p50Ms).toBeCloseTo(150, 6);
    expect(s.e2e.p95Ms).toBeCloseTo(195, 6);
    expect(s.phases.compute?.meanMs).toBeCloseTo(30, 6);
    expect(s.phases.compute?.p50Ms).toBeCloseTo(35, 6);
    expect(s.phases.compute?.p95Ms).toBeCloseTo(48.5, 6);
    // Proxy − replica: a mean only (two histograms of different requests' parts have no joint percentiles).
    expect(s.phases.queue?.meanMs).toBeCloseTo(101, 6);
    expect(s.phases.queue?.statistic).toBe('mean');
    // The proxy's failure counter, as a counter (_total), not the deprecated gauge beside it: one request in 20.
    expect(s.errors).toBeGreaterThan(0);
    expect(s.errors / s.requests).toBeGreaterThan(0.035);
    expect(s.errors / s.requests).toBeLessThan(0.065);
    expect(result.prometheus!.queries.some((q) => q.expr.includes('increase(ray_serve_num_http_error_requests_total{'))).toBe(true);
    expect(s.throughputRps).toBeGreaterThan(32);
    expect(s.throughputRps).toBeLessThan(48);
    const extras = result.prometheus!.models[0]!;
    expect(extras.gauges['waiting']).toBeCloseTo(6, 5);
    expect(extras.gauges['running']).toBeCloseTo(2, 5);
    expect(result.prometheus!.queries.some((q) => /ray_serve_http_request_latency_ms_bucket\{[^}]*application!=""/.test(q.expr))).toBe(true);
    // Waiting 101 of 131 ms with 5 requests in flight: batching, in Ray Serve's own settings.
    const d = result.models[0]!.diagnosis!;
    expect(d.primary, d.headline).toBe('dynamic-batching');
    const step = d.recommendations[0]!.nextStep;
    expect(step.text).toMatch(/@serve\.batch\(max_batch_size=\d+, batch_wait_timeout_s=[\d.]+\)/);
    expect(step.text).toMatch(/max_ongoing_requests/);
    expect(step.text).toMatch(/num_replicas/);
    expect(step.text).toMatch(/target_ongoing_requests/);
    expect(step.text).not.toMatch(/config\.pbtxt|dynamic_batching/);
    expect(step.snippet?.language).toBe('python');
    expect(step.snippet?.code).toMatch(/@serve\.deployment\(max_ongoing_requests=\d+\)/);
  });

  it('says so when an application composes deployments: the nested call is processing twice, the wait for a replica undercounted', async () => {
    const result = await analyzeNode(1);
    expect(result.models.map((m) => m.summary.model)).toEqual(['default']);
    const s = result.models[0]!.summary;
    // 61 ms per request; the replicas record 40 (the ingress, its call to Preprocessor inside) + 10 (Preprocessor).
    expect(s.e2e.meanMs).toBeCloseTo(61, 6);
    expect(s.phases.compute?.meanMs).toBeCloseTo(50, 6);
    expect(s.phases.queue?.meanMs).toBeCloseTo(11, 6);
    const warnings = result.warnings.map((w) => w.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ray_serve_deployment_processing_latency_ms is observed 2\.0× per request of ray_serve_http_request_latency_ms/);
    expect(warnings[0]).toMatch(/queue .* undercounts, and compute counts the nested time twice/);
  });
});

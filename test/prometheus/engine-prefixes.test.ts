/**
 * @module test/prometheus/engine-prefixes.test
 * `analyze --prometheus` on an engine's families under the prefix a re-exporter gives them:
 * TensorRT-LLM's as `trtllm_` (its own collector's, and NVIDIA Dynamo's), `trtllm:` (Dynamo before
 * ai-dynamo/dynamo PR #4269) and unprefixed (trtllm-serve before its collector took a prefix), and
 * vLLM's as `ray_vllm_` (newer Ray, where older Ray writes `ray_vllm:`). Four replayed exporters
 * (test/prometheus/replay-exporter.ts) in one job scraped by a real Prometheus (2.42), each read
 * alone through --selector.
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { useReplayedJob } from './_prometheus.js';
import { rayVllmUnderscore, trtllmQueue } from './scenarios.js';

const job = useReplayedJob('engines', () => [trtllmQueue(71, 'trtllm_'), trtllmQueue(72, 'trtllm:'), trtllmQueue(73, ''), rayVllmUnderscore(74)], 8);

/** The analysis of one exporter of the job (its instance). */
async function analyzeExporter(index: number): ReturnType<typeof analyzePrometheus> {
  const run = job();
  return analyzePrometheus({ url: run.url, startS: run.startS, endS: run.endS, stepS: 2, selector: `instance="${run.targets[index]}"` });
}

describe('engine families under a re-exporter’s prefix, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it.each([
    [0, 'dynamo-trtllm', 'trtllm_request_queue_time_seconds_bucket'],
    [1, 'dynamo-trtllm-colon', 'trtllm:request_queue_time_seconds_bucket'],
    [2, 'trtllm', 'request_queue_time_seconds_bucket'],
  ] as const)('TensorRT-LLM\'s families as exporter %i writes them are read as source %s', async (index, id, queueSeries) => {
    const result = await analyzeExporter(index);
    expect(result.prometheus?.sources.map((s) => s.id)).toEqual([id]);
    expect(result.models.map((m) => m.summary.model)).toEqual(['Qwen/Qwen3-0.6B']);
    const s = result.models[0]!.summary;
    // Queue median 600 ms (log-normal, sigma 0.2: mean 612 ms), read from the spelling served.
    expect(s.phases.queue?.meanMs).toBeGreaterThan(500);
    expect(s.phases.queue?.meanMs).toBeLessThan(750);
    expect(s.generation?.ttft?.meanMs).toBeGreaterThan(550);
    expect(s.throughputRps).toBeGreaterThan(7);
    expect(s.throughputRps).toBeLessThan(13);
    expect(result.prometheus!.queries.some((q) => new RegExp(`(^|[^a-z_:])${queueSeries.replace(/[:]/g, '\\:')}\\{`).test(q.expr))).toBe(true);
  });

  it('vLLM\'s families as newer Ray writes them (ray_vllm_) are read as Ray Serve LLM\'s', async () => {
    const result = await analyzeExporter(3);
    expect(result.prometheus?.sources.map((s) => s.id)).toEqual(['ray-vllm-underscore']);
    expect(result.models.map((m) => m.summary.model)).toEqual(['meta-llama/Llama-3.1-8B-Instruct']);
    const s = result.models[0]!.summary;
    // vllmDrift's traffic: queue 20 ms (under the 0.3 s lowest bucket: a mean), prefill + decode 200 ms.
    expect(s.phases.queue?.meanMs).toBeGreaterThan(15);
    expect(s.phases.queue?.meanMs).toBeLessThan(25);
    expect(s.e2e.meanMs).toBeGreaterThan(190);
    expect(s.e2e.meanMs).toBeLessThan(260);
    expect(result.prometheus!.queries.some((q) => q.expr.includes('ray_vllm_e2e_request_latency_seconds_bucket{'))).toBe(true);
  });
});

/**
 * @module test/prometheus/ray-serve-llm-no-e2e.test
 * `analyze --prometheus` on Ray Serve LLM's `ray_vllm:` families (a real capture, replayed by
 * test/prometheus/replay-exporter.ts and scraped by a real Prometheus) without the end-to-end
 * histogram every request count, rate and percentile is read from: the one line names the source
 * and what it holds (time per output token, tokens, running and waiting requests, KV cache use)
 * and the family that is missing, instead of "no inference latency metrics" and the markers of
 * every source looked for. Before, nothing in the line said the ray_vllm: series were seen.
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus, PrometheusError } from '../../src/prometheus/index.js';
import { useReplayedJob } from './_prometheus.js';
import { rayServeVllmWithoutE2e } from './scenarios.js';

const job = useReplayedJob('ray-serve-llm', () => [rayServeVllmWithoutE2e(29)], 4);

describe('Ray Serve LLM metrics without the end-to-end histogram, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it('names the source, the families it holds and the missing one, exit 2', async () => {
    const run = job();
    const error = await analyzePrometheus({ url: run.url, startS: run.startS, endS: run.endS, stepS: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PrometheusError);
    const message = (error as PrometheusError).message;
    expect((error as PrometheusError).exitCode).toBe(2);
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^http:\/\/127\.0\.0\.1:\d+: no inference latency metrics between /);
    expect(message).toContain('Ray Serve LLM (vLLM engine): ray_vllm:time_per_output_token_seconds, ');
    for (const family of ['ray_vllm:num_requests_running', 'ray_vllm:num_requests_waiting', 'ray_vllm:gpu_cache_usage_perc', 'ray_vllm:generation_tokens_total']) expect(message).toContain(family);
    expect(message).toContain('present, but not ray_vllm:e2e_request_latency_seconds, its end-to-end latency');
    // Only the source whose series are there: not every other server's marker.
    expect(message).not.toContain('looked for');
    expect(message).not.toContain('tgi_request_duration');
  });
});

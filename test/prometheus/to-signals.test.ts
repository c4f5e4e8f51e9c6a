/**
 * The summary an LLM server's aggregates give, checked without a Prometheus: which histogram
 * fills which generation figure. A per-token histogram (inter-token latency) is not a per-request
 * time per output token: its percentiles are over tokens, so it is shown as ITL, never as TPOT.
 */
import { describe, expect, it } from 'vitest';
import type { AggregateDistribution, ModelAggregates } from '../../src/prometheus/aggregates.js';
import { LATENCY_SOURCES } from '../../src/prometheus/sources.js';
import { toSummary } from '../../src/prometheus/to-signals.js';
import { renderText } from '../../src/report/text.js';
import { renderJson } from '../../src/report/json.js';
import type { AnalysisResult } from '../../src/model/analysis.js';

/** A histogram read over the range: `countRate` observations per second with these percentiles. */
function histogram(meanMs: number, p50Ms: number, p95Ms: number, countRate: number): AggregateDistribution {
  return { meanMs, p50Ms, p90Ms: p95Ms, p95Ms, p99Ms: p95Ms, maxMs: p95Ms, timeRate: meanMs * countRate, countRate, histogram: true };
}

/** SGLang's aggregates: 10 requests/s, TTFT 300 ms, and one inter-token observation per output token (40 per request). */
function sglang(generation: Record<string, AggregateDistribution>): ModelAggregates {
  return {
    model: 'llama',
    source: LATENCY_SOURCES.find((s) => s.id === 'sglang')!,
    rps: 10,
    e2e: histogram(1500, 1400, 2500, 10),
    phases: { queue: histogram(200, 150, 400, 10) },
    errors: 0,
    gauges: {},
    generation,
    tokens: {},
    scheduler: {},
    steps: [],
    activeStartS: 1000,
    activeEndS: 1060,
    replicas: [],
    exemplarTraceIds: [],
    warnings: [],
  };
}

describe('toSummary: generation figures of an LLM server', () => {
  it('shows a per-token inter-token histogram as ITL (over tokens), not as the per-request TPOT', () => {
    // Prefill stalls make the per-token p95 (180 ms) far above what any request averages per token.
    const itl = histogram(30, 25, 180, 400);
    const summary = toSummary(sglang({ ttft: histogram(300, 250, 600, 10), itl }));
    expect(summary.generation?.tpot).toBeUndefined();
    expect(summary.generation?.itl).toMatchObject({ statistic: 'bucket-percentile', p95Ms: 180, meanMs: 30 });
    const assembly = { traces: 0, requestTraces: 0, duplicateSpans: 0, lateSpans: 0, invalidSpans: 0, orphanSpans: 0, fragmentedTraces: 0, unattachedPhaseSpans: 0, clockSkewRequests: 0 };
    const result = { files: [], spans: 0, traces: 0, requests: summary.requests, conventions: [], overall: summary, models: [{ summary }], assembly, warnings: [], timeline: [] } as unknown as AnalysisResult;
    const json = JSON.parse(renderJson(result)) as { models: { generation: { tpot: unknown; itl: { p95_ms: number } } }[] };
    expect(json.models[0]!.generation.tpot).toBeNull();
    expect(json.models[0]!.generation.itl.p95_ms).toBe(180);
    const text = renderText(result, { color: false });
    expect(text).toMatch(/inter-token\s+25\.0\s+180\.0\s+180\.0\s+180\.0\s+ITL/);
    expect(text).not.toMatch(/TPOT/);
  });

  it('keeps a per-request TPOT histogram as TPOT, and the per-token one beside it as ITL (vLLM 0.11+ exports both)', () => {
    const summary = toSummary(sglang({ ttft: histogram(300, 250, 600, 10), tpot: histogram(28, 27, 40, 10), itl: histogram(30, 25, 180, 400) }));
    expect(summary.generation?.tpot).toMatchObject({ p95Ms: 40, count: 600 });
    expect(summary.generation?.itl).toMatchObject({ p95Ms: 180 });
  });
});

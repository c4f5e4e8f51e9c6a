/**
 * @module examples/loadgen/latency-summary
 * Client-side latency percentiles of a load run (exact: a run holds at most a few hundred
 * thousand samples, so sorting them is cheaper than a histogram's bookkeeping).
 */

/** Client-side latency distribution, ms. */
export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
}

/** Percentile by the nearest-rank method on a sorted array; NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Summarizes latencies in ms (sorts the array in place). */
export function summarizeLatencies(latencies: number[]): LatencySummary {
  latencies.sort((a, b) => a - b);
  const mean = latencies.length === 0 ? Number.NaN : latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    mean,
    max: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

/**
 * @module model/summary
 * Percentile summaries per model, computed by `analyzer/measure` from RequestTiming rows.
 */
import type { PhaseOrOther } from '../semconv.js';

/**
 * What a distribution's p50…p99 are. `percentile`: ranks of every request's own time (traces).
 * `bucket-percentile`: interpolated inside histogram buckets (PromQL `histogram_quantile`, only as
 * fine as the buckets). `mean`: the source has only a sum and a count (a `_sum`/`_count` pair,
 * counters, a sum or difference of them): the mean, and no percentile at all.
 */
export type Statistic = 'percentile' | 'bucket-percentile' | 'mean';

/** Latency distribution of one quantity, in milliseconds. */
export interface Percentiles {
  /** How p50…max were computed; absent: `percentile` (per request). With `mean` they are NaN. */
  readonly statistic?: Statistic;
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** A latency distribution without its observation count, ms: what aggregates (histogram quantiles and `_sum`/`_count` rates) give. */
export type LatencyDistribution = Omit<Percentiles, 'count'>;

/** Distribution of one phase plus its share of end-to-end time. */
export interface PhaseSummary extends Percentiles {
  /** Sum of this phase's time over all requests ÷ sum of e2e time (0–1). */
  readonly share: number;
  /** How many requests have at least one span of this phase. */
  readonly present: number;
}

/** Distribution of a count (tokens per request). */
export interface CountPercentiles {
  /** How p50…max were computed; absent: `percentile` (per request). */
  readonly statistic?: Statistic;
  /** Requests that report this count. */
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/**
 * Generation metrics of the generative requests of a model (definitions in model/generation).
 * A distribution is absent when no request reports what it needs.
 */
export interface GenerationSummary {
  /** Requests with a first token or an output-token count. */
  readonly requests: number;
  /** Time to first token, ms. */
  readonly ttft?: Percentiles;
  /** Time per output token after the first, ms; requests with ≥ 2 output tokens. */
  readonly tpot?: Percentiles;
  /**
   * Inter-token latency, ms: one value per gap between output tokens, not per request (a server's
   * per-token histogram, on the Prometheus path). Its percentiles are over tokens, so a few long
   * gaps (a prefill stalling the batch) show in its p95 that no request's TPOT shows.
   */
  readonly itl?: Percentiles;
  readonly tokensIn?: CountPercentiles;
  readonly tokensOut?: CountPercentiles;
  readonly tokensCached?: CountPercentiles;
  /** Σ cached prompt tokens ÷ Σ prompt tokens over requests reporting both (0–1). */
  readonly cachedShare?: number;
  /** Σ output tokens ÷ window seconds. */
  readonly tokensPerS?: number;
}

/**
 * Requests that did not complete, by who ended them, where the source says (TGI: its failure
 * counter's `err` label, its router spans' error events): a server error, the client's own error
 * (rejected as invalid), or the client going away (a cancellation, not an error).
 */
export interface RequestFailures {
  readonly server: number;
  readonly client: number;
  readonly cancelled: number;
}

/** Two counts of requests without a latency added up (either may be absent). */
export function addFailures(a: RequestFailures | undefined, b: RequestFailures): RequestFailures {
  return a === undefined ? b : { server: a.server + b.server, client: a.client + b.client, cancelled: a.cancelled + b.cancelled };
}

/** Everything measured about one model's requests. */
export interface ModelSummary {
  readonly model: string;
  readonly services: readonly string[];
  readonly requests: number;
  /**
   * Failed requests (server and client errors; never a cancellation): among `requests` where
   * each has its own request span (traces in our convention), beside them where the source
   * records no latency for a failed request (a server's failure counter; TGI's router spans).
   */
  readonly errors: number;
  /**
   * `errors` split, and the cancellations beside them, where the source tells them apart. Present
   * only where those requests are counted beside `requests`: they are in no percentile, no SLO
   * check and no diagnosis, as the server records no latency for them.
   */
  readonly failures?: RequestFailures;
  /** First request start and last request end, ns since epoch. */
  readonly windowStartNs: bigint;
  readonly windowEndNs: bigint;
  /** Completed requests per second over the window. */
  readonly throughputRps: number;
  readonly e2e: Percentiles;
  /** Per phase (and `other`), only phases that occur. */
  readonly phases: Readonly<Partial<Record<PhaseOrOther, PhaseSummary>>>;
  /** Share of e2e time covered by phase spans (1 − other share). */
  readonly coverage: number;
  /** Most common values of the request attributes, when present. */
  readonly runtime?: string;
  readonly runtimeProvider?: string;
  readonly precision?: string;
  readonly device?: string;
  readonly modelVersion?: string;
  /** Present when some requests generated tokens. */
  readonly generation?: GenerationSummary;
}

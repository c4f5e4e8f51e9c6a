/**
 * @module model/prometheus
 * What an analysis read from a Prometheus-compatible engine: the range, the sources found, the
 * PromQL run (for --explain), per-model replica and generation numbers, exemplar trace ids,
 * what each rule could do on aggregates, and the notes a reader needs to trust the numbers.
 */
import type { LatencyDistribution } from './summary.js';

/** One source found, with the models read from it. */
export interface PrometheusSourceFound {
  readonly id: string;
  readonly title: string;
  readonly kind: 'latency' | 'gpu';
  readonly models: readonly string[];
  readonly notes: readonly string[];
}

/** One replica's numbers. */
export interface PrometheusReplica {
  readonly replica: string;
  readonly rps: number;
  readonly e2eMeanMs: number;
  /** NaN where the source has no histogram. */
  readonly e2eP99Ms: number;
}

/** Per model: what aggregates add to the phase table. */
export interface PrometheusModelExtras {
  readonly model: string;
  readonly source: string;
  readonly replicas: readonly PrometheusReplica[];
  /** LLM generation latency (ttft, tpot, itl) where the server exports it; percentiles NaN where the source has none. */
  readonly generation: Readonly<Record<string, LatencyDistribution>>;
  /** Mean of the source's gauges over the range (queue depth, KV cache use, …). */
  readonly gauges: Readonly<Record<string, number>>;
  readonly meanBatchSize?: number;
  /** Trace ids from exemplars on the e2e histogram, slowest first; empty where the engine stores none. */
  readonly exemplarTraceIds: readonly string[];
}

/** The Prometheus side of an analysis. */
export interface PrometheusInput {
  readonly url: string;
  readonly startS: number;
  readonly endS: number;
  readonly stepS: number;
  readonly selector: string;
  readonly sources: readonly PrometheusSourceFound[];
  readonly models: readonly PrometheusModelExtras[];
  /** Every query run, in order, with what it is for. */
  readonly queries: readonly { readonly purpose: string; readonly expr: string }[];
  /** Per rule: whether it runs on aggregates, and what it cannot do there. */
  readonly rules: readonly { readonly rule: string; readonly aggregates: 'full' | 'partial' | 'none'; readonly note?: string }[];
}

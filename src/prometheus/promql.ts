/**
 * @module prometheus/promql
 * PromQL builders: the few shapes of query `analyze --prometheus` runs, written once so that
 * every source gets the same, correct aggregation across replicas:
 * - percentiles: `histogram_quantile(q, sum by (le, …) (rate(x_bucket[w])))` (classic) or
 *   `histogram_quantile(q, sum by (…) (rate(x[w])))` (native), never an average of quantiles;
 * - means and shares: `sum(rate(x_sum[w])) / sum(rate(x_count[w]))` (native:
 *   `histogram_sum`/`histogram_count` of the rate);
 * - a fleet where some replicas export a classic and others a native histogram (mixed): counts
 *   and sums take each replica's series with `or`, so every replica counts once; quantiles per
 *   replica are exact; a fleet quantile here comes from the classic replicas (PromQL cannot merge
 *   the two layouts: aggregates.ts merges them itself, histogram-merge.ts, and warns);
 * - counters: `sum(rate(c[w]))`, which compensates for counter resets.
 * Reference: "Histograms and summaries", https://prometheus.io/docs/practices/histograms/
 */
import { countingMeasure } from './sources.js';
import type { Measure } from './sources.js';

/** The user's selector (`{job="x"}` or `job="x"`) as bare matchers, '' for none. */
export function selectorMatchers(selector: string | undefined): string {
  if (selector === undefined) return '';
  const trimmed = selector.trim();
  return trimmed.startsWith('{') && trimmed.endsWith('}') ? trimmed.slice(1, -1).trim() : trimmed;
}

/** `metric{a, b}` with empty parts left out. */
export function series(metric: string, ...matchers: (string | undefined)[]): string {
  const parts = matchers.map((m) => (m ?? '').trim()).filter((m) => m !== '');
  // Names with a colon (vllm:…) are valid metric names; quoting via __name__ is not needed.
  return parts.length === 0 ? metric : `${metric}{${parts.join(', ')}}`;
}

function by(labels: readonly string[]): string {
  return `by (${labels.join(', ')})`;
}

/** Sum over replicas of a counter's per-second rate. */
export function rateSum(metric: string, matchers: string, labels: readonly string[], window: string): string {
  return `sum ${by(labels)} (rate(${series(metric, matchers)}[${window}]))`;
}

/** Options shared by the measure builders. */
export interface QueryShape {
  /** Bare matchers: the user's selector plus the model's. */
  readonly matchers: string;
  /** Labels kept (model, instance, …); `le` is added for quantiles. */
  readonly by: readonly string[];
  /** Rate window, e.g. `600s`. */
  readonly window: string;
  /** Metric names present in the range, which tell each histogram's layout (layoutOf); without them every histogram is classic. */
  readonly names?: ReadonlySet<string>;
}

/** How a histogram is exported: classic buckets, a native histogram, or both across the fleet. */
export type HistogramLayout = 'classic' | 'native' | 'mixed';

/** The layout of histogram `metric` from the names present: classic (`_bucket`, `_count`), native (the bare name), or both (some replicas each). */
export function layoutOf(metric: string, names: ReadonlySet<string> | undefined): HistogramLayout {
  if (names === undefined || !names.has(metric)) return 'classic';
  return names.has(`${metric}_bucket`) || names.has(`${metric}_count`) ? 'mixed' : 'native';
}

/** Per-second rate of a histogram's observation count (`count`) or sum (`sum`), one series per replica (`or` for a mixed fleet). */
function histogramRate(metric: string, matchers: string, part: 'count' | 'sum', shape: QueryShape): string {
  const classic = `rate(${series(`${metric}_${part}`, matchers)}[${shape.window}])`;
  const native = `histogram_${part}(rate(${series(metric, matchers)}[${shape.window}]))`;
  const layout = layoutOf(metric, shape.names);
  return `sum ${by(shape.by)} (${layout === 'classic' ? classic : layout === 'native' ? native : `${classic} or ${native}`})`;
}

function join(a: string, b: string | undefined): string {
  return [a, b ?? ''].map((x) => x.trim()).filter((x) => x !== '').join(', ');
}

/** Quantile `q` of a histogram measure, in milliseconds; undefined for counter measures. */
export function quantileQuery(measure: Measure, q: number, shape: QueryShape): string | undefined {
  if (measure.kind !== 'histogram') return undefined;
  const m = join(shape.matchers, measure.matchers);
  const native = `histogram_quantile(${q}, sum ${by(shape.by)} (rate(${series(measure.metric, m)}[${shape.window}])))`;
  const classic = `histogram_quantile(${q}, sum ${by(['le', ...shape.by])} (rate(${series(`${measure.metric}_bucket`, m)}[${shape.window}])))`;
  const layout = layoutOf(measure.metric, shape.names);
  return scale(layout === 'classic' ? classic : layout === 'native' ? native : `(${classic} or ${native})`, measure.toMs);
}

/** Time spent per second in a measure, summed over replicas, in ms/s (the numerator of shares and means). */
export function timeRateQuery(measure: Measure, shape: QueryShape): string {
  if (measure.kind === 'histogram') {
    return scale(histogramRate(measure.metric, join(shape.matchers, measure.matchers), 'sum', shape), measure.toMs);
  }
  if (measure.kind === 'counter') {
    const m = join(shape.matchers, measure.matchers);
    const parts = measure.metric.map((x) => rateSum(x, m, shape.by, shape.window));
    return scale(parts.length === 1 ? (parts[0] as string) : `(${parts.join(' + ')})`, measure.toMs);
  }
  if (measure.kind === 'sum') return `(${measure.parts.map((p) => timeRateQuery(p, shape)).join(' + ')})`;
  return `(${timeRateQuery(measure.minuend, shape)} - ${measure.subtrahends.map((s) => timeRateQuery(s, shape)).join(' - ')})`;
}

/** Observations (requests) per second of a measure, summed over replicas. */
export function countRateQuery(measure: Measure, shape: QueryShape): string {
  if (measure.kind === 'histogram') return histogramRate(measure.metric, join(shape.matchers, measure.matchers), 'count', shape);
  if (measure.kind === 'counter') return rateSum(measure.count, join(shape.matchers, measure.matchers), shape.by, shape.window);
  return countRateQuery(countingMeasure(measure), shape);
}

/** Mean of a measure per observation, in ms: time rate ÷ count rate. */
export function meanQuery(measure: Measure, shape: QueryShape): string {
  return `${timeRateQuery(measure, shape)} / ${countRateQuery(measure, shape)}`;
}

function scale(expr: string, toMs: number): string {
  return toMs === 1 ? expr : `${expr} * ${toMs}`;
}

/** Counter resets (restarts) of a series over the range, summed. */
export function resetsQuery(metric: string, matchers: string, window: string): string {
  return `sum(resets(${series(metric, matchers)}[${window}]))`;
}


/**
 * @module analyzer/diagnose/statistic
 * A figure's name says what was computed: a percentile of every request's own time (traces), a
 * percentile interpolated from histogram buckets (`histogram p95`), or, where the source has only
 * a sum and a count, the mean. The Prometheus path hands the rules the mean in place of a
 * percentile it cannot have (docs/prometheus.md); these helpers keep every evidence line, rule
 * input, estimate and next step from calling that mean "p95".
 */
import type { Statistic } from '../../model/summary.js';

/** A quantile a rule names. */
export type Quantile = 'p50' | 'p90' | 'p95' | 'p99';

/** A distribution that says how its percentiles were computed (absent: per request). */
export interface HasStatistic {
  readonly statistic?: Statistic;
}

function statisticOf(d: HasStatistic | Statistic | undefined): Statistic {
  return typeof d === 'string' ? d : (d?.statistic ?? 'percentile');
}

/** True when the figure is a mean standing in for a percentile. */
export function isMean(d: HasStatistic | Statistic | undefined): boolean {
  return statisticOf(d) === 'mean';
}

/** The figure's name in words: `p95` (per request), `histogram p95` (from buckets), `mean` (sum ÷ count). */
export function statName(d: HasStatistic | Statistic | undefined, q: Quantile): string {
  const statistic = statisticOf(d);
  return statistic === 'mean' ? 'mean' : statistic === 'bucket-percentile' ? `histogram ${q}` : q;
}

/** The figure's key in evidence values, rule inputs and estimates: `queue_p95_ms`, or `queue_mean_ms` for a mean. */
export function statKey(name: string, d: HasStatistic | Statistic | undefined, q: Quantile, unit = 'ms'): string {
  return `${name === '' ? '' : `${name}_`}${isMean(d) ? 'mean' : q}${unit === '' ? '' : `_${unit}`}`;
}

/**
 * Several quantiles of one distribution in words: `p50 = 1.00 ms, p95 = 2.00 ms`, `histogram p50
 * = …, p95 = …`, or `mean = 1.50 ms` (one figure: a mean has no quantiles to list).
 */
export function statList(d: HasStatistic & { readonly meanMs: number }, values: readonly (readonly [Quantile, number])[], format: (v: number) => string): string {
  if (isMean(d)) return `mean = ${format(d.meanMs)}`;
  const prefix = statisticOf(d) === 'bucket-percentile' ? 'histogram ' : '';
  return prefix + values.map(([q, v]) => `${q} = ${format(v)}`).join(', ');
}

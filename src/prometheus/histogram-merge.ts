/**
 * @module prometheus/histogram-merge
 * Quantiles of a fleet whose replicas export one histogram in two layouts (some classic, some
 * native, as during a rolling upgrade): PromQL cannot put both into one histogram_quantile, so
 * the native buckets are spread onto the classic bounds (linearly inside each native bucket,
 * as histogram_quantile interpolates) and the quantile is taken the way histogram_quantile takes
 * it on classic buckets. The result is as fine as the classic bounds.
 * Reference: "Functions: histogram_quantile()", https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile
 */

/** A classic cumulative bucket (rate of observations ≤ `le`). */
export interface ClassicBucket {
  readonly le: number;
  readonly cumulative: number;
}

/** A native bucket (rate of observations in (lower, upper]). */
export interface NativeBucket {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
}

/** Native observations at or below `bound`, a bucket straddling it split linearly. */
function nativeAtOrBelow(buckets: readonly NativeBucket[], bound: number): number {
  let n = 0;
  for (const b of buckets) {
    if (bound >= b.upper) n += b.count;
    else if (bound > b.lower) n += (b.count * (bound - b.lower)) / (b.upper - b.lower);
  }
  return n;
}

/** The merged cumulative buckets on the classic bounds (+Inf included); empty when the classic side has no +Inf bucket. */
export function mergeOntoClassic(classic: readonly ClassicBucket[], native: readonly NativeBucket[]): ClassicBucket[] {
  // Replicas may spell one bound two ways (`1` and `1.0`): one bucket per value.
  const byLe = new Map<number, number>();
  for (const c of classic) byLe.set(c.le, (byLe.get(c.le) ?? 0) + c.cumulative);
  const sorted = [...byLe].map(([le, cumulative]) => ({ le, cumulative })).sort((a, b) => a.le - b.le);
  if (sorted.length === 0 || sorted[sorted.length - 1]?.le !== Number.POSITIVE_INFINITY) return [];
  return sorted.map((c) => ({ le: c.le, cumulative: c.cumulative + nativeAtOrBelow(native, c.le) }));
}

/** Quantile q of cumulative buckets, interpolated as histogram_quantile does (NaN without observations). */
export function bucketQuantile(q: number, buckets: readonly ClassicBucket[]): number {
  const total = buckets[buckets.length - 1]?.cumulative ?? 0;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  const i = buckets.findIndex((b) => b.cumulative >= rank);
  const bucket = buckets[i];
  if (bucket === undefined) return Number.NaN;
  // In the +Inf bucket: the highest finite bound, as histogram_quantile answers.
  if (bucket.le === Number.POSITIVE_INFINITY) return buckets[i - 1]?.le ?? Number.NaN;
  const previous = buckets[i - 1];
  const start = previous?.le ?? (bucket.le > 0 ? 0 : bucket.le);
  const below = previous?.cumulative ?? 0;
  const inBucket = bucket.cumulative - below;
  return inBucket > 0 ? start + ((bucket.le - start) * (rank - below)) / inBucket : bucket.le;
}

/**
 * @module analyzer/diagnose/stats
 * Small, dependency-free statistics for the diagnosis: exact quantiles, the Mann-Kendall
 * trend test and the Theil-Sen slope. Exact quantiles (of a sorted array, or by bucketing,
 * quantilesInPlace, which gives the same values without the sort) are used here rather than HDR
 * histograms: a rule's evidence quotes the interpolated quantile of the diagnosed requests.
 */

/** Quantile `q` (0–1) of an ascending-sorted array, linear interpolation between ranks; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

/** Quantile `q` of `n` values given as counts per value, interpolated between ranks as quantileSorted does. */
export function quantileOfCounts(counts: ReadonlyMap<number, number>, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  const values = [...counts.keys()].sort((a, b) => a - b);
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  // The value at rank r: the first whose cumulative count passes r.
  const at = (r: number): number => {
    let below = 0;
    for (const v of values) {
      below += counts.get(v)!;
      if (below > r) return v;
    }
    return values[values.length - 1]!;
  };
  const a = at(lo);
  return pos === lo ? a : a + (at(lo + 1) - a) * (pos - lo);
}

/**
 * Quantiles `qs` (0–1) of `values`, equal to quantileSorted's on the sorted values. The ranks
 * they need are found by bucketing (see orderStatistics), in linear time where a sort is n log n,
 * for the diagnosis's many p50/p95 over every request. May reorder `values`.
 */
export function quantilesInPlace(values: Float64Array, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return qs.map(() => Number.NaN);
  // Ranks each quantile interpolates between: lo, and lo + 1 where it falls between two.
  const ranks: number[] = [];
  for (const q of qs) {
    const pos = (n - 1) * Math.min(1, Math.max(0, q));
    const lo = Math.floor(pos);
    ranks.push(lo);
    if (pos !== lo) ranks.push(lo + 1);
  }
  const at = orderStatistics(values, ranks);
  if (at === undefined) return quantilesBySelection(values, qs);
  return qs.map((q) => {
    const pos = (n - 1) * Math.min(1, Math.max(0, q));
    const lo = Math.floor(pos);
    const a = at.get(lo)!;
    if (pos === lo) return a;
    const b = at.get(lo + 1)!;
    return a + (b - a) * (pos - lo);
  });
}

/**
 * Buckets of one bucketing round. Few enough that the walk over them is short, many enough that a
 * rank's bucket holds a few hundred of 59,000 values (a second round splits a crowded one).
 */
const BUCKETS = 256;

/** At or below this many values, sorting them (native, no comparator) is as cheap as bucketing. */
const SORT_AT_MOST = 1024;

/**
 * The values of the given ranks (0-based) of `values`, by bucketing: one pass for the range, one
 * counting the values per equal-width bucket of it, one gathering the values of the buckets that
 * hold a wanted rank, sorted (or bucketed again when many). Equal-width buckets keep the order of
 * the values (x ↦ ⌊(x − min)·scale⌋ never decreases), so a rank's value is found among its
 * bucket's by its rank less the values in the buckets below. The passes are small loops of their
 * own, each optimized once for every call: the quickselect this replaces ran its partition loops
 * in the interpreter in its first calls and was compiled again at each branch it had not taken
 * yet, a fifth of the diagnosis's CPU on 59,000 requests. Undefined when a value is not finite
 * (NaN, ±Infinity): the quickselect takes those. May reorder `values`.
 */
function orderStatistics(values: Float64Array, ranks: readonly number[]): Map<number, number> | undefined {
  const min = rangeOf(values);
  const max = rangeMax;
  if (!(Number.isFinite(min) && Number.isFinite(max))) return undefined;
  const out = new Map<number, number>();
  gatherRanks(values, min, max, ranks, 0, out, 0);
  return out;
}

/** The largest value rangeOf saw in its last call (its second result). */
let rangeMax = 0;

/**
 * Smallest of `values` (not empty), with the largest in `rangeMax`; NaN for both when one is NaN.
 * Nothing after the loop but a module variable and the result: V8 compiles the loop on-stack in
 * the first long call, before the code after it ever ran, and every later call entered that
 * compiled loop and left it for code it had no type feedback for (a `[min, max]` built after the
 * loop was 67 deoptimizations in one diagnosis). A module variable's store has no feedback to
 * want, and each test in the loop runs on nearly every value, fed before the loop is compiled.
 */
function rangeOf(values: Float64Array): number {
  let min = values[0]!;
  let max = min;
  for (let i = 1; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    else if (v > max) max = v;
    // NaN compares false both ways.
    else if (v !== v) min = max = v;
  }
  rangeMax = max;
  return min;
}

/**
 * Sets `out[offset + r]` for each rank r of `values` (finite, in [min, max]); `depth` counts the
 * bucketing rounds so far. No loop here runs long: the passes over the values are their own functions.
 */
function gatherRanks(values: Float64Array, min: number, max: number, ranks: readonly number[], offset: number, out: Map<number, number>, depth: number): void {
  const n = values.length;
  const scale = BUCKETS / (max - min);
  // All equal, too few to bucket, bucketed twice already, or a range too wide or narrow for the arithmetic: sort.
  if (min === max || n <= SORT_AT_MOST || depth >= 2 || !(scale > 0 && Number.isFinite(scale))) {
    if (min !== max) values.sort();
    for (const r of ranks) out.set(offset + r, min === max ? min : values[r]!);
    return;
  }
  // Values in each bucket, then in it and every bucket below (so a rank's bucket is a binary search away).
  const below = new Int32Array(BUCKETS);
  countBuckets(values, min, scale, below);
  cumulate(below);
  const slotOf = new Int32Array(BUCKETS).fill(-1);
  const wanted: number[] = [];
  for (const r of ranks) {
    const b = bucketOfRank(below, r);
    if (slotOf[b]! < 0) {
      slotOf[b] = wanted.length;
      wanted.push(b);
    }
  }
  const firstOf = (b: number): number => (b > 0 ? below[b - 1]! : 0);
  const parts = wanted.map((b) => new Float64Array(below[b]! - firstOf(b)));
  gatherBuckets(values, min, scale, slotOf, parts);
  wanted.forEach((b, slot) => {
    const part = parts[slot]!;
    const first = firstOf(b);
    const local = ranks.filter((r) => r >= first && r < first + part.length).map((r) => r - first);
    const min = rangeOf(part);
    gatherRanks(part, min, rangeMax, local, offset + first, out, part.length === n ? 2 : depth + 1);
  });
}

/** Counts the values per bucket into `counts`; the bucket of a value is the same expression in both passes, so it lands in the same bucket in each. */
function countBuckets(values: Float64Array, min: number, scale: number, counts: Int32Array): void {
  const last = counts.length - 1;
  for (let i = 0; i < values.length; i++) {
    const b = ((values[i]! - min) * scale) | 0;
    counts[b > last ? last : b]!++;
  }
}

/** Counts per bucket → counts in that bucket and every bucket below it. */
function cumulate(counts: Int32Array): void {
  for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
}

/** The bucket holding rank `r`: the first whose cumulative count exceeds r. */
function bucketOfRank(below: Int32Array, r: number): number {
  let lo = 0;
  let hi = below.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (below[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Copies each value whose bucket has a slot (slotOf ≥ 0) into that slot's part, in order. */
function gatherBuckets(values: Float64Array, min: number, scale: number, slotOf: Int32Array, parts: readonly Float64Array[]): void {
  const last = slotOf.length - 1;
  const filled = new Int32Array(parts.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const b = ((v - min) * scale) | 0;
    const slot = slotOf[b > last ? last : b]!;
    if (slot >= 0) parts[slot]![filled[slot]!++] = v;
  }
}

/** quantilesInPlace by Hoare's FIND (https://doi.org/10.1145/366622.366647), for values with NaN or ±Infinity. Reorders `values`. */
function quantilesBySelection(values: Float64Array, qs: readonly number[]): number[] {
  const n = values.length;
  return qs.map((q) => {
    const pos = (n - 1) * Math.min(1, Math.max(0, q));
    const lo = Math.floor(pos);
    const a = select(values, lo);
    if (pos === lo) return a;
    // After select, everything right of `lo` is ≥ a: the next rank is their minimum.
    let b = Number.POSITIVE_INFINITY;
    for (let i = lo + 1; i < n; i++) if (values[i]! < b) b = values[i]!;
    return a + (b - a) * (pos - lo);
  });
}

/** The k-th smallest of `a` (0-based), partitioning `a` so that no element left of k is larger and none right of it smaller. */
function select(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  // Past this many rounds the pivots are unlucky (adversarial input): sort what is left instead.
  let rounds = 2 * Math.ceil(Math.log2(a.length + 1)) + 8;
  while (right > left) {
    if (--rounds < 0) {
      a.subarray(left, right + 1).sort();
      return a[k]!;
    }
    const mid = (left + right) >>> 1;
    const x = a[left]!;
    const y = a[mid]!;
    const z = a[right]!;
    // Median of three as the pivot.
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Quantile `q` (0–1) of an unsorted array. */
export function quantile(values: readonly number[], q: number): number {
  return quantileSorted(sortNumbers(values), q);
}

/** An ascending copy; a typed-array sort needs no comparator calls, several times faster on large inputs. */
export function sortNumbers(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Arithmetic mean; 0 for an empty array. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** Standard normal cumulative distribution (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Result of a one-sided Mann-Kendall test for an increasing trend. */
export interface MannKendall {
  readonly n: number;
  /** Kendall's S statistic: concordant minus discordant pairs. */
  readonly s: number;
  readonly z: number;
  /** One-sided p-value for "the series increases". 1 when n < 3. */
  readonly pIncreasing: number;
}

/**
 * Mann-Kendall trend test (Mann 1945, Kendall 1975) with the tie-corrected variance.
 * Chosen over "first window vs last window" because it uses every window and makes no
 * assumption about the shape of the trend, only that it is monotonic.
 */
export function mannKendall(series: readonly number[]): MannKendall {
  const n = series.length;
  if (n < 3) return { n, s: 0, z: 0, pIncreasing: 1 };
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    const xi = series[i] as number;
    for (let j = i + 1; j < n; j++) s += Math.sign((series[j] as number) - xi);
  }
  const ties = new Map<number, number>();
  for (const v of series) ties.set(v, (ties.get(v) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of ties.values()) if (t > 1) tieTerm += t * (t - 1) * (2 * t + 5);
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  if (variance <= 0) return { n, s, z: 0, pIncreasing: 1 };
  const z = s > 0 ? (s - 1) / Math.sqrt(variance) : s < 0 ? (s + 1) / Math.sqrt(variance) : 0;
  return { n, s, z, pIncreasing: 1 - normalCdf(z) };
}

/** Theil-Sen slope: the median of all pairwise slopes, robust to outlying points. */
export function theilSenSlope(xs: readonly number[], ys: readonly number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length - 1; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = (xs[j] as number) - (xs[i] as number);
      if (dx !== 0) slopes.push(((ys[j] as number) - (ys[i] as number)) / dx);
    }
  }
  return slopes.length === 0 ? 0 : quantile(slopes, 0.5);
}

/** Ordinary least-squares line y = intercept + slope·x; undefined with fewer than two distinct x. */
export function leastSquares(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number } | undefined {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = (xs[i] as number) - mx;
    sxy += dx * ((ys[i] as number) - my);
    sxx += dx * dx;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

/** Clamp `x` into [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * Laplace test for a rising rate in a point process observed on [0, T] (Cox & Lewis 1966):
 * under a constant rate the event times are uniform, so their mean is T/2 with standard
 * deviation T/√(12n). Uses every arrival, so it detects a load ramp far earlier than a test
 * over a few window rates. Returns the one-sided p-value for "the rate increases".
 */
export function laplaceTrend(times: ArrayLike<number>, horizon: number): { readonly z: number; readonly pIncreasing: number } {
  return laplaceTrendOfMean(times.length, times.length < 3 ? 0 : mean(times), horizon);
}

/** laplaceTrend from the count and mean of the event times, for a caller that summed them in a pass of its own. */
export function laplaceTrendOfMean(n: number, meanTime: number, horizon: number): { readonly z: number; readonly pIncreasing: number } {
  if (n < 3 || horizon <= 0) return { z: 0, pIncreasing: 1 };
  const z = (meanTime - horizon / 2) / (horizon * Math.sqrt(1 / (12 * n)));
  return { z, pIncreasing: 1 - normalCdf(z) };
}

/**
 * @module analyzer/diff/significance
 * Is a latency change real? Two tests suited to latency distributions (skewed, long-tailed,
 * not normal): the Mann-Whitney U test for a shift of the whole distribution, and bootstrap
 * confidence intervals for the change of each quantile (p50/p95/p99), where a fix usually acts.
 *
 * - Mann-Whitney U with the normal approximation and the tie correction, valid from about
 *   20 observations per side ("Mann–Whitney U test", normal approximation:
 *   https://en.wikipedia.org/wiki/Mann%E2%80%93Whitney_U_test#Normal_approximation_and_tie_correction).
 * - Percentile bootstrap of the quantile difference (Efron & Tibshirani, "An Introduction to the
 *   Bootstrap", 1993, ch. 13). The k-th order statistic of a resample of n sorted values is
 *   `sorted[floor(n·B)]` with B ~ Beta(k, n−k+1) (the k-th smallest of n uniforms), so each
 *   resample costs one Beta draw instead of n draws and a sort: exact, and fast at any n.
 *   Draws come from a seeded generator: the same two runs always give the same interval.
 */
import { createRequire } from 'node:module';
import { normalCdf } from '../diagnose/stats.js';

// The statistics libraries are loaded on first use: @stdlib/random-base-beta's module graph (a
// few hundred small files) takes on the order of a second to load on a busy machine, which no
// command that imports the analyzer without comparing runs should pay.
const load = createRequire(import.meta.url);
type BetaFactory = (alpha: number, beta: number, options: { seed: number }) => () => number;
let betaFactory: BetaFactory | undefined;
let rankSum: ((x: number[], y: number[]) => number) | undefined;

function loadBeta(): BetaFactory {
  betaFactory ??= (load('@stdlib/random-base-beta') as { factory: BetaFactory }).factory;
  return betaFactory;
}

function wilcoxonRankSum(x: number[], y: number[]): number {
  rankSum ??= (load('simple-statistics') as typeof import('simple-statistics')).wilcoxonRankSum;
  return rankSum(x, y);
}

/** Quantiles compared, as (label, q). */
export const DIFF_QUANTILES = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;

/** A compared quantile's label. */
export type DiffQuantile = (typeof DIFF_QUANTILES)[number][0];

/** Fewest observations per side for the U test's normal approximation (see the module doc). */
export const MIN_SHIFT_SAMPLES = 20;

/**
 * Fewest observations beyond a quantile, per side, for its bootstrap interval: with fewer, the
 * resampled quantile takes only a handful of distinct values (the top few order statistics)
 * and the interval is too narrow to trust. So p50 needs 10 requests, p95 100, p99 500.
 */
export const MIN_TAIL_SAMPLES = 5;

/** Fewest requests per side for a quantile's interval (see MIN_TAIL_SAMPLES). */
export function minSamplesFor(q: number): number {
  return Math.ceil(MIN_TAIL_SAMPLES / (1 - q) - 1e-9);
}

/** Result of the Mann-Whitney U test of AFTER against BEFORE. */
export interface ShiftTest {
  /** U of AFTER: pairs (before, after) where after is the slower one, ties counted half. */
  readonly u: number;
  /** U ÷ (n_before · n_after): the chance a random AFTER request is slower than a random BEFORE one (0.5 = no shift). */
  readonly probabilitySlower: number;
  readonly z: number;
  /** Two-sided p-value. */
  readonly pValue: number;
}

/** Mann-Whitney U test of `after` against `before` (both ascending-sorted); undefined below MIN_SHIFT_SAMPLES per side. */
export function shiftTest(before: Float64Array, after: Float64Array): ShiftTest | undefined {
  const n1 = before.length;
  const n2 = after.length;
  if (n1 < MIN_SHIFT_SAMPLES || n2 < MIN_SHIFT_SAMPLES) return undefined;
  const rankSum = wilcoxonRankSum(Array.from(after), Array.from(before));
  const u = rankSum - (n2 * (n2 + 1)) / 2;
  const n = n1 + n2;
  // Tie correction: Σ(t³ − t) over groups of equal values in the pooled sample.
  let ties = 0;
  const pooled = new Float64Array(n);
  pooled.set(before);
  pooled.set(after, n1);
  pooled.sort();
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && pooled[j] === pooled[i]) j++;
    const t = j - i;
    if (t > 1) ties += t * t * t - t;
    i = j;
  }
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const mean = (n1 * n2) / 2;
  // Continuity correction of 0.5 towards the mean.
  const z = variance > 0 ? (u - mean - 0.5 * Math.sign(u - mean)) / Math.sqrt(variance) : 0;
  const pValue = Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
  return { u, probabilitySlower: u / (n1 * n2), z, pValue };
}

/** Nearest-rank quantile of an ascending array (the value at rank ⌈q·n⌉); NaN when it is empty. */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const k = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length - 1e-9)));
  return sorted[k - 1]!;
}

/** A bootstrap interval of AFTER's quantile minus BEFORE's, absolute and relative. */
export interface QuantileInterval {
  readonly lowMs: number;
  readonly highMs: number;
  /** Relative to BEFORE's quantile: (after − before) ÷ before, as a fraction. */
  readonly lowRatio: number;
  readonly highRatio: number;
}

/** Options of `quantileInterval`. */
export interface BootstrapOptions {
  /** Two-sided confidence level. Default 0.95. */
  readonly confidence?: number;
  /** Resamples. Default 4000. */
  readonly resamples?: number;
  /** Seed of the generator. Default a fixed seed, so results are reproducible. */
  readonly seed?: number;
}

const DEFAULT_SEED = 20_141_109;

/** Percentile-bootstrap interval for quantile q of `after` minus that of `before` (both ascending-sorted, non-empty). */
export function quantileInterval(before: Float64Array, after: Float64Array, q: number, options: BootstrapOptions = {}): QuantileInterval {
  const resamples = options.resamples ?? 4000;
  const alpha = 1 - (options.confidence ?? 0.95);
  const draw = orderStatisticSampler(before, q, options.seed ?? DEFAULT_SEED);
  const drawAfter = orderStatisticSampler(after, q, (options.seed ?? DEFAULT_SEED) + 1);
  const deltas = new Float64Array(resamples);
  const ratios = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) {
    const b = draw();
    const a = drawAfter();
    deltas[i] = a - b;
    ratios[i] = b > 0 ? (a - b) / b : 0;
  }
  deltas.sort();
  ratios.sort();
  const lo = (values: Float64Array): number => nearestRank(values, alpha / 2);
  const hi = (values: Float64Array): number => nearestRank(values, 1 - alpha / 2);
  return { lowMs: lo(deltas), highMs: hi(deltas), lowRatio: lo(ratios), highRatio: hi(ratios) };
}

/** Draws the nearest-rank q-quantile of a bootstrap resample of `sorted`. */
function orderStatisticSampler(sorted: Float64Array, q: number, seed: number): () => number {
  const n = sorted.length;
  const k = Math.min(n, Math.max(1, Math.ceil(q * n - 1e-9)));
  if (n === 1) return () => sorted[0]!;
  const beta = loadBeta()(k, n - k + 1, { seed });
  return () => sorted[Math.min(n - 1, Math.floor(n * beta()))]!;
}

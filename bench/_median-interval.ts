/**
 * A distribution-free confidence interval for a median, for judging a benchmark's goal on its
 * rounds: how far the median of the per-round ratios could be from what this run saw, given
 * only how many rounds there were. The number of values below the true median is
 * Binomial(n, ½), so the order statistics x(k) and x(n + 1 − k) hold it between them with
 * probability 1 − 2·P(X ≤ k − 1); k is the largest whose probability is at least the level asked.
 * No assumption on the rounds' distribution (a busy host gives long tails), only that rounds are
 * independent draws.
 *
 * W. J. Conover, Practical Nonparametric Statistics, 3rd ed. (Wiley, 1999), the confidence
 * interval for a quantile; worked examples: S. Mangiafico, "Confidence Intervals for Medians",
 * https://rcompanion.org/handbook/E_04.html
 */
import { binomialDistribution } from 'simple-statistics';

/** An interval for a median and the probability that it holds the median (at least the level asked, the binomial being discrete). */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
  /** Exact coverage: 1 − 2·P(X ≤ k − 1) for X ~ Binomial(n, ½). */
  readonly coverage: number;
}

/** The order-statistic interval for the median of `values` at `level` (0–1); undefined when too few values reach it (e.g. 4 values at 90%). */
export function medianInterval(values: readonly number[], level = 0.9): MedianInterval | undefined {
  const n = values.length;
  if (n === 0 || !(level > 0 && level < 1)) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  // P(X ≤ j) for X ~ Binomial(n, ½), from below; simple-statistics stops its list where the
  // cumulative probability is all but 1, which is past the lower tail needed here.
  const probabilities = binomialDistribution(n, 0.5) ?? [];
  let tail = 0;
  let best: MedianInterval | undefined;
  for (let k = 1; 2 * k <= n + 1; k++) {
    tail += probabilities[k - 1] ?? 0;
    const coverage = 1 - 2 * tail;
    if (coverage < level) break;
    best = { low: sorted[k - 1]!, high: sorted[n - k]!, coverage };
  }
  return best;
}

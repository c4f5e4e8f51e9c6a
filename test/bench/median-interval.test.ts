import { describe, expect, it } from 'vitest';
import { binomialDistribution } from 'simple-statistics';
import { medianInterval } from '../../bench/_median-interval.js';

describe('medianInterval (the bench judges its goals with it)', () => {
  it('gives the order statistics of the published example: 11 values, 95% → 2nd and 10th (98.8%)', () => {
    // Altman, Machin, Bryant & Gardner, "Statistics with Confidence" (2000), p. 38, as reproduced in
    // the examples of R's biostatUZH::confIntMedian (https://rdrr.io/github/felix-hof/biostatUZH/man/confIntMedian.html).
    const interval = medianInterval([66, 71.2, 83, 83.6, 101, 107.6, 122, 143, 160, 177, 414], 0.95);
    expect([interval!.low, interval!.high]).toEqual([71.2, 177]);
    expect(interval!.coverage).toBeCloseTo(1 - 2 * (12 / 2048), 12);
  });

  it('does not depend on the order of the values', () => {
    const values = [5, 1, 9, 3, 7, 2, 8, 4, 6];
    expect(medianInterval(values, 0.95)).toEqual(medianInterval([...values].sort((a, b) => a - b), 0.95));
    // 9 values: the 2nd and 8th hold the median with probability 1 − 2·10/512.
    const interval = medianInterval(values, 0.95)!;
    expect([interval.low, interval.high]).toEqual([2, 8]);
    expect(interval.coverage).toBeCloseTo(1 - 20 / 512, 12);
  });

  it('takes the narrowest interval whose coverage reaches the level, at every size from 1 to 60', () => {
    for (let n = 1; n <= 60; n++) {
      const values = Array.from({ length: n }, (_, i) => i + 1);
      const interval = medianInterval(values, 0.9);
      // Coverage of [x(k), x(n+1−k)] straight from the binomial probabilities.
      const p = binomialDistribution(n, 0.5)!;
      const coverageOf = (k: number): number => 1 - 2 * p.slice(0, k).reduce((a, b) => a + b, 0);
      if (coverageOf(1) < 0.9) {
        expect(interval, `n = ${n}`).toBeUndefined();
        continue;
      }
      const k = interval!.low;
      expect(interval!.high, `n = ${n}`).toBe(n + 1 - k);
      expect(interval!.coverage, `n = ${n}`).toBeCloseTo(coverageOf(k), 12);
      expect(interval!.coverage, `n = ${n}`).toBeGreaterThanOrEqual(0.9);
      if (2 * (k + 1) <= n + 1) expect(coverageOf(k + 1), `n = ${n}`).toBeLessThan(0.9);
    }
  });

  it('has no interval for no values or a level that is not a probability', () => {
    expect(medianInterval([], 0.9)).toBeUndefined();
    expect(medianInterval([1, 2, 3, 4, 5], 1)).toBeUndefined();
    expect(medianInterval([1, 2, 3, 4, 5], 0)).toBeUndefined();
  });
});

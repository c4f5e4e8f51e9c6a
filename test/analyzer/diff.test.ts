/**
 * The diff's statistics on data with a known answer: the U test against SciPy's, the Beta
 * shortcut of the bootstrap against plain resampling, and the three cases a CI gate must get
 * right: no change (must not flag), a small real regression at high n (must flag), and too few
 * requests (must say so and fail closed).
 */
import { describe, expect, it } from 'vitest';
import { distributionChange, nearestRank, quantileInterval, regressions, shiftTest, parseRegressionGates, DiffInputError } from '../../src/analyzer/diff/index.js';
import type { AnalysisDiff, DistributionChange } from '../../src/analyzer/diff/index.js';
import { seededRandom } from '../../examples/model/seeded-random.js';

/** Log-normal latencies (median `medianMs`, σ 0.35): skewed with a tail, like real e2e times. */
function latencies(n: number, seed: number, medianMs = 20, factor = 1): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    // Box-Muller.
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return medianMs * Math.exp(0.35 * z) * factor;
  });
}

const sorted = (values: number[]): Float64Array => Float64Array.from(values).sort();

function gate(change: DistributionChange, limit = 'p99=10%'): ReturnType<typeof regressions> {
  const diff: AnalysisDiff = { models: [{ model: 'm', e2e: change, phases: [], generation: [], verdict: { before: null, after: null, text: '', appeared: [], resolved: [] }, outcomes: { before: { requests: change.beforeCount, errors: 0 }, after: { requests: change.afterCount, errors: 0 } }, notes: [] }], onlyBefore: [], onlyAfter: [], confidence: 0.95 };
  return regressions(diff, parseRegressionGates(limit));
}

describe('Mann-Whitney U', () => {
  it('gives the U and the two-sided p-value SciPy gives (asymptotic, continuity and tie corrections)', () => {
    const before = [12.1, 13.4, 11.8, 15.2, 12.9, 14.4, 13.0, 12.2, 16.8, 13.3, 12.7, 11.9, 14.1, 13.8, 12.5, 13.1, 15.9, 12.0, 13.6, 14.9, 12.8, 13.2, 12.4, 17.5, 13.0];
    const after = [13.0, 14.6, 12.9, 16.1, 13.8, 15.5, 14.2, 13.0, 18.3, 14.4, 13.9, 12.7, 15.3, 14.8, 13.6, 14.0, 17.2, 13.1, 14.7, 16.0, 13.9, 14.3, 13.5, 19.0, 14.1];
    // scipy 1.17.1: mannwhitneyu(after, before, alternative='two-sided', method='asymptotic') → U 455.5, p 0.005673081891714744
    const test = shiftTest(sorted(before), sorted(after))!;
    expect(test.u).toBe(455.5);
    expect(test.pValue).toBeCloseTo(0.005673, 5);
    expect(test.probabilitySlower).toBeCloseTo(455.5 / 625, 10);
  });

  it('is not run below 20 requests per side', () => {
    expect(shiftTest(sorted(latencies(19, 1)), sorted(latencies(500, 2)))).toBeUndefined();
  });
});

describe('bootstrap interval of a quantile change', () => {
  it('matches plain resampling (the Beta order-statistic shortcut is the same bootstrap)', () => {
    const before = sorted(latencies(800, 3));
    const after = sorted(latencies(900, 4, 20, 1.1));
    const fast = quantileInterval(before, after, 0.95, { resamples: 4000 });
    // Plain percentile bootstrap: resample both sides with replacement, take the quantile.
    const rand = seededRandom(99);
    const resample = (s: Float64Array): Float64Array => Float64Array.from({ length: s.length }, () => s[Math.floor(rand() * s.length)]!).sort();
    const deltas = Float64Array.from({ length: 2000 }, () => nearestRank(resample(after), 0.95) - nearestRank(resample(before), 0.95)).sort();
    const [lo, hi] = [nearestRank(deltas, 0.025), nearestRank(deltas, 0.975)];
    const width = hi - lo;
    expect(Math.abs(fast.lowMs - lo)).toBeLessThan(0.15 * width);
    expect(Math.abs(fast.highMs - hi)).toBeLessThan(0.15 * width);
  });

  it('is the same for the same input (seeded), so a CI gate gives one answer', () => {
    const before = sorted(latencies(600, 5));
    const after = sorted(latencies(600, 6));
    expect(quantileInterval(before, after, 0.99)).toEqual(quantileInterval(before, after, 0.99));
  });
});

describe('what the gate must get right', () => {
  it('no change (two samples of one distribution, n 5000): nothing significant, the p99=10% gate stays quiet', () => {
    const change = distributionChange(latencies(5000, 7), latencies(5000, 8));
    expect(change.quantiles.map((q) => q.significant)).toEqual([false, false, false]);
    expect(change.shiftSignificant).toBe(false);
    expect(change.note).toBeUndefined();
    expect(gate(change)).toEqual({ regressed: [], unmeasured: [] });
  });

  it('a 15% slowdown at n 20000 is flagged by p99=10%, with its interval above 0', () => {
    const change = distributionChange(latencies(20_000, 9), latencies(20_000, 10, 20, 1.15));
    const p99 = change.quantiles.find((q) => q.quantile === 'p99')!;
    expect(p99.significant).toBe(true);
    expect(p99.interval!.lowRatio).toBeGreaterThan(0.05);
    expect(p99.interval!.lowRatio).toBeLessThan(0.15);
    expect(p99.interval!.highRatio).toBeGreaterThan(0.15);
    expect(change.shiftSignificant).toBe(true);
    expect(change.shift!.probabilitySlower).toBeGreaterThan(0.6);
    const { regressed } = gate(change);
    expect(regressed).toHaveLength(1);
    expect(regressed[0]).toMatch(/^m p99 .* \(\+1\d\.\d%, 95% CI \+\d+\.\d% to \+\d+\.\d%; limit 10\.0%\)$/);
  });

  it('a 3% shift at n 20000 is significant but under the 10% limit: reported, not gated', () => {
    const change = distributionChange(latencies(20_000, 11), latencies(20_000, 12, 20, 1.03));
    expect(change.shiftSignificant).toBe(true);
    expect(change.quantiles.find((q) => q.quantile === 'p50')!.significant).toBe(true);
    expect(gate(change).regressed).toEqual([]);
  });

  it('too few requests (60 per side): says so, gives no p99 interval, and the gate fails closed', () => {
    const change = distributionChange(latencies(60, 13), latencies(60, 14, 20, 1.5));
    expect(change.quantiles.find((q) => q.quantile === 'p99')!.interval).toBeUndefined();
    expect(change.quantiles.find((q) => q.quantile === 'p50')!.interval).toBeDefined();
    expect(change.note).toBe('too few requests for a significant answer at p95/p99 (60 before, 60 after; p95 needs 100, p99 needs 500 per side)');
    const result = gate(change);
    expect(result.regressed).toEqual([]);
    expect(result.unmeasured).toEqual(['m p99: too few requests to tell (60 before, 60 after; needs 500 per side)']);
  });

  it('--fail-on-regression names what it expected when the limit is malformed', () => {
    expect(() => parseRegressionGates('p98=10%')).toThrow(DiffInputError);
    expect(() => parseRegressionGates('p99=10')).toThrow(/expected QUANTILE=PERCENT .* got "p99=10"/);
    // A quantile given twice is refused, as --slo refuses a target given twice.
    expect(() => parseRegressionGates('p99=10%,p50=5%,p99=1%')).toThrow('--fail-on-regression: expected each quantile once, got p99 twice in "p99=10%,p50=5%,p99=1%"');
    expect(parseRegressionGates('p99=10%,p50=2.5%')).toEqual([
      { quantile: 'p99', ratio: 0.1 },
      { quantile: 'p50', ratio: 0.025 },
    ]);
  });
});

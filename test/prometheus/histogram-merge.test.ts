/**
 * @module test/prometheus/histogram-merge.test
 * The quantile of a mixed classic/native fleet: native buckets spread onto the classic bounds,
 * quantiles interpolated as Prometheus' histogram_quantile does on classic buckets (its
 * documented rules: linear inside a bucket, the lowest bucket starting at 0, the +Inf bucket
 * answering with the highest finite bound). The end-to-end check against a real Prometheus is
 * in servers.test.ts (the mixed fleet).
 */
import { describe, expect, it } from 'vitest';
import { bucketQuantile, mergeOntoClassic } from '../../src/prometheus/histogram-merge.js';

const INF = Number.POSITIVE_INFINITY;

describe('bucketQuantile', () => {
  const classic = [
    { le: 0.1, cumulative: 10 },
    { le: 0.2, cumulative: 30 },
    { le: 0.4, cumulative: 38 },
    { le: INF, cumulative: 40 },
  ];

  it('interpolates linearly inside the bucket the rank falls in, the first bucket from 0', () => {
    expect(bucketQuantile(0.5, classic)).toBeCloseTo(0.15, 12); // rank 20: half way through (0.1, 0.2]
    expect(bucketQuantile(0.125, classic)).toBeCloseTo(0.05, 12); // rank 5 of the first 10 in (0, 0.1]
    expect(bucketQuantile(0.9, classic)).toBeCloseTo(0.2 + 0.2 * (6 / 8), 12);
  });

  it('answers the highest finite bound in the +Inf bucket, NaN without observations', () => {
    expect(bucketQuantile(0.99, classic)).toBe(0.4);
    expect(bucketQuantile(0.5, [{ le: 1, cumulative: 0 }, { le: INF, cumulative: 0 }])).toBeNaN();
  });
});

describe('mergeOntoClassic', () => {
  it('adds each native bucket to the classic bounds, splitting a straddling one linearly', () => {
    const merged = mergeOntoClassic(
      [
        { le: 0.1, cumulative: 10 },
        { le: 0.2, cumulative: 20 },
        { le: INF, cumulative: 20 },
      ],
      [
        { lower: 0.05, upper: 0.15, count: 4 }, // half below 0.1
        { lower: 0.3, upper: 0.5, count: 6 }, // above every finite bound
      ],
    );
    expect(merged).toEqual([
      { le: 0.1, cumulative: 12 },
      { le: 0.2, cumulative: 24 },
      { le: INF, cumulative: 30 },
    ]);
    expect(bucketQuantile(0.5, merged)).toBeCloseTo(0.1 + 0.1 * (3 / 12), 12);
  });

  it('counts one bound spelt two ways once, and gives nothing without a +Inf bucket', () => {
    expect(mergeOntoClassic([{ le: 1, cumulative: 2 }, { le: 1, cumulative: 3 }, { le: INF, cumulative: 6 }], [])).toEqual([
      { le: 1, cumulative: 5 },
      { le: INF, cumulative: 6 },
    ]);
    expect(mergeOntoClassic([{ le: 1, cumulative: 2 }], [{ lower: 0, upper: 1, count: 1 }])).toEqual([]);
  });
});

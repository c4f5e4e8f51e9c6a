/**
 * Signals.startSeconds() and endSeconds() make their arrays on each call from the table's starts
 * (not held through the diagnosis), and the in-flight p95 the dynamic-batching rule sizes batches by is counted per
 * value, not per request: both must give what the arrays per request gave.
 */
import { describe, expect, it } from 'vitest';
import { computeSignals, resolveThresholds } from '../../src/analyzer/diagnose/index.js';
import { p95InFlightAtArrival } from '../../src/analyzer/diagnose/dynamic-batching.js';
import { quantileOfCounts, quantileSorted } from '../../src/analyzer/diagnose/stats.js';
import type { RequestTiming } from '../../src/model/request.js';
import { seededRandom as rng } from '../../examples/model/seeded-random.js';
import { exp, generate, summarize } from './gen.js';

/** Requests with overlapping, tied and zero-length times: starts on a coarse clock, some e2e 0. */
function rows(n: number, seed: number): RequestTiming[] {
  const rand = rng(seed);
  return generate({ n, rps: 400, phases: { queue: exp(3), compute: 6 }, seed }).map((r, i) => {
    // A millisecond clock: many requests start at the same instant.
    const startNs = (r.startNs / 1_000_000n) * 1_000_000n;
    if (i % 17 !== 0) return { ...r, startNs };
    return { ...r, startNs, e2eMs: 0, serverMs: 0, otherMs: 0, phases: {} };
  });
}

/** The in-flight count at each arrival as the rule computed it before (one number per request), and its p95 by quantileSorted. */
function p95PerRequest(startS: Float64Array, endS: Float64Array): number {
  const ends = endS.slice().sort();
  const atArrival = new Float64Array(startS.length);
  let current = 0;
  let e = 0;
  for (let i = 0; i < startS.length; i++) {
    while (e < ends.length && ends[e]! <= startS[i]!) {
      current--;
      e++;
    }
    atArrival[i] = ++current;
  }
  return quantileSorted(atArrival.sort(), 0.95);
}

describe('the diagnosed requests’ times', () => {
  const requests = rows(3000, 5);
  const signals = computeSignals({ model: 'm', requests, summary: summarize(requests) }, resolveThresholds());

  it('are each request’s start and end in seconds after the first start, in start order', () => {
    const table = signals.requests;
    const starts = table.startOffsets().offsetsNs;
    const startS = signals.startSeconds();
    const endS = signals.endSeconds();
    expect(startS.length).toBe(table.length);
    expect(startS[0]).toBe(0);
    for (let i = 0; i < table.length; i++) {
      expect(startS[i]).toBe((starts[i]! - starts[0]!) / 1e9);
      expect(endS[i]).toBe(startS[i]! + table.e2eMs[i]! / 1000);
      if (i > 0) expect(startS[i]).toBeGreaterThanOrEqual(startS[i - 1]!);
    }
    expect(Math.max(...endS)).toBe(signals.durationS);
  });

  it('are made on each call: a caller may sort or change its copy', () => {
    const first = signals.endSeconds();
    const unsorted = first.some((v, i) => i > 0 && v < first[i - 1]!);
    expect(unsorted).toBe(true);
    first.sort();
    first[0] = -1;
    const again = signals.endSeconds();
    expect(again).not.toBe(first);
    expect(again[0]).not.toBe(-1);
    expect(again.some((v, i) => i > 0 && v < again[i - 1]!)).toBe(true);
  });

  it('give the in-flight p95 the per-request count gave, with ties and requests of no length', () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = rows(1500 + seed * 500, seed);
      const s = computeSignals({ model: 'm', requests: r, summary: summarize(r) }, resolveThresholds());
      const expected = p95PerRequest(s.startSeconds(), s.endSeconds());
      expect(expected).toBeGreaterThan(1);
      expect(p95InFlightAtArrival(s)).toBe(expected);
    }
  });
});

describe('quantileOfCounts', () => {
  it('equals quantileSorted of the values the counts stand for', () => {
    const rand = rng(9);
    for (let k = 0; k < 200; k++) {
      const distinct = 1 + Math.floor(rand() * 40);
      const counts = new Map<number, number>();
      for (let d = 0; d < distinct; d++) counts.set(Math.floor(rand() * 100) - 20, 1 + Math.floor(rand() * (k % 3 === 0 ? 1 : 50)));
      const values = Float64Array.from([...counts].flatMap(([v, c]) => Array<number>(c).fill(v))).sort();
      for (const q of [0, 0.01, 0.5, 0.95, 0.99, 1]) expect(quantileOfCounts(counts, values.length, q)).toBe(quantileSorted(values, q));
    }
    expect(quantileOfCounts(new Map(), 0, 0.95)).toBeNaN();
  });
});

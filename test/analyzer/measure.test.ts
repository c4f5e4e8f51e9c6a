import { describe, expect, it } from 'vitest';
import { summarize, summarizeByModel } from '../../src/analyzer/measure.js';
import type { RequestTiming } from '../../src/model/request.js';
import type { Phase } from '../../src/semconv.js';
import { EPOCH_NS } from './_spans.js';
import { seededRandom as rng } from '../../examples/model/seeded-random.js';
import * as hdr from 'hdr-histogram-js';


function timing(i: number, phases: Partial<Record<Phase, number>>, extra: Partial<RequestTiming> = {}): RequestTiming {
  const covered = Object.values(phases).reduce((a, b) => a + b, 0);
  const otherMs = extra.otherMs ?? 1;
  return {
    traceId: i.toString(16).padStart(32, '0'),
    requestSpanId: i.toString(16).padStart(16, '0'),
    service: 'svc',
    model: 'm',
    startNs: EPOCH_NS + BigInt(i) * 10_000_000n,
    e2eMs: covered + otherMs,
    serverMs: covered,
    phases,
    otherMs,
    hasClient: false,
    networkDerived: false,
    clockSkew: false,
    error: false,
    ...extra,
  };
}

/** Nearest-rank percentile, the definition HdrHistogram implements. */
function bruteForce(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('summarize', () => {
  it('matches brute-force nearest-rank percentiles within 0.1%, with an exact max and mean', () => {
    const random = rng(42);
    const requests: RequestTiming[] = [];
    for (let i = 0; i < 5000; i++) {
      // Log-normal-ish: long tail like real latencies.
      const queue = Math.exp(random() * 6) * 0.1;
      const compute = 5 + random() * 3;
      requests.push(timing(i, { queue, compute }, { otherMs: random() }));
    }
    const s = summarize('m', requests);
    const e2e = requests.map((r) => r.e2eMs);
    for (const [key, q] of [['p50Ms', 50], ['p90Ms', 90], ['p95Ms', 95], ['p99Ms', 99]] as const) {
      const truth = bruteForce(e2e, q);
      expect(Math.abs(s.e2e[key] - truth) / truth).toBeLessThan(1e-3);
      const queueTruth = bruteForce(requests.map((r) => r.phases.queue!), q);
      expect(Math.abs(s.phases.queue![key] - queueTruth) / queueTruth).toBeLessThan(1e-3);
    }
    expect(s.e2e.maxMs).toBeCloseTo(Math.max(...e2e), 5);
    expect(s.e2e.meanMs).toBeCloseTo(e2e.reduce((a, b) => a + b, 0) / e2e.length, 5);
    expect(s.requests).toBe(5000);
  });

  it('gives exactly the percentiles of an HdrHistogram fed value by value, from 0 ns past 2³² ns, and the window end of the longest request', () => {
    const random = rng(7);
    const requests: RequestTiming[] = [];
    for (let i = 0; i < 20_000; i++) {
      // 0 ns … ~30 s, heavy-tailed, with exact zeros and values on bucket edges (2^k ns).
      const kind = i % 10;
      const queue = kind === 0 ? 0 : kind === 1 ? 2 ** Math.floor(random() * 34) / 1e6 : Math.exp(random() * 24) / 1e6;
      requests.push(timing(i, { queue, compute: random() * 50 }, { otherMs: random() < 0.01 ? 6000 * random() : random() }));
    }
    // The longest request starts early: the window must still end at its end.
    requests[3] = timing(3, { compute: 60_000 });
    const s = summarize('m', requests);
    for (const [name, values] of [['e2e', requests.map((r) => r.e2eMs)], ['queue', requests.flatMap((r) => (r.phases.queue === undefined ? [] : [r.phases.queue]))], ['other', requests.map((r) => r.otherMs)]] as const) {
      const h = hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true, useWebAssembly: false, bitBucketSize: 32 });
      let max = 0;
      for (const ms of values) {
        const ns = Math.max(0, Math.round(ms * 1e6));
        h.recordValue(ns);
        max = Math.max(max, ns);
      }
      const got = name === 'e2e' ? s.e2e : s.phases[name]!;
      for (const [key, q] of [['p50Ms', 50], ['p90Ms', 90], ['p95Ms', 95], ['p99Ms', 99]] as const) expect(got[key], `${name} ${key}`).toBe(Math.min(h.getValueAtPercentile(q), max) / 1e6);
    }
    const ends = requests.map((r) => r.startNs + BigInt(Math.round(r.e2eMs * 1e6)));
    expect(s.windowEndNs).toBe(ends.reduce((a, b) => (b > a ? b : a)));
    expect(s.windowStartNs).toBe(requests[0]!.startNs);
  });

  it('computes shares as Σphase ÷ Σe2e, so phases and other add up to 1', () => {
    const requests = [timing(0, { queue: 30, compute: 10 }, { otherMs: 10 }), timing(1, { queue: 10, compute: 10, network: 20 }, { otherMs: 0 })];
    const s = summarize('m', requests);
    // Σe2e = 50 + 40 = 90
    expect(s.phases.queue!.share).toBeCloseTo(40 / 90, 9);
    expect(s.phases.compute!.share).toBeCloseTo(20 / 90, 9);
    expect(s.phases.network!.share).toBeCloseTo(20 / 90, 9);
    expect(s.phases.network!.present).toBe(1);
    expect(s.phases.other!.share).toBeCloseTo(10 / 90, 9);
    expect(s.coverage).toBeCloseTo(80 / 90, 9);
    const total = Object.values(s.phases).reduce((a, p) => a + p.share, 0);
    expect(total).toBeCloseTo(1, 9);
    expect(s.phases.preprocess).toBeUndefined();
  });

  it('reports the window, throughput, errors and the most common runtime, precision and device', () => {
    const requests = [
      timing(0, { compute: 9 }, { runtime: 'onnxruntime', precision: 'fp32', device: 'cuda:0', error: true }),
      timing(1, { compute: 9 }, { runtime: 'onnxruntime', precision: 'fp16', device: 'cuda:0' }),
      timing(100, { compute: 9 }, { runtime: 'tensorrt', precision: 'fp16', device: 'cuda:0' }),
    ];
    const s = summarize('m', requests);
    expect(s.windowStartNs).toBe(EPOCH_NS);
    // last request starts at 1000 ms and lasts 10 ms
    expect(s.windowEndNs).toBe(EPOCH_NS + 1_010_000_000n);
    expect(s.throughputRps).toBeCloseTo(3 / 1.01, 9);
    expect(s.errors).toBe(1);
    expect(s.runtime).toBe('onnxruntime');
    expect(s.precision).toBe('fp16');
    expect(s.device).toBe('cuda:0');
    expect(s.runtimeProvider).toBeUndefined();
  });

  it('summarizes each model on its own, largest first', () => {
    const requests = [timing(0, { compute: 1 }, { model: 'a' }), timing(1, { compute: 2 }, { model: 'b' }), timing(2, { compute: 3 }, { model: 'b' })];
    const summaries = summarizeByModel(requests);
    expect(summaries.map((s) => [s.model, s.requests])).toEqual([['b', 2], ['a', 1]]);
  });

  it('returns zeros, not NaN, for no requests', () => {
    const s = summarize('m', []);
    expect(s.requests).toBe(0);
    expect(s.e2e.p99Ms).toBe(0);
    expect(s.throughputRps).toBe(0);
    expect(s.coverage).toBe(0);
  });
});

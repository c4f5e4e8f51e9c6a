import { describe, expect, it } from 'vitest';
import { latencyTimeline } from '../../src/analyzer/timeline.js';
import { RequestTable } from '../../src/model/request-table.js';
import type { DeviceEvidence, DeviceWindow } from '../../src/model/gpu.js';
import type { TimelineWindow } from '../../src/model/analysis.js';
import { generate } from '../diagnose/gen.js';
import { seededRandom as rng } from '../../examples/model/seeded-random.js';

/** The timeline as it was computed before the typed buckets: a BigInt per start, the first window that holds it, a comparator sort. */
function timelineByRequest(table: RequestTable, device: readonly DeviceEvidence[]): TimelineWindow[] {
  const windows = device[0]?.windows ?? [];
  const buckets: number[][] = windows.map(() => []);
  for (let r = 0; r < table.length; r++) {
    const startMs = Number(table.startNs[r]! / 1_000_000n);
    const i = windows.findIndex((w, k) => startMs >= w.startMs && (startMs < w.endMs || k === windows.length - 1));
    if (i >= 0) buckets[i]!.push(table.e2eMs[r]!);
  }
  const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return windows.map((w, i) => {
    const latencies = buckets[i]!.sort((a, b) => a - b);
    return {
      startMs: w.startMs,
      endMs: w.endMs,
      requests: latencies.length,
      ...(latencies.length > 0 ? { e2eP50Ms: quantile(latencies, 0.5), e2eP99Ms: quantile(latencies, 0.99) } : {}),
      gpus: device.map((d) => ({ ...d.windows[i]!, gpuUuid: d.gpuUuid })),
    };
  });
}

function device(bounds: readonly [number, number][]): DeviceEvidence[] {
  const windows: DeviceWindow[] = bounds.map(([startMs, endMs]) => ({ startMs, endMs, samples: 1 }));
  return [{ gpuUuid: 'GPU-1', samples: bounds.length, windows, reasons: {} } as DeviceEvidence];
}

describe('latencyTimeline', () => {
  // Starts in no order, some on whole ms, some 1 ns either side of one, from an origin that is not a whole ms.
  const rand = rng(21);
  const originNs = 1_772_460_000_123_456_789n;
  const rows = generate({ n: 3000, phases: { compute: 5 } }).map((r, i) => {
    const ms = Math.floor(rand() * 60_000);
    const edge = i % 7 === 0 ? 0n : i % 7 === 1 ? -1n : i % 7 === 2 ? 1n : BigInt(Math.floor(rand() * 1e6));
    return { ...r, startNs: originNs - (originNs % 1_000_000n) + BigInt(ms) * 1_000_000n + edge };
  });
  const table = RequestTable.from(rows);
  const firstMs = Number(originNs / 1_000_000n) - 1;

  it('puts each request in the window its start falls in, as a BigInt per start did: equal windows, a last window closed on the right, zero-length windows', () => {
    const step = 6000;
    const equal = device(Array.from({ length: 10 }, (_, i) => [firstMs + i * step, i === 9 ? firstMs + 60_001 : firstMs + (i + 1) * step] as [number, number]));
    expect(latencyTimeline(table, equal)).toEqual(timelineByRequest(table, equal));
    expect(latencyTimeline(table, equal).reduce((n, w) => n + w.requests, 0)).toBe(3000);
    // Windows that leave out the first and last requests, with a gap between two of them.
    const gaps = device([
      [firstMs + 1000, firstMs + 20_000],
      [firstMs + 25_000, firstMs + 40_000.5],
      [firstMs + 40_000.5, firstMs + 50_000],
    ]);
    expect(latencyTimeline(table, gaps)).toEqual(timelineByRequest(table, gaps));
    // A run whose window is one instant: every window empty but the last.
    const instant = device(Array.from({ length: 4 }, () => [firstMs + 30_000, firstMs + 30_000] as [number, number]));
    expect(latencyTimeline(table, instant)).toEqual(timelineByRequest(table, instant));
  });

  it('takes the first window that holds a start when windows overlap or are out of order', () => {
    const overlapping = device([
      [firstMs, firstMs + 40_000],
      [firstMs + 30_000, firstMs + 60_001],
    ]);
    expect(latencyTimeline(table, overlapping)).toEqual(timelineByRequest(table, overlapping));
    const backwards = device([
      [firstMs + 30_000, firstMs + 60_001],
      [firstMs, firstMs + 30_000],
    ]);
    expect(latencyTimeline(table, backwards)).toEqual(timelineByRequest(table, backwards));
  });

  it('reads starts more than 2^53 ns apart (104 days) exactly too', () => {
    const far = RequestTable.from([rows[0]!, { ...rows[1]!, startNs: rows[1]!.startNs + (1n << 54n) + 999_999n }, { ...rows[2]!, startNs: 1_000_000n - 1n }]);
    const starts = [...far.startsMs()];
    expect(starts).toEqual([0, 1, 2].map((i) => Number(far.startNs[i]! / 1_000_000n)));
    const all = device([[0, Number(far.startNs[1]! / 1_000_000n) + 1]]);
    expect(latencyTimeline(far, all)).toEqual(timelineByRequest(far, all));
  });
});

describe('RequestTable.startsMs', () => {
  it('rounds each start down to whole ms as BigInt division does, across ms boundaries and from any origin', () => {
    for (const origin of [0n, 999_999n, 1_000_000n, 1_772_460_000_123_456_789n, (1n << 63n) + 7n]) {
      const starts = [0n, 1n, 999_999n, 1_000_000n, 1_000_001n, 123_999_999n, 124_000_000n, 86_400_000_000_000n - 1n, (1n << 52n) + 3n, 9_005_000_000_000_000n - 1n, 9_005_000_000_000_000n].map((d) => origin + d);
      const table = RequestTable.from(starts.map((startNs, i) => ({ ...generate({ n: 1, phases: { compute: 1 } })[0]!, traceId: `t${i}`, startNs })));
      expect([...table.startsMs()]).toEqual(starts.map((ns) => Number(ns / 1_000_000n)));
    }
    expect(RequestTable.empty().startsMs().length).toBe(0);
  });
});

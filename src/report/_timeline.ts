/**
 * @module report/_timeline
 * Rows of the "latency and GPU over time" table, shared by the text and Markdown reports:
 * per time window the requests and e2e p50/p99 next to one GPU's state.
 */
import type { TimelineWindow } from '../model/analysis.js';
import { formatMs, formatShare } from './_format.js';

/** Column headers of the table. */
export const TIMELINE_HEADERS = ['from s', 'req', 'p50 ms', 'p99 ms', 'max °C', 'SM MHz', 'throttled', 'GPU util', 'mem GiB'] as const;

/** One table per GPU: its heading and its rows of cells ('–' where a value is absent). */
export function timelineTables(timeline: readonly TimelineWindow[]): { gpu: string; rows: string[][] }[] {
  const first = timeline[0];
  if (first === undefined) return [];
  const origin = first.startMs;
  return first.gpus.map((g, gi) => ({
    gpu: `${g.gpuName ?? 'GPU'} ${g.gpuUuid}`,
    rows: timeline.map((w) => {
      const s = w.gpus[gi]!;
      const opt = (v: number | undefined, f: (x: number) => string): string => (v === undefined ? '–' : f(v));
      return [
        ((w.startMs - origin) / 1000).toFixed(1),
        String(w.requests),
        opt(w.e2eP50Ms, formatMs),
        opt(w.e2eP99Ms, formatMs),
        opt(s.maxTemperatureC, (x) => x.toFixed(0)),
        opt(s.meanSmClockMhz, (x) => x.toFixed(0)),
        opt(s.throttledShare, formatShare),
        opt(s.meanUtilization, formatShare),
        opt(s.memoryUsedBytes, (x) => (x / 2 ** 30).toFixed(1)),
      ];
    }),
  }));
}

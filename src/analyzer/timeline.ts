/**
 * @module analyzer/timeline
 * Latency per time window, on the same windows as the GPU evidence, so a report can put a
 * thermal slowdown and a latency rise on one line.
 */
import { asTable } from '../model/request-table.js';
import type { Requests } from '../model/request-table.js';
import type { DeviceEvidence } from '../model/gpu.js';
import type { TimelineWindow } from '../model/analysis.js';

export type { TimelineWindow } from '../model/analysis.js';

/** A window's bounds, ms since the epoch. */
type WindowBounds = Pick<TimelineWindow, 'startMs' | 'endMs'>;

/** Nearest-rank quantile of an ascending array (q in 0–1). */
function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Latency on the device evidence's windows. Empty without device evidence: the windows exist
 * to line latency up with GPU state, not to replace the diagnosis's own trend test.
 */
export function latencyTimeline(requests: Requests, device: readonly DeviceEvidence[]): TimelineWindow[] {
  const windows = device[0]?.windows ?? [];
  if (windows.length === 0) return [];
  const table = asTable(requests);
  const starts = table.startsMs();
  // At 291,000 requests this took 161-170 ms with a BigInt per start, a findIndex over the
  // windows per request (in a profile, over half of it) and a comparator sort per window; 30-44
  // ms as below.
  const windowOf = inOrder(windows) ? (ms: number): number => windowByStart(windows, ms) : (ms: number): number => firstWindowOf(windows, ms);
  // Each request's window, counted, then each window's latencies in one typed array, sorted numerically.
  const at = new Int32Array(table.length);
  const counts = new Int32Array(windows.length);
  for (let r = 0; r < table.length; r++) {
    const i = windowOf(starts[r]!);
    at[r] = i;
    if (i >= 0) counts[i]!++;
  }
  const buckets = Array.from(counts, (n) => new Float64Array(n));
  const filled = new Int32Array(windows.length);
  for (let r = 0; r < table.length; r++) {
    const i = at[r]!;
    if (i >= 0) buckets[i]![filled[i]!++] = table.e2eMs[r]!;
  }
  return windows.map((w, i) => {
    const latencies = buckets[i]!.sort();
    const gpus = device.map((d) => ({ ...d.windows[i]!, gpuUuid: d.gpuUuid, ...(d.gpuName === undefined ? {} : { gpuName: d.gpuName }) }));
    return {
      startMs: w.startMs,
      endMs: w.endMs,
      requests: latencies.length,
      ...(latencies.length > 0 ? { e2eP50Ms: quantile(latencies, 0.5), e2eP99Ms: quantile(latencies, 0.99) } : {}),
      gpus,
    };
  });
}

/** The first window that holds `ms`: from its start, before its end, or anywhere from the last one's start (the last is closed on the right). */
function firstWindowOf(windows: readonly WindowBounds[], ms: number): number {
  return windows.findIndex((w, k) => ms >= w.startMs && (ms < w.endMs || k === windows.length - 1));
}

/** True when each window starts no earlier than the one before it ends: one window at most holds a time, found by its start. */
function inOrder(windows: readonly WindowBounds[]): boolean {
  for (let k = 1; k < windows.length; k++) if (!(windows[k - 1]!.startMs <= windows[k - 1]!.endMs && windows[k - 1]!.endMs <= windows[k]!.startMs)) return false;
  return true;
}

/** firstWindowOf for windows in order (inOrder): the last window starting at or before `ms`, by bisection. */
function windowByStart(windows: readonly WindowBounds[], ms: number): number {
  let low = 0;
  let high = windows.length;
  // The first window starting after `ms`.
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (windows[mid]!.startMs <= ms) low = mid + 1;
    else high = mid;
  }
  const k = low - 1;
  if (k < 0) return -1;
  return ms < windows[k]!.endMs || k === windows.length - 1 ? k : -1;
}

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

/** Nearest-rank quantile of an ascending array (q in 0–1). */
function quantile(sorted: readonly number[], q: number): number {
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
  const buckets: number[][] = windows.map(() => []);
  for (let r = 0; r < table.length; r++) {
    const startMs = Number(table.startNs[r]! / 1_000_000n);
    // Windows are contiguous and ascending; the last one is closed on the right.
    const i = windows.findIndex((w, k) => startMs >= w.startMs && (startMs < w.endMs || k === windows.length - 1));
    if (i >= 0) buckets[i]!.push(table.e2eMs[r]!);
  }
  return windows.map((w, i) => {
    const latencies = buckets[i]!.sort((a, b) => a - b);
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

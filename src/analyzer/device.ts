/**
 * @module analyzer/device
 * GPU samples → device evidence per GPU over the traced window, for the latency-drift and
 * hardware-limit rules. Pure, no I/O.
 *
 * Throttling (ours, on NVML's clocks event reasons,
 * https://docs.nvidia.com/deploy/nvml-api/group__nvmlClocksEventReasons.html): a sample is throttled when a slowing reason is active (SW power
 * cap 0x4, HW slowdown 0x8, SW thermal 0x20, HW thermal 0x40, HW power brake 0x80) while the GPU
 * works (utilization > 0 or P-state ≤ P2, and the GPU-idle flag 0x1 not set), held for at least 2
 * consecutive samples. SW power cap
 * on an idle GPU (P8, 0 %) is normal and never counts; a one-sample HW-slowdown blip during a
 * P-state change does not count either. Where drivers 590+ report cumulative per-reason time
 * (`clockEventSeconds`), its deltas over loaded intervals give the share instead of flag sampling,
 * because they also catch throttling that starts and ends between samples.
 */
import type { ClockEventReason, DeviceEvidence, DeviceWindow, GpuSample, GpuState } from '../model/gpu.js';
import { POWER_REASONS, THERMAL_REASONS, THROTTLE_REASONS } from '../model/clock-events.js';

/** A time span in ms since the epoch, both ends inclusive. */
export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * Reasons that mean something is wrong (NVML: thermal slowdown, HW slowdown, HW power brake),
 * unlike the SW power cap, which a datacenter GPU under full load holds as normal operation (an
 * H200 burn ran at 692 of 700 W with `sw_power_cap` set, test/fixtures/nvidia-smi/SOURCES.md),
 * each with nvidia-smi -q's words for it ("Clocks Event Reasons"); a finding lists equal shares
 * in this order.
 */
export const SLOWDOWN_REASONS: ReadonlyArray<{ readonly reason: ClockEventReason; readonly words: string }> = [
  { reason: 'sw_thermal_slowdown', words: 'SW thermal slowdown' },
  { reason: 'hw_thermal_slowdown', words: 'HW thermal slowdown' },
  { reason: 'hw_power_brake_slowdown', words: 'HW power brake slowdown' },
  { reason: 'hw_slowdown', words: 'HW slowdown' },
];
// Counters the drivers report (R590+): the slowing ones among them.
const COUNTED_THROTTLE: readonly ClockEventReason[] = ['sw_power_cap', 'sw_thermal_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown'];

interface Point {
  readonly timeMs: number;
  readonly gpu: GpuState;
  readonly loaded: boolean;
  /** Throttled and part of a run of ≥ 2 throttled samples. */
  readonly sustained: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function isLoaded(gpu: GpuState): boolean {
  // The GPU's own idle flag (0x1) wins: an H200 on driver 580 idles at P0 with `gpu_idle` set
  // (test/fixtures/nvidia-smi/samples__h200__…), so P-state alone would call it loaded.
  if (gpu.clockEvents?.includes('gpu_idle') === true) return false;
  return (gpu.utilization !== undefined && gpu.utilization > 0) || (gpu.pstate !== undefined && gpu.pstate <= 2);
}

function isThrottled(gpu: GpuState, loaded: boolean): boolean {
  return loaded && (gpu.clockEvents ?? []).some((r) => THROTTLE_REASONS.includes(r));
}

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

function present<T>(values: ReadonlyArray<T | undefined>): T[] {
  return values.filter((v): v is T => v !== undefined);
}

/** Mean of the last fifth minus mean of the first fifth (at least one sample each). */
function rise(values: readonly number[]): number | undefined {
  if (values.length < 2) return undefined;
  const k = Math.max(1, Math.floor(values.length / 5));
  const early = mean(values.slice(0, k));
  const late = mean(values.slice(-k));
  return early === undefined || late === undefined ? undefined : late - early;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number | undefined {
  const n = xs.length;
  if (n < 2) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    sxy += dx * ((ys[i] as number) - my);
    sxx += dx * dx;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

interface Shares {
  throttledShare?: number;
  thermalThrottledShare?: number;
  powerThrottledShare?: number;
  reasons: Partial<Record<ClockEventReason, number>>;
}

/** Per-reason shares of the points' span: counter deltas where reported, else sustained flags. */
function shares(points: readonly Point[]): Shares {
  const result: Shares = { reasons: {} };
  const n = points.length;
  if (n === 0) return result;
  const flagged = points.some((p) => p.gpu.clockEvents !== undefined);
  const counted = points.filter((p) => p.gpu.clockEventSeconds !== undefined);
  const first = counted[0];
  const last = counted[counted.length - 1];
  const spanS = first !== undefined && last !== undefined ? (last.timeMs - first.timeMs) / 1000 : 0;
  const fromCounters = new Set<ClockEventReason>();
  if (counted.length >= 2 && spanS > 0) {
    const seconds: Partial<Record<ClockEventReason, number>> = {};
    for (let i = 1; i < counted.length; i++) {
      const a = counted[i - 1] as Point;
      const b = counted[i] as Point;
      // Power-cap time accrues at idle too: only loaded intervals count.
      if (!a.loaded && !b.loaded) continue;
      for (const [reason, value] of Object.entries(b.gpu.clockEventSeconds ?? {}) as Array<[ClockEventReason, number]>) {
        const before = a.gpu.clockEventSeconds?.[reason];
        fromCounters.add(reason);
        // A decrease is a driver reload / GPU reset: that interval says nothing.
        if (before === undefined || value < before) continue;
        seconds[reason] = (seconds[reason] ?? 0) + (value - before);
      }
    }
    for (const reason of fromCounters) {
      const share = Math.min(1, (seconds[reason] ?? 0) / spanS);
      if (share > 0) result.reasons[reason] = share;
    }
  }
  if (flagged) {
    const counts: Partial<Record<ClockEventReason, number>> = {};
    let sustained = 0;
    for (const p of points) {
      if (p.sustained) sustained += 1;
      if (!p.loaded) continue;
      for (const reason of p.gpu.clockEvents ?? []) {
        if (THROTTLE_REASONS.includes(reason) && !p.sustained) continue;
        counts[reason] = (counts[reason] ?? 0) + 1;
      }
    }
    for (const [reason, count] of Object.entries(counts) as Array<[ClockEventReason, number]>) {
      if (!fromCounters.has(reason) && count > 0) result.reasons[reason] = count / n;
    }
    if (fromCounters.size === 0) result.throttledShare = sustained / n;
  }
  const byGroup = (group: readonly ClockEventReason[]): number => Math.max(0, ...group.map((r) => result.reasons[r] ?? 0));
  if (fromCounters.size > 0) {
    // Reasons overlap in time, so the largest single share is the honest (lower-bound) total.
    result.throttledShare = Math.max(byGroup(COUNTED_THROTTLE), byGroup(THROTTLE_REASONS));
  }
  if (result.throttledShare !== undefined) {
    result.thermalThrottledShare = byGroup(THERMAL_REASONS);
    result.powerThrottledShare = byGroup(POWER_REASONS);
  }
  return result;
}

function summarizeWindow(points: readonly Point[], window: TimeWindow): DeviceWindow {
  const inside = points.filter((p) => p.timeMs >= window.startMs && p.timeMs <= window.endMs);
  const out: Mutable<DeviceWindow> = { startMs: window.startMs, endMs: window.endMs, samples: inside.length };
  if (inside.length === 0) return out;
  const temps = present(inside.map((p) => p.gpu.temperatureC));
  if (temps.length > 0) out.maxTemperatureC = Math.max(...temps);
  const sm = mean(present(inside.map((p) => p.gpu.smClockMhz)));
  if (sm !== undefined) out.meanSmClockMhz = sm;
  const smMax = present(inside.map((p) => p.gpu.smClockMaxMhz));
  if (smMax.length > 0) out.smClockMaxMhz = Math.max(...smMax);
  const s = shares(inside);
  if (s.throttledShare !== undefined) out.throttledShare = s.throttledShare;
  if (s.thermalThrottledShare !== undefined) out.thermalThrottledShare = s.thermalThrottledShare;
  if (s.powerThrottledShare !== undefined) out.powerThrottledShare = s.powerThrottledShare;
  const util = mean(present(inside.map((p) => p.gpu.utilization)));
  if (util !== undefined) out.meanUtilization = util;
  const memory = present(inside.map((p) => p.gpu.memoryUsedBytes));
  if (memory.length > 0) out.memoryUsedBytes = memory[memory.length - 1] as number;
  return out;
}

function errorCount(gpu: GpuState): number | undefined {
  const parts = present([gpu.eccErrorsCorrected, gpu.eccErrorsUncorrected, gpu.xidErrors]);
  return parts.length === 0 ? undefined : parts.reduce((a, b) => a + b, 0);
}

/**
 * Device evidence per GPU (sorted by index, then uuid) from the samples inside `window`; stale
 * samples (repeats of an old sample while collection was wedged) are ignored. `windows` are the
 * report's latency windows; each gets the same statistics restricted to it. GPUs without a sample
 * in `window` are left out, so an empty result means "no device data for this run".
 */
export function summarizeDevice(samples: readonly GpuSample[], window: TimeWindow, windows: readonly TimeWindow[] = []): DeviceEvidence[] {
  const series = new Map<string, Array<{ timeMs: number; gpu: GpuState }>>();
  for (const sample of samples) {
    if (sample.stale === true || sample.timeMs < window.startMs || sample.timeMs > window.endMs) continue;
    for (const gpu of sample.gpus) {
      let list = series.get(gpu.uuid);
      if (list === undefined) series.set(gpu.uuid, (list = []));
      list.push({ timeMs: sample.timeMs, gpu });
    }
  }
  const evidence: DeviceEvidence[] = [];
  for (const [uuid, raw] of series) {
    raw.sort((a, b) => a.timeMs - b.timeMs);
    const loaded = raw.map((r) => isLoaded(r.gpu));
    const throttled = raw.map((r, i) => isThrottled(r.gpu, loaded[i] === true));
    const points: Point[] = raw.map((r, i) => ({
      timeMs: r.timeMs,
      gpu: r.gpu,
      loaded: loaded[i] === true,
      sustained: throttled[i] === true && (throttled[i - 1] === true || throttled[i + 1] === true),
    }));
    const out: Mutable<DeviceEvidence> = { gpuUuid: uuid, samples: points.length, windows: windows.map((w) => summarizeWindow(points, w)), reasons: {} };
    const name = [...points].reverse().find((p) => p.gpu.name !== undefined)?.gpu.name;
    if (name !== undefined) out.gpuName = name;
    const temperatureRise = rise(present(points.map((p) => p.gpu.temperatureC)));
    if (temperatureRise !== undefined) out.temperatureRiseC = temperatureRise;
    // Clock drift is judged on loaded samples only: an idle GPU down-clocks by design.
    const smLoaded = present(points.filter((p) => p.loaded).map((p) => p.gpu.smClockMhz));
    const smRise = rise(smLoaded);
    const k = Math.max(1, Math.floor(smLoaded.length / 5));
    const smEarly = mean(smLoaded.slice(0, k));
    if (smRise !== undefined && smEarly !== undefined && smEarly > 0) out.smClockDropShare = Math.max(0, -smRise / smEarly);
    const memPoints = points.filter((p) => p.gpu.memoryUsedBytes !== undefined);
    const memSlope = slope(
      memPoints.map((p) => (p.timeMs - window.startMs) / 1000),
      memPoints.map((p) => p.gpu.memoryUsedBytes as number),
    );
    if (memSlope !== undefined) out.memorySlopeBytesPerS = memSlope;
    const usedShares = present(memPoints.map((p) => (p.gpu.memoryTotalBytes !== undefined && p.gpu.memoryTotalBytes > 0 ? (p.gpu.memoryUsedBytes as number) / p.gpu.memoryTotalBytes : undefined)));
    if (usedShares.length > 0) out.memoryUsedShareMax = Math.max(...usedShares);
    const s = shares(points);
    if (s.throttledShare !== undefined) out.throttledShare = s.throttledShare;
    if (s.thermalThrottledShare !== undefined) out.thermalThrottledShare = s.thermalThrottledShare;
    if (s.powerThrottledShare !== undefined) out.powerThrottledShare = s.powerThrottledShare;
    out.reasons = s.reasons;
    const util = mean(present(points.map((p) => p.gpu.utilization)));
    if (util !== undefined) out.meanUtilization = util;
    const errorSeries = present(points.map((p) => errorCount(p.gpu)));
    if (errorSeries.length > 0) out.errors = Math.max(0, (errorSeries[errorSeries.length - 1] as number) - (errorSeries[0] as number));
    evidence.push(out);
  }
  const indexOf = (e: DeviceEvidence): number => series.get(e.gpuUuid)?.[0]?.gpu.index ?? Number.MAX_SAFE_INTEGER;
  return evidence.sort((a, b) => indexOf(a) - indexOf(b) || a.gpuUuid.localeCompare(b.gpuUuid));
}

/** Share of loaded samples under a slowdown that means trouble (SLOWDOWN_REASONS), beside the throttled, thermal and power shares; not the SW power cap. */
export function slowdownShare(d: Pick<DeviceEvidence, 'thermalThrottledShare' | 'reasons'>): number {
  return Math.max(d.thermalThrottledShare ?? 0, ...SLOWDOWN_REASONS.map(({ reason }) => d.reasons[reason] ?? 0));
}

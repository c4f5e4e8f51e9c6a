import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeDevice } from '../../src/analyzer/device.js';
import { deviceSignal } from '../../src/analyzer/diagnose/signals.js';
import type { ClockEventReason, GpuSample, GpuState } from '../../src/model/gpu.js';
import { encodeClockEventMask } from '../../src/sidecar/clock-events.js';
import { parseXmlReport } from '../../src/sidecar/xml-report.js';
import { fixture } from './support.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const gpuFrom = (name: string, at = 0): GpuState => parseXmlReport(readFileSync(fixture(name), 'utf8')).gpus[at]!;
// Real states: an idle RTX 3090 with SW power cap active at P8 (590.44), an RTX 3080 at P2 / 65 % (595.58).
const IDLE_POWER_CAP = gpuFrom('xml__rtx3090__drv590.44.01__v13__sw-power-cap.xml');
const LOADED = gpuFrom('xml__rtx3080__drv595.58.03__v13__load-65pct.xml');

/** The state without its reason counters, so flag sampling decides. */
function flagsOnly(gpu: GpuState): GpuState {
  const { clockEventSeconds: _dropped, ...rest } = gpu;
  return rest;
}

function withReasons(gpu: GpuState, reasons: readonly ClockEventReason[], extra: Partial<GpuState> = {}): GpuState {
  return { ...gpu, clockEvents: reasons, clockEventMask: encodeClockEventMask(reasons), ...extra };
}

function series(states: readonly GpuState[], stepMs = 1000): GpuSample[] {
  return states.map((gpu, i) => ({ schema: 'latency-doctor/gpu-sample@1', timeMs: T0 + i * stepMs, gpus: [gpu] }));
}

const ALL = { startMs: T0 - 1, endMs: T0 + 3_600_000 };
const only = (samples: GpuSample[], windows: Array<{ startMs: number; endMs: number }> = []) => {
  const evidence = summarizeDevice(samples, ALL, windows);
  expect(evidence).toHaveLength(1);
  return evidence[0]!;
};

describe('throttling truth table', () => {
  it('SW power cap on an idle GPU (P8, 0 %) is not throttling', () => {
    expect(IDLE_POWER_CAP.clockEvents).toEqual(['sw_power_cap']);
    const e = only(series(Array(10).fill(flagsOnly(IDLE_POWER_CAP))));
    expect(e.throttledShare).toBe(0);
    expect(e.powerThrottledShare).toBe(0);
    expect(e.reasons).toEqual({});
  });

  it('SW power cap under load, sustained: the whole window is power-throttled', () => {
    const states = Array(10).fill(withReasons(flagsOnly(LOADED), ['sw_power_cap']));
    const e = only(series(states));
    expect(e.throttledShare).toBe(1);
    expect(e.powerThrottledShare).toBe(1);
    expect(e.thermalThrottledShare).toBe(0);
    expect(e.reasons.sw_power_cap).toBe(1);
  });

  it('single-sample HW slowdown blips (P-state changes) do not count; a run of 2 does', () => {
    const plain = flagsOnly(LOADED);
    const blip = withReasons(plain, ['hw_slowdown']);
    const blips = only(series([plain, blip, plain, blip, plain, blip, plain, plain, blip, plain]));
    expect(blips.throttledShare).toBe(0);
    expect(blips.reasons).toEqual({});
    const run = only(series([plain, blip, blip, plain, plain, plain, plain, plain, plain, plain]));
    expect(run.throttledShare).toBeCloseTo(0.2, 10);
    expect(run.thermalThrottledShare).toBe(0);
    expect(run.powerThrottledShare).toBe(0);
  });

  it('sustained HW thermal slowdown (0x40) under load: share, thermal share and reason', () => {
    const plain = flagsOnly(LOADED);
    const hot = withReasons(plain, ['hw_thermal_slowdown']);
    const e = only(series([plain, plain, hot, hot, hot, hot, plain, plain, plain, plain]));
    expect(e.throttledShare).toBeCloseTo(0.4, 10);
    expect(e.thermalThrottledShare).toBeCloseTo(0.4, 10);
    expect(e.reasons).toEqual({ hw_thermal_slowdown: 0.4 });
  });

  it('MIG (utilization absent) still counts as loaded at P0', () => {
    const mig = gpuFrom('xml__a100-sxm4-80gb-mig__drv535.54.03__v12__event-reasons-4-mig.xml');
    expect(mig.utilization).toBeUndefined();
    const e = only(series(Array(4).fill(withReasons(mig, ['sw_thermal_slowdown']))));
    expect(e.thermalThrottledShare).toBe(1);
  });
});

describe('cumulative reason counters (drivers 590+) win over flag sampling', () => {
  const counters = (s: number, extra: Partial<Record<ClockEventReason, number>> = {}) => ({ sw_power_cap: 0, sync_boost: 0, sw_thermal_slowdown: s, hw_thermal_slowdown: 0, hw_power_brake_slowdown: 0, ...extra });

  it('catches throttling between samples: +0.25 s of SW thermal per 1 s interval = 25 %', () => {
    const states = Array.from({ length: 11 }, (_, i) => ({ ...LOADED, clockEvents: [], clockEventSeconds: counters(100 + 0.25 * i) }));
    const e = only(series(states));
    expect(e.thermalThrottledShare).toBeCloseTo(0.25, 10);
    expect(e.throttledShare).toBeCloseTo(0.25, 10);
    expect(e.reasons.sw_thermal_slowdown).toBeCloseTo(0.25, 10);
  });

  it('ignores counter growth on an idle GPU (real A5000 counter: 31637 s of SW power cap at P8)', () => {
    const idle = gpuFrom('xml__rtx-a5000-x2__drv590.44.01__v13__llama-server-event-counters.xml');
    const base = idle.clockEventSeconds?.sw_power_cap ?? 0;
    expect(base).toBeCloseTo(31637.354094, 6);
    const states = Array.from({ length: 6 }, (_, i) => ({ ...idle, clockEventSeconds: { ...idle.clockEventSeconds, sw_power_cap: base + i } }));
    const e = only(series(states));
    expect(e.throttledShare).toBe(0);
    expect(e.powerThrottledShare).toBe(0);
  });

  it('a counter that goes backwards (driver reload) drops that interval instead of going negative', () => {
    const values = [10, 10.5, 11, 0, 0.5, 1];
    const states = values.map((v) => ({ ...LOADED, clockEvents: [], clockEventSeconds: counters(0, { sw_power_cap: v }) }));
    const e = only(series(states));
    // 4 valid half-second increments over a 5 s span.
    expect(e.powerThrottledShare).toBeCloseTo(2 / 5, 10);
  });
});

describe('drift numbers', () => {
  it('temperature rise, SM clock drop (loaded samples only), memory slope (least squares)', () => {
    const states: GpuState[] = Array.from({ length: 20 }, (_, i) => ({
      ...flagsOnly(LOADED),
      temperatureC: 60 + i,
      smClockMhz: i < 10 ? 1950 : 1500,
      memoryUsedBytes: 1e9 + 2e6 * i,
    }));
    // An idle dip in the middle must not read as a clock drop.
    states[10] = { ...states[10]!, utilization: 0, pstate: 8, smClockMhz: 210 };
    const e = only(series(states));
    expect(e.samples).toBe(20);
    expect(e.temperatureRiseC).toBeCloseTo(77.5 - 61.5, 10);
    expect(e.smClockDropShare).toBeCloseTo((1950 - 1500) / 1950, 10);
    expect(e.memorySlopeBytesPerS).toBeCloseTo(2e6, 3);
    expect(e.meanUtilization).toBeCloseTo((19 * 0.65) / 20, 10);
    expect(e.gpuName).toBe('NVIDIA GeForce RTX 3080');
  });

  it('per-window statistics for the report', () => {
    const plain = flagsOnly(LOADED);
    const states = [
      ...Array.from({ length: 5 }, (_, i) => ({ ...plain, temperatureC: 60 + i, smClockMhz: 1950, memoryUsedBytes: 1000 })),
      ...Array.from({ length: 5 }, (_, i) => withReasons({ ...plain, temperatureC: 80 + i, smClockMhz: 1400, memoryUsedBytes: 2000 }, ['sw_thermal_slowdown'])),
    ];
    const windows = [
      { startMs: T0, endMs: T0 + 4000 },
      { startMs: T0 + 5000, endMs: T0 + 9000 },
      { startMs: T0 + 20_000, endMs: T0 + 30_000 },
    ];
    const e = only(series(states), windows);
    expect(e.windows).toEqual([
      { startMs: T0, endMs: T0 + 4000, samples: 5, maxTemperatureC: 64, meanSmClockMhz: 1950, smClockMaxMhz: 2100, throttledShare: 0, thermalThrottledShare: 0, powerThrottledShare: 0, meanUtilization: 0.65, memoryUsedBytes: 1000 },
      { startMs: T0 + 5000, endMs: T0 + 9000, samples: 5, maxTemperatureC: 84, meanSmClockMhz: 1400, smClockMaxMhz: 2100, throttledShare: 1, thermalThrottledShare: 1, powerThrottledShare: 0, meanUtilization: 0.65, memoryUsedBytes: 2000 },
      { startMs: T0 + 20_000, endMs: T0 + 30_000, samples: 0 },
    ]);
    expect(e.throttledShare).toBeCloseTo(0.5, 10);
  });

  it('counts ECC errors that appear inside the window', () => {
    const states = [0, 0, 1, 3].map((n) => ({ ...LOADED, eccErrorsCorrected: n, eccErrorsUncorrected: 0 }));
    expect(only(series(states)).errors).toBe(3);
  });
});

describe('which samples count', () => {
  it('skips stale samples and samples outside the window; orders GPUs by index', () => {
    const a = { ...LOADED, uuid: 'GPU-b', index: 1 };
    const b = { ...LOADED, uuid: 'GPU-a', index: 0 };
    const samples: GpuSample[] = [
      { schema: 'latency-doctor/gpu-sample@1', timeMs: T0 - 5000, gpus: [a, b] },
      { schema: 'latency-doctor/gpu-sample@1', timeMs: T0, gpus: [a, b] },
      { schema: 'latency-doctor/gpu-sample@1', timeMs: T0 + 1000, stale: true, gpus: [a, b] },
      { schema: 'latency-doctor/gpu-sample@1', timeMs: T0 + 2000, gpus: [a] },
    ];
    const evidence = summarizeDevice(samples, { startMs: T0, endMs: T0 + 2000 }, []);
    expect(evidence.map((e) => [e.gpuUuid, e.samples])).toEqual([
      ['GPU-a', 1],
      ['GPU-b', 2],
    ]);
    expect(summarizeDevice(samples, { startMs: T0 + 10_000, endMs: T0 + 20_000 }, [])).toEqual([]);
    expect(summarizeDevice([], ALL, [])).toEqual([]);
  });

  it('one sample gives no rise, slope or drop (not enough data), but still a share', () => {
    const e = only(series([LOADED]));
    expect(e.samples).toBe(1);
    expect(e).not.toHaveProperty('temperatureRiseC');
    expect(e).not.toHaveProperty('memorySlopeBytesPerS');
    expect(e).not.toHaveProperty('smClockDropShare');
  });
});

describe('real H200 run (driver 580.159.04): idle, 25 s fp16 matmul burn under the 700 W cap, idle', () => {
  // Recorded by the sidecar itself (500 ms period) on a lent H200; see test/fixtures/nvidia-smi/SOURCES.md.
  const file = fixture('samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl');

  it('is read by readGpuSamples and shows SW power cap only while loaded', async () => {
    const { readGpuSamples } = await import('../../src/formats/gpu-samples.js');
    const samples = await readGpuSamples(file);
    expect(samples).toHaveLength(84);
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const loaded = samples.filter((s) => (s.gpus[0]?.utilization ?? 0) > 0);
    const burn = { startMs: loaded[0]!.timeMs, endMs: loaded.at(-1)!.timeMs };
    const before = { startMs: first.timeMs, endMs: burn.startMs - 1000 };
    const after = { startMs: burn.endMs + 1000, endMs: last.timeMs };
    const [e] = summarizeDevice(samples, { startMs: first.timeMs, endMs: last.timeMs }, [before, burn, after]);
    expect(e?.gpuName).toBe('NVIDIA H200');
    // Counter deltas: ~25.3 s of SW power cap over a ~42 s run, all of it during the burn.
    expect(e?.powerThrottledShare).toBeGreaterThan(0.55);
    expect(e?.powerThrottledShare).toBeLessThan(0.65);
    expect(e?.thermalThrottledShare).toBe(0);
    const [idleBefore, loadedWindow, idleAfter] = e!.windows;
    expect(idleBefore?.throttledShare).toBe(0);
    expect(idleAfter?.throttledShare).toBe(0);
    expect(loadedWindow?.powerThrottledShare).toBeGreaterThan(0.98);
    expect(loadedWindow?.meanSmClockMhz).toBeGreaterThan(1300);
    expect(loadedWindow?.meanSmClockMhz).toBeLessThan(1450);
    expect(loadedWindow?.smClockMaxMhz).toBe(1980);
    expect(loadedWindow?.maxTemperatureC).toBe(64);
    // The burn allocated 1 GiB steps: memory grew by ~7 GiB over ~24 s.
    const [burnOnly] = summarizeDevice(samples, burn, []);
    expect(burnOnly?.memorySlopeBytesPerS).toBeGreaterThan(2e8);
    expect(burnOnly?.memorySlopeBytesPerS).toBeLessThan(4e8);
    expect(burnOnly?.temperatureRiseC).toBeGreaterThan(0);
    expect(burnOnly?.reasons.sw_power_cap).toBeGreaterThan(0.98);
  });
});

describe('real 8× RTX 4090 host (driver 535.154.05, nvidia-smi -q): two GPUs at the 450 W SW power cap under load, six idle', () => {
  // Each GPU's state as its `-q` block reports it (nvidia-smi -q's words for the reasons, "Clocks Event Reasons").
  const WORDS: ReadonlyArray<readonly [string, ClockEventReason]> = [
    ['Idle', 'gpu_idle'],
    ['SW Power Cap', 'sw_power_cap'],
    ['HW Slowdown', 'hw_slowdown'],
    ['HW Thermal Slowdown', 'hw_thermal_slowdown'],
    ['HW Power Brake Slowdown', 'hw_power_brake_slowdown'],
    ['SW Thermal Slowdown', 'sw_thermal_slowdown'],
  ];
  const blocks = readFileSync(fixture('q__rtx4090-x8__drv535.154.05__sw-power-cap.txt'), 'utf8').split(/^GPU [0-9A-F:.]+$/m).slice(1);
  const GPUS: GpuState[] = blocks.map((block, index) => {
    const value = (pattern: RegExp): number => Number(pattern.exec(block)?.[1]);
    const reasons = WORDS.filter(([words]) => new RegExp(`^\\s+${words}\\s+: Active$`, 'm').test(block)).map(([, reason]) => reason);
    return withReasons(
      {
        uuid: /^\s+GPU UUID\s+: (\S+)$/m.exec(block)![1]!,
        index,
        name: /^\s+Product Name\s+: (.+)$/m.exec(block)![1]!,
        pstate: value(/^\s+Performance State\s+: P(\d+)$/m),
        temperatureC: value(/^\s+GPU Current Temp\s+: (\d+) C$/m),
        utilization: value(/^ {8}Gpu\s+: (\d+) %$/m) / 100,
        powerW: value(/^ {4}GPU Power Readings\n {8}Power Draw\s+: ([\d.]+) W$/m),
        powerLimitW: value(/^ {8}Current Power Limit\s+: ([\d.]+) W$/m),
        smClockMhz: value(/^ {4}Clocks\n(?: {8}.*\n)*? {8}SM\s+: (\d+) MHz$/m),
        memoryUsedBytes: value(/^ {4}FB Memory Usage\n(?: {8}.*\n)*? {8}Used\s+: (\d+) MiB$/m) * 2 ** 20,
        memoryTotalBytes: value(/^ {4}FB Memory Usage\n {8}Total\s+: (\d+) MiB$/m) * 2 ** 20,
      },
      reasons,
    );
  });

  it('reads the capture as two loaded GPUs at ~446 of 450 W with SW power cap, six idle', () => {
    expect(GPUS).toHaveLength(8);
    const loaded = GPUS.filter((g) => g.clockEvents?.includes('sw_power_cap'));
    expect(loaded.map((g) => [g.index, g.powerW, g.powerLimitW, g.utilization, g.pstate])).toEqual([
      [1, 445.38, 450, 0.97, 2],
      [4, 446.36, 450, 1, 2],
    ]);
    expect(GPUS.filter((g) => g.clockEvents?.join() === 'gpu_idle')).toHaveLength(6);
  });

  it('the capped GPUs win the folded evidence (100 % power-throttled); the idle ones neither dilute it nor count as throttled', () => {
    // Twenty samples of that state, 1 s apart, the loaded GPUs' memory growing 1 MiB per sample.
    const samples: GpuSample[] = Array.from({ length: 20 }, (_, i) => ({
      schema: 'latency-doctor/gpu-sample@1',
      timeMs: T0 + i * 1000,
      gpus: GPUS.map((g) => (g.clockEvents?.includes('sw_power_cap') ? { ...g, memoryUsedBytes: g.memoryUsedBytes! + i * 2 ** 20 } : g)),
    }));
    const evidence = summarizeDevice(samples, ALL, [{ startMs: T0, endMs: T0 + 9_999 }, { startMs: T0 + 10_000, endMs: T0 + 20_000 }]);
    expect(evidence.map((e) => [e.gpuUuid, e.throttledShare, e.powerThrottledShare, e.thermalThrottledShare])).toEqual(
      GPUS.map((g) => (g.clockEvents?.includes('sw_power_cap') ? [g.uuid, 1, 1, 0] : [g.uuid, 0, 0, 0])),
    );
    const folded = deviceSignal(evidence, 19);
    expect(folded).toMatchObject({ gpus: 8, samples: 160, throttledShare: 1, powerShare: 1, thermalShare: 0, slowdownShare: 0, reasons: { sw_power_cap: 1 }, meanUtilization: 1 });
    expect(folded!.memorySlopeBytesPerS).toBeCloseTo(2 ** 20, 3);
    // The fuller capped GPU (23,638 of 24,564 MiB in the capture) at its last sample.
    expect(folded!.memoryUsedShare).toBeCloseTo((23638 + 19) / 24564, 9);
  });
});

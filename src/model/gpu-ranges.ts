/**
 * @module model/gpu-ranges
 * The physically possible range of every numeric GpuState field, and the one check both the
 * sidecar (before it serves or writes a sample) and the sample-file reader (before the analyzer
 * sees it) apply: a value outside its range, or not a finite number, is dropped (absent, like an
 * `[N/A]`) and reported, never served as a real reading. Bounds are deliberately loose: they catch
 * impossible values (1e308 °C, −1 W, utilization 1e21), not unusual ones.
 */
import type { GpuState, MigInstance } from './gpu.js';

type NumericField = {
  [K in keyof GpuState]-?: NonNullable<GpuState[K]> extends number ? K : never;
}[keyof GpuState];

const TIB = 2 ** 40;

/** Inclusive [min, max] per numeric field, in the field's unit. */
export const GPU_VALUE_RANGES: Readonly<Record<NumericField, readonly [number, number]>> = {
  index: [0, 1023],
  pstate: [0, 15],
  // Below −40 °C no GPU runs; NVIDIA shutdown temperatures are about 90–105 °C (`-q -x` <gpu_temp_max_threshold>).
  temperatureC: [-40, 150],
  memoryTemperatureC: [-40, 150],
  // temperature.gpu.tlimit: degrees left before slowdown, negative once past it.
  temperatureMarginC: [-150, 150],
  slowdownTemperatureC: [0, 150],
  shutdownTemperatureC: [0, 150],
  // The largest single GPU memory today is 288 GB (B300); 1 TiB leaves room.
  memoryUsedBytes: [0, TIB],
  memoryTotalBytes: [0, TIB],
  memoryReservedBytes: [0, TIB],
  // nvidia-smi's 0–100 %, stored as a fraction.
  utilization: [0, 1],
  memoryBusy: [0, 1],
  // A GB200 superchip's module limit is 2700 W; 5 kW is beyond any single board.
  powerW: [0, 5000],
  powerInstantW: [0, 5000],
  powerLimitW: [0, 5000],
  smClockMhz: [0, 10_000],
  smClockMaxMhz: [0, 10_000],
  memClockMhz: [0, 20_000],
  memClockMaxMhz: [0, 20_000],
  eccErrorsCorrected: [0, Number.MAX_SAFE_INTEGER],
  eccErrorsUncorrected: [0, Number.MAX_SAFE_INTEGER],
  xidErrors: [0, Number.MAX_SAFE_INTEGER],
};

/** A GpuState with impossible values removed, and what was removed (`field=value`, for the message). */
export interface CheckedGpuState {
  readonly gpu: GpuState;
  readonly rejected: readonly string[];
}

function inRange(value: unknown, [min, max]: readonly [number, number]): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

/** Drops every numeric field outside GPU_VALUE_RANGES, used or reserved memory above the total, and negative or non-numeric reason seconds. */
export function checkGpuRanges(gpu: GpuState): CheckedGpuState {
  const rejected: string[] = [];
  const drop = new Set<string>();
  const fields = gpu as unknown as Readonly<Record<string, unknown>>;
  for (const [field, range] of Object.entries(GPU_VALUE_RANGES)) {
    const value = fields[field];
    if (value !== undefined && !inRange(value, range)) {
      rejected.push(`${field}=${show(value)}`);
      drop.add(field);
    }
  }
  const total = drop.has('memoryTotalBytes') ? undefined : gpu.memoryTotalBytes;
  if (total !== undefined) {
    for (const field of ['memoryUsedBytes', 'memoryReservedBytes'] as const) {
      const value = gpu[field];
      if (value !== undefined && !drop.has(field) && value > total) {
        rejected.push(`${field}=${value} > memoryTotalBytes=${total}`);
        drop.add(field);
      }
    }
  }
  let clockEventSeconds = gpu.clockEventSeconds;
  if (clockEventSeconds !== undefined) {
    const kept = Object.entries(clockEventSeconds).filter(([reason, seconds]) => {
      const ok = inRange(seconds, [0, Number.MAX_SAFE_INTEGER]);
      if (!ok) rejected.push(`clockEventSeconds.${reason}=${show(seconds)}`);
      return ok;
    });
    if (kept.length !== Object.keys(clockEventSeconds).length) clockEventSeconds = Object.fromEntries(kept);
  }
  let migInstances = gpu.migInstances;
  if (Array.isArray(migInstances)) {
    migInstances = migInstances.map((instance: MigInstance) => {
      const { memoryUsedBytes: used, memoryTotalBytes: size } = instance;
      const badUsed = used !== undefined && (!inRange(used, [0, TIB]) || (size !== undefined && used > size));
      const badSize = size !== undefined && !inRange(size, [0, TIB]);
      if (!badUsed && !badSize) return instance;
      const copy: { -readonly [K in keyof MigInstance]: MigInstance[K] } = { ...instance };
      if (badUsed) {
        rejected.push(`migInstances[${instance.id}].memoryUsedBytes=${show(used)}`);
        delete copy.memoryUsedBytes;
      }
      if (badSize) {
        rejected.push(`migInstances[${instance.id}].memoryTotalBytes=${show(size)}`);
        delete copy.memoryTotalBytes;
      }
      return copy;
    });
  }
  if (rejected.length === 0) return { gpu, rejected };
  const cleaned: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(gpu)) if (!drop.has(field)) cleaned[field] = value;
  if (clockEventSeconds !== undefined) cleaned['clockEventSeconds'] = clockEventSeconds;
  if (migInstances !== undefined) cleaned['migInstances'] = migInstances;
  return { gpu: cleaned as unknown as GpuState, rejected };
}

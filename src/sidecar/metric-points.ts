/**
 * @module sidecar/metric-points
 * A collector snapshot as metric points (spec from SIDECAR_METRICS, OpenTelemetry attribute keys,
 * value), shared by the Prometheus text renderer and the OTLP export so both say the same thing.
 * Absent values produce no point (never a 0). While collection is wedged the points come from the
 * last good sample and `gpu.sidecar.sample.stale` is 1.
 */
import type { GpuState } from '../model/gpu.js';
import { GPU_ATTR, SIDECAR_METRICS, type MetricSpec } from '../semconv.js';
import { CLOCK_EVENT_BITS, maskToNumber } from '../model/clock-events.js';
import type { CollectorSnapshot } from './collector.js';
import type { FailureKind } from './probe.js';

/** One value of one metric with its attributes (OpenTelemetry keys). */
export interface MetricPoint {
  readonly spec: MetricSpec;
  readonly attributes: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every failure kind, so each counter series exists from the start (rate() needs a first 0). */
export const FAILURE_KINDS: readonly FailureKind[] = ['discovery', 'spawn', 'exit', 'nvml', 'gpu_lost', 'garbage', 'truncated', 'timeout', 'xml'];

type Add = (spec: MetricSpec, attributes: Readonly<Record<string, string>>, value: number | undefined) => void;

/** The points of a snapshot, grouped in SIDECAR_METRICS order per GPU, then host, then health. */
export function metricPoints(snapshot: CollectorSnapshot): MetricPoint[] {
  const points: MetricPoint[] = [];
  const add: Add = (spec, attributes, value) => {
    if (value !== undefined && Number.isFinite(value)) points.push({ spec, attributes, value });
  };
  const M = SIDECAR_METRICS;
  const sample = snapshot.sample;
  for (const gpu of sample?.gpus ?? []) gpuPoints(gpu, add);

  const host = sample?.host;
  if (host !== undefined) {
    add(M.HOST_CPU_UTILIZATION, {}, host.cpuUtilization);
    add(M.HOST_MEMORY_USAGE, {}, host.memoryUsedBytes);
    add(M.HOST_MEMORY_LIMIT, {}, host.memoryTotalBytes);
    add(M.TEMPERATURE, { [GPU_ATTR.ID]: 'host', [GPU_ATTR.NAME]: 'cpu', [GPU_ATTR.TYPE]: 'cpu', [GPU_ATTR.SENSOR_LOCATION]: 'cpu' }, host.cpuTemperatureC);
  }

  // A GPU that leaves the list takes its series with it: the count is what an alert can compare.
  add(M.GPU_COUNT, {}, sample?.gpus.length);
  add(M.COLLECT_SUCCESS, {}, sample !== undefined && !snapshot.stale ? 1 : 0);
  add(M.SAMPLE_STALE, {}, snapshot.stale ? 1 : 0);
  add(M.SAMPLE_AGE, {}, snapshot.sampleAgeS);
  for (const [source, seconds] of Object.entries(snapshot.durationS)) add(M.COLLECT_DURATION, { source }, seconds);
  for (const kind of FAILURE_KINDS) add(M.COLLECT_FAILURES, { kind }, snapshot.failures[kind] ?? 0);
  add(M.SOURCE_EXIT_CODE, {}, snapshot.lastExitCode);
  return points;
}

function gpuPoints(gpu: GpuState, add: Add): void {
  const M = SIDECAR_METRICS;
  const base: Record<string, string> = { [GPU_ATTR.ID]: gpu.uuid, [GPU_ATTR.NAME]: `gpu${gpu.index ?? ''}` };
  if (gpu.name !== undefined) base[GPU_ATTR.MODEL] = gpu.name;
  const gpuTyped = { ...base, [GPU_ATTR.TYPE]: 'gpu' };
  add(M.GPU_UTILIZATION, { ...base, [GPU_ATTR.TASK]: 'general' }, gpu.utilization);
  add(M.GPU_MEMORY_USAGE, base, gpu.memoryUsedBytes);
  add(M.GPU_MEMORY_LIMIT, base, gpu.memoryTotalBytes);
  if (gpu.memoryUsedBytes !== undefined && gpu.memoryTotalBytes !== undefined && gpu.memoryTotalBytes > 0) {
    add(M.GPU_MEMORY_UTILIZATION, base, gpu.memoryUsedBytes / gpu.memoryTotalBytes);
  }
  add(M.GPU_MEMORY_RESERVED, base, gpu.memoryReservedBytes);
  add(M.GPU_MEMORY_BUSY, base, gpu.memoryBusy);
  add(M.POWER, gpuTyped, gpu.powerW);
  add(M.POWER_INSTANT, base, gpu.powerInstantW);
  add(M.POWER_LIMIT, base, gpu.powerLimitW);
  add(M.TEMPERATURE, { ...gpuTyped, [GPU_ATTR.SENSOR_LOCATION]: 'gpu' }, gpu.temperatureC);
  add(M.TEMPERATURE, { ...gpuTyped, [GPU_ATTR.SENSOR_LOCATION]: 'memory' }, gpu.memoryTemperatureC);
  // OpenTelemetry's hw.limit_type: `throttled` fits the slowdown threshold, `high.critical` the shutdown one.
  add(M.TEMPERATURE_LIMIT, { ...base, [GPU_ATTR.LIMIT_TYPE]: 'throttled' }, gpu.slowdownTemperatureC);
  add(M.TEMPERATURE_LIMIT, { ...base, [GPU_ATTR.LIMIT_TYPE]: 'high.critical' }, gpu.shutdownTemperatureC);
  add(M.TEMPERATURE_MARGIN, base, gpu.temperatureMarginC);
  add(M.CLOCK_SM, base, gpu.smClockMhz);
  add(M.CLOCK_SM_MAX, base, gpu.smClockMaxMhz);
  add(M.CLOCK_MEMORY, base, gpu.memClockMhz);
  add(M.CLOCK_MEMORY_MAX, base, gpu.memClockMaxMhz);
  add(M.PSTATE, base, gpu.pstate);
  if (gpu.clockEventMask !== undefined) {
    add(M.CLOCK_EVENT_MASK, base, maskToNumber(gpu.clockEventMask));
    const active = new Set(gpu.clockEvents ?? []);
    for (const { reason } of CLOCK_EVENT_BITS) add(M.CLOCK_EVENT_ACTIVE, { ...base, [GPU_ATTR.REASON]: reason }, active.has(reason) ? 1 : 0);
  }
  for (const [reason, seconds] of Object.entries(gpu.clockEventSeconds ?? {})) {
    add(M.CLOCK_EVENT_DURATION, { ...base, [GPU_ATTR.REASON]: reason }, seconds);
  }
  add(M.GPU_ERRORS, { ...gpuTyped, [GPU_ATTR.ERROR_TYPE]: 'ecc_corrected' }, gpu.eccErrorsCorrected);
  add(M.GPU_ERRORS, { ...gpuTyped, [GPU_ATTR.ERROR_TYPE]: 'ecc_uncorrected' }, gpu.eccErrorsUncorrected);
  add(M.GPU_ERRORS, { ...gpuTyped, [GPU_ATTR.ERROR_TYPE]: 'xid' }, gpu.xidErrors);
  for (const instance of gpu.migInstances ?? []) {
    add(M.MIG_MEMORY_USAGE, { ...base, 'gpu.mig.instance': instance.id }, instance.memoryUsedBytes);
  }
}

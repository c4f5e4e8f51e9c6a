/**
 * @module sidecar/prometheus-text
 * Renders a collector snapshot in the Prometheus text exposition format (0.0.4). Metric names
 * come from SIDECAR_METRICS through prometheusName(), labels through prometheusLabel(), so
 * dashboards and alert rules can be checked against semconv.ts. Absent values produce no
 * series (never a 0). While collection is wedged the last good sample is rendered and
 * `gpu_sidecar_sample_stale` is 1.
 */
import type { GpuState } from '../model/gpu.js';
import { GPU_ATTR, prometheusLabel, prometheusName, SIDECAR_METRICS, type MetricSpec } from '../semconv.js';
import { CLOCK_EVENT_BITS, maskToNumber } from './clock-events.js';
import type { CollectorSnapshot } from './collector.js';
import type { FailureKind } from './probe.js';

/** Content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const FAILURE_KINDS: readonly FailureKind[] = ['discovery', 'spawn', 'exit', 'nvml', 'gpu_lost', 'garbage', 'truncated', 'timeout', 'xml'];

type Labels = Readonly<Record<string, string>>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

class Family {
  readonly lines: string[] = [];
  constructor(readonly spec: MetricSpec) {}
  add(labels: Labels, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return;
    const pairs = Object.entries(labels).map(([k, v]) => `${prometheusLabel(k)}="${escapeLabel(v)}"`);
    this.lines.push(`${prometheusName(this.spec)}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`);
  }
}

/** Renders `/metrics`. */
export function renderPrometheus(snapshot: CollectorSnapshot): string {
  const families = new Map<MetricSpec, Family>();
  const family = (spec: MetricSpec): Family => {
    let f = families.get(spec);
    if (f === undefined) {
      f = new Family(spec);
      families.set(spec, f);
    }
    return f;
  };
  const M = SIDECAR_METRICS;
  const sample = snapshot.sample;
  for (const gpu of sample?.gpus ?? []) renderGpu(gpu, family);

  const host = sample?.host;
  if (host !== undefined) {
    family(M.HOST_CPU_UTILIZATION).add({}, host.cpuUtilization);
    family(M.HOST_MEMORY_USAGE).add({}, host.memoryUsedBytes);
    family(M.HOST_MEMORY_LIMIT).add({}, host.memoryTotalBytes);
    family(M.TEMPERATURE).add({ [GPU_ATTR.ID]: 'host', [GPU_ATTR.NAME]: 'cpu', [GPU_ATTR.TYPE]: 'cpu', [GPU_ATTR.SENSOR_LOCATION]: 'cpu' }, host.cpuTemperatureC);
  }

  family(M.COLLECT_SUCCESS).add({}, sample !== undefined && !snapshot.stale ? 1 : 0);
  family(M.SAMPLE_STALE).add({}, snapshot.stale ? 1 : 0);
  family(M.SAMPLE_AGE).add({}, snapshot.sampleAgeS);
  for (const [source, seconds] of Object.entries(snapshot.durationS)) family(M.COLLECT_DURATION).add({ source }, seconds);
  for (const kind of FAILURE_KINDS) family(M.COLLECT_FAILURES).add({ kind }, snapshot.failures[kind] ?? 0);
  family(M.SOURCE_EXIT_CODE).add({}, snapshot.lastExitCode);

  const out: string[] = [];
  for (const f of families.values()) {
    if (f.lines.length === 0) continue;
    const name = prometheusName(f.spec);
    out.push(`# HELP ${name} ${f.spec.description} Unit: ${f.spec.unit}.`);
    out.push(`# TYPE ${name} ${f.spec.kind === 'counter' ? 'counter' : 'gauge'}`);
    out.push(...f.lines);
  }
  return `${out.join('\n')}\n`;
}

function renderGpu(gpu: GpuState, family: (spec: MetricSpec) => Family): void {
  const M = SIDECAR_METRICS;
  const base: Record<string, string> = { [GPU_ATTR.ID]: gpu.uuid, [GPU_ATTR.NAME]: `gpu${gpu.index ?? ''}` };
  if (gpu.name !== undefined) base[GPU_ATTR.MODEL] = gpu.name;
  const gpuTyped = { ...base, [GPU_ATTR.TYPE]: 'gpu' };
  family(M.GPU_UTILIZATION).add({ ...base, [GPU_ATTR.TASK]: 'general' }, gpu.utilization);
  family(M.GPU_MEMORY_USAGE).add(base, gpu.memoryUsedBytes);
  family(M.GPU_MEMORY_LIMIT).add(base, gpu.memoryTotalBytes);
  if (gpu.memoryUsedBytes !== undefined && gpu.memoryTotalBytes !== undefined && gpu.memoryTotalBytes > 0) {
    family(M.GPU_MEMORY_UTILIZATION).add(base, gpu.memoryUsedBytes / gpu.memoryTotalBytes);
  }
  family(M.GPU_MEMORY_RESERVED).add(base, gpu.memoryReservedBytes);
  family(M.GPU_MEMORY_BUSY).add(base, gpu.memoryBusy);
  family(M.POWER).add(gpuTyped, gpu.powerW);
  family(M.POWER_INSTANT).add(base, gpu.powerInstantW);
  family(M.POWER_LIMIT).add(base, gpu.powerLimitW);
  family(M.TEMPERATURE).add({ ...gpuTyped, [GPU_ATTR.SENSOR_LOCATION]: 'gpu' }, gpu.temperatureC);
  family(M.TEMPERATURE).add({ ...gpuTyped, [GPU_ATTR.SENSOR_LOCATION]: 'memory' }, gpu.memoryTemperatureC);
  // OpenTelemetry's hw.limit_type: `throttled` fits the slowdown threshold, `high.critical` the shutdown one.
  family(M.TEMPERATURE_LIMIT).add({ ...base, [GPU_ATTR.LIMIT_TYPE]: 'throttled' }, gpu.slowdownTemperatureC);
  family(M.TEMPERATURE_LIMIT).add({ ...base, [GPU_ATTR.LIMIT_TYPE]: 'high.critical' }, gpu.shutdownTemperatureC);
  family(M.TEMPERATURE_MARGIN).add(base, gpu.temperatureMarginC);
  family(M.CLOCK_SM).add(base, gpu.smClockMhz);
  family(M.CLOCK_SM_MAX).add(base, gpu.smClockMaxMhz);
  family(M.CLOCK_MEMORY).add(base, gpu.memClockMhz);
  family(M.CLOCK_MEMORY_MAX).add(base, gpu.memClockMaxMhz);
  family(M.PSTATE).add(base, gpu.pstate);
  if (gpu.clockEventMask !== undefined) {
    family(M.CLOCK_EVENT_MASK).add(base, maskToNumber(gpu.clockEventMask));
    const active = new Set(gpu.clockEvents ?? []);
    for (const { reason } of CLOCK_EVENT_BITS) family(M.CLOCK_EVENT_ACTIVE).add({ ...base, [GPU_ATTR.REASON]: reason }, active.has(reason) ? 1 : 0);
  }
  for (const [reason, seconds] of Object.entries(gpu.clockEventSeconds ?? {})) {
    family(M.CLOCK_EVENT_DURATION).add({ ...base, [GPU_ATTR.REASON]: reason }, seconds);
  }
  family(M.GPU_ERRORS).add({ ...gpuTyped, [GPU_ATTR.ERROR_TYPE]: 'ecc_corrected' }, gpu.eccErrorsCorrected);
  family(M.GPU_ERRORS).add({ ...gpuTyped, [GPU_ATTR.ERROR_TYPE]: 'ecc_uncorrected' }, gpu.eccErrorsUncorrected);
  family(M.GPU_ERRORS).add({ ...gpuTyped, [GPU_ATTR.ERROR_TYPE]: 'xid' }, gpu.xidErrors);
  for (const instance of gpu.migInstances ?? []) {
    family(M.MIG_MEMORY_USAGE).add({ ...base, 'gpu.mig.instance': instance.id }, instance.memoryUsedBytes);
  }
}

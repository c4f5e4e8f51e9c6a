/**
 * @module prometheus/gpu
 * GPU state from a GPU exporter in Prometheus (our sidecar, dcgm-exporter, nvidia_gpu_exporter)
 * → the GpuSample rows the trace path reads from sidecar files, one per query_range step and
 * GPU, so the same `summarizeDevice` builds the device evidence for drift and hardware-limit.
 * GPUs are told apart by instance and GPU id labels; the diagnosis reads the worst GPU.
 */
import type { GpuSample, GpuState } from '../model/gpu.js';
import type { ClockEventReason } from '../model/gpu.js';
import type { GpuSource } from './sources.js';
import type { QueryContext } from './aggregates.js';

/** Labels that identify one GPU, by exporter. */
const GPU_ID_LABELS = ['hw_id', 'UUID', 'uuid', 'gpu', 'gpu_uuid'] as const;

function gpuKey(metric: Readonly<Record<string, string>>, replicaLabel: string): string {
  const id = GPU_ID_LABELS.map((l) => metric[l]).find((v) => v !== undefined && v !== '') ?? '0';
  return `${metric[replicaLabel] ?? ''}/${id}`;
}

type Field = 'utilization' | 'temperatureC' | 'smClockMhz' | 'smClockMaxMhz' | 'memoryUsedBytes' | ReasonField;
type ReasonField = 'thermalThrottled' | 'powerThrottled' | 'hwPowerBrake' | 'hwSlowdown';

/**
 * The clock-event reason each throttle field stands for, as the trace path names it (the SW power
 * cap apart from the HW power brake: only the brake is a slowdown that confounds, analyzer/device).
 */
const REASON_OF: Readonly<Record<ReasonField, ClockEventReason>> = {
  thermalThrottled: 'sw_thermal_slowdown',
  powerThrottled: 'sw_power_cap',
  hwPowerBrake: 'hw_power_brake_slowdown',
  hwSlowdown: 'hw_slowdown',
};
const REASON_FIELDS = Object.keys(REASON_OF) as ReasonField[];

/** Reads the GPU exporter's series over the range as samples. */
export async function readGpuSamples(ctx: QueryContext, source: GpuSource): Promise<GpuSample[]> {
  const fields: Field[] = ['utilization', 'temperatureC', 'smClockMhz', 'smClockMaxMhz', 'memoryUsedBytes', ...REASON_FIELDS];
  const byTime = new Map<number, Map<string, Partial<Record<Field, number>>>>();
  await Promise.all(
    fields.map(async (field) => {
      const expr = source[field];
      if (expr === undefined) return;
      // Throttle flags per reason: the max over reasons says whether any was active.
      const query = (REASON_FIELDS as readonly Field[]).includes(field) ? `max without (reason) (${expr})` : expr;
      ctx.log.push({ purpose: `GPU ${field} (${source.id})`, expr: `${query}  (query_range step ${ctx.stepS}s)` });
      for (const s of await ctx.client.queryRange(query, ctx.startS, ctx.endS, ctx.stepS)) {
        const key = gpuKey(s.metric, ctx.replicaLabel);
        for (const [t, v] of s.values) {
          const value = Number(v);
          if (!Number.isFinite(value)) continue;
          const gpus = byTime.get(t) ?? new Map<string, Partial<Record<Field, number>>>();
          byTime.set(t, gpus);
          const state = gpus.get(key) ?? {};
          gpus.set(key, state);
          state[field] = Math.max(state[field] ?? Number.NEGATIVE_INFINITY, value);
        }
      }
    }),
  );
  return [...byTime]
    .sort((a, b) => a[0] - b[0])
    .map(([t, gpus]) => ({
      schema: 'latency-doctor/gpu-sample@1' as const,
      timeMs: t * 1000,
      gpus: [...gpus].map(([uuid, f]): GpuState => {
        const events = REASON_FIELDS.filter((r) => (f[r] ?? 0) > 0).map((r) => REASON_OF[r]);
        return {
          uuid,
          ...(f.utilization !== undefined ? { utilization: f.utilization } : {}),
          ...(f.temperatureC !== undefined ? { temperatureC: f.temperatureC } : {}),
          ...(f.smClockMhz !== undefined ? { smClockMhz: f.smClockMhz } : {}),
          ...(f.smClockMaxMhz !== undefined ? { smClockMaxMhz: f.smClockMaxMhz } : {}),
          ...(f.memoryUsedBytes !== undefined ? { memoryUsedBytes: f.memoryUsedBytes } : {}),
          ...(REASON_FIELDS.some((r) => f[r] !== undefined) ? { clockEvents: events } : {}),
        };
      }),
    }));
}

/**
 * @module test/diagnose/to-spans
 * Turns generated RequestTiming rows back into the spans the tracer would record (a server
 * request span with its phase spans laid end to end), and GPU sample lines for the sidecar,
 * so a diagnosis scenario can be written in every trace format and read back by the analyzer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTR, GPU_SAMPLE_SCHEMA, PHASES } from '../../src/semconv.js';
import type { RequestTiming } from '../../src/model/request.js';
import type { ClockEventReason, GpuSample, GpuState } from '../../src/model/gpu.js';
import type { SynthSpan } from '../support/synth.js';
import { writeAs } from '../support/synth.js';
import { generate } from './gen.js';
import { BOTTLENECKS } from './scenarios.js';

// Whole microseconds, so Jaeger and Zipkin (µs resolution) carry exactly the same times as OTLP.
const usNs = (ms: number): bigint => BigInt(Math.max(1, Math.round(ms * 1000))) * 1000n;

/** One request span with its phases, per request. */
export function toSpans(requests: readonly RequestTiming[]): SynthSpan[] {
  const spans: SynthSpan[] = [];
  for (const r of requests) {
    // Span ids from the trace id's number keep several generated sets apart in one file.
    const i = Number.parseInt(r.traceId.slice(-12), 16);
    const start = (r.startNs / 1000n) * 1000n;
    const requestSpanId = (0x100000 + i).toString(16).padStart(16, '0');
    const children: SynthSpan[] = [];
    let t = start;
    PHASES.forEach((phase, k) => {
      const ms = r.phases[phase];
      if (ms === undefined) return;
      const end = t + usNs(ms);
      children.push({
        traceId: r.traceId,
        spanId: (0x200000 + i * 16 + k).toString(16).padStart(16, '0'),
        parentSpanId: requestSpanId,
        name: phase,
        service: r.service,
        kind: 'internal',
        startNs: t,
        endNs: end,
        attributes: { [ATTR.PHASE]: phase, ...(phase === 'compute' && r.batchSize !== undefined ? { [ATTR.BATCH_SIZE]: r.batchSize } : {}) },
      });
      t = end;
    });
    const end = t + (r.otherMs > 0 ? usNs(r.otherMs) : 0n);
    const attributes: Record<string, string | number | boolean> = { [ATTR.MODEL_NAME]: r.model };
    if (r.runtime !== undefined) attributes[ATTR.RUNTIME] = r.runtime;
    if (r.runtimeProvider !== undefined) attributes[ATTR.RUNTIME_PROVIDER] = r.runtimeProvider;
    if (r.precision !== undefined) attributes[ATTR.PRECISION] = r.precision;
    if (r.device !== undefined) attributes[ATTR.DEVICE] = r.device;
    if (r.requestBytes !== undefined) attributes[ATTR.REQUEST_SIZE] = r.requestBytes;
    if (r.inputHash !== undefined) attributes[ATTR.INPUT_HASH] = r.inputHash;
    spans.push({ traceId: r.traceId, spanId: requestSpanId, name: 'infer', service: r.service, kind: 'server', startNs: start, endNs: end, attributes, error: r.error }, ...children);
  }
  return spans;
}

/** GPU sample lines every `stepMs` over the requests' window; `stateAt(frac)` gives the GPU's state at that point of the run. */
export function samplesOver(requests: readonly RequestTiming[], stateAt: (frac: number) => GpuState, stepMs = 200): string {
  const startMs = Number(requests[0]!.startNs / 1_000_000n) - stepMs;
  const last = requests[requests.length - 1]!;
  const endMs = Number(last.startNs / 1_000_000n) + last.e2eMs + stepMs;
  const lines: string[] = [];
  for (let timeMs = startMs; timeMs <= endMs; timeMs += stepMs) {
    const sample: GpuSample = { schema: GPU_SAMPLE_SCHEMA, timeMs, gpus: [stateAt((timeMs - startMs) / (endMs - startMs))] };
    lines.push(JSON.stringify(sample));
  }
  return lines.join('\n') + '\n';
}

/** GPU sample lines every `stepMs` over the requests' window; `reasons(frac)` gives the active throttle reasons. */
export function gpuSamplesFor(requests: readonly RequestTiming[], reasons: (frac: number) => readonly ClockEventReason[], stepMs = 200): string {
  return samplesOver(
    requests,
    (frac) => {
      const active = reasons(frac);
      return {
        uuid: 'GPU-8a7c2d1e-0000-4000-8000-000000000001',
        index: 0,
        name: 'NVIDIA A10G',
        pstate: 0,
        utilization: 0.92,
        temperatureC: active.some((a) => a.includes('thermal')) ? 88 : 71,
        memoryUsedBytes: 6_000_000_000,
        memoryTotalBytes: 24_000_000_000,
        smClockMhz: active.length > 0 ? 1100 : 1710,
        smClockMaxMhz: 1710,
        clockEvents: [...active],
      };
    },
    stepMs,
  );
}

/**
 * A sidecar sample file recorded on a real GPU (test/fixtures/nvidia-smi/samples__*.jsonl), moved
 * in time so that its first loaded sample comes `leadMs` before the first request, each GPU state
 * passed through `edit`. Throws when the loaded stretch does not cover the requests' window.
 */
export function recordedSamplesOver(requests: readonly RequestTiming[], file: string, edit: (gpu: GpuState) => GpuState = (g) => g, leadMs = 500): string {
  const samples = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as GpuSample);
  const loaded = (s: GpuSample): boolean => s.gpus.some((g) => (g.utilization ?? 0) > 0 && g.clockEvents?.includes('gpu_idle') !== true);
  const firstLoaded = samples.findIndex(loaded);
  if (firstLoaded < 0) throw new Error(`${file}: no loaded sample`);
  const lastLoaded = samples.length - 1 - [...samples].reverse().findIndex(loaded);
  const startMs = Number(requests[0]!.startNs / 1_000_000n);
  const last = requests[requests.length - 1]!;
  const endMs = Number(last.startNs / 1_000_000n) + last.e2eMs;
  const shift = startMs - leadMs - samples[firstLoaded]!.timeMs;
  if (samples[lastLoaded]!.timeMs + shift < endMs) throw new Error(`${file}: its loaded samples do not cover the ${((endMs - startMs) / 1000).toFixed(1)} s of requests`);
  return samples.map((s) => JSON.stringify({ ...s, timeMs: s.timeMs + shift, gpus: s.gpus.map(edit) })).join('\n') + '\n';
}

/**
 * The thermal-drift recipe written to `dir` as an OTLP JSON lines trace and its GPU samples
 * (the GPU throttles in the last 40% of the run): the input that fills the latency/GPU timeline.
 */
export function writeThermalRun(dir: string): [traces: string, samples: string] {
  const scenario = BOTTLENECKS.find((s) => s.name.includes('throttles'))!;
  const requests = generate(scenario.spec);
  const traces = join(dir, 'traces.jsonl');
  const samples = join(dir, 'gpu.jsonl');
  writeFileSync(traces, writeAs('otlp-jsonl', toSpans(requests)));
  writeFileSync(samples, gpuSamplesFor(requests, (f) => (f > 0.6 ? ['sw_thermal_slowdown'] : [])));
  return [traces, samples];
}

/**
 * @module test/diagnose/scenarios
 * One request-set recipe per verdict (and a near miss for each), shared by the truth-table
 * test and the end-to-end tests that write the same requests in every trace format.
 */
import type { FixId } from '../../src/semconv.js';
import type { DeviceEvidence } from '../../src/model/gpu.js';
import type { SloTargets } from '../../src/analyzer/diagnose/index.js';
import type { GenSpec } from './gen.js';
import { exp } from './gen.js';

/** A recipe and the verdict it must (or must not) get. */
export interface Scenario {
  readonly name: string;
  readonly spec: GenSpec;
  readonly device?: readonly DeviceEvidence[];
  readonly slo?: SloTargets;
  /** The primary verdict this data must get. */
  readonly primary: FixId | 'insufficient-data' | null;
  /** A verdict that must not be primary (for near misses). */
  readonly notPrimary?: FixId;
}

/** Device evidence with the given shares, over a run of `seconds`. */
export function gpuEvidence(p: { throttled?: number; thermal?: number; power?: number; clockDrop?: number; memorySlope?: number; memoryStart?: number; errors?: number; utilization?: number }): DeviceEvidence[] {
  return [
    {
      gpuUuid: 'GPU-00000000-0000-0000-0000-000000000001',
      gpuName: 'NVIDIA A10G',
      samples: 120,
      windows: [{ startMs: 0, endMs: 1000, samples: 12, memoryUsedBytes: p.memoryStart ?? 4e9 }],
      throttledShare: p.throttled ?? 0,
      thermalThrottledShare: p.thermal ?? 0,
      powerThrottledShare: p.power ?? 0,
      smClockDropShare: p.clockDrop ?? 0,
      ...(p.memorySlope !== undefined ? { memorySlopeBytesPerS: p.memorySlope } : {}),
      ...(p.utilization !== undefined ? { meanUtilization: p.utilization } : {}),
      errors: p.errors ?? 0,
      reasons: {},
    },
  ];
}

const BASE = { n: 400, seed: 7 } as const;

/**
 * FP16 PyTorch on a GPU: compute dominates (a runtime swap applies); in the second half compute
 * slows as the GPU heats, at constant load (latency drifts). Used with and without GPU samples.
 */
export const HALF_THROTTLED: GenSpec = {
  ...BASE,
  rps: 20,
  phases: { preprocess: 2, queue: 1, compute: ({ frac, rand }) => (frac > 0.5 ? 30 + 40 * (frac - 0.5) : 30) * (0.9 + 0.2 * rand()) },
  runtime: 'pytorch',
  precision: 'fp16',
  device: 'cuda:0',
};

/** Recipes showing each bottleneck. */
export const BOTTLENECKS: readonly Scenario[] = [
  {
    name: 'queueing at batch size 1 under concurrency',
    spec: { ...BASE, rps: 150, phases: { serialize: 0.5, queue: exp(40), compute: 5 }, batchSize: 1, runtime: 'onnxruntime', precision: 'fp16', device: 'cuda:0' },
    primary: 'dynamic-batching',
  },
  {
    name: 'FP32 model on TensorRT, compute-bound',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'tensorrt', precision: 'fp32', device: 'cuda:0' },
    primary: 'quantization',
  },
  {
    name: 'FP16 model on PyTorch, compute-bound',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'pytorch', precision: 'fp16', device: 'cuda:0' },
    primary: 'optimized-runtime',
  },
  {
    name: 'INT8 model on TensorRT, compute-bound, SLO missed by 2×',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'tensorrt', precision: 'int8', device: 'cuda:0' },
    slo: { p95Ms: 20 },
    primary: 'prune-distill',
  },
  {
    name: 'preprocessing and JSON serialization dominate',
    spec: { ...BASE, rps: 20, phases: { preprocess: 30, serialize: 12, queue: 1, compute: 6 }, requestBytes: 2_500_000, runtime: 'onnxruntime', precision: 'fp32', device: 'cpu' },
    primary: 'preprocessing-pipeline',
  },
  {
    name: 'most inputs repeat',
    spec: { ...BASE, rps: 20, phases: { preprocess: 1, queue: 1, compute: 30 }, duplicateShare: 0.7, runtime: 'tensorrt', precision: 'fp16', device: 'cuda:0' },
    primary: 'scale-and-cache',
  },
  {
    name: 'batches full and the queue still long',
    spec: { ...BASE, rps: 150, phases: { serialize: 0.5, queue: exp(40), compute: 8 }, batchSize: 8, runtime: 'tensorrt', precision: 'fp16', device: 'cuda:0' },
    primary: 'scale-and-cache',
  },
  {
    name: 'compute rises at constant load while the GPU throttles',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: ({ frac, rand }) => (8 + 30 * frac) * (0.9 + 0.2 * rand()) }, runtime: 'tensorrt', precision: 'fp16', device: 'cuda:0' },
    device: gpuEvidence({ throttled: 0.4, thermal: 0.4, clockDrop: 0.25 }),
    primary: 'latency-drift',
  },
  {
    name: 'copies to the GPU cost more than a tiny model',
    spec: { ...BASE, rps: 50, phases: { serialize: 0.3, queue: 0.2, transfer: 6, compute: 1.5 }, runtime: 'tensorrt', precision: 'fp16', device: 'cuda:0' },
    primary: 'device-transfer',
  },
  {
    name: 'fully optimized model on a GPU throttled most of the time',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'tensorrt', precision: 'int8', device: 'cuda:0' },
    slo: { p95Ms: 40 },
    device: gpuEvidence({ throttled: 0.8, power: 0.8, clockDrop: 0.35 }),
    primary: 'hardware-limit',
  },
];

/** Data just short of each bottleneck: the verdict must not be primary. */
export const NEAR_MISSES: readonly Scenario[] = [
  {
    name: 'queue present but small',
    spec: { ...BASE, rps: 150, phases: { preprocess: 5, serialize: 2, queue: exp(3), compute: 10 }, batchSize: 1, runtime: 'tensorrt', precision: 'fp16' },
    slo: { p99Ms: 100 },
    primary: null,
    notPrimary: 'dynamic-batching',
  },
  {
    name: 'queueing but requests already batched 4 at a time (batches of up to 8)',
    spec: { ...BASE, rps: 150, phases: { serialize: 0.5, queue: exp(40), compute: 5 }, batchSize: ({ i }) => (i % 2 === 0 ? 2 : 6), runtime: 'tensorrt', precision: 'fp16' },
    primary: null,
    notPrimary: 'dynamic-batching',
  },
  {
    name: 'compute-bound but already FP16 on TensorRT (no SLO given)',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'tensorrt', precision: 'fp16' },
    primary: 'prune-distill',
    notPrimary: 'quantization',
  },
  {
    name: 'compute-bound on ONNX Runtime with the TensorRT provider',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'onnxruntime', runtimeProvider: 'TensorrtExecutionProvider', precision: 'fp16' },
    primary: 'prune-distill',
    notPrimary: 'optimized-runtime',
  },
  {
    name: 'optimized model missing its SLO by only 1.2×',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'tensorrt', precision: 'int8' },
    slo: { p95Ms: 40 },
    primary: null,
    notPrimary: 'prune-distill',
  },
  {
    name: 'preprocessing present but below compute',
    spec: { ...BASE, rps: 20, phases: { preprocess: 4, serialize: 1, queue: 1, compute: 30 }, runtime: 'tensorrt', precision: 'fp32' },
    primary: 'quantization',
    notPrimary: 'preprocessing-pipeline',
  },
  {
    name: 'few repeated inputs',
    spec: { ...BASE, rps: 20, phases: { preprocess: 1, queue: 1, compute: 30 }, duplicateShare: 0.04, runtime: 'tensorrt', precision: 'fp16' },
    primary: 'prune-distill',
    notPrimary: 'scale-and-cache',
  },
  {
    name: 'latency rises because the load rises',
    spec: { ...BASE, rps: (f) => 40 + 160 * f, phases: { serialize: 0.5, queue: ({ frac, rand }) => -Math.log(1 - rand()) * (2 + 40 * frac), compute: 5 }, batchSize: 1, runtime: 'tensorrt', precision: 'fp16' },
    primary: 'dynamic-batching',
    notPrimary: 'latency-drift',
  },
  {
    name: 'transfer present but the model is large',
    spec: { ...BASE, rps: 20, phases: { queue: 1, transfer: 6, compute: 30 }, runtime: 'tensorrt', precision: 'fp32', device: 'cuda:0' },
    primary: 'quantization',
    notPrimary: 'device-transfer',
  },
  {
    name: 'optimized model, GPU throttled only now and then',
    spec: { ...BASE, rps: 20, phases: { preprocess: 2, queue: 1, compute: 40 }, runtime: 'tensorrt', precision: 'int8' },
    slo: { p95Ms: 40 },
    device: gpuEvidence({ throttled: 0.2, power: 0.2, clockDrop: 0.05 }),
    primary: null,
    notPrimary: 'hardware-limit',
  },
];

/**
 * @module analyzer/diagnose/_compute
 * Internal helpers shared by the three compute-bound rules (quantization, optimized-runtime,
 * prune-distill): when compute dominates, and how to read the precision and runtime attributes.
 */
import type { ThresholdSpec } from './threshold-spec.js';
import type { Signals } from './signals.js';
import type { Evidence } from '../../model/diagnosis.js';
import { ms, pct, round } from './rule.js';
import { statKey, statList } from './statistic.js';

/** Thresholds shared by the compute-bound rules. */
export const COMPUTE_THRESHOLDS = {
  'compute.min_share_of_server': {
    value: 0.6,
    unit: 'ratio of server time',
    max: 1,
    source: 'ours: compute infer above 60% of server time',
    why: 'the model itself must take most of the server time before changing the model or its runtime is the answer',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** Outcome of the compute-dominance check. */
export interface ComputeDominance {
  readonly dominant: boolean;
  readonly failed?: string;
  readonly evidence: Evidence;
  readonly inputs: Readonly<Record<string, number | string | boolean | null>>;
}

/** Compute dominates when it is the largest phase and at least `minShareOfServer` of server time. */
export function computeDominance(s: Signals, minShareOfServer: number): ComputeDominance {
  const compute = s.phases.compute;
  const largest = s.dominantPhase === 'compute';
  const inputs = {
    compute_share_of_server: round(s.computeShareOfServer),
    compute_share_of_e2e: round(compute.share),
    [statKey('compute', compute, 'p50')]: round(compute.p50Ms),
    [statKey('compute', compute, 'p95')]: round(compute.p95Ms),
    dominant_phase: s.dominantPhase ?? null,
  };
  const evidence: Evidence = {
    text: `compute ${statList(compute, [['p50', compute.p50Ms], ['p95', compute.p95Ms]], ms)}: ${pct(s.computeShareOfServer)} of server time and ${pct(compute.share)} of e2e`,
    values: { [statKey('compute', compute, 'p50')]: round(compute.p50Ms), [statKey('compute', compute, 'p95')]: round(compute.p95Ms), compute_share_of_server: round(s.computeShareOfServer), compute_share: round(compute.share) },
  };
  if (!largest) return { dominant: false, failed: `compute is not the largest phase (${s.dominantPhase ?? 'none'} is)`, evidence, inputs };
  if (s.computeShareOfServer < minShareOfServer) {
    return { dominant: false, failed: `compute is ${pct(s.computeShareOfServer)} of server time (< ${pct(minShareOfServer)})`, evidence, inputs };
  }
  return { dominant: true, evidence, inputs };
}

/** How the recorded precision reads. */
export type PrecisionClass = 'high' | 'low' | 'unknown';

/** fp32 and wider are high; fp16, bf16, int8, fp8, int4 are low. */
export function classifyPrecision(precision: string | undefined): PrecisionClass {
  if (precision === undefined) return 'unknown';
  const p = precision.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (['fp32', 'float32', 'float', 'tf32', 'fp64', 'float64', 'double', 'single'].includes(p)) return 'high';
  if (/^(fp16|float16|half|bf16|bfloat16|int8|uint8|qint8|quint8|int4|uint4|fp8|float8|e4m3|e5m2|nf4|mixed)/.test(p)) return 'low';
  return 'unknown';
}

/** How the recorded runtime reads. */
export type RuntimeClass = 'generic' | 'optimized' | 'unknown';

/**
 * Generic frameworks versus hardware-specific runtimes. ONNX Runtime is generic on its default,
 * CPU and CUDA execution providers, and optimized on TensorRT, OpenVINO and other vendor providers
 * (ONNX Runtime execution providers: https://onnxruntime.ai/docs/execution-providers/).
 */
export function classifyRuntime(runtime: string | undefined, provider: string | undefined): RuntimeClass {
  if (runtime === undefined) return 'unknown';
  const r = runtime.toLowerCase();
  const prov = (provider ?? '').toLowerCase();
  if (/tensorrt|^trt|openvino|neuron|tvm|coreml|qnn|migraphx|hailo|tflite|ncnn/.test(r)) return 'optimized';
  if (r.includes('onnx')) {
    return /tensorrt|openvino|coreml|qnn|migraphx|dml|vitis|nnapi|rknpu|acl|armnn/.test(prov) ? 'optimized' : 'generic';
  }
  if (/torch|tensorflow|^tf|keras|jax|sklearn|scikit|xgboost|lightgbm|transformers|python/.test(r)) return 'generic';
  return 'unknown';
}

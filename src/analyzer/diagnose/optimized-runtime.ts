/**
 * @module analyzer/diagnose/optimized-runtime
 * Fix 3: compute dominates and the model runs on a generic framework (PyTorch, TensorFlow,
 * ONNX Runtime on its default/CPU/CUDA provider), so a hardware-specific runtime is the next lever.
 */
import type { ThresholdSpec } from './threshold-spec.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';
import { confidenceFrom, ms, round, thresholdsOf } from './rule.js';
import { classifyRuntime, computeDominance } from './_compute.js';
import { isGpuDevice, runtimeNextStep } from './content.js';
import { tracesNear } from './signals.js';

/** Thresholds of the optimized-runtime rule. */
export const RUNTIME_THRESHOLDS = {
  'runtime.compute_factor': {
    value: 0.6,
    unit: 'ratio of compute time kept (GPU)',
    source: 'Triton docs/user_guide/optimization.md: ONNX Runtime → TensorRT FP16 took latency from 8.9 ms to 5.4 ms (×0.61)',
    why: 'used only to estimate the gain on a GPU (compute × (1 − factor)) for ranking',
  },
  'runtime.cpu_compute_factor': {
    value: 0.85,
    unit: 'ratio of compute time kept (CPU)',
    source: 'ours: ONNX Runtime (MLAS) and PyTorch (oneDNN) CPU kernels are already vectorized, so a CPU runtime swap mostly wins graph fusion',
    why: 'on a CPU a runtime swap is a smaller step than INT8 quantization, so quantization ranks first there',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** The optimized-runtime rule. */
export const optimizedRuntimeRule: Rule = {
  id: 'optimized-runtime',
  effort: 'runtime',
  pass: 1,
  aggregates: 'partial',
  aggregatesNote: 'the runtime is a span attribute, not a metric label: on metrics it counts as not recorded',
  thresholdKeys: ['compute.min_share_of_server', ...(Object.keys(RUNTIME_THRESHOLDS) as (keyof typeof RUNTIME_THRESHOLDS)[])],
  evaluate(ctx: RuleContext): RuleResult {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const dominance = computeDominance(s, t['compute.min_share_of_server']);
    const runtimeClass = classifyRuntime(s.runtime, s.runtimeProvider);
    const outcome = {
      rule: this.id,
      inputs: { ...dominance.inputs, runtime: s.runtime ?? null, runtime_provider: s.runtimeProvider ?? null, runtime_class: runtimeClass },
      thresholds: thresholdsOf(this, t),
    };
    if (!dominance.dominant) return { outcome: { ...outcome, fired: false, reason: dominance.failed ?? 'compute does not dominate' } };
    if (runtimeClass === 'optimized') return { outcome: { ...outcome, fired: false, reason: `the model already runs on ${s.runtime}${s.runtimeProvider ? ` (${s.runtimeProvider})` : ''}` } };
    if (runtimeClass === 'unknown' && s.runtime !== undefined) return { outcome: { ...outcome, fired: false, reason: `runtime ${s.runtime} is not one this rule knows` } };
    const compute = s.phases.compute;
    // The CPU factor applies when the device or provider says CPU; GPUs (and unrecorded devices) use Triton's measurement.
    const onCpu = s.device !== undefined ? !isGpuDevice(s.device) : /cpu/i.test(s.runtimeProvider ?? '');
    const factor = onCpu ? t['runtime.cpu_compute_factor'] : t['runtime.compute_factor'];
    const saved = compute.meanMs * (1 - factor);
    const known = runtimeClass === 'generic';
    return {
      outcome: { ...outcome, fired: true, reason: known ? `compute dominates on the generic runtime ${s.runtime}` : 'compute dominates and the runtime is not recorded' },
      finding: {
        confidence: confidenceFrom(s.computeShareOfServer / t['compute.min_share_of_server'] - 1, s, known ? 1 : 0.6),
        evidence: [
          dominance.evidence,
          known
            ? { text: `runtime ${s.runtime}${s.runtimeProvider ? ` with ${s.runtimeProvider}` : ''}${s.device ? ` on ${s.device}` : ''} is a generic framework, not a hardware-specific runtime`, values: {} }
            : { text: 'inference.runtime is not recorded: a hardware-specific runtime may or may not be in use', values: {} },
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: onCpu
            ? `compute mean ${ms(compute.meanMs)} × ${factor} (an assumption: CPU runtimes differ mostly in graph fusion)`
            : `compute mean ${ms(compute.meanMs)} × ${factor}, the ratio Triton's optimization guide measured for ONNX Runtime → TensorRT FP16`,
        },
        nextStep: runtimeNextStep({
          model: s.model,
          ...(s.runtime !== undefined ? { runtime: s.runtime } : {}),
          ...(s.runtimeProvider !== undefined ? { provider: s.runtimeProvider } : {}),
          ...(s.device !== undefined ? { device: s.device } : {}),
        }),
        exampleTraceIds: tracesNear(s.requests, (r) => r.phases.compute ?? 0, compute.p95Ms),
      },
    };
  },
};

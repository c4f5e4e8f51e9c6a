/**
 * @module analyzer/diagnose/quantization
 * Fix 2: compute dominates and the model runs at high precision (FP32), so post-training
 * quantization to FP16/INT8 is the next lever (PyTorch TB plugin: FP32 with Tensor Cores unused → AMP/FP16).
 */
import type { ThresholdSpec } from './threshold-spec.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';
import { confidenceFrom, ms, round, thresholdsOf } from './rule.js';
import { classifyPrecision, computeDominance } from './_compute.js';
import { quantizationNextStep } from './content.js';
import { tracesNear } from './signals.js';

/** Thresholds of the quantization rule. */
export const QUANTIZATION_THRESHOLDS = {
  'quantization.compute_factor': {
    value: 0.5,
    unit: 'ratio of compute time kept',
    source: 'ours: FP16 halves the bytes every layer moves and INT8 quarters them (Keras INT8 guide: 4× fewer bytes than FP32)',
    why: 'used only to estimate the gain (compute × (1 − factor)) so the rule can be ranked against the others',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** The quantization rule. */
export const quantizationRule: Rule = {
  id: 'quantization',
  effort: 'precision',
  pass: 1,
  aggregates: 'partial',
  aggregatesNote: 'the precision is a span attribute, not a metric label: on metrics it counts as not recorded',
  thresholdKeys: ['compute.min_share_of_server', ...(Object.keys(QUANTIZATION_THRESHOLDS) as (keyof typeof QUANTIZATION_THRESHOLDS)[])],
  evaluate(ctx: RuleContext): RuleResult {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const dominance = computeDominance(s, t['compute.min_share_of_server']);
    const precisionClass = classifyPrecision(s.precision);
    const outcome = { rule: this.id, inputs: { ...dominance.inputs, precision: s.precision ?? null, precision_class: precisionClass }, thresholds: thresholdsOf(this, t) };
    if (!dominance.dominant) return { outcome: { ...outcome, fired: false, reason: dominance.failed ?? 'compute does not dominate' } };
    if (precisionClass === 'low') return { outcome: { ...outcome, fired: false, reason: `the model already runs at ${s.precision}` } };
    if (precisionClass === 'unknown' && s.precision !== undefined) return { outcome: { ...outcome, fired: false, reason: `precision ${s.precision} is not one this rule knows` } };
    const compute = s.phases.compute;
    const factor = t['quantization.compute_factor'];
    const saved = compute.meanMs * (1 - factor);
    const known = precisionClass === 'high';
    return {
      outcome: { ...outcome, fired: true, reason: known ? `compute dominates and precision is ${s.precision}` : 'compute dominates and precision is not recorded (assumed FP32)' },
      finding: {
        confidence: confidenceFrom(s.computeShareOfServer / t['compute.min_share_of_server'] - 1, s, known ? 1 : 0.7),
        evidence: [
          dominance.evidence,
          known
            ? { text: `the model runs in ${s.precision}${s.runtime ? ` on ${s.runtime}` : ''}${s.device ? ` (${s.device})` : ''}`, values: {} }
            : { text: 'inference.precision is not recorded: assumed FP32, the default of every framework', values: {} },
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `compute mean ${ms(compute.meanMs)} × ${factor} after quantization (an assumption, not a measurement: validate on your model)`,
        },
        nextStep: quantizationNextStep({
          model: s.model,
          precisionKnown: known,
          ...(s.runtime !== undefined ? { runtime: s.runtime } : {}),
          ...(s.runtimeProvider !== undefined ? { provider: s.runtimeProvider } : {}),
          ...(s.device !== undefined ? { device: s.device } : {}),
        }),
        exampleTraceIds: tracesNear(s.requests, (r) => r.phases.compute ?? 0, compute.p95Ms),
      },
    };
  },
};


/**
 * @module analyzer/diagnose/prune-distill
 * Fix 4, the last resort (it needs retraining): compute still dominates although the model
 * already runs at low precision on a hardware-specific runtime.
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, round } from './rule.js';
import { COMPUTE_THRESHOLDS, classifyPrecision, classifyRuntime, computeDominance } from './_compute.js';
import { tracesNear } from './signals.js';
import { sloExcess } from './slo.js';
import type { GenerationSignal, Signals } from './signals.js';
import type { RuleContext, Verdict } from './rule.js';
import { GENERATION_THRESHOLDS, classicFormOnEngine, decodeBound, engineNextStep, engineOf, pickThresholds, tpotGain, vllmServe, weightBits } from './_generation.js';
import type { VllmArgs } from './_generation.js';

/** Thresholds of the prune-distill rule. */
export const PRUNE_THRESHOLDS = {
  'prune.min_slo_excess': {
    value: 1.5,
    unit: 'ratio actual / SLO target',
    source: 'ours: p95 at least 1.5× the SLO before retraining is worth it',
    why: 'retraining is costly: with an SLO given, recommend it only when latency misses the target by a wide margin',
  },
  'prune.compute_factor': {
    value: 0.625,
    unit: 'ratio of compute time kept',
    max: 1,
    source: 'Sanh et al. 2019, DistilBERT (https://arxiv.org/abs/1910.01108): 60% faster, i.e. 1/1.6 of the time',
    why: 'used only to estimate the gain for ranking',
  },
  'prune.gen.tpot_factor': {
    value: 0.5,
    unit: 'ratio of TPOT kept',
    max: 1,
    source: 'Leviathan et al., "Fast Inference from Transformers via Speculative Decoding", ICML 2023 (https://arxiv.org/abs/2211.17192): 2×–3× faster decoding on T5-XXL with an unchanged output distribution',
    why: 'used only to estimate the gain in TPOT (the low end, 2×) for ranking',
  },
  ...pickThresholds(GENERATION_THRESHOLDS, 'generation.min_decode_share', 'generation.min_tpot_ms'),
} as const satisfies Record<string, ThresholdSpec>;

/** vLLM's speculative decoding with n-gram (prompt lookup) proposals: a JSON-valued engine argument. */
const SPECULATIVE_NGRAM: VllmArgs = { speculative_config: { method: 'ngram', num_speculative_tokens: 4, prompt_lookup_max: 4 } };

/** The generation form: decode-bound although weights are ≤ 8-bit on an LLM engine, and the SLO gap (if any) large. */
function generationVerdict(ctx: RuleContext<keyof typeof PRUNE_THRESHOLDS | keyof typeof COMPUTE_THRESHOLDS>, s: Signals, g: GenerationSignal): Verdict {
  const t = ctx.thresholds;
  const bound = decodeBound(g, t);
  const bits = weightBits(s.precision);
  const engine = engineOf(s, ctx.server);
  // A decode-side fix answers the objectives decode sets: e2e, TPOT, ITL (a TTFT miss is the queue's or prefill's).
  const worst = sloExcess(ctx.slo, ['e2e', 'tpot', 'itl']);
  const inputs = { ...bound.inputs, weight_bits: bits ?? null, engine, slo_excess: worst === undefined ? null : round(worst) };
  const failed = [...bound.failed];
  if (bits === undefined || bits > 8) failed.push(`weights are ${bits === undefined ? 'of unrecorded precision' : `${bits}-bit`}: quantize first`);
  if (engine === 'own') failed.push('not on an LLM serving engine: switch runtime first');
  if (worst !== undefined && worst < t['prune.min_slo_excess']) failed.push(`latency is ${worst.toFixed(2)}× the SLO (< ${t['prune.min_slo_excess']}×)`);
  if (failed.length > 0) return { inputs, reason: failed.join('; ') };
  const tpot = g.tpot!;
  return {
    inputs,
    reason: `decode-bound with ${bits}-bit weights on ${engine}${worst !== undefined ? `, latency ${worst.toFixed(2)}× the SLO` : ''}`,
    finding: {
      kind: 'speculative-decoding',
      confidence: confidenceFrom(tpot.p50Ms / t['generation.min_tpot_ms'] - 1, s, worst !== undefined ? 1 : 0.75),
      evidence: [bound.evidence, { text: `weights already ${bits}-bit (${s.precision}) on ${engine}${worst !== undefined ? `; latency ${worst.toFixed(2)}× the SLO` : ''}`, values: { weight_bits: bits as number, ...(worst !== undefined ? { slo_excess: round(worst) } : {}) } }],
      savedMeanMs: Math.max(0, (g.tokensOutMean ?? 1) - 1) * tpot.meanMs * (1 - t['prune.gen.tpot_factor']),
      estimatedGain: tpotGain(tpot, t['prune.gen.tpot_factor'], 'speculative decoding: 2× fewer target-model steps per token at the low end of Leviathan et al. (2023)'),
      nextStep: engineNextStep(engine, s.model, {
        text: {
          vllm: 'Decode steps are as cheap as bytes allow: produce several tokens per step. Speculative decoding with a small draft model of the same family, or n-gram/EAGLE proposals (vLLM --speculative-config), keeps the output distribution; or serve a smaller, distilled model when its accuracy is enough.',
          trtllm: 'Use TensorRT-LLM speculative decoding (draft-target, Medusa, EAGLE or lookahead) to emit several tokens per step, or a smaller, distilled model.',
          own: 'Produce several tokens per decode step: speculative decoding with a small draft model (Leviathan et al. 2023) keeps the output distribution; or distill into a smaller model when its accuracy is enough.',
        },
        // The n-gram proposer needs no draft model; engines without their own command line are shown vLLM's as the example.
        vllm: SPECULATIVE_NGRAM,
        code: { own: vllmServe(SPECULATIVE_NGRAM) },
      }),
      exampleTraceIds: tracesNear(s.requests, s.requests.phase('decode'), s.phases.decode.p95Ms),
    },
  };
}

/** Pruning / distillation plan. */
function pruneDistillNextStep(p: { model: string; precision?: string; runtime?: string }): NextStep {
  return {
    text:
      `Compute still dominates with ${p.precision ?? 'low precision'} on ${p.runtime ?? 'an optimized runtime'}: the remaining lever is a smaller model. ` +
      'Distill into a smaller student (DistilBERT kept 97% of BERT’s language understanding while 40% smaller and 60% faster, Sanh et al. 2019) or prune structured channels/heads and fine-tune. ' +
      'Gate the release on an accuracy check against the current model.',
    snippet: {
      language: 'python',
      code: [
        'import torch.nn.utils.prune as prune',
        '# structured pruning of 30% of output channels in every Linear layer, then fine-tune',
        'for module in model.modules():',
        '    if isinstance(module, torch.nn.Linear):',
        '        prune.ln_structured(module, name="weight", amount=0.3, n=2, dim=0)',
      ].join('\n'),
    },
  };
}

/** The prune-distill rule. */
export const pruneDistillRule = defineRule({
  id: 'prune-distill',
  effort: 'retraining',
  needs: { inputs: ['phase-distributions', 'model-attributes'], refinedBy: ['generation'], gpu: 'unused' },
  content: { title: 'Prune or distill the model', phases: ['compute', 'prefill', 'decode'], kinds: { 'speculative-decoding': 'Speculative decoding or a smaller model: decode stays slow at low precision' } },
  thresholds: { ...COMPUTE_THRESHOLDS, ...PRUNE_THRESHOLDS },
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    if (s.generation) return generationVerdict(ctx, s, s.generation);
    const dominance = computeDominance(s, t['compute.min_share_of_server']);
    const precisionClass = classifyPrecision(s.precision);
    const runtimeClass = classifyRuntime(s.runtime, s.runtimeProvider);
    const worst = sloExcess(ctx.slo, ['e2e']);
    const inputs = { ...dominance.inputs, precision_class: precisionClass, runtime_class: runtimeClass, slo_excess: worst === undefined ? null : round(worst) };
    if (!dominance.dominant) return { inputs, reason: dominance.failed ?? 'compute does not dominate' };
    const onEngine = classicFormOnEngine(engineOf(s, ctx.server), inputs, 'a smaller model is judged on decode figures (TPOT at low-bit weights), which this source lacks');
    if (onEngine) return onEngine;
    if (precisionClass !== 'low') return { inputs, reason: `precision is ${s.precision ?? 'not recorded'}: quantize first` };
    if (runtimeClass !== 'optimized') return { inputs, reason: `runtime is ${s.runtime ?? 'not recorded'}: try a hardware-specific runtime first` };
    if (worst !== undefined && worst < t['prune.min_slo_excess']) {
      return { inputs, reason: `latency is ${worst.toFixed(2)}× the SLO (< ${t['prune.min_slo_excess']}×): not worth retraining` };
    }
    const compute = s.phases.compute;
    const factor = t['prune.compute_factor'];
    const saved = compute.meanMs * (1 - factor);
    return {
      inputs,
      reason: `compute dominates at ${s.precision} on ${s.runtime}${worst !== undefined ? `, latency ${worst.toFixed(2)}× the SLO` : ''}`,
      finding: {
        confidence: confidenceFrom(s.computeShareOfServer / t['compute.min_share_of_server'] - 1, s, worst !== undefined ? 1 : 0.75),
        evidence: [
          dominance.evidence,
          { text: `already at ${s.precision} on ${s.runtime}${s.runtimeProvider ? ` (${s.runtimeProvider})` : ''}: precision and runtime fixes are in place`, values: {} },
          ...(worst !== undefined ? [{ text: `latency is ${worst.toFixed(2)}× the SLO target`, values: { slo_excess: round(worst) } }] : []),
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `compute mean ${ms(compute.meanMs)} × ${factor} (DistilBERT's reported speed-up; a smaller student of your model will differ)`,
        },
        nextStep: pruneDistillNextStep({ model: s.model, ...(s.precision !== undefined ? { precision: s.precision } : {}), ...(s.runtime !== undefined ? { runtime: s.runtime } : {}) }),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('compute'), compute.p95Ms),
      },
    };
  },
});

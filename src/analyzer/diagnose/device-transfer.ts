/**
 * @module analyzer/diagnose/device-transfer
 * FAQ: for a small model, host↔device copies cost more than the model itself
 * (perf_analyzer: compute input + compute output ≥ compute infer; HTA: MEMORY kernels exceed COMPUTATION).
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { isMean, statKey, statName } from './statistic.js';
import { tracesNear } from './signals.js';
import type { PhaseSignal } from './signals.js';

/** Thresholds of the device-transfer rule. */
export const TRANSFER_THRESHOLDS = {
  'transfer.over_compute': {
    value: 1,
    unit: 'ratio transfer / compute (means)',
    source: 'ours, on the server components of perf_analyzer "Measurements and metrics" (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/measurements_metrics.md): compute input + compute output ≥ compute infer',
    why: 'the copies around the model take at least as long as the model',
  },
  'transfer.small_model_ms': {
    value: 10,
    unit: 'ms (compute p50)',
    source: 'ours',
    why: 'only for a small model does a copy rival the compute; a model that runs for tens of ms has other levers',
  },
  'transfer.min_share': {
    value: 0.15,
    unit: 'ratio of e2e',
    max: 1,
    source: 'ours',
    why: 'the transfer must matter end to end, not only next to a tiny compute',
  },
  'transfer.gain_factor': {
    value: 0.5,
    unit: 'ratio of transfer time removed',
    max: 1,
    source: 'ours (pinned memory avoids the staging copy of pageable memory, cf. the Nsight Systems cuda_memcpy_async expert-system rule, https://docs.nvidia.com/nsight-systems/UserGuide/index.html)',
    why: 'used only to estimate the gain for ranking',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** Small-model transfer fix. */
function transferNextStep(p: { device?: string }): NextStep {
  return {
    text: `Host↔device copies cost more than the model itself${p.device ? ` on ${p.device}` : ''}. Use pinned (page-locked) host memory or CUDA shared memory between client and server (Triton cudashm), batch requests so one copy carries many inputs, run two model instances so copies overlap compute (Triton optimization guide), or serve this small model on the CPU (OpenVINO) where no copy is needed.`,
    snippet: { language: 'python', code: ['x = torch.from_numpy(batch).pin_memory()', 'y = model(x.to("cuda", non_blocking=True))'].join('\n') },
  };
}

/**
 * Prefill and decode as one model time (each generative request has both): means and shares add
 * exactly; the medians' and p95s' sums stand in for the sum's (the rule reads the mean, and the
 * median only against its small-model bound).
 */
function modelTime(prefill: PhaseSignal, decode: PhaseSignal): PhaseSignal {
  return { ...prefill, meanMs: prefill.meanMs + decode.meanMs, p50Ms: prefill.p50Ms + decode.p50Ms, p95Ms: prefill.p95Ms + decode.p95Ms, share: prefill.share + decode.share, present: Math.max(prefill.present, decode.present) };
}

/** The device-transfer rule. */
export const deviceTransferRule = defineRule({
  id: 'device-transfer',
  effort: 'config',
  needs: { inputs: ['phase-distributions'], refinedBy: ['model-attributes'], gpu: 'unused' },
  content: { title: 'Host↔device copies cost more than the model', phases: ['transfer'] },
  thresholds: TRANSFER_THRESHOLDS,
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const transfer = s.phases.transfer;
    // A generative request's model time is its prefill and decode (it has no compute span): a KV
    // cache moved between a prefill and a decode node (SGLang's disaggregation) is weighed
    // against them, not against a missing compute read as a 0 ms model.
    const generative = s.phases.compute.present === 0 && (s.phases.prefill.present > 0 || s.phases.decode.present > 0);
    const compute = generative ? modelTime(s.phases.prefill, s.phases.decode) : s.phases.compute;
    const model = generative ? 'prefill + decode' : 'compute';
    const ratio = compute.meanMs > 0 ? transfer.meanMs / compute.meanMs : transfer.meanMs > 0 ? Number.POSITIVE_INFINITY : 0;
    const inputs = {
      transfer_mean_ms: round(transfer.meanMs),
      [statKey('transfer', transfer, 'p95')]: round(transfer.p95Ms),
      compute_mean_ms: round(compute.meanMs),
      [statKey('compute', compute, 'p50')]: round(compute.p50Ms),
      transfer_over_compute: round(ratio),
      transfer_share: round(transfer.share),
    };
    const failed: string[] = [];
    if (transfer.present === 0) failed.push('no transfer spans');
    else {
      if (ratio < t['transfer.over_compute']) failed.push(`transfer ${ms(transfer.meanMs)} < ${model} ${ms(compute.meanMs)}`);
      if (compute.p50Ms > t['transfer.small_model_ms']) failed.push(`${model} ${statName(compute, 'p50')} ${ms(compute.p50Ms)} is not a small model (> ${t['transfer.small_model_ms']} ms)`);
      if (transfer.share < t['transfer.min_share']) failed.push(`transfer is ${pct(transfer.share)} of e2e (< ${pct(t['transfer.min_share'])})`);
    }
    if (failed.length > 0) return { inputs, reason: failed.join('; ') };
    const saved = transfer.meanMs * t['transfer.gain_factor'];
    return {
      inputs,
      reason: `transfer ${ratio.toFixed(1)}× compute for a ${ms(compute.p50Ms)} model`,
      finding: {
        confidence: confidenceFrom(ratio / t['transfer.over_compute'] - 1, s),
        evidence: [
          {
            text: `host↔device transfer takes ${ms(transfer.meanMs)} on average (${isMean(transfer) ? 'no percentiles' : `${statName(transfer, 'p95')} ${ms(transfer.p95Ms)}`}, ${pct(transfer.share)} of e2e), ${ratio.toFixed(1)}× the ${ms(compute.meanMs)} the model computes`,
            values: { transfer_mean_ms: round(transfer.meanMs), ...(isMean(transfer) ? {} : { [statKey('transfer', transfer, 'p95')]: round(transfer.p95Ms) }), compute_mean_ms: round(compute.meanMs), transfer_share: round(transfer.share) },
          },
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `half of the ${ms(transfer.meanMs)} transfer (an assumption: pinned memory and batched copies)`,
        },
        nextStep: transferNextStep({ ...(s.device !== undefined ? { device: s.device } : {}) }),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('transfer'), transfer.p95Ms),
      },
    };
  },
});

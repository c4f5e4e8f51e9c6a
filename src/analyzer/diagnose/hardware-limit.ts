/**
 * @module analyzer/diagnose/hardware-limit
 * "See a professional": the device itself is the limit. Backed only by device evidence:
 * GPU errors (ECC/XID); sustained thermal or hardware slowdown, which also confounds every
 * software fix's estimate (they were measured on the slowed GPU), so it fires and ranks first
 * even when software fixes apply; or a sustained SW power cap when no software fix applies
 * (full load on a datacenter GPU holds the power cap as normal operation, so it never outranks
 * a software fix). Runs in the second pass because it needs to know which other fixes fired.
 */
import type { FixId } from '../../semconv.js';
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { statKey, statName } from './statistic.js';
import { tracesNear } from './signals.js';
import { SLOWDOWN_REASONS } from '../device.js';
import type { DeviceSignal } from './signals.js';

/** Thresholds of the hardware-limit rule. */
export const HARDWARE_THRESHOLDS = {
  'hardware.throttle_share': {
    value: 0.5,
    unit: 'ratio of loaded samples',
    max: 1,
    source: 'ours; NVML clocks event reasons (https://docs.nvidia.com/deploy/nvml-api/group__nvmlClocksEventReasons.html): HwSlowdown 0x8 cuts clocks "by a factor of 2 or more"',
    why: 'throttled in more than half the loaded time is sustained, not a transient',
  },
  'hardware.max_errors': {
    value: 0,
    unit: 'errors (ECC uncorrected + XID)',
    source: 'NVML ECC and XID error counters (https://docs.nvidia.com/deploy/xid-errors/index.html)',
    why: 'any hardware error during the run is a reason to have the device checked',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** Software fixes whose firing means the hardware is not (yet) the answer for throttling. */
const SOFTWARE_FIXES: readonly FixId[] = ['dynamic-batching', 'quantization', 'optimized-runtime', 'preprocessing-pipeline', 'device-transfer', 'scale-and-cache'];

/** "HW slowdown 100%, HW power brake slowdown 100%": the slowdown reasons seen, largest share first. */
function slowdownWords(d: DeviceSignal): string {
  const seen = SLOWDOWN_REASONS.map(({ reason, words }) => [words, d.reasons[reason] ?? 0] as const).filter(([, share]) => share > 0);
  // Device evidence without per-reason shares (a thermal share alone) still says what it was.
  if (seen.length === 0) return `thermal slowdown ${pct(d.slowdownShare)}`;
  return [...seen].sort((a, b) => b[1] - a[1]).map(([words, share]) => `${words} ${pct(share)}`).join(', ');
}

/** What the rule fires on, in the order it names them: errors before a slowdown before a (power-cap) throttle. */
type HardwareCause = 'errors' | 'slowdown' | 'throttling';

/**
 * The cause in the rule's two lengths: `reason`, its one-line outcome, and `finding`, the clause
 * that opens the evidence and, as a sentence, the next step.
 */
function causeWords(cause: HardwareCause, d: DeviceSignal, softwareFired: readonly FixId[]): { reason: string; finding: string } {
  const clock = d.smClockDropShare > 0 ? `, its SM clock ${pct(d.smClockDropShare)} below maximum` : '';
  const fixes = softwareFired.join(', ');
  switch (cause) {
    case 'errors':
      return { reason: `${d.errors} GPU errors`, finding: `the GPU reported ${d.errors} hardware error${d.errors === 1 ? '' : 's'} (ECC/XID) during the run` };
    case 'slowdown': {
      const slowed = `the GPU was slowed in ${pct(d.slowdownShare)} of loaded samples (${slowdownWords(d)})${clock}`;
      return softwareFired.length > 0
        ? { reason: `sustained thermal or hardware slowdown (${pct(d.slowdownShare)}): it confounds the software fixes (${fixes})`, finding: `${slowed}; the software fixes' estimates (${fixes}) were measured on the slowed GPU` }
        : { reason: `sustained thermal or hardware slowdown (${pct(d.slowdownShare)}) with no software fix applying`, finding: `${slowed}, and no software fix applies` };
    }
    case 'throttling':
      // Only reached when no software fix fired (a SW power cap beside one defers to it).
      return { reason: `sustained throttling (${pct(d.throttledShare)}) with no software fix applying`, finding: `the GPU was throttled in ${pct(d.throttledShare)} of loaded samples${clock}, and no software fix applies` };
  }
}

/** "See a professional": the hardware is the limit; `finding` is the cause's clause (causeWords). */
function hardwareNextStep(finding: string): NextStep {
  return {
    text: `${finding.charAt(0).toUpperCase()}${finding.slice(1)}. Software fixes will not remove this: have the hardware checked (cooling, power delivery, ECC/XID error history), move to a newer or larger GPU, or spread load over more devices.`,
    snippet: { language: 'shell', code: 'nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER,ECC' },
  };
}

/** The hardware-limit rule. */
export const hardwareLimitRule = defineRule({
  id: 'hardware-limit',
  effort: 'hardware',
  pass: 2,
  needs: { inputs: ['phase-distributions'], refinedBy: [], gpu: 'required' },
  content: { title: 'The device itself is the limit' },
  thresholds: HARDWARE_THRESHOLDS,
  // Sustained thermal or hardware slowdown slows every measurement taken on the device (errors
  // alone do not, nor does the SW power cap a datacenter GPU holds at full load).
  confounds: { throttling: 'measured while the GPU was slowed by a thermal or hardware slowdown most of the time; re-measure once it runs at full clocks' },
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const d = s.gpu;
    const softwareFired = SOFTWARE_FIXES.filter((f) => ctx.fired.has(f));
    const inputs = {
      gpu_samples: d?.samples ?? 0,
      throttled_share: d ? round(d.throttledShare) : null,
      slowdown_share: d ? round(d.slowdownShare) : null,
      sm_clock_drop_share: d ? round(d.smClockDropShare) : null,
      errors: d?.errors ?? null,
      software_fixes_fired: softwareFired.join(',') || null,
    };
    if (!d) return { inputs, reason: 'no GPU samples: the device cannot be judged from traces alone' };
    const hasErrors = d.errors > t['hardware.max_errors'];
    const slowdown = d.slowdownShare >= t['hardware.throttle_share'];
    const sustained = d.throttledShare >= t['hardware.throttle_share'];
    if (!hasErrors && !sustained) return { inputs, reason: `no errors and throttled in ${pct(d.throttledShare)} of samples (< ${pct(t['hardware.throttle_share'])})` };
    if (!hasErrors && !slowdown && softwareFired.length > 0) {
      const capped = d.reasons.sw_power_cap ?? 0;
      return {
        inputs,
        reason: `throttling is sustained (${pct(d.throttledShare)}), but ${capped > 0 ? `by the SW power cap (${pct(capped)} of loaded samples), normal under full load on a datacenter GPU, ` : ''}not by a thermal or hardware slowdown (${pct(d.slowdownShare)} < ${pct(t['hardware.throttle_share'])}): software fixes apply first (${softwareFired.join(', ')})`,
        // The software fix's gain was measured at capped clocks: on the first screen, not only in --explain.
        ...(capped >= t['hardware.throttle_share']
          ? { caveat: { kind: 'power-cap', text: `Power cap: the GPU was at its SW power cap in ${pct(capped)} of loaded samples; the expected gain assumes the cap stays.`, values: { power_cap_share: round(capped) } } }
          : {}),
      };
    }
    const compute = s.phases.compute;
    const share = slowdown ? d.slowdownShare : d.throttledShare;
    const lost = d.smClockDropShare > 0 ? d.smClockDropShare : share * 0.5;
    const saved = compute.meanMs * lost;
    const words = causeWords(hasErrors ? 'errors' : slowdown ? 'slowdown' : 'throttling', d, softwareFired);
    return {
      inputs,
      reason: words.reason,
      finding: {
        // Only a slowdown confounds; a SW power cap alone ranks by its saving (kind `power-cap`).
        kind: slowdown ? 'throttling' : hasErrors ? 'errors' : 'power-cap',
        confidence: confidenceFrom(hasErrors ? 1 : share / t['hardware.throttle_share'] - 1, s),
        evidence: [
          {
            text: `${words.finding}; compute ${statName(compute, 'p95')} = ${ms(compute.p95Ms)}`,
            values: {
              throttled_share: round(d.throttledShare),
              slowdown_share: round(d.slowdownShare),
              sm_clock_drop_share: round(d.smClockDropShare),
              errors: d.errors,
              [statKey('compute', compute, 'p95')]: round(compute.p95Ms),
            },
          },
        ],
        savedMeanMs: saved,
        ...(saved > 0
          ? {
              estimatedGain: {
                metric: 'mean_ms' as const,
                currentValue: round(s.e2e.meanMs),
                expectedValue: round(s.e2e.meanMs - saved),
                basis: `compute mean ${ms(compute.meanMs)} × the ${pct(lost)} of clock lost to ${slowdown ? 'slowdown' : 'throttling'}`,
              },
            }
          : {}),
        nextStep: hardwareNextStep(words.finding),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('compute'), compute.p95Ms),
      },
    };
  },
});

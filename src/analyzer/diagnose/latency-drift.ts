/**
 * @module analyzer/diagnose/latency-drift
 * FAQ: latency rises over the run while the arrival rate does not. A Mann-Kendall test over
 * the time windows (not first-vs-last) detects the rise; the same test on the arrival rate
 * separates constant-load drift from a rising load. GPU evidence then names the cause.
 */
import { PHASES, OTHER } from '../../semconv.js';
import type { PhaseOrOther } from '../../semconv.js';
import type { Recommendation , NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { bytes, confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { isMean, statKey, statName } from './statistic.js';
import { tracesNear } from './signals.js';

/** Thresholds of the latency-drift rule. */
export const DRIFT_THRESHOLDS = {
  'drift.max_p_value': {
    value: 0.01,
    unit: 'p-value (one-sided Mann-Kendall)',
    max: 1,
    source: 'ours: one-sided Mann-Kendall trend test (Mann 1945; Kendall 1975) at p < 0.01',
    why: 'strict enough that noise across ten windows almost never passes',
  },
  'drift.min_rise': {
    value: 0.2,
    unit: 'ratio (Theil-Sen rise over the run ÷ start level)',
    source: 'ours',
    why: 'a significant but tiny trend is not worth an investigation; 20% over the run is',
  },
  'drift.max_load_rise': {
    value: 0.1,
    unit: 'ratio (arrival-rate rise over the run)',
    source: 'perf_analyzer --stability-percentage default 10 (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md)',
    why: 'load counts as constant while the arrival rate rises less than 10% over the run (or shows no significant trend, see drift.load_p_value); latency that rises with the load is queueing, not drift',
  },
  'drift.load_p_value': {
    value: 0.01,
    unit: 'p-value (one-sided Laplace test on arrival times)',
    max: 1,
    source: 'Laplace trend test for a Poisson process (Cox & Lewis 1966, The Statistical Analysis of Series of Events); same bar as drift.max_p_value (ours)',
    why: 'a rising load must be shown as firmly as a rising latency before it explains the rise away',
  },
  'drift.throttle_share': {
    value: 0.1,
    unit: 'ratio of loaded samples',
    max: 1,
    source: 'ours; reasons from NVML clocks event reasons (https://docs.nvidia.com/deploy/nvml-api/group__nvmlClocksEventReasons.html): SwThermal 0x20, HwThermal 0x40, SwPowerCap 0x4',
    why: 'throttling in one sample in ten is enough to explain a trend in compute time',
  },
  'drift.memory_growth': {
    value: 0.05,
    unit: 'ratio of GPU memory at the start',
    source: 'SageMaker Debugger GPUMemoryIncrease rule, increase threshold 5% (https://docs.aws.amazon.com/sagemaker/latest/dg/debugger-built-in-profiler-rules.html)',
    why: 'memory that grows 5% or more over the run alongside latency points to a leak or fragmentation',
  },
} as const satisfies Record<string, ThresholdSpec>;

type Cause = NonNullable<Recommendation['cause']>;

/** A change as a signed percentage: +12%, −3%. */
function signed(x: number): string {
  return x < 0 ? `−${pct(-x)}` : `+${pct(x)}`;
}

/** Drift investigation step by cause. */
function driftNextStep(cause: string, phase: string): NextStep {
  switch (cause) {
    case 'thermal-throttling':
      return { text: 'Fix cooling before touching the model: check airflow, fan curves and inlet temperature; capping application clocks (nvidia-smi -lgc) trades a little peak speed for steady latency.', snippet: { language: 'shell', code: 'nvidia-smi -q -d PERFORMANCE,TEMPERATURE' } };
    case 'power-throttling':
      return { text: 'The GPU hits its power limit: check the enforced limit against the board default (nvidia-smi -q -d POWER), the PSU and the rack power budget.', snippet: { language: 'shell', code: 'nvidia-smi -q -d POWER,PERFORMANCE' } };
    case 'gpu-memory-growth':
      return {
        text: 'GPU memory grows with latency: look for a leak (tensors kept alive across requests) or allocator fragmentation (PyTorch: reserved ≫ allocated; try PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True). A periodic restart is a stop-gap, not a fix.',
        snippet: { language: 'python', code: 'print(torch.cuda.memory_summary())  # compare "reserved" with "allocated" over time' },
      };
    case 'cache-growth':
      return { text: 'Cache hits get slower as the run goes on: bound the cache (max entries / LRU) and give entries a TTL.' };
    default:
      return {
        text: `The rise is largest in ${phase}. Record GPU samples with the latency-doctor sidecar during the run to tell thermal/power throttling from memory growth, and watch host RSS and GC pauses for host-side phases.`,
        snippet: { language: 'shell', code: 'latency-doctor sidecar --samples-file gpu-samples.jsonl' },
      };
  }
}

/** The latency-drift rule. */
export const latencyDriftRule = defineRule({
  id: 'latency-drift',
  effort: 'investigation',
  // On aggregates (query_range steps) the load trend is Mann-Kendall on the step rates instead of
  // the Laplace test on arrival times.
  needs: { inputs: ['time-windows'], refinedBy: ['arrival-times'], gpu: 'optional' },
  content: {
    title: 'Latency drifts up under constant load',
    kinds: {
      'thermal-throttling': 'Latency drifts up under constant load: the GPU is thermally throttling',
      'power-throttling': 'Latency drifts up under constant load: the GPU hits its power cap',
      'gpu-memory-growth': 'Latency drifts up under constant load while GPU memory grows',
      'cache-growth': 'Latency drifts up under constant load as the cache grows',
      'host-memory-growth': 'Latency drifts up under constant load while host memory grows',
      unknown: 'Latency drifts up under constant load (cause not visible in the input)',
    },
  },
  thresholds: DRIFT_THRESHOLDS,
  // A throttled GPU runs every kernel on lowered clocks: whatever the other rules measured on it
  // (compute time, queueing behind it) is inflated, and the cooling or power fix comes first.
  confounds: {
    'thermal-throttling': 'measured while the GPU was thermally throttled; re-measure after fixing cooling',
    'power-throttling': 'measured while the GPU was power-capped; re-measure after fixing the power limit',
  },
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const tr = s.trends;
    if (!tr) return { inputs: { windows: s.windows.length }, reason: `only ${s.windows.length} time windows: too few for a trend test` };
    const p50Up = tr.e2eP50.pIncreasing < t['drift.max_p_value'] && tr.e2eP50.relativeRise >= t['drift.min_rise'];
    const p95Up = tr.e2eP95.pIncreasing < t['drift.max_p_value'] && tr.e2eP95.relativeRise >= t['drift.min_rise'];
    const loadRising = tr.arrival.pIncreasing < t['drift.load_p_value'] && tr.arrival.relativeRise >= t['drift.max_load_rise'];
    // A mean-only source's windows hold the mean as both p50 and p95: one series, named a mean, tested once.
    const e2eMean = isMean(s.e2e);
    const inputs = {
      windows: s.windows.length,
      [statKey('e2e', s.e2e, 'p50', 'trend_p')]: round(tr.e2eP50.pIncreasing, 6),
      [statKey('e2e', s.e2e, 'p50', 'rise')]: round(tr.e2eP50.relativeRise),
      ...(e2eMean ? {} : { [statKey('e2e', s.e2e, 'p95', 'trend_p')]: round(tr.e2eP95.pIncreasing, 6), [statKey('e2e', s.e2e, 'p95', 'rise')]: round(tr.e2eP95.relativeRise) }),
      arrival_trend_p: round(tr.arrival.pIncreasing, 6),
      arrival_rise: round(tr.arrival.relativeRise),
      thermal_share: s.gpu ? round(s.gpu.thermalShare) : null,
      power_share: s.gpu ? round(s.gpu.powerShare) : null,
      gpu_memory_growth: s.gpu?.memoryGrowth !== undefined ? round(s.gpu.memoryGrowth) : null,
    };
    if (!p50Up && !p95Up) {
      const p50 = `${statName(s.e2e, 'p50')}: p = ${tr.e2eP50.pIncreasing.toExponential(1)}, ${signed(tr.e2eP50.relativeRise)}`;
      return { inputs, reason: `no significant rise (${e2eMean ? p50 : `${p50}; ${statName(s.e2e, 'p95')}: p = ${tr.e2eP95.pIncreasing.toExponential(1)}, ${signed(tr.e2eP95.relativeRise)}`})` };
    }
    if (loadRising) {
      return {
        inputs,
        reason: `latency rises with the arrival rate (+${pct(tr.arrival.relativeRise)} over the run, p = ${tr.arrival.pIncreasing.toExponential(1)}): a load effect, not drift`,
      };
    }
    const trend = p50Up ? tr.e2eP50 : tr.e2eP95;
    const which = p50Up ? 'p50' : 'p95';
    const whichName = statName(s.e2e, which);
    const span = (s.windows[s.windows.length - 1]?.startS ?? 0) - (s.windows[0]?.startS ?? 0);
    // The phase whose mean rises most (in ms over the run) carries the drift.
    let phase: PhaseOrOther = 'compute';
    let phaseRise = Number.NEGATIVE_INFINITY;
    for (const p of [...PHASES, OTHER] as PhaseOrOther[]) {
      const rise = tr.phases[p].slopePerS * span;
      if (rise > phaseRise) [phase, phaseRise] = [p, rise];
    }
    const d = s.gpu;
    let cause: Cause = 'unknown';
    const evidenceCause: { text: string; values: Record<string, number> }[] = [];
    if (d && (d.thermalShare >= t['drift.throttle_share'] || d.powerShare >= t['drift.throttle_share'])) {
      cause = d.thermalShare >= d.powerShare ? 'thermal-throttling' : 'power-throttling';
      const share = cause === 'thermal-throttling' ? d.thermalShare : d.powerShare;
      evidenceCause.push({
        text: `the GPU${d.gpuName ? ` (${d.gpuName})` : ''} was ${cause === 'thermal-throttling' ? 'thermally' : 'power'} throttled in ${pct(share)} of loaded samples${d.smClockDropShare > 0 ? `, SM clock down ${pct(d.smClockDropShare)}` : ''}${d.temperatureRiseC !== undefined ? `, temperature +${d.temperatureRiseC.toFixed(0)} °C` : ''}`,
        values: { throttled_share: round(share), sm_clock_drop_share: round(d.smClockDropShare), ...(d.temperatureRiseC !== undefined ? { temperature_rise_c: round(d.temperatureRiseC) } : {}) },
      });
    } else if (d?.memoryGrowth !== undefined && d.memoryGrowth >= t['drift.memory_growth']) {
      cause = 'gpu-memory-growth';
      evidenceCause.push({
        text: `GPU memory grew ${pct(d.memoryGrowth)} over the run${d.memorySlopeBytesPerS !== undefined ? ` (${bytes(d.memorySlopeBytesPerS)}/s)` : ''}`,
        values: { gpu_memory_growth: round(d.memoryGrowth), ...(d.memorySlopeBytesPerS !== undefined ? { memory_slope_bytes_per_s: round(d.memorySlopeBytesPerS) } : {}) },
      });
    } else if (tr.cacheHit && tr.cacheHit.pIncreasing < t['drift.max_p_value'] && tr.cacheHit.relativeRise >= t['drift.min_rise']) {
      cause = 'cache-growth';
      evidenceCause.push({ text: `cache hits got ${pct(tr.cacheHit.relativeRise)} slower over the run (p = ${tr.cacheHit.pIncreasing.toExponential(1)})`, values: { cache_hit_rise: round(tr.cacheHit.relativeRise) } });
    } else {
      evidenceCause.push({ text: d ? 'the GPU samples show no throttling and no memory growth' : 'no GPU samples were given: the cause cannot be read from the traces alone', values: {} });
    }
    const first = s.windows[0];
    const last = s.windows[s.windows.length - 1];
    const riseMs = trend.slopePerS * span;
    const lastWindowStart = last?.startS ?? 0;
    const lastWindow: number[] = [];
    const startS = s.startSeconds();
    for (let i = 0; i < s.requests.length; i++) if (startS[i]! >= lastWindowStart) lastWindow.push(i);
    return {
      inputs,
      reason: `e2e ${whichName} rises ${pct(trend.relativeRise)} over the run (p = ${trend.pIncreasing.toExponential(1)}) at constant load; cause: ${cause}`,
      finding: {
        kind: cause,
        cause,
        confidence: confidenceFrom(trend.relativeRise / t['drift.min_rise'] - 1, s, cause === 'unknown' ? 0.85 : 1),
        evidence: [
          {
            text: `e2e ${whichName} rises from ${ms(which === 'p50' ? (first?.e2eP50Ms ?? 0) : (first?.e2eP95Ms ?? 0))} to ${ms(which === 'p50' ? (last?.e2eP50Ms ?? 0) : (last?.e2eP95Ms ?? 0))} over ${s.durationS.toFixed(0)} s (+${pct(trend.relativeRise)}, Mann-Kendall p = ${trend.pIncreasing.toExponential(1)} over ${s.windows.length} windows)`,
            values: { rise: round(trend.relativeRise), p_value: round(trend.pIncreasing, 8), slope_ms_per_s: round(trend.slopePerS, 6) },
          },
          {
            text: `while the load does not rise: ${s.arrivalRps.toFixed(1)} requests/s on average, arrival-rate trend ${signed(tr.arrival.relativeRise)} with ${s.basis === 'aggregates' ? 'Mann-Kendall (step rates)' : 'Laplace'} p = ${tr.arrival.pIncreasing.toExponential(1)} (a rising load needs p < ${t['drift.load_p_value']} and +${pct(t['drift.max_load_rise'])})`,
            values: { arrival_rps: round(s.arrivalRps), arrival_rise: round(tr.arrival.relativeRise), arrival_p_value: round(tr.arrival.pIncreasing, 6) },
          },
          { text: `the rise is in ${phase} (+${ms(phaseRise)} over the run)`, values: { phase_rise_ms: round(phaseRise) } },
          ...evidenceCause,
        ],
        savedMeanMs: Math.max(0, riseMs / 2),
        estimatedGain: {
          metric: e2eMean ? 'mean_ms' : which === 'p50' ? 'p50_ms' : 'p95_ms',
          ...(s.e2e.statistic !== undefined ? { statistic: s.e2e.statistic } : {}),
          currentValue: round(which === 'p50' ? (last?.e2eP50Ms ?? 0) : (last?.e2eP95Ms ?? 0)),
          expectedValue: round(which === 'p50' ? (first?.e2eP50Ms ?? 0) : (first?.e2eP95Ms ?? 0)),
          basis: 'removing the cause brings latency back to the level of the first window',
        },
        nextStep: driftNextStep(cause, phase),
        exampleTraceIds: tracesNear(s.requests, s.requests.e2eMs, last?.e2eP95Ms ?? 0, 3, lastWindow),
      },
    };
  },
});

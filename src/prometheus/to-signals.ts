/**
 * @module prometheus/to-signals
 * Aggregates of one model → the ModelSummary the reports print and the Signals the diagnosis
 * rules read, so the Prometheus path runs the very rules of the trace path. What only traces
 * have (per-request rows, arrival times, input hashes, tail attribution, example trace ids)
 * stays empty; where the rules need a number that aggregates give only approximately, the
 * choice is written here and in docs/prometheus.md.
 */
import { RequestTable } from '../model/request-table.js';
import { OTHER, PHASES } from '../semconv.js';
import type { Phase, PhaseOrOther } from '../semconv.js';
import type { CountPercentiles, ModelSummary, Percentiles, PhaseSummary, Statistic } from '../model/summary.js';
import type { DeviceEvidence } from '../model/gpu.js';
import type { GenerationSignal, PhaseSignal, ReplicaSignal, Signals, Thresholds, TrendSignal, WindowSignal } from '../analyzer/diagnose/index.js';
import { deviceSignal, trendOf } from '../analyzer/diagnose/signals.js';
import type { AggregateDistribution, ModelAggregates } from './aggregates.js';

const ALL_PARTS: readonly PhaseOrOther[] = [...PHASES, OTHER];

function percentiles(d: AggregateDistribution, count: number): Percentiles {
  return { statistic: statisticOf(d), count, meanMs: d.meanMs, p50Ms: d.p50Ms, p90Ms: d.p90Ms, p95Ms: d.p95Ms, p99Ms: d.p99Ms, maxMs: d.maxMs };
}

/**
 * What an aggregate's percentiles are: interpolated from histogram buckets where the source has
 * a histogram and it answered, else the mean from its sum and count (counter sources, sums and
 * differences of histograms, a histogram without data in its buckets).
 */
export function statisticOf(d: AggregateDistribution): Statistic {
  return d.histogram && Number.isFinite(d.p50Ms) && Number.isFinite(d.p95Ms) ? 'bucket-percentile' : 'mean';
}

/**
 * Counter sources have means only; the rules compare p50/p95, so they get the mean there, with
 * `statistic` `mean` so that every text and key names it a mean (docs/prometheus.md).
 */
function orMean(value: number, meanMs: number): number {
  return Number.isFinite(value) ? value : meanMs;
}

/** A distribution for the rules: p50 and p95 from the buckets, or both the mean, with what they are. */
function msDistribution(d: AggregateDistribution): { meanMs: number; p50Ms: number; p95Ms: number; statistic: Statistic } {
  const statistic = statisticOf(d);
  return statistic === 'mean' ? { meanMs: d.meanMs, p50Ms: d.meanMs, p95Ms: d.meanMs, statistic } : { meanMs: d.meanMs, p50Ms: d.p50Ms, p95Ms: d.p95Ms, statistic };
}

/** Shares of e2e time per phase, `other` for the rest (never below 0). */
function shares(a: ModelAggregates): Record<PhaseOrOther, number> {
  const out = Object.fromEntries(ALL_PARTS.map((p) => [p, 0])) as Record<PhaseOrOther, number>;
  let covered = 0;
  for (const [p, d] of Object.entries(a.phases) as [Phase, AggregateDistribution][]) {
    const share = a.e2e.timeRate > 0 && Number.isFinite(d.timeRate) ? Math.max(0, d.timeRate / a.e2e.timeRate) : 0;
    out[p] = share;
    covered += share;
  }
  out.other = Math.max(0, 1 - covered);
  return out;
}

/** The phase table of one model, as the trace path's `summarize` would print it. */
export function toSummary(a: ModelAggregates): ModelSummary {
  const startS = a.activeStartS;
  const endS = a.activeEndS;
  const requests = Math.round(a.rps * (endS - startS));
  const share = shares(a);
  const phases: Partial<Record<PhaseOrOther, PhaseSummary>> = {};
  for (const [p, d] of Object.entries(a.phases) as [Phase, AggregateDistribution][]) {
    // countRate is over the whole range; the e2e count rate relates it to the requests.
    const count = a.e2e.countRate > 0 ? Math.round((d.countRate / a.e2e.countRate) * requests) : 0;
    phases[p] = { ...percentiles(d, count), share: share[p], present: Math.min(count, requests) };
  }
  if (share.other > 0.001) {
    const otherMean = a.e2e.meanMs * share.other;
    phases.other = { statistic: 'mean', count: requests, meanMs: otherMean, p50Ms: Number.NaN, p90Ms: Number.NaN, p95Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN, share: share.other, present: requests };
  }
  // LLM servers: TTFT, the per-request time per output token, the per-token ITL (kept apart: its
  // percentiles are over tokens) and the tokens per request fill the generation block the trace
  // path builds from first-token events.
  const ttft = a.generation['ttft'];
  const tpot = a.generation['tpot'];
  const itl = a.generation['itl'];
  const counts = (d: AggregateDistribution | undefined): CountPercentiles | undefined => (d === undefined ? undefined : { statistic: statisticOf(d), count: requests, mean: d.meanMs, p50: d.p50Ms, p95: d.p95Ms, max: d.maxMs });
  const tokensIn = counts(a.tokens.in);
  const tokensOut = counts(a.tokens.out);
  const active = endS - startS;
  const failures = a.failures ? { server: Math.round(a.failures.server), client: Math.round(a.failures.client), cancelled: Math.round(a.failures.cancelled) } : undefined;
  const generation =
    ttft || tpot || itl || tokensOut
      ? {
          requests,
          ...(ttft ? { ttft: percentiles(ttft, requests) } : {}),
          ...(tpot ? { tpot: percentiles(tpot, requests) } : {}),
          // Counted in observations (gaps between tokens) over the active range.
          ...(itl ? { itl: percentiles(itl, Math.round(itl.countRate * active)) } : {}),
          ...(tokensIn ? { tokensIn } : {}),
          ...(tokensOut ? { tokensOut } : {}),
          ...(a.tokens.cachedShare !== undefined ? { cachedShare: a.tokens.cachedShare } : {}),
          // Output tokens per second over the active range: the fleet's throughput, as the trace path's Σ tokens ÷ window.
          ...(a.tokens.out && active > 0 ? { tokensPerS: a.tokens.out.meanMs * a.rps } : {}),
        }
      : undefined;
  return {
    model: a.model,
    services: [a.source.title],
    requests,
    // The split rounded part by part, and the errors its sum, so the report's figures add up.
    ...(failures ? { errors: failures.server + failures.client, failures } : { errors: Math.round(a.errors) }),
    windowStartNs: BigInt(Math.round(startS * 1000)) * 1_000_000n,
    windowEndNs: BigInt(Math.round(endS * 1000)) * 1_000_000n,
    throughputRps: a.rps,
    e2e: percentiles(a.e2e, requests),
    phases,
    coverage: 1 - share.other,
    ...(generation ? { generation } : {}),
  };
}

function windowsOf(a: ModelAggregates, stepS: number): WindowSignal[] {
  const t0 = a.steps[0]?.timeS ?? 0;
  const mean = statisticOf(a.e2e) === 'mean';
  return a.steps.map((s) => ({
    startS: s.timeS - stepS - t0,
    endS: s.timeS - t0,
    requests: Math.round(s.rps * stepS),
    arrivalRps: s.rps,
    // The run's e2e statistic for every step: a mean-only source's steps are means, never a mix.
    e2eP50Ms: mean ? s.e2eMeanMs : orMean(s.e2eP50Ms, s.e2eMeanMs),
    e2eP95Ms: mean ? s.e2eMeanMs : orMean(s.e2eP95Ms, s.e2eMeanMs),
    phaseMeanMs: Object.fromEntries(
      ALL_PARTS.map((p) => {
        if (p === OTHER) {
          const covered = PHASES.reduce((sum, q) => sum + (Number.isFinite(s.phaseMeanMs[q]) ? (s.phaseMeanMs[q] as number) : 0), 0);
          return [p, Math.max(0, s.e2eMeanMs - covered)];
        }
        const v = s.phaseMeanMs[p];
        return [p, v !== undefined && Number.isFinite(v) ? v : 0];
      }),
    ) as Record<PhaseOrOther, number>,
  }));
}

/** TTFT share of e2e from which a model without token metrics is taken not to stream (ours: the last 5% covers sending the response). */
const NOT_STREAMING_TTFT_SHARE = 0.95;

/**
 * The generation signals from a server's histograms, counters and gauges, as the trace path
 * computes them per request (model/generation defines TTFT and TPOT). Present when the source
 * measures TTFT. Shares of TTFT are mean phase ÷ mean TTFT (both per request, from _sum/_count);
 * decode is the decode histogram where the server has one, else e2e − TTFT (TPOT's decode time).
 */
export function generationSignal(a: ModelAggregates, requests: number): GenerationSignal | undefined {
  const ttft = a.generation['ttft'];
  if (ttft === undefined || !(ttft.countRate > 0) || !(ttft.meanMs > 0)) return undefined;
  const tpot = a.generation['tpot'] ?? a.generation['itl'];
  // Triton times the first response of every model: without token counts or a time per token, a
  // first response that is the whole response (≥ 95% of e2e) is a model that does not stream.
  if (tpot === undefined && a.tokens.out === undefined && ttft.meanMs >= NOT_STREAMING_TTFT_SHARE * a.e2e.meanMs) return undefined;
  const ofTtft = (p: Phase): number => {
    const d = a.phases[p];
    return d !== undefined && Number.isFinite(d.meanMs) ? Math.min(1, Math.max(0, d.meanMs / ttft.meanMs)) : 0;
  };
  const decode = a.phases.decode;
  const decodeShare =
    decode !== undefined && a.e2e.timeRate > 0 ? Math.min(1, decode.timeRate / a.e2e.timeRate) : a.e2e.meanMs > 0 ? Math.min(1, Math.max(0, (a.e2e.meanMs - ttft.meanMs) / a.e2e.meanMs)) : 0;
  const tokensIn = a.tokens.in;
  return {
    requests,
    ttft: msDistribution(ttft),
    ...(tpot && Number.isFinite(tpot.meanMs) ? { tpot: msDistribution(tpot) } : {}),
    ttftQueueShare: ofTtft('queue'),
    ttftPrefillShare: ofTtft('prefill'),
    ttftPreprocessShare: ofTtft('preprocess'),
    decodeShare,
    ...(tokensIn ? { tokensIn: tokensOf(tokensIn) } : {}),
    ...(a.tokens.out ? { tokensOutMean: a.tokens.out.meanMs } : {}),
    ...(a.tokens.cachedShare !== undefined ? { cachedShare: a.tokens.cachedShare } : {}),
    // Whether prompts repeat a prefix needs every request's input hash: the trace path's.
    prefixHashedShare: 0,
    ...(a.scheduler.kvCacheUsage !== undefined ? { kvCacheUsage: a.scheduler.kvCacheUsage } : {}),
    ...(a.scheduler.preemptionsPerS !== undefined ? { preemptionsPerS: a.scheduler.preemptionsPerS } : {}),
  };
}

/** Prompt tokens per request for the rules: p50 and p95 from the buckets, or both the mean (a counter ÷ requests). */
function tokensOf(d: AggregateDistribution): { p50: number; p95: number; mean: number; statistic: Statistic } {
  const m = msDistribution(d);
  return { p50: m.p50Ms, p95: m.p95Ms, mean: m.meanMs, statistic: m.statistic };
}

/** Signals for the diagnosis rules from one model's aggregates. */
export function toSignals(a: ModelAggregates, summary: ModelSummary, thresholds: Thresholds, stepS: number, device: readonly DeviceEvidence[]): Signals {
  const n = summary.requests;
  const share = shares(a);
  const durationS = Number(summary.windowEndNs - summary.windowStartNs) / 1e9;
  const phases = Object.fromEntries(
    ALL_PARTS.map((p): [PhaseOrOther, PhaseSignal] => {
      const d = p === OTHER ? undefined : a.phases[p];
      const meanMs = p === OTHER ? a.e2e.meanMs * share.other : d ? d.meanMs : 0;
      const present = p === OTHER ? (share.other > 0 ? n : 0) : d && a.e2e.countRate > 0 ? Math.min(n, Math.round((d.countRate / a.e2e.countRate) * n)) : 0;
      const mean = Number.isFinite(meanMs) ? meanMs : 0;
      // `other` is what e2e leaves over: a difference of means, no percentile.
      const dist = d ? { ...msDistribution(d), meanMs: mean } : { meanMs: mean, p50Ms: mean, p95Ms: mean, statistic: 'mean' as const };
      return [p, { ...dist, share: share[p], present }];
    }),
  ) as Record<PhaseOrOther, PhaseSignal>;
  let dominantPhase: Phase | undefined;
  for (const p of PHASES) if (phases[p].share > 0 && (!dominantPhase || phases[p].share > phases[dominantPhase].share)) dominantPhase = p;
  const coverage = 1 - share.other;
  const windows = windowsOf(a, stepS);
  let trends: Signals['trends'];
  if (windows.length >= 3) {
    const xs = windows.map((w) => (w.startS + w.endS) / 2);
    trends = {
      e2eP50: trendOf(xs, windows.map((w) => w.e2eP50Ms)),
      e2eP95: trendOf(xs, windows.map((w) => w.e2eP95Ms)),
      // No arrival times in aggregates: Mann-Kendall on the step rates instead of the Laplace test.
      arrival: trendOf(xs, windows.map((w) => w.arrivalRps)),
      phases: Object.fromEntries(ALL_PARTS.map((p) => [p, trendOf(xs, windows.map((w) => w.phaseMeanMs[p]))])) as Record<PhaseOrOther, TrendSignal>,
    };
  }
  const lastThree = windows.slice(-3);
  const ratio = (values: readonly number[]): number => (Math.min(...values) > 0 ? Math.max(...values) / Math.min(...values) : Number.POSITIVE_INFINITY);
  const stable = lastThree.length === 3 && ratio(lastThree.map((w) => w.arrivalRps)) <= thresholds['stability.max_ratio'] && ratio(lastThree.map((w) => w.e2eP50Ms)) <= thresholds['stability.max_ratio'];
  // Little's law: requests in flight = arrival rate × mean time in the system.
  const meanInFlight = a.rps * (a.e2e.meanMs / 1000);
  const invalid: string[] = [];
  if (n < thresholds['validity.min_requests']) invalid.push(`only ${n} request${n === 1 ? '' : 's'} in the range; at least ${thresholds['validity.min_requests']} are needed (validity.min_requests): widen --range`);
  if (n > 0 && coverage < thresholds['validity.min_coverage']) {
    invalid.push(`the phases ${a.source.title} measures cover only ${Math.round(coverage * 100)}% of end-to-end time; at least ${Math.round(thresholds['validity.min_coverage'] * 100)}% is needed (validity.min_coverage): trace the service for the rest`);
  }
  const replicas: ReplicaSignal[] = a.replicas.map((r) => ({ replica: r.replica, requests: Math.round(r.rps * durationS), e2eMeanMs: r.e2eMeanMs, e2eP99Ms: r.e2eP99Ms, phaseMeanMs: r.phaseMeanMs }));
  const batchKnown = a.meanBatchSize !== undefined;
  const gpu = device.length > 0 ? deviceSignal(device, durationS) : undefined;
  const generation = generationSignal(a, n);
  return {
    model: a.model,
    basis: 'aggregates',
    diagnosed: n,
    replicas,
    requests: RequestTable.empty(),
    totalRequests: n,
    warmupTrimmed: 0,
    errors: Math.round(a.errors),
    durationS,
    startSeconds: () => new Float64Array(0),
    endSeconds: () => new Float64Array(0),
    arrivalRps: a.rps,
    meanInFlight,
    e2e: { ...msDistribution(a.e2e), p99Ms: statisticOf(a.e2e) === 'mean' ? a.e2e.meanMs : orMean(a.e2e.p99Ms, a.e2e.meanMs) },
    serverMeanMs: a.e2e.meanMs,
    phases,
    coverage,
    computeShareOfServer: share.compute,
    ...(dominantPhase ? { dominantPhase } : {}),
    batch: { recorded: batchKnown ? n : 0, meanSize: a.meanBatchSize ?? 1, maxSize: Math.max(1, Math.round(a.meanBatchSize ?? 1)), fullShare: 0 },
    windows,
    ...(trends ? { trends } : {}),
    stable,
    clockSkewShare: 0,
    networkDerived: false,
    cacheHitShare: 0,
    ...(gpu ? { gpu } : {}),
    ...(generation ? { generation } : {}),
    invalid,
  };
}

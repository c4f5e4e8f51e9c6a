/**
 * @module analyzer/measure
 * Requests → per-model summaries: HdrHistogram percentiles of e2e, of each phase and of `other`,
 * each phase's share of end-to-end time, coverage, throughput and the request attributes seen
 * most often.
 *
 * Histograms record integer nanoseconds with 3 significant digits (HdrHistogram's default:
 * every reported percentile is within 0.1% of the true order statistic); max and mean are
 * exact. A phase's percentiles are over the requests that have that phase; its share is of the
 * e2e time of all requests, so shares of a model add up to 1 with `other`.
 */
import type { Histogram } from 'hdr-histogram-js';
import { createRequire } from 'node:module';

import type { RequestTiming } from '../model/request.js';
import type { CountPercentiles, GenerationSummary, ModelSummary, Percentiles, PhaseSummary } from '../model/summary.js';
import { isGenerative, outputTokensPerSecond, timePerOutputTokenMs } from '../model/generation.js';
import { OTHER, PHASES } from '../semconv.js';
import type { PhaseOrOther } from '../semconv.js';

// The JS histogram that hdr.build({ bitBucketSize: 32, useWebAssembly: false }) constructs,
// loaded alone: the package index also loads its WebAssembly build and log codecs, ~55 ms of
// CPU on every CLI run (about 2% of a 200 MB analysis) for code never used here. Loaded with
// require: this CommonJS file's default export is then the same under Node and under vitest.
const { default: Int32Histogram } = createRequire(import.meta.url)('hdr-histogram-js/dist/Int32Histogram.js') as {
  default: new (lowestDiscernibleValue: number, highestTrackableValue: number, numberOfSignificantValueDigits: number) => Histogram;
};

/** A histogram as hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true }) makes it. */
function buildHistogram(): Histogram {
  // highestTrackableValue 2 is hdr.build's default; autoResize grows it as values arrive.
  const histogram = new Int32Histogram(1, 2, 3);
  histogram.autoResize = true;
  return histogram;
}

/** Quantiles reported for every distribution, as HdrHistogram percentiles. */
const QUANTILES = { p50Ms: 50, p90Ms: 90, p95Ms: 95, p99Ms: 99 } as const;

/** One distribution being recorded: histogram plus exact sum and max. */
class Distribution {
  private readonly histogram: Histogram = buildHistogram();
  private sumNs = 0;
  private maxNs = 0;
  count = 0;

  record(ms: number): void {
    const ns = Math.max(0, Math.round(ms * 1e6));
    this.histogram.recordValue(ns);
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
    this.count++;
  }

  get totalMs(): number {
    return this.sumNs / 1e6;
  }

  percentiles(): Percentiles {
    if (this.count === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
    const at = (q: number): number => Math.min(this.histogram.getValueAtPercentile(q), this.maxNs) / 1e6;
    return {
      count: this.count,
      meanMs: this.sumNs / this.count / 1e6,
      p50Ms: at(QUANTILES.p50Ms),
      p90Ms: at(QUANTILES.p90Ms),
      p95Ms: at(QUANTILES.p95Ms),
      p99Ms: at(QUANTILES.p99Ms),
      maxMs: this.maxNs / 1e6,
    };
  }

  destroy(): void {
    this.histogram.destroy();
  }
}

/** Generation metrics of the generative requests (model/generation defines each). */
class GenerationRecorder {
  private readonly ttft = new Distribution();
  private readonly tpot = new Distribution();
  // Counts go through the same histograms, one token recorded as one "ms".
  private readonly tokensIn = new Distribution();
  private readonly tokensOut = new Distribution();
  private readonly tokensCached = new Distribution();
  private requests = 0;
  private outputTotal = 0;
  private cachedTotal = 0;
  private cachedOfInput = 0;

  record(r: RequestTiming): void {
    if (!isGenerative(r)) return;
    this.requests++;
    if (r.ttftMs !== undefined) this.ttft.record(r.ttftMs);
    const tpot = timePerOutputTokenMs(r.e2eMs, r.ttftMs, r.tokensOut);
    if (tpot !== undefined) this.tpot.record(tpot);
    if (r.tokensIn !== undefined) this.tokensIn.record(r.tokensIn);
    if (r.tokensOut !== undefined) {
      this.tokensOut.record(r.tokensOut);
      this.outputTotal += r.tokensOut;
    }
    if (r.tokensCached !== undefined) {
      this.tokensCached.record(r.tokensCached);
      if (r.tokensIn !== undefined) {
        this.cachedTotal += Math.min(r.tokensCached, r.tokensIn);
        this.cachedOfInput += r.tokensIn;
      }
    }
  }

  /** The summary over a window of `windowMs`; undefined when no request generated tokens. */
  summary(windowMs: number): GenerationSummary | undefined {
    const parts = [this.ttft, this.tpot, this.tokensIn, this.tokensOut, this.tokensCached];
    if (this.requests === 0) {
      for (const d of parts) d.destroy();
      return undefined;
    }
    const out: { -readonly [K in keyof GenerationSummary]: GenerationSummary[K] } = { requests: this.requests };
    if (this.ttft.count > 0) out.ttft = this.ttft.percentiles();
    if (this.tpot.count > 0) out.tpot = this.tpot.percentiles();
    if (this.tokensIn.count > 0) out.tokensIn = counts(this.tokensIn.percentiles());
    if (this.tokensOut.count > 0) {
      out.tokensOut = counts(this.tokensOut.percentiles());
      const rate = outputTokensPerSecond(this.outputTotal, windowMs);
      if (rate !== undefined) out.tokensPerS = rate;
    }
    if (this.tokensCached.count > 0) out.tokensCached = counts(this.tokensCached.percentiles());
    if (this.cachedOfInput > 0) out.cachedShare = this.cachedTotal / this.cachedOfInput;
    for (const d of parts) d.destroy();
    return out;
  }
}

function counts(p: Percentiles): CountPercentiles {
  return { count: p.count, mean: p.meanMs, p50: p.p50Ms, p95: p.p95Ms, max: p.maxMs };
}

/** Counts values to find the most common one. */
class Tally {
  private readonly counts = new Map<string, number>();
  add(value: string | undefined): void {
    if (value !== undefined) this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }
  mostCommon(): string | undefined {
    let best: string | undefined;
    let bestCount = 0;
    for (const [value, count] of this.counts) {
      if (count > bestCount) {
        best = value;
        bestCount = count;
      }
    }
    return best;
  }
}

/** Summarizes the requests of one model (or of all models, under any label). */
export function summarize(model: string, requests: readonly RequestTiming[]): ModelSummary {
  const e2e = new Distribution();
  const phases = new Map<PhaseOrOther, Distribution>();
  const services = new Set<string>();
  const runtime = new Tally();
  const provider = new Tally();
  const precision = new Tally();
  const device = new Tally();
  const version = new Tally();
  const generation = new GenerationRecorder();
  let errors = 0;
  let windowStart: bigint | undefined;
  let windowEnd: bigint | undefined;
  const phaseDistribution = (phase: PhaseOrOther): Distribution => {
    let d = phases.get(phase);
    if (d === undefined) phases.set(phase, (d = new Distribution()));
    return d;
  };
  for (const r of requests) {
    e2e.record(r.e2eMs);
    for (const phase of PHASES) {
      const ms = r.phases[phase];
      if (ms !== undefined) phaseDistribution(phase).record(ms);
    }
    phaseDistribution(OTHER).record(r.otherMs);
    services.add(r.service);
    runtime.add(r.runtime);
    provider.add(r.runtimeProvider);
    precision.add(r.precision);
    device.add(r.device);
    version.add(r.modelVersion);
    if (r.error) errors++;
    generation.record(r);
    const end = r.startNs + BigInt(Math.round(r.e2eMs * 1e6));
    if (windowStart === undefined || r.startNs < windowStart) windowStart = r.startNs;
    if (windowEnd === undefined || end > windowEnd) windowEnd = end;
  }
  const totalE2eMs = e2e.totalMs;
  const phaseSummaries: Partial<Record<PhaseOrOther, PhaseSummary>> = {};
  for (const phase of [...PHASES, OTHER] as const) {
    const d = phases.get(phase);
    if (d === undefined) continue;
    phaseSummaries[phase] = { ...d.percentiles(), share: totalE2eMs > 0 ? d.totalMs / totalE2eMs : 0, present: d.count };
    d.destroy();
  }
  const e2ePercentiles = e2e.percentiles();
  e2e.destroy();
  const start = windowStart ?? 0n;
  const end = windowEnd ?? 0n;
  const windowS = Number(end - start) / 1e9;
  const summary: { -readonly [K in keyof ModelSummary]: ModelSummary[K] } = {
    model,
    services: [...services].sort(),
    requests: requests.length,
    errors,
    windowStartNs: start,
    windowEndNs: end,
    throughputRps: windowS > 0 ? requests.length / windowS : 0,
    e2e: e2ePercentiles,
    phases: phaseSummaries,
    coverage: totalE2eMs > 0 ? Math.max(0, 1 - (phaseSummaries.other?.share ?? 0)) : 0,
  };
  const attrs = { runtime: runtime.mostCommon(), runtimeProvider: provider.mostCommon(), precision: precision.mostCommon(), device: device.mostCommon(), modelVersion: version.mostCommon() };
  for (const [key, value] of Object.entries(attrs) as [keyof typeof attrs, string | undefined][]) if (value !== undefined) summary[key] = value;
  const generationSummary = generation.summary(windowS * 1000);
  if (generationSummary !== undefined) summary.generation = generationSummary;
  return summary;
}

/** Splits requests by model and summarizes each; most requests first. */
export function summarizeByModel(requests: readonly RequestTiming[]): ModelSummary[] {
  const byModel = groupByModel(requests);
  return [...byModel].map(([model, list]) => summarize(model, list)).sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model));
}

/** Requests grouped by model name, in first-seen order. */
export function groupByModel(requests: readonly RequestTiming[]): Map<string, RequestTiming[]> {
  const byModel = new Map<string, RequestTiming[]>();
  for (const r of requests) {
    const list = byModel.get(r.model);
    if (list) list.push(r);
    else byModel.set(r.model, [r]);
  }
  return byModel;
}

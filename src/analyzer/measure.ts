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

import { asTable } from '../model/request-table.js';
import type { RequestTable, Requests, TableText } from '../model/request-table.js';
import { addFailures } from '../model/summary.js';
import type { CountPercentiles, GenerationSummary, ModelSummary, Percentiles, PhaseSummary, RequestFailures } from '../model/summary.js';
import { outputTokensPerSecond, timePerOutputTokenMs } from '../model/generation.js';
import { OTHER, PHASES } from '../semconv.js';
import type { PhaseOrOther } from '../semconv.js';

// The JS histogram that hdr.build({ bitBucketSize: 32, useWebAssembly: false }) constructs,
// loaded alone: the package index also loads its WebAssembly build and log codecs, ~55 ms of
// CPU on every CLI run (about 2% of a 200 MB analysis) for code never used here. Loaded with
// require: this CommonJS file's default export is then the same under Node and under vitest.
const { default: Int32Histogram } = createRequire(import.meta.url)('hdr-histogram-js/dist/Int32Histogram.js') as {
  default: new (lowestDiscernibleValue: number, highestTrackableValue: number, numberOfSignificantValueDigits: number) => ResizableHistogram;
};

/** The JS histogram's own resize (what autoResize calls when a value is past the end), and its current end. */
type ResizableHistogram = Histogram & { readonly highestTrackableValue: number; resize(newHighestTrackableValue: number): void };

/** A histogram as hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true }) makes it. */
function buildHistogram(): ResizableHistogram {
  // highestTrackableValue 2 is hdr.build's default; autoResize grows it as values arrive.
  const histogram = new Int32Histogram(1, 2, 3);
  histogram.autoResize = true;
  return histogram;
}

/** Quantiles reported for every distribution, as HdrHistogram percentiles. */
const QUANTILES = { p50Ms: 50, p90Ms: 90, p95Ms: 95, p99Ms: 99 } as const;

/**
 * HdrHistogram's bucket layout for 3 significant digits and a lowest discernible value of 1:
 * 2048 sub-buckets, so bucket b ≥ 1 holds [1024·2^b, 2048·2^b) in steps of 2^b, and a value v
 * lands at counts index b·1024 + ⌊v / 2^b⌋ with b = max(⌊log₂ v⌋ − 10, 0)
 * (AbstractHistogram.countsArrayIndex, https://github.com/HdrHistogram/HdrHistogramJS).
 */
const HALF_MAGNITUDE = 10;
/** Values below this are indexed here with clz32 (exact); larger ones go to the histogram as they come. */
const TWO_32 = 4_294_967_296;

/**
 * One distribution being recorded: exact sum and max, and an HdrHistogram. Values below 2³² ns
 * are first counted by their histogram index in a plain array (the library's own recordValue
 * takes a log2 and two powers per value, most of measure's time), and each index is handed to
 * the histogram once, with its count, before the percentiles are read: the same counts, so the
 * same percentiles.
 */
class Distribution {
  private readonly histogram = buildHistogram();
  private counts = new Int32Array(2048);
  /** Counts not yet handed to the histogram. */
  private pending = false;
  /** The lowest and highest counted indexes: flush reads only that range, not the whole array. */
  private low = TWO_32;
  private high = 0;
  private sumNs = 0;
  private maxNs = 0;
  count = 0;

  record(ms: number): void {
    const ns = Math.max(0, Math.round(ms * 1e6));
    if (ns < TWO_32) {
      const bucket = Math.max(31 - Math.clz32(ns) - HALF_MAGNITUDE, 0);
      const index = (bucket << HALF_MAGNITUDE) + (ns >>> bucket);
      if (index >= this.counts.length) this.grow(index);
      this.counts[index]!++;
      if (index < this.low) this.low = index;
      if (index > this.high) this.high = index;
      this.pending = true;
    } else {
      // Also NaN: the histogram treats it as it always did.
      this.histogram.recordValue(ns);
    }
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
    this.count++;
  }

  private grow(index: number): void {
    const counts = new Int32Array(Math.max(index + 1, this.counts.length * 2));
    counts.set(this.counts);
    this.counts = counts;
  }

  /** Hands the counted indexes to the histogram, each once with its count. */
  private flush(): void {
    if (!this.pending) return;
    this.pending = false;
    // Sized once for the largest value, as autoResize would leave it: the loop below then never
    // takes the library's resize path (a path V8 first meets mid-loop, and deoptimizes on).
    if (this.maxNs > this.histogram.highestTrackableValue) this.histogram.resize(this.maxNs);
    const counts = this.counts;
    const high = this.high;
    const low = this.low;
    this.low = TWO_32;
    this.high = 0;
    for (let index = low; index <= high; index++) {
      const count = counts[index]!;
      if (count === 0) continue;
      counts[index] = 0;
      // The lowest value at that index (HdrHistogram's valueFromIndex).
      let bucket = (index >> HALF_MAGNITUDE) - 1;
      let sub = (index & ((1 << HALF_MAGNITUDE) - 1)) + (1 << HALF_MAGNITUDE);
      if (bucket < 0) {
        sub -= 1 << HALF_MAGNITUDE;
        bucket = 0;
      }
      this.histogram.recordValueWithCount(sub * 2 ** bucket, count);
    }
  }

  get totalMs(): number {
    return this.sumNs / 1e6;
  }

  percentiles(): Percentiles {
    if (this.count === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
    this.flush();
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
  // Counts go through the same histograms, one token recorded as one ns (COUNT_UNIT_MS): exact
  // below 2048 tokens, where one token as one ms put a bucket's edge (290.19 for 290) in the report.
  private readonly tokensIn = new Distribution();
  private readonly tokensOut = new Distribution();
  private readonly tokensCached = new Distribution();
  private requests = 0;
  private outputTotal = 0;
  private cachedTotal = 0;
  private cachedOfInput = 0;

  /** Records the requests of a table that generated tokens (model/generation isGenerative). */
  recordAll(t: RequestTable): void {
    const ttftColumn = t.number('ttftMs');
    const inColumn = t.number('tokensIn');
    const outColumn = t.number('tokensOut');
    const cachedColumn = t.number('tokensCached');
    for (let i = 0; i < t.length; i++) {
      const ttft = ttftColumn[i]!;
      const out = outColumn[i]!;
      const hasTtft = ttft === ttft;
      const hasOut = out === out;
      if (!hasTtft && !hasOut) continue;
      this.requests++;
      if (hasTtft) this.ttft.record(ttft);
      const tpot = timePerOutputTokenMs(t.e2eMs[i]!, hasTtft ? ttft : undefined, hasOut ? out : undefined);
      if (tpot !== undefined) this.tpot.record(tpot);
      const tokensIn = inColumn[i]!;
      if (tokensIn === tokensIn) this.tokensIn.record(tokensIn * COUNT_UNIT_MS);
      if (hasOut) {
        this.tokensOut.record(out * COUNT_UNIT_MS);
        this.outputTotal += out;
      }
      const cached = cachedColumn[i]!;
      if (cached === cached) {
        this.tokensCached.record(cached * COUNT_UNIT_MS);
        if (tokensIn === tokensIn) {
          this.cachedTotal += Math.min(cached, tokensIn);
          this.cachedOfInput += tokensIn;
        }
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

/** One token, as the "ms" a count is recorded in: one ns. */
const COUNT_UNIT_MS = 1e-6;

/** A count distribution back in tokens; its percentiles and max are whole tokens. */
function counts(p: Percentiles): CountPercentiles {
  const tokens = (ms: number): number => Math.round(ms / COUNT_UNIT_MS);
  return { count: p.count, mean: p.meanMs / COUNT_UNIT_MS, p50: tokens(p.p50Ms), p95: tokens(p.p95Ms), max: tokens(p.maxMs) };
}

/** Counts values to find the most common one (the first seen among equals). */
class Tally {
  private readonly counts = new Map<string, number>();
  // Rows come in runs of the same value: counted here, added to the map when the run ends.
  // Always a string (none while run is 0): `value === this.last` then compares two strings,
  // where undefined here used to deoptimize add's compare of strings (issue #16).
  private last = '';
  private run = 0;

  add(value: string | undefined): void {
    if (value === undefined) return;
    if (value === this.last && this.run > 0) {
      this.run++;
      return;
    }
    this.endRun();
    // Entered at first sight: the map's order is the order values were first seen.
    if (!this.counts.has(value)) this.counts.set(value, 0);
    this.last = value;
    this.run = 1;
  }

  /** Every value counted, in first-seen order. */
  values(): string[] {
    this.endRun();
    return [...this.counts.keys()];
  }

  mostCommon(): string | undefined {
    this.endRun();
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

  private endRun(): void {
    if (this.run > 0) this.counts.set(this.last, this.counts.get(this.last)! + this.run);
    this.last = '';
    this.run = 0;
  }
}

/** Summarizes the requests of one model (or of all models, under any label). */
export function summarize(model: string, input: Requests): ModelSummary {
  const requests = asTable(input);
  const n = requests.length;
  const e2e = new Distribution();
  const phases = new Map<PhaseOrOther, Distribution>();
  const generation = new GenerationRecorder();
  // Each loop is a small function used for every column: V8 compiles it once, where a loop per
  // column in this function had it compile this whole function again for each (on-stack replacement).
  recordColumn(e2e, requests.e2eMs);
  // One distribution per phase, by PHASES index, made when the phase first appears.
  const byPhase = PHASES.map((_, p) => recordPresent(requests.phaseAt(p)));
  const other = new Distribution();
  recordColumn(other, requests.otherMs);
  const services = tallyColumn(requests, 'service').values();
  const [runtime, provider, precision, device, version] = (['runtime', 'runtimeProvider', 'precision', 'device', 'modelVersion'] as const).map((field) => tallyColumn(requests, field));
  let errors = 0;
  for (let i = 0; i < n; i++) if (requests.error(i)) errors++;
  generation.recordAll(requests);
  const { windowStart, windowEnd } = windowOf(requests);
  for (let p = 0; p < PHASES.length; p++) {
    const d = byPhase[p];
    if (d !== undefined) phases.set(PHASES[p]!, d);
  }
  if (n > 0) phases.set(OTHER, other);
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
    services: services.sort(),
    requests: n,
    errors,
    windowStartNs: start,
    windowEndNs: end,
    throughputRps: windowS > 0 ? n / windowS : 0,
    e2e: e2ePercentiles,
    phases: phaseSummaries,
    coverage: totalE2eMs > 0 ? Math.max(0, 1 - (phaseSummaries.other?.share ?? 0)) : 0,
  };
  const attrs = { runtime: runtime!.mostCommon(), runtimeProvider: provider!.mostCommon(), precision: precision!.mostCommon(), device: device!.mostCommon(), modelVersion: version!.mostCommon() };
  for (const [key, value] of Object.entries(attrs) as [keyof typeof attrs, string | undefined][]) if (value !== undefined) summary[key] = value;
  const generationSummary = generation.summary(windowS * 1000);
  if (generationSummary !== undefined) summary.generation = generationSummary;
  return summary;
}

/** Records every value of a column. */
function recordColumn(d: Distribution, column: Float64Array): void {
  for (let i = 0; i < column.length; i++) d.record(column[i]!);
}

/** A distribution of a column's present values (NaN: absent); undefined when none is. */
function recordPresent(column: Float64Array): Distribution | undefined {
  if (!anyPresent(column)) return undefined;
  const d = new Distribution();
  for (let i = 0; i < column.length; i++) {
    const ms = column[i]!;
    if (ms === ms) d.record(ms);
  }
  return d;
}

/** True when some value of the column is present (not NaN). */
function anyPresent(column: Float64Array): boolean {
  for (let i = 0; i < column.length; i++) if (column[i] === column[i]) return true;
  return false;
}

/** A text field of every request, tallied. */
function tallyColumn(requests: RequestTable, field: TableText): Tally {
  const tally = new Tally();
  for (let i = 0; i < requests.length; i++) tally.add(requests.textValue(requests.textIndex(field, i)));
  return tally;
}

/** First request start and last request end (ns since epoch); undefined without requests. */
function windowOf(requests: RequestTable): { windowStart: bigint | undefined; windowEnd: bigint | undefined } {
  if (requests.length === 0) return { windowStart: undefined, windowEnd: undefined };
  const { originNs, offsetsNs, exact } = requests.startOffsets();
  if (!exact) return windowOfBigInts(requests);
  // Ends as offsets too: exact while below 2^53 ns past the first start.
  let endNs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < offsetsNs.length; i++) {
    const end = offsetsNs[i]! + Math.round(requests.e2eMs[i]! * 1e6);
    if (end > endNs) endNs = end;
  }
  if (!(Math.abs(endNs) < Number.MAX_SAFE_INTEGER)) return windowOfBigInts(requests);
  return { windowStart: originNs, windowEnd: originNs + BigInt(endNs) };
}

/** windowOf in BigInts, for starts or ends 2^53 ns or more apart. */
function windowOfBigInts(requests: RequestTable): { windowStart: bigint | undefined; windowEnd: bigint | undefined } {
  let windowStart: bigint | undefined;
  let windowEnd: bigint | undefined;
  for (let i = 0; i < requests.length; i++) {
    const startNs = requests.startNs[i]!;
    if (windowStart === undefined || startNs < windowStart) windowStart = startNs;
    const end = startNs + BigInt(Math.round(requests.e2eMs[i]! * 1e6));
    if (windowEnd === undefined || end > windowEnd) windowEnd = end;
  }
  return { windowStart, windowEnd };
}

/**
 * The summary with requests that have no latency counted beside its own (`failures`: the source
 * says who ended each, TGI's router spans of failed and cancelled requests): as the Prometheus
 * path counts a server's failure counter beside its completed requests, they are in `errors` and
 * `failures`, never in `requests` or a percentile.
 */
export function withFailures(summary: ModelSummary, failures: RequestFailures | undefined): ModelSummary {
  if (failures === undefined) return summary;
  return { ...summary, errors: summary.errors + failures.server + failures.client, failures: addFailures(summary.failures, failures) };
}

/** Splits requests by model and summarizes each; most requests first. */
export function summarizeByModel(requests: Requests): ModelSummary[] {
  const byModel = groupByModel(requests);
  return [...byModel].map(([model, list]) => summarize(model, list)).sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model));
}

/** Requests grouped by model name, in first-seen order. */
export function groupByModel(requests: Requests): Map<string, RequestTable> {
  return asTable(requests).byModel();
}

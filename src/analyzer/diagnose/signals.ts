/**
 * @module analyzer/diagnose/signals
 * Everything the rules look at, computed once per model from the request timings:
 * warm-up trim, validity checks, phase distributions, mean concurrency and arrival rate,
 * batch sizes, time windows with trend tests, tail attribution and a per-run summary of the
 * GPU evidence. Pure: no I/O. Evidence only one rule reads lives in that rule's module (the
 * cache replay in scale-and-cache, the batch fit and in-flight-at-arrival in dynamic-batching).
 */
import { PHASES, OTHER } from '../../semconv.js';
import type { Phase, PhaseOrOther } from '../../semconv.js';
import type { RequestTiming } from '../../model/request.js';
import { REQUEST_FLAG, asTable } from '../../model/request-table.js';
import type { RequestTable, Requests, TableText } from '../../model/request-table.js';
import { timePerOutputTokenMs } from '../../model/generation.js';
import type { ModelSummary, Statistic } from '../../model/summary.js';
import type { ClockEventReason, DeviceEvidence } from '../../model/gpu.js';
import { slowdownShare } from '../device.js';
import type { TailAttribution } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { laplaceTrendOfMean, mannKendall, mean, quantileSorted, quantilesInPlace, sortNumbers, theilSenSlope } from './stats.js';

/** Thresholds that shape the signals themselves (warm-up, validity, windows). */
export const SIGNAL_THRESHOLDS = {
  'warmup.share': {
    value: 0.05,
    unit: 'ratio of requests',
    max: 1,
    source: 'ours, after perf_analyzer --warmup-request-count (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md) and Clinic Doctor guess-interval (https://github.com/clinicjs/node-clinic-doctor), which trims the edges of the run',
    why: 'the first requests of a run pay for lazy initialisation (graph compilation, allocator growth, cold caches); the first 5% by start time are dropped before any rule runs',
  },
  'validity.min_requests': {
    value: 50,
    unit: 'requests',
    source: 'perf_analyzer count_windows default, 50 requests per measurement window (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md)',
    why: 'below one perf_analyzer window of requests a p95 rests on two or three samples',
  },
  'validity.min_coverage': {
    value: 0.6,
    unit: 'ratio of e2e',
    max: 1,
    source: 'ours (0.9 would make a confident verdict; we refuse only below 0.6 and lower confidence in between)',
    why: 'when more than 40% of end-to-end time is in no phase span, the real bottleneck may be the unexplained part',
  },
  'windows.count': {
    value: 10,
    unit: 'windows',
    whole: true,
    source: 'ours; perf_analyzer judges stability over windows too, 3 windows within 10% (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md)',
    why: 'ten equal-count windows let the Mann-Kendall test reach p < 0.01 (its smallest p for 10 points is about 4e-5) while keeping each window large',
  },
  'windows.min_requests': {
    value: 5,
    unit: 'requests per window',
    source: 'ours',
    why: 'a window median needs a handful of requests; with fewer requests the run gets fewer windows',
  },
  'stability.max_ratio': {
    value: 1.1,
    unit: 'max/min ratio',
    source: 'perf_analyzer --stability-percentage 10 over the last 3 windows (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md)',
    why: 'a run is stable when the last three windows agree within 10% on throughput and latency; unstable runs lower the confidence of every finding',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** The values of SIGNAL_THRESHOLDS (or their overrides). */
export type SignalThresholds = { readonly [K in keyof typeof SIGNAL_THRESHOLDS]: number };

/** Distribution of one phase over the diagnosed requests. */
export interface PhaseSignal {
  /** What p50Ms and p95Ms are (statistic.ts); absent: per-request percentiles. `mean`: both hold the mean. */
  readonly statistic?: Statistic;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Sum of this phase ÷ sum of e2e. */
  readonly share: number;
  /** Requests with this phase present. */
  readonly present: number;
}

/** A trend test over the time windows. */
export interface TrendSignal {
  /** One-sided Mann-Kendall p-value for an increasing trend. */
  readonly pIncreasing: number;
  readonly z: number;
  /** Theil-Sen slope in units of the series per second. */
  readonly slopePerS: number;
  /** Slope × run duration ÷ the fitted value at the start of the run. */
  readonly relativeRise: number;
  readonly first: number;
  readonly last: number;
}

/** One equal-count window of the run. */
export interface WindowSignal {
  readonly startS: number;
  readonly endS: number;
  readonly requests: number;
  readonly arrivalRps: number;
  readonly e2eP50Ms: number;
  readonly e2eP95Ms: number;
  readonly phaseMeanMs: Readonly<Record<PhaseOrOther, number>>;
}

/** Batch sizes read from the compute spans. */
export interface BatchSignal {
  /** Requests whose compute span carries a batch size. */
  readonly recorded: number;
  readonly meanSize: number;
  readonly maxSize: number;
  /** Share of recorded requests that ran in a batch of the largest size seen. */
  readonly fullShare: number;
  /** Mean batch ÷ largest batch seen (1 = every batch as large as the largest); absent when per-request sizes are unknown (aggregates). */
  readonly fill?: number;
  /** Smallest batch seen; absent when none was recorded or per-request sizes are unknown (aggregates). */
  readonly minSize?: number;
}

/** GPU evidence folded over all GPUs (the worst GPU wins). */
export interface DeviceSignal {
  readonly gpus: number;
  readonly samples: number;
  readonly gpuName?: string;
  readonly throttledShare: number;
  readonly thermalShare: number;
  readonly powerShare: number;
  /** Share of loaded samples under a slowdown that means trouble (thermal, HW slowdown, HW power brake; analyzer/device `slowdownShare`), not the SW power cap. */
  readonly slowdownShare: number;
  /** Share of loaded samples per clock-event reason (the worst GPU per reason). */
  readonly reasons: Readonly<Partial<Record<ClockEventReason, number>>>;
  readonly smClockDropShare: number;
  /** Relative growth of used GPU memory over the run (slope × duration ÷ first window). */
  readonly memoryGrowth?: number;
  readonly memorySlopeBytesPerS?: number;
  /** Largest used ÷ total GPU memory seen. */
  readonly memoryUsedShare?: number;
  readonly temperatureRiseC?: number;
  readonly meanUtilization?: number;
  readonly errors: number;
}

/** One replica (Prometheus `instance`) of the model, from per-replica aggregates. */
export interface ReplicaSignal {
  readonly replica: string;
  readonly requests: number;
  readonly e2eMeanMs: number;
  /** NaN where the source has no histogram (Triton, TorchServe counters). */
  readonly e2eP99Ms: number;
  /** Mean time per phase, where the source measures it. */
  readonly phaseMeanMs: Readonly<Partial<Record<Phase, number>>>;
}

/** A distribution in ms. */
export interface MsDistribution {
  /** What p50Ms and p95Ms are; absent: per-request percentiles. `mean`: both hold the mean. */
  readonly statistic?: Statistic;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/**
 * Generation signals over the generative requests (model/generation defines TTFT and TPOT).
 * Shares of TTFT are Σ phase ÷ Σ TTFT over requests with a first token: the phases a request
 * passes before its first token (queue, preprocess, prefill) are all inside TTFT.
 */
export interface GenerationSignal {
  /** Diagnosed requests that generated tokens. */
  readonly requests: number;
  readonly ttft: MsDistribution;
  /** Requests with a first token and ≥ 2 output tokens. */
  readonly tpot?: MsDistribution;
  readonly ttftQueueShare: number;
  readonly ttftPrefillShare: number;
  readonly ttftPreprocessShare: number;
  /** Σ decode ÷ Σ e2e over the generative requests. */
  readonly decodeShare: number;
  /** Prompt tokens per request; `statistic` `mean`: p50 and p95 hold the mean (a counter ÷ requests). */
  readonly tokensIn?: { readonly p50: number; readonly p95: number; readonly mean: number; readonly statistic?: Statistic };
  readonly tokensOutMean?: number;
  /** Σ cached prompt tokens ÷ Σ prompt tokens, where reported. */
  readonly cachedShare?: number;
  /** Share of generative requests whose prompt-prefix hash repeats an earlier one (inference.input.hash). */
  readonly prefixRepeatShare?: number;
  /** Share of generative requests carrying inference.input.hash. */
  readonly prefixHashedShare: number;
  /** KV cache blocks in use, 0–1 (the fullest replica's mean), where the server exports it (Prometheus path). */
  readonly kvCacheUsage?: number;
  /** Requests preempted per second for want of KV cache, where the server counts them (Prometheus path). */
  readonly preemptionsPerS?: number;
}

/** Everything the rules read. */
export interface Signals {
  readonly model: string;
  /** `requests` when computed from per-request timings (traces), `aggregates` from metrics (Prometheus). */
  readonly basis: 'requests' | 'aggregates';
  /** Requests diagnosed (after warm-up trim and errors); equals requests.length on the trace path. */
  readonly diagnosed: number;
  /** Per replica, from the Prometheus path only. */
  readonly replicas?: readonly ReplicaSignal[];
  /** Requests diagnosed: after warm-up trim, without errors, ordered by start (empty on aggregates). */
  readonly requests: RequestTable;
  readonly totalRequests: number;
  readonly warmupTrimmed: number;
  readonly errors: number;
  /** Seconds from the first diagnosed start to the last diagnosed end. */
  readonly durationS: number;
  /**
   * Start of each diagnosed request, seconds since the first one (empty on aggregates). A method,
   * not a field: each call makes a new array from the starts the table holds (a run of 300,000
   * requests held both arrays through the whole diagnosis, 4.4 MB, when they were fields), the
   * caller's own to sort or change: call it once and keep the array only while it is needed.
   */
  startSeconds(): Float64Array;
  /** End of each diagnosed request (start + e2e), seconds since the first start, in the same order (empty on aggregates); a new array on each call, as startSeconds. */
  endSeconds(): Float64Array;
  readonly arrivalRps: number;
  /** Time-weighted mean of requests in flight (Little's law: Σ e2e ÷ duration). */
  readonly meanInFlight: number;
  /** e2e latency; `statistic` says what the percentiles are (absent: per request; `mean`: each holds the mean). The windows' e2e p50/p95 are the same statistic. */
  readonly e2e: { readonly meanMs: number; readonly p50Ms: number; readonly p95Ms: number; readonly p99Ms: number; readonly statistic?: Statistic };
  readonly serverMeanMs: number;
  readonly phases: Readonly<Record<PhaseOrOther, PhaseSignal>>;
  /** Share of e2e covered by phase spans. */
  readonly coverage: number;
  /** Σ compute ÷ Σ server time. */
  readonly computeShareOfServer: number;
  /** Largest phase by share of e2e (never `other`). */
  readonly dominantPhase?: Phase;
  readonly batch: BatchSignal;
  readonly requestBytesP50?: number;
  readonly responseBytesP50?: number;
  readonly runtime?: string;
  readonly runtimeProvider?: string;
  readonly precision?: string;
  readonly device?: string;
  readonly windows: readonly WindowSignal[];
  readonly trends?: {
    readonly e2eP50: TrendSignal;
    readonly e2eP95: TrendSignal;
    /** Arrival rate: size from the window rates (Theil-Sen), significance from the Laplace test over all arrivals. */
    readonly arrival: TrendSignal;
    readonly phases: Readonly<Record<PhaseOrOther, TrendSignal>>;
    /** Trend of cache-hit latency, when the service reports cache hits in most windows. */
    readonly cacheHit?: TrendSignal;
  };
  /** Last three windows within the stability ratio on arrival rate and p50 (perf_analyzer's rule). */
  readonly stable: boolean;
  readonly tail?: TailAttribution;
  readonly clockSkewShare: number;
  /** Some diagnosed request's network time was derived as client − server duration (no network spans); false on aggregates. */
  readonly networkDerived: boolean;
  /** Share of the diagnosed requests the service answered from its cache (inference.cache.hit); 0 on aggregates. */
  readonly cacheHitShare: number;
  /** GPU evidence from the sidecar, when given. */
  readonly gpu?: DeviceSignal;
  /** Present when at least half the diagnosed requests generated tokens and some have a first token: the rules then judge their generation forms. */
  readonly generation?: GenerationSignal;
  /** Validity assumptions that failed, in words; empty when the data is good enough. */
  readonly invalid: readonly string[];
}

const ALL_PARTS: readonly PhaseOrOther[] = [...PHASES, OTHER];

/** Time of `part` in each request of the table, ms; NaN where a phase is absent (`other` is never absent). */
export function partColumn(requests: RequestTable, part: PhaseOrOther): Float64Array {
  return part === OTHER ? requests.otherMs : requests.phase(part);
}

/**
 * Trace ids of up to `k` requests whose value (a column of the table; NaN counts as 0, an absent
 * phase) is closest to `target`, among the requests at `among` (ascending; default all). One
 * linear pass, no sort.
 */
export function tracesNear(requests: RequestTable, values: ArrayLike<number>, target: number, k = 3, among?: ArrayLike<number>): string[] {
  const best: { id: string; d: number }[] = [];
  const n = among === undefined ? requests.length : among.length;
  // A request is skipped when k are kept and it is no closer than the farthest of them (a NaN
  // worst or distance skips nothing); the scan for the next one is numbers only.
  for (let j = closerFrom(values, target, best.length === k ? best[k - 1]!.d : Number.NaN, 0, n, among); j < n; j = closerFrom(values, target, best.length === k ? best[k - 1]!.d : Number.NaN, j + 1, n, among)) {
    const i = among === undefined ? j : among[j]!;
    const v = values[i]!;
    admit(best, requests.traceId(i), Math.abs((v === v ? v : 0) - target), k);
  }
  return best.map((b) => b.id);
}

/**
 * The first position j ≥ `from` (of `among`, or of the table) whose value (NaN as 0) is not at
 * least `worst` from `target`; `n` when none is. Only numbers in the loop, so V8 compiles a small
 * loop for it: with the trace ids and the list kept inline, tracesNear was 11–25 ms of compilation.
 */
function closerFrom(values: ArrayLike<number>, target: number, worst: number, from: number, n: number, among: ArrayLike<number> | undefined): number {
  for (let j = from; j < n; j++) {
    const v = values[among === undefined ? j : among[j]!]!;
    if (!(Math.abs((v === v ? v : 0) - target) >= worst)) return j;
  }
  return n;
}

/**
 * Puts trace `id` at distance `d` into `best` (ascending by distance, ties in arrival order, one
 * entry per trace, at most `k`): for the few requests closerFrom finds, out of its loop.
 */
function admit(best: { id: string; d: number }[], id: string, d: number, k: number): void {
  const same = best.findIndex((b) => b.id === id);
  if (same >= 0) {
    if (best[same]!.d <= d) return;
    best.splice(same, 1);
  }
  let at = best.length;
  while (at > 0 && best[at - 1]!.d > d) at -= 1;
  best.splice(at, 0, { id, d });
  if (best.length > k) best.pop();
}

function sortedOf(values: ArrayLike<number>): Float64Array {
  return sortNumbers(values);
}

/** Requests with a REQUEST_FLAG bit set. */
function countFlag(requests: RequestTable, bit: number): number {
  let count = 0;
  for (let i = 0; i < requests.length; i++) if ((requests.flags[i]! & bit) !== 0) count++;
  return count;
}

/** Copies the values of a column that are present (not NaN), in table order, to the start of `scratch` (of the column's length); returns how many. */
function copyPresent(column: Float64Array, scratch: Float64Array): number {
  let k = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i]!;
    if (v === v) scratch[k++] = v;
  }
  return k;
}

/** The median of a column's present values; NaN when none is. */
function presentMedian(column: Float64Array): number {
  let present = 0;
  for (let i = 0; i < column.length; i++) present += column[i] === column[i] ? 1 : 0;
  // Most runs record no sizes: nothing to copy.
  if (present === 0) return Number.NaN;
  const values = new Float64Array(present);
  copyPresent(column, values);
  return quantilesInPlace(values, [0.5])[0]!;
}

/** What the signals read of every part's column (Distributions). */
interface Distributions {
  readonly phases: Record<PhaseOrOther, PhaseSignal>;
  /** Each part's time summed (absent as 0). */
  readonly sums: Map<PhaseOrOther, number>;
  /** e2e's p40, p50, p60, p95 and p99. */
  readonly e2eQuantiles: readonly [number, number, number, number, number];
  /** Each part's mean in each window (windowsOf), in ALL_PARTS order. */
  readonly windowMeans: readonly (readonly number[])[];
  /** The e2e tail's cohorts and each part's time summed over each (tailAttribution); undefined under 20 requests. */
  readonly e2eTail?: { readonly cohorts: Cohorts; readonly tail: Map<PhaseOrOther, number>; readonly middle: Map<PhaseOrOther, number> };
}

/**
 * Every part's PhaseSignal, its mean in each of `windowCount` windows and its time in the e2e
 * tail's cohorts, from one read of its column, and the e2e quantiles, through one scratch array.
 * One read: past SPILL_ROWS requests a column comes back from the table's temporary file, a new
 * array each time (model/_cold-columns.ts), and the phase signals, the windows and the two
 * cohorts read each part's column four times, 32 of a 300,000-request run's 47 columns read back
 * (2.4 MB each). A function of its own so the scratch array is let go when they are done.
 */
function distributions(requests: RequestTable, e2eSum: number, windowCount: number): Distributions {
  const n = requests.length;
  const scratch = new Float64Array(n);
  scratch.set(requests.e2eMs);
  const e2eQuantiles = quantilesInPlace(scratch, [0.4, 0.5, 0.6, 0.95, 0.99]) as [number, number, number, number, number];
  const [p40, , p60, p95, p99] = e2eQuantiles;
  const cohorts = n >= 20 ? cohortsOf(requests.e2eMs, undefined, [p40, p60, p95, p99]) : undefined;
  const sums = new Map<PhaseOrOther, number>();
  const phases = {} as Record<PhaseOrOther, PhaseSignal>;
  const tail = new Map<PhaseOrOther, number>();
  const middle = new Map<PhaseOrOther, number>();
  const windowMeans = ALL_PARTS.map((p) => {
    const column = partColumn(requests, p);
    phases[p] = phaseSignal(column, p, e2eSum, scratch, sums);
    if (cohorts !== undefined) {
      tail.set(p, sumAt(column, cohorts.tail));
      middle.set(p, sumAt(column, cohorts.middle));
    }
    return Array.from({ length: windowCount }, (_, w) => {
      const [lo, hi] = windowBounds(n, windowCount, w);
      return hi > lo ? sumPresentIn(column, lo, hi) / (hi - lo) : 0;
    });
  });
  return { phases, sums, e2eQuantiles, windowMeans, ...(cohorts !== undefined ? { e2eTail: { cohorts, tail, middle } } : {}) };
}

/** The most common value of a text field (the first seen among equals); undefined when none. */
function mostCommon(requests: RequestTable, field: TableText): string | undefined {
  const counts = new Map<string, number>();
  for (let i = 0; i < requests.length; i++) {
    const v = requests.text(field, i);
    if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount) [best, bestCount] = [v, c];
  return best;
}

/**
 * One part's signal from its column (partColumn); `values` is scratch of the table's length, overwritten (one buffer for every
 * phase, not one each). The part's Σ (absent as 0) goes to `sums`: the compute share of server time reads it.
 */
function phaseSignal(column: Float64Array, part: PhaseOrOther, e2eSum: number, values: Float64Array, sums: Map<PhaseOrOther, number>): PhaseSignal {
  const n = column.length;
  // The loops are small functions of their own: this one, run once per part, takes a different
  // branch for each, which in a loop V8 had optimized meant a deoptimization per part.
  const present = part === OTHER ? copyCountingPositive(column, values) : copyCountingPresent(column, values);
  sums.set(part, present === 0 ? 0 : sumOf(values));
  if (present === 0) return { meanMs: 0, p50Ms: 0, p95Ms: 0, share: 0, present: 0 };
  const sum = sums.get(part)!;
  const [p50Ms, p95Ms] = quantilesInPlace(values, [0.5, 0.95]) as [number, number];
  return {
    meanMs: sum / n,
    p50Ms,
    p95Ms,
    share: e2eSum > 0 ? sum / e2eSum : 0,
    present,
  };
}

/**
 * Copies `column` into `values`, absent (NaN) as 0; returns how many were present. No branch to
 * take: an `if` whose arm the first columns (every request present) never took had no type
 * feedback, and the first absent phase deoptimized the loop V8 had compiled.
 */
function copyCountingPresent(column: Float64Array, values: Float64Array): number {
  let present = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i]!;
    const has = v === v;
    values[i] = has ? v : 0;
    present += has ? 1 : 0;
  }
  return present;
}

/** Copies `column` into `values`; returns how many are above 0 (`other` is "present" when some time is uncovered). */
function copyCountingPositive(column: Float64Array, values: Float64Array): number {
  let present = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i]!;
    values[i] = v;
    present += v > 0 ? 1 : 0;
  }
  return present;
}

function sumOf(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

/** Mann-Kendall significance and Theil-Sen size of a trend in `ys` over times `xs` (seconds). */
export function trendOf(xs: readonly number[], ys: readonly number[]): TrendSignal {
  const mk = mannKendall(ys);
  const slope = theilSenSlope(xs, ys);
  const intercepts = sortedOf(ys.map((y, i) => y - slope * (xs[i] as number)));
  const x0 = xs[0] ?? 0;
  const x1 = xs[xs.length - 1] ?? 0;
  const fittedStart = quantileSorted(intercepts, 0.5) + slope * x0;
  const base = Math.abs(fittedStart) > 1e-9 ? Math.abs(fittedStart) : Math.max(1e-9, Math.abs(quantileSorted(sortedOf(ys), 0.5)));
  return {
    pIncreasing: mk.pIncreasing,
    z: mk.z,
    slopePerS: slope,
    relativeRise: (slope * (x1 - x0)) / base,
    first: ys[0] ?? Number.NaN,
    last: ys[ys.length - 1] ?? Number.NaN,
  };
}

/** `times`: the diagnosed requests' starts; `sinceFirstSum`: Σ (start − first start) over the requests after the first (RowPass), the Laplace test's statistic. */
function arrivalTrend(xs: readonly number[], windows: readonly WindowSignal[], times: StartTimes, sinceFirstSum: number): TrendSignal {
  // Size of the change from the window rates; significance from the Laplace test on every arrival.
  const size = trendOf(xs, windows.map((w) => w.arrivalRps));
  const n = times.starts.length;
  const first = n > 0 ? secondsAt(times, 0) : 0;
  const last = n > 0 ? secondsAt(times, n - 1) : 0;
  // Arrivals strictly inside (first, last]: the first one only marks the start of observation.
  const count = Math.max(0, n - 1);
  const laplace = laplaceTrendOfMean(count, count > 0 ? sinceFirstSum / count : 0, last - first);
  return { ...size, pIncreasing: laplace.pIncreasing, z: laplace.z };
}

function batchSignal(rows: RowPass): BatchSignal {
  const { batchRecorded: recorded, batchSum: sum, batchMax: maxSize, batchMin: minSize, batchFull: full } = rows;
  if (recorded === 0) return { recorded: 0, meanSize: 1, maxSize: 1, fullShare: 0 };
  const meanSize = sum / recorded;
  return {
    recorded,
    meanSize,
    maxSize,
    fullShare: maxSize > 1 ? full / recorded : 0,
    fill: maxSize > 0 ? meanSize / maxSize : 0,
    minSize,
  };
}

function msDistribution(values: readonly number[]): MsDistribution {
  const sorted = sortedOf(values);
  return { meanMs: mean(values), p50Ms: quantileSorted(sorted, 0.5), p95Ms: quantileSorted(sorted, 0.95) };
}

/** `generativeCount`: the requests with a first token or an output token count (the row pass counts them). */
function generationSignal(requests: RequestTable, generativeCount: number): GenerationSignal | undefined {
  // Most requests generative, or none of this: checked on the row pass's count, before any loop.
  if (generativeCount === 0 || generativeCount < requests.length / 2) return undefined;
  const ttftColumn = requests.number('ttftMs');
  const outColumn = requests.number('tokensOut');
  const inColumn = requests.number('tokensIn');
  const cachedColumn = requests.number('tokensCached');
  // Generative: a first token or an output token count (model/generation isGenerative).
  const generative: number[] = [];
  for (let i = 0; i < requests.length; i++) if (ttftColumn[i] === ttftColumn[i] || outColumn[i] === outColumn[i]) generative.push(i);
  const withFirst = generative.filter((i) => ttftColumn[i] === ttftColumn[i]);
  // No first token anywhere (TGI router spans: token counts only): the forms read shares of TTFT,
  // unknown here, not 0, so the classic forms judge these requests, as on the Prometheus path.
  if (withFirst.length === 0) return undefined;
  const ttfts = withFirst.map((i) => ttftColumn[i]!);
  const ttftSum = ttfts.reduce((a, b) => a + b, 0);
  const shareOfTtft = (phase: Phase): number => {
    if (!(ttftSum > 0)) return 0;
    const column = requests.phase(phase);
    return withFirst.reduce((a, i) => a + Math.min(column[i] === column[i] ? column[i]! : 0, ttftColumn[i]!), 0) / ttftSum;
  };
  const present = (column: Float64Array, i: number): number | undefined => (column[i] === column[i] ? column[i] : undefined);
  const tpots = generative.map((i) => timePerOutputTokenMs(requests.e2eMs[i]!, present(ttftColumn, i), present(outColumn, i))).filter((v): v is number => v !== undefined);
  const e2eSum = generative.reduce((a, i) => a + requests.e2eMs[i]!, 0);
  const tokensIn = generative.filter((i) => inColumn[i] === inColumn[i]).map((i) => inColumn[i]!);
  const tokensOut = generative.filter((i) => outColumn[i] === outColumn[i]).map((i) => outColumn[i]!);
  const cached = generative.filter((i) => cachedColumn[i] === cachedColumn[i] && inColumn[i] === inColumn[i]);
  const cachedIn = cached.reduce((a, i) => a + inColumn[i]!, 0);
  const hashed = generative.filter((i) => requests.inputHash(i) !== undefined && requests.inputHash(i) !== '');
  const seen = new Set<string>();
  let repeats = 0;
  for (const i of hashed) {
    const hash = requests.inputHash(i)!;
    if (seen.has(hash)) repeats++;
    else seen.add(hash);
  }
  const decode = requests.phase('decode');
  const inSorted = sortedOf(tokensIn);
  return {
    requests: generative.length,
    ttft: msDistribution(ttfts),
    ...(tpots.length > 0 ? { tpot: msDistribution(tpots) } : {}),
    ttftQueueShare: shareOfTtft('queue'),
    ttftPrefillShare: shareOfTtft('prefill'),
    ttftPreprocessShare: shareOfTtft('preprocess'),
    decodeShare: e2eSum > 0 ? generative.reduce((a, i) => a + (decode[i] === decode[i] ? decode[i]! : 0), 0) / e2eSum : 0,
    ...(tokensIn.length > 0 ? { tokensIn: { p50: quantileSorted(inSorted, 0.5), p95: quantileSorted(inSorted, 0.95), mean: mean(tokensIn) } } : {}),
    ...(tokensOut.length > 0 ? { tokensOutMean: mean(tokensOut) } : {}),
    ...(cachedIn > 0 ? { cachedShare: cached.reduce((a, i) => a + Math.min(cachedColumn[i]!, inColumn[i]!), 0) / cachedIn } : {}),
    ...(hashed.length > 0 ? { prefixRepeatShare: repeats / hashed.length } : {}),
    prefixHashedShare: hashed.length / generative.length,
  };
}

/** GPU evidence folded over all GPUs (the worst GPU wins), for the rules. */
export function deviceSignal(device: readonly DeviceEvidence[], durationS: number): DeviceSignal | undefined {
  const withSamples = device.filter((d) => d.samples > 0);
  if (withSamples.length === 0) return undefined;
  const maxOf = (pick: (d: DeviceEvidence) => number | undefined): number | undefined => {
    const values = withSamples.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return values.length > 0 ? Math.max(...values) : undefined;
  };
  const growth = withSamples
    .map((d) => {
      const first = d.windows.find((w) => w.memoryUsedBytes !== undefined)?.memoryUsedBytes;
      if (d.memorySlopeBytesPerS === undefined || first === undefined || first <= 0) return undefined;
      return (d.memorySlopeBytesPerS * durationS) / first;
    })
    .filter((v): v is number => v !== undefined);
  const gpuName = withSamples.find((d) => d.gpuName !== undefined)?.gpuName;
  const slope = maxOf((d) => d.memorySlopeBytesPerS);
  const rise = maxOf((d) => d.temperatureRiseC);
  const util = maxOf((d) => d.meanUtilization);
  const usedShare = maxOf((d) => d.memoryUsedShareMax);
  return {
    gpus: withSamples.length,
    samples: withSamples.reduce((a, d) => a + d.samples, 0),
    ...(gpuName !== undefined ? { gpuName } : {}),
    throttledShare: maxOf((d) => d.throttledShare) ?? 0,
    thermalShare: maxOf((d) => d.thermalThrottledShare ?? (d.reasons.sw_thermal_slowdown ?? 0) + (d.reasons.hw_thermal_slowdown ?? 0)) ?? 0,
    powerShare: maxOf((d) => d.powerThrottledShare ?? (d.reasons.sw_power_cap ?? 0) + (d.reasons.hw_power_brake_slowdown ?? 0)) ?? 0,
    slowdownShare: maxOf(slowdownShare) ?? 0,
    reasons: Object.fromEntries(
      [...new Set(withSamples.flatMap((d) => Object.keys(d.reasons) as ClockEventReason[]))].map((r) => [r, maxOf((d) => d.reasons[r]) ?? 0]),
    ) as Partial<Record<ClockEventReason, number>>,
    smClockDropShare: maxOf((d) => d.smClockDropShare) ?? 0,
    ...(growth.length > 0 ? { memoryGrowth: Math.max(...growth) } : {}),
    ...(slope !== undefined ? { memorySlopeBytesPerS: slope } : {}),
    ...(usedShare !== undefined ? { memoryUsedShare: usedShare } : {}),
    ...(rise !== undefined ? { temperatureRiseC: rise } : {}),
    ...(util !== undefined ? { meanUtilization: util } : {}),
    errors: withSamples.reduce((a, d) => a + (d.errors ?? 0), 0),
  };
}

/**
 * The requests a tail attribution compares (tailOf): those above the p95 of a metric, and those
 * from its p40 to its p60, by index, ascending; with its p99, near which the examples are.
 */
interface Cohorts {
  readonly tail: number[];
  readonly middle: number[];
  readonly p99: number;
}

/** The Cohorts of `metric` over the requests at `over` (undefined: all of them), whose p40, p60, p95 and p99 are `quantiles`. */
function cohortsOf(metric: Float64Array, over: readonly number[] | undefined, quantiles: readonly [number, number, number, number]): Cohorts {
  const [p40, p60, p95, p99] = quantiles;
  const n = over === undefined ? metric.length : over.length;
  const tail: number[] = [];
  const middle: number[] = [];
  for (let j = 0; j < n; j++) {
    const i = over === undefined ? j : over[j]!;
    const v = metric[i]!;
    if (v > p95) tail.push(i);
    if (v >= p40 && v <= p60) middle.push(i);
  }
  return { tail, middle, p99 };
}

/**
 * Which part grows in the slow requests: each part's share of a cohort's time, requests above
 * the p95 of `metric` against those around its p50 (`cohorts`, of at least 20 requests ranked).
 * `sumsIn(cohort)` is each part's time summed over the requests of `cohort`, in their order.
 */
function tailOf(
  requests: RequestTable,
  metric: Float64Array,
  cohorts: Cohorts,
  parts: readonly PhaseOrOther[],
  sumsIn: (cohort: 'tail' | 'middle') => ReadonlyMap<PhaseOrOther, number>,
  words: { readonly cohort: string; readonly time: string; readonly middle: string },
  basis: TailAttribution['basis'],
): TailAttribution | undefined {
  const { tail, middle, p99 } = cohorts;
  if (tail.length === 0 || middle.length === 0) return undefined;
  // Each part's share of a cohort's time, every part at once.
  const sharesIn = (cohort: 'tail' | 'middle'): Map<PhaseOrOther, number> => {
    const total = sumAt(metric, cohorts[cohort]);
    const sums = total > 0 ? sumsIn(cohort) : undefined;
    return new Map(parts.map((part) => [part, sums !== undefined ? sums.get(part)! / total : 0]));
  };
  const tailShares = sharesIn('tail');
  const middleShares = sharesIn('middle');
  let best: { part: PhaseOrOther; tail: number; mid: number } | undefined;
  for (const part of parts) {
    const t = tailShares.get(part)!;
    const m = middleShares.get(part)!;
    if (t === 0 && m === 0) continue;
    if (!best || t - m > best.tail - best.mid || (t - m === best.tail - best.mid && t > best.tail)) best = { part, tail: t, mid: m };
  }
  if (!best) return undefined;
  // When no part grows in the tail, the tail is the same mix, only longer: name the largest tail part.
  if (best.tail - best.mid < 0.02) {
    for (const part of parts) {
      const t = tailShares.get(part)!;
      if (t > best.tail) best = { part, tail: t, mid: middleShares.get(part)! };
    }
  }
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  return {
    basis,
    phase: best.part,
    tailShare: best.tail,
    medianShare: best.mid,
    text: `${words.cohort} (${tail.length}) spend ${pct(best.tail)} of their ${words.time} in ${best.part}, ${words.middle} ${pct(best.mid)}`,
    exampleTraceIds: tracesNear(requests, metric, p99, 3, tail),
  };
}

/** Σ column[lo … hi − 1] in order, NaN (an absent phase) as 0: every window's every part, one loop V8 optimizes once. */
function sumPresentIn(column: Float64Array, lo: number, hi: number): number {
  let sum = 0;
  for (let i = lo; i < hi; i++) {
    const v = column[i]!;
    sum += v === v ? v : 0;
  }
  return sum;
}

/** Σ column[i] over the requests at `indices`, in their order, NaN (an absent phase) as 0. One loop for every part and cohort, so V8 optimizes it once. */
function sumAt(column: Float64Array, indices: readonly number[]): number {
  let sum = 0;
  for (let j = 0; j < indices.length; j++) {
    const v = column[indices[j]!]!;
    sum += v === v ? v : 0;
  }
  return sum;
}

/** column[i] for each of `indices`, in their order. */
function valuesAt(column: Float64Array, indices: readonly number[]): Float64Array {
  const out = new Float64Array(indices.length);
  for (let j = 0; j < indices.length; j++) out[j] = column[indices[j]!]!;
  return out;
}

/** The end-to-end tail: which part of e2e grows in requests above p95, from its cohorts and each part's time in them (Distributions). */
function tailAttribution(requests: RequestTable, e2eTail: Distributions['e2eTail']): TailAttribution | undefined {
  if (e2eTail === undefined) return undefined;
  return tailOf(requests, requests.e2eMs, e2eTail.cohorts, ALL_PARTS, (cohort) => e2eTail[cohort], { cohort: 'requests above p95', time: 'time', middle: 'those around p50' }, 'e2e');
}

/**
 * Phases that can run before a streamed request's first token, in the order they fill it (decode
 * and postprocess come after it); prefill before compute, which may also cover decode.
 */
const BEFORE_FIRST_TOKEN: readonly PhaseOrOther[] = ['preprocess', 'serialize', 'network', 'queue', 'transfer', 'prefill', 'compute', OTHER];

/**
 * The time-to-first-token tail of generative requests. By e2e, the slowest generations are the
 * longest ones and their tail is decode; what an SLO on TTFT needs is which phase before the
 * first token grows in the requests whose first token came late. Phases fill the TTFT in pipeline
 * order, each up to what is left of it, so a span that ran past the first token (a compute span
 * over the whole generation) adds only its part before it; `other` is the TTFT none covers.
 */
function ttftTailAttribution(requests: RequestTable, withFirstToken: number): TailAttribution | undefined {
  // Generative traffic only (`withFirstToken`: requests with a first token, counted by the row
  // pass): mixed tables keep the e2e tail (the generation signal's own rule).
  if (withFirstToken < 20 || withFirstToken < requests.length / 2) return undefined;
  const ttft = requests.number('ttftMs');
  const generative: number[] = [];
  for (let i = 0; i < requests.length; i++) if (ttft[i] === ttft[i]) generative.push(i);
  const phases = BEFORE_FIRST_TOKEN.filter((p): p is Phase => p !== OTHER);
  // `generative` holds the withFirstToken requests: at least 20, as tailOf's cohorts need.
  const cohorts = cohortsOf(ttft, generative, quantilesInPlace(valuesAt(ttft, generative), [0.4, 0.6, 0.95, 0.99]) as [number, number, number, number]);
  // Over a cohort's requests only, phase after phase, what each takes of what is left of the
  // TTFT: one phase's column held at a time, not one column per phase over every request.
  const sumsIn = (which: 'tail' | 'middle'): Map<PhaseOrOther, number> => {
    const cohort = cohorts[which];
    const left = Float64Array.from(cohort, (i) => ttft[i]!);
    const sums = new Map<PhaseOrOther, number>();
    for (const phase of phases) {
      const column = requests.phase(phase);
      let sum = 0;
      for (let j = 0; j < cohort.length; j++) {
        const v = column[cohort[j]!]!;
        const take = v === v && v > 0 ? Math.min(v, left[j]!) : 0;
        sum += take;
        left[j] = left[j]! - take;
      }
      sums.set(phase, sum);
    }
    let other = 0;
    for (let j = 0; j < left.length; j++) other += Math.max(0, left[j]!);
    return sums.set(OTHER, other);
  };
  return tailOf(requests, ttft, cohorts, BEFORE_FIRST_TOKEN, sumsIn, { cohort: 'requests above TTFT p95', time: 'time to first token', middle: 'those around the TTFT p50' }, 'ttft');
}

/** Window `w` of `count` over `n` requests in start order: its first request and the one after its last. */
function windowBounds(n: number, count: number, w: number): [number, number] {
  return [Math.floor((w * n) / count), Math.floor(((w + 1) * n) / count)];
}

/** `count` windows of the requests in start order; `means`: each part's mean in each window, in ALL_PARTS order (Distributions). */
function windowsOf(requests: RequestTable, times: StartTimes, count: number, means: readonly (readonly number[])[]): WindowSignal[] {
  const n = requests.length;
  const windows: WindowSignal[] = [];
  for (let w = 0; w < count; w++) {
    const [lo, hi] = windowBounds(n, count, w);
    const size = hi - lo;
    const t0 = secondsAt(times, lo);
    // Arrival rate over the window: its requests divided by the time until the next window's first arrival.
    const t1 = secondsAt(times, hi < n ? hi : n - 1);
    const span = t1 - t0;
    const arrivals = hi < n ? size : size - 1;
    const [e2eP50Ms, e2eP95Ms] = quantilesInPlace(requests.e2eMs.slice(lo, hi), [0.5, 0.95]) as [number, number];
    const phaseMeanMs = Object.fromEntries(ALL_PARTS.map((p, k) => [p, means[k]![w]!])) as Record<PhaseOrOther, number>;
    windows.push({
      startS: t0,
      endS: t1,
      requests: size,
      arrivalRps: span > 0 ? arrivals / span : 0,
      e2eP50Ms,
      e2eP95Ms,
      phaseMeanMs,
    });
  }
  return windows;
}

/** The diagnosed requests' starts (ns from any origin, in start order) and end-to-end times, from which their times in seconds are made. */
interface StartTimes {
  readonly starts: Float64Array;
  readonly e2eMs: Float64Array;
}

/** Request `i`'s start, seconds after the first start. */
function secondsAt(times: StartTimes, i: number): number {
  return (times.starts[i]! - times.starts[0]!) / 1e9;
}

/** Every request's start, seconds after the first start (Signals.startSeconds). */
function startsOf(times: StartTimes): Float64Array {
  const { starts } = times;
  const out = new Float64Array(starts.length);
  const t0 = starts.length > 0 ? starts[0]! : 0;
  for (let i = 0; i < starts.length; i++) out[i] = (starts[i]! - t0) / 1e9;
  return out;
}

/** Every request's end (start + e2e), seconds after the first start (Signals.endSeconds). */
function endsOf(times: StartTimes): Float64Array {
  const out = startsOf(times);
  for (let i = 0; i < out.length; i++) out[i]! += times.e2eMs[i]! / 1000;
  return out;
}

/**
 * Signals.startSeconds and endSeconds. Made here, not in computeSignals: a closure made there
 * would keep every variable its closures share alive with the signals.
 */
function timeMethods(times: StartTimes): Pick<Signals, 'startSeconds' | 'endSeconds'> {
  return { startSeconds: () => startsOf(times), endSeconds: () => endsOf(times) };
}

/**
 * What one pass over the diagnosed requests gathers. The diagnosis runs once per process, so a
 * pass of its own over every request ran in V8's interpreter until on-stack replacement and was
 * compiled on its own: a dozen of them, each reading a column or two, were a third of the
 * diagnosis's CPU on 59,000 requests. Sums run in table order, as the passes they replace did.
 */
interface RowPass {
  /** Latest end, seconds after the first start. */
  readonly lastEndS: number;
  readonly e2eSum: number;
  readonly serverSum: number;
  /** Σ (start − first start) over the requests after the first, seconds: the Laplace test's statistic. */
  readonly sinceFirstSum: number;
  /** Requests with REQUEST_FLAG.CLOCK_SKEW, with NETWORK_DERIVED, answered from the service's cache. */
  readonly clockSkew: number;
  readonly networkDerived: number;
  readonly cacheHits: number;
  /** Requests with a batch size, Σ and largest of their sizes, and how many ran in a batch of the largest. */
  readonly batchRecorded: number;
  readonly batchSum: number;
  readonly batchMax: number;
  readonly batchMin: number;
  readonly batchFull: number;
  /** Requests with a first token; with a first token or an output token count (generative, as model/generation isGenerative). */
  readonly withFirstToken: number;
  readonly generative: number;
}

/** The RowPass of `requests`, whose starts are `starts` (ns from any origin; the first request's start is the run's start). */
function rowPass(requests: RequestTable, starts: Float64Array): RowPass {
  const n = requests.length;
  const e2e = requests.e2eMs;
  const server = requests.serverMs;
  const flags = requests.flags;
  const hits = requests.cacheHits();
  const batch = requests.number('batchSize');
  const ttft = requests.number('ttftMs');
  const tokensOut = requests.number('tokensOut');
  const t0 = n > 0 ? starts[0]! : 0;
  let lastEndS = 0;
  let e2eSum = 0;
  let serverSum = 0;
  let sinceFirstSum = 0;
  let clockSkew = 0;
  let networkDerived = 0;
  let cacheHits = 0;
  let batchRecorded = 0;
  let batchSum = 0;
  let batchMax = 0;
  let batchMin = Number.POSITIVE_INFINITY;
  let batchFull = 0;
  let withFirstToken = 0;
  let generative = 0;
  for (let i = 0; i < n; i++) {
    // The expressions of secondsAt and endsOf: the same values as the arrays Signals makes.
    const at = (starts[i]! - t0) / 1e9;
    const e = e2e[i]!;
    const end = at + e / 1000;
    // Math.max without the call: a NaN end makes the result NaN for good, as Math.max would.
    if (!(end <= lastEndS) && lastEndS === lastEndS) lastEndS = end;
    e2eSum += e;
    serverSum += server[i]!;
    // Σ (start − first start) over the arrivals after the first (arrivalTrend's Laplace test): the
    // first start is 0 here, so its own term adds 0 and the sum is the same without a test for it.
    sinceFirstSum += at;
    // Counts as additions, not `if`s: an arm first taken after V8 compiled the loop would deoptimize it.
    const f = flags[i]!;
    clockSkew += (f & REQUEST_FLAG.CLOCK_SKEW) !== 0 ? 1 : 0;
    networkDerived += (f & REQUEST_FLAG.NETWORK_DERIVED) !== 0 ? 1 : 0;
    cacheHits += hits[i] === 1 ? 1 : 0;
    const size = batch[i]!;
    // NaN (not recorded) fails the test too.
    if (size > 0) {
      batchRecorded++;
      batchSum += size;
      if (size > batchMax) {
        batchMax = size;
        batchFull = 0;
      }
      if (size === batchMax) batchFull++;
      if (size < batchMin) batchMin = size;
    }
    const first = ttft[i] === ttft[i];
    withFirstToken += first ? 1 : 0;
    generative += first || tokensOut[i] === tokensOut[i] ? 1 : 0;
  }
  return { lastEndS, e2eSum, serverSum, sinceFirstSum, clockSkew, networkDerived, cacheHits, batchRecorded, batchSum, batchMax, batchMin, batchFull, withFirstToken, generative };
}

/**
 * Start offsets (ns) of `requests`, the start-ordered `ordered` less its first `trimmed`, and
 * without its failed requests when some failed. Without failures they are `ordered`'s own, which
 * the caller (the pipeline's measure stage) has usually computed already: the same differences of
 * exact integers as offsets of their own would give, without two more passes over every start.
 */
function offsetsOf(ordered: RequestTable, trimmed: number, requests: RequestTable): Float64Array {
  const own = ordered.startOffsets();
  return own.exact && requests.length === ordered.length - trimmed ? own.offsetsNs.subarray(trimmed) : requests.startOffsets().offsetsNs;
}

/** Requests ordered by start (the table itself when it already is). */
function byStart(requests: RequestTable): RequestTable {
  const order = requests.startOrder();
  return order === undefined ? requests : requests.select(order);
}

/** Compute every signal the rules use, once. */
export function computeSignals(
  input: { readonly model: string; readonly requests: Requests; readonly summary: ModelSummary; readonly device?: readonly DeviceEvidence[]; readonly server?: string },
  thresholds: SignalThresholds,
): Signals {
  const ordered = byStart(asTable(input.requests));
  const warmupTrimmed = Math.floor(ordered.length * thresholds['warmup.share']);
  const afterWarmup = ordered.slice(warmupTrimmed);
  const errors = countFlag(afterWarmup, REQUEST_FLAG.ERROR);
  // Failed requests often fail fast; their timings would make every phase look cheaper.
  const requests = errors === 0 ? afterWarmup : afterWarmup.where((i) => !afterWarmup.error(i));
  const n = requests.length;
  const times: StartTimes = { starts: offsetsOf(ordered, warmupTrimmed, requests), e2eMs: requests.e2eMs };
  const rows = rowPass(requests, times.starts);
  const { e2eSum, serverSum } = rows;
  const e2eValues = requests.e2eMs;
  const durationS = rows.lastEndS;
  const lastStartS = n > 0 ? secondsAt(times, n - 1) : 0;
  const windowCount = Math.max(0, Math.floor(Math.min(thresholds['windows.count'], n / Math.max(1, thresholds['windows.min_requests']))));
  const { phases, sums, e2eQuantiles, windowMeans, e2eTail } = distributions(requests, e2eSum, windowCount);
  let dominantPhase: Phase | undefined;
  for (const p of PHASES) if (phases[p].share > 0 && (!dominantPhase || phases[p].share > phases[dominantPhase].share)) dominantPhase = p;
  const coverage = e2eSum > 0 ? 1 - phases.other.share : 0;
  const [, e2eP50, , e2eP95, e2eP99] = e2eQuantiles;

  const windows = windowCount >= 1 ? windowsOf(requests, times, windowCount, windowMeans) : [];
  let trends: Signals['trends'];
  if (windows.length >= 3) {
    const xs = windows.map((w) => (w.startS + w.endS) / 2);
    const phaseTrends = Object.fromEntries(ALL_PARTS.map((p) => [p, trendOf(xs, windows.map((w) => w.phaseMeanMs[p]))])) as Record<PhaseOrOther, TrendSignal>;
    // Cache-hit latency per window, only when hits occur throughout the run.
    const hitSeries: number[] = [];
    const hitXs: number[] = [];
    if (rows.cacheHits > 0) {
      // The column once (a large table reads it back from its temporary file), not a lookup per request.
      const cacheHits = requests.cacheHits();
      windows.forEach((_, i) => {
        // Windows are contiguous index ranges of the start-ordered requests.
        const lo = Math.floor((i * n) / windows.length);
        const hi = Math.floor(((i + 1) * n) / windows.length);
        const hits: number[] = [];
        for (let k = lo; k < hi; k++) if (cacheHits[k] === 1) hits.push(e2eValues[k]!);
        if (hits.length > 0) {
          hitSeries.push(quantileSorted(sortedOf(hits), 0.5));
          hitXs.push(xs[i] as number);
        }
      });
    }
    trends = {
      e2eP50: trendOf(xs, windows.map((w) => w.e2eP50Ms)),
      e2eP95: trendOf(xs, windows.map((w) => w.e2eP95Ms)),
      arrival: arrivalTrend(xs, windows, times, rows.sinceFirstSum),
      phases: phaseTrends,
      ...(hitSeries.length >= Math.max(3, windows.length - 1) ? { cacheHit: trendOf(hitXs, hitSeries) } : {}),
    };
  }
  const lastThree = windows.slice(-3);
  const ratio = (values: readonly number[]): number => {
    const lo = Math.min(...values);
    return lo > 0 ? Math.max(...values) / lo : Number.POSITIVE_INFINITY;
  };
  const stable =
    lastThree.length === 3 &&
    ratio(lastThree.map((w) => w.arrivalRps)) <= thresholds['stability.max_ratio'] &&
    ratio(lastThree.map((w) => w.e2eP50Ms)) <= thresholds['stability.max_ratio'];

  const invalid: string[] = [];
  const counted = input.summary.failures;
  if (ordered.length === 0 && counted !== undefined) {
    // Requests a source counts without a latency (TGI's router spans) and none completed: say so, not "only 0 left".
    const failed = counted.server + counted.client;
    invalid.push(`no request completed (${[failed > 0 ? `${failed} failed` : '', counted.cancelled > 0 ? `${counted.cancelled} cancelled` : ''].filter((x) => x !== '').join(', ')}): no latency to diagnose`);
  } else if (n < thresholds['validity.min_requests']) {
    invalid.push(
      `only ${n} request${n === 1 ? '' : 's'} left after trimming ${warmupTrimmed} warm-up request${warmupTrimmed === 1 ? '' : 's'}${errors > 0 ? ` and ${errors} failed` : ''}; at least ${thresholds['validity.min_requests']} are needed (validity.min_requests)`,
    );
  }
  if (n > 0 && e2eSum === 0) {
    // Coverage means nothing without time to cover: a clock too coarse for these requests (milliseconds) gives this.
    invalid.push('every request lasts 0 ns (its spans start and end at the same instant): the clock that timed them is too coarse for requests this short');
  } else if (n > 0 && coverage < thresholds['validity.min_coverage']) {
    invalid.push(
      `phase spans cover only ${Math.round(coverage * 100)}% of end-to-end time (${Math.round(phases.other.share * 100)}% is in no phase); at least ${Math.round(thresholds['validity.min_coverage'] * 100)}% is needed (validity.min_coverage): ${
        // A server's own telemetry (Triton's timestamps, vLLM's span) cannot be given more phase spans.
        input.server !== undefined ? `the rest is time the ${input.server} telemetry read does not split (see "Read as" and "Not in this source")` : 'add phase spans around the uncovered work'
      }`,
    );
  }
  const requestBytesP50 = presentMedian(requests.number('requestBytes'));
  const responseBytesP50 = presentMedian(requests.number('responseBytes'));
  const s = input.summary;
  const runtime = s.runtime ?? mostCommon(requests, 'runtime');
  const runtimeProvider = s.runtimeProvider ?? mostCommon(requests, 'runtimeProvider');
  const precision = s.precision ?? mostCommon(requests, 'precision');
  const deviceName = s.device ?? mostCommon(requests, 'device');
  // The generation's signal and TTFT tail need most requests generative: counted in the row pass, so most runs skip both loops.
  const tail = ttftTailAttribution(requests, rows.withFirstToken) ?? tailAttribution(requests, e2eTail);
  const gpu = input.device ? deviceSignal(input.device, durationS) : undefined;
  const generation = generationSignal(requests, rows.generative);
  return {
    model: input.model,
    basis: 'requests',
    diagnosed: n,
    requests,
    totalRequests: input.requests.length,
    warmupTrimmed,
    errors,
    durationS,
    arrivalRps: lastStartS > 0 ? (n - 1) / lastStartS : 0,
    meanInFlight: durationS > 0 ? e2eSum / 1000 / durationS : 0,
    // Σ e2e ÷ n is `mean` of the column: the same sum, in the same order.
    e2e: { meanMs: n > 0 ? e2eSum / n : 0, p50Ms: e2eP50, p95Ms: e2eP95, p99Ms: e2eP99 },
    serverMeanMs: n > 0 ? serverSum / n : 0,
    phases,
    coverage,
    computeShareOfServer: serverSum > 0 ? sums.get('compute')! / serverSum : 0,
    ...(dominantPhase ? { dominantPhase } : {}),
    batch: batchSignal(rows),
    ...(requestBytesP50 === requestBytesP50 ? { requestBytesP50 } : {}),
    ...(responseBytesP50 === responseBytesP50 ? { responseBytesP50 } : {}),
    ...(runtime !== undefined ? { runtime } : {}),
    ...(runtimeProvider !== undefined ? { runtimeProvider } : {}),
    ...(precision !== undefined ? { precision } : {}),
    ...(deviceName !== undefined ? { device: deviceName } : {}),
    windows,
    ...(trends ? { trends } : {}),
    stable,
    ...(tail ? { tail } : {}),
    clockSkewShare: n > 0 ? rows.clockSkew / n : 0,
    networkDerived: rows.networkDerived > 0,
    cacheHitShare: n > 0 ? rows.cacheHits / n : 0,
    ...(gpu ? { gpu } : {}),
    ...(generation ? { generation } : {}),
    invalid,
    ...timeMethods(times),
  };
}

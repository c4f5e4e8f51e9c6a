/**
 * @module analyzer/diff
 * Two analyses (BEFORE and AFTER a change) → what changed, per model and phase, and whether
 * it is real: p50/p95/p99 before → after with bootstrap intervals, a Mann-Whitney shift test,
 * the sample sizes, and the verdict before and after. Pure: works on `AnalysisResult.timings`.
 * A comparison that cannot be made (no model in common, a phase on one side only, too few
 * requests) is a note with the reason, never a verdict. Latency compares successful requests;
 * failed ones are counted in a note.
 */
import type { AnalysisResult, ModelAnalysis, TimeRangeCut } from '../../model/analysis.js';
import type { RequestTiming } from '../../model/request.js';
import type { RequestFailures } from '../../model/summary.js';
import { OTHER, PHASES } from '../../semconv.js';
import { groupByModel } from '../measure.js';
import { EXIT, LatencyDoctorError } from '../../errors.js';
import { timePerOutputTokenMs } from '../../model/generation.js';
import type { FixId, PhaseOrOther } from '../../semconv.js';
import { DIFF_QUANTILES, MIN_SHIFT_SAMPLES, minSamplesFor, nearestRank, quantileInterval, shiftTest } from './significance.js';
import type { BootstrapOptions, DiffQuantile, QuantileInterval, ShiftTest } from './significance.js';

export { DIFF_QUANTILES, MIN_SHIFT_SAMPLES, MIN_TAIL_SAMPLES, minSamplesFor, nearestRank, quantileInterval, shiftTest } from './significance.js';
export type { BootstrapOptions, DiffQuantile, QuantileInterval, ShiftTest } from './significance.js';

/** Options of `diffAnalyses`. */
export interface DiffOptions extends BootstrapOptions {
  /** p-value under which the shift test calls a change significant. Default 0.05. */
  readonly alpha?: number;
  /** A model renamed between the runs: BEFORE's `before` is compared with AFTER's `after`. */
  readonly renamed?: { readonly before: string; readonly after: string };
}

/** One quantile before → after. */
export interface QuantileChange {
  readonly quantile: DiffQuantile;
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly changeMs: number;
  /** (after − before) ÷ before, a fraction; 0 when before is 0. */
  readonly changeRatio: number;
  /** Absent when either side has fewer requests than `minSamples`. */
  readonly interval?: QuantileInterval;
  /** Requests needed per side for an interval at this quantile. */
  readonly minSamples: number;
  /** The interval excludes 0. */
  readonly significant: boolean;
}

/** One distribution (e2e or a phase) before → after. */
export interface DistributionChange {
  readonly beforeCount: number;
  readonly afterCount: number;
  readonly quantiles: readonly QuantileChange[];
  /** Absent below MIN_SHIFT_SAMPLES requests per side. */
  readonly shift?: ShiftTest;
  /** The shift test rejects "same distribution" at `alpha`. */
  readonly shiftSignificant: boolean;
  /** Why part of the comparison could not be made (too few requests), in words. */
  readonly note?: string;
}

/** Primary verdict before and after, in words. */
export interface VerdictChange {
  readonly before: FixId | 'insufficient-data' | null;
  readonly after: FixId | 'insufficient-data' | null;
  /** E.g. "dynamic-batching → none: the fix worked". */
  readonly text: string;
  /** Recommendations only AFTER has ("new: latency-drift"). */
  readonly appeared: readonly FixId[];
  /** Recommendations only BEFORE had. */
  readonly resolved: readonly FixId[];
}

/** Generation metrics compared (definitions in model/generation). */
export type GenerationMetric = 'ttft' | 'tpot';

const GENERATION_METRICS: readonly [GenerationMetric, (r: RequestTiming) => number | undefined][] = [
  ['ttft', (r) => r.ttftMs],
  ['tpot', (r) => timePerOutputTokenMs(r.e2eMs, r.ttftMs, r.tokensOut)],
];

/**
 * The load each run was measured under. With an open-loop load (a fixed request rate) the rate
 * holds and a fix shows as fewer requests in flight; with a closed-loop load (a fixed number of
 * clients) the concurrency holds and a fix shows as a higher rate. When neither held, the runs
 * were under different loads and queueing alone can move latency either way.
 */
export interface LoadChange {
  /** Completed requests per second over each run's window. */
  readonly beforeRps: number;
  readonly afterRps: number;
  /** Mean requests in flight, Σ e2e ÷ window (Little's law). */
  readonly beforeInFlight: number;
  readonly afterInFlight: number;
  /** Neither the rate nor the concurrency held within LOAD_TOLERANCE. */
  readonly differs: boolean;
}

/**
 * How far a run's request rate or concurrency may move and still count as the same load: 10%,
 * perf_analyzer's --stability-percentage default
 * (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md).
 */
export const LOAD_TOLERANCE = 0.1;

/**
 * One run's requests of a model by outcome. `requests` counts every request (completed, failed,
 * cancelled); `errors` the failed ones: failed request spans (ours) and the failures a source
 * counts beside its completed requests (TGI's router spans), whose split is `failures`.
 */
export interface RequestOutcomes {
  readonly requests: number;
  readonly errors: number;
  /** Where the source says who ended them (TGI): server and client errors, and the client's cancellations (not errors). */
  readonly failures?: RequestFailures;
}

/** One model before → after. */
export interface ModelChange {
  readonly model: string;
  /** The model's name AFTER when it was renamed between the runs (`DiffOptions.renamed`). */
  readonly afterModel?: string;
  readonly e2e: DistributionChange;
  /** Phases present on both sides, in convention order, then `other`. */
  readonly phases: readonly { readonly phase: PhaseOrOther; readonly change: DistributionChange }[];
  /** Time to first token and time per output token, when both sides stream tokens. */
  readonly generation: readonly { readonly metric: GenerationMetric; readonly change: DistributionChange }[];
  readonly verdict: VerdictChange;
  /** The load of both runs; absent when a side has fewer than two requests (no rate). */
  readonly load?: LoadChange;
  /** Each run's requests by outcome: latency compares the completed, successful ones only. */
  readonly outcomes: { readonly before: RequestOutcomes; readonly after: RequestOutcomes };
  /** Phases measured on one side only, a different load, and other comparability problems. */
  readonly notes: readonly string[];
}

/** The whole comparison. */
export interface AnalysisDiff {
  readonly models: readonly ModelChange[];
  /** Each side's `--start`/`--end` range and the requests it kept; absent when neither side was cut (a side without a range: absent inside). */
  readonly ranges?: { readonly before?: SideRange; readonly after?: SideRange };
  /** Models with requests on one side only. */
  readonly onlyBefore: readonly string[];
  readonly onlyAfter: readonly string[];
  readonly confidence: number;
}

/** A side's time range and the requests of the input it kept. */
export interface SideRange {
  readonly range: TimeRangeCut;
  readonly requests: number;
}

/** A comparison that cannot be made (no model in common: exit 2; a side without an inference request: exit 4) or a malformed gate: the user's one-line error. */
export class DiffInputError extends LatencyDoctorError {
  override readonly name = 'DiffInputError';
}

/** Compares BEFORE with AFTER; throws DiffInputError when they share no model or a side has none. */
export function diffAnalyses(before: AnalysisResult, after: AnalysisResult, options: DiffOptions = {}): AnalysisDiff {
  const beforeModels = new Map(before.models.map((m) => [m.summary.model, m]));
  const afterModels = new Map(after.models.map((m) => [m.summary.model, m]));
  // Models meet by name; a renamed one by the name it has AFTER.
  const afterName = (model: string): string => (options.renamed !== undefined && model === options.renamed.before ? options.renamed.after : model);
  const common = [...beforeModels.keys()].filter((m) => afterModels.has(afterName(m)));
  if (beforeModels.size === 0 || afterModels.size === 0) {
    // Readable spans but no inference request on a side: nothing measured (exit 4, as analyze --fail-on-slo says it), not a mismatched pair.
    const named = (label: string, r: AnalysisResult): string => (r.files.length === 0 ? label : `${label} (${r.files.map((f) => f.file).join(', ')})`);
    const side = beforeModels.size === 0 ? (afterModels.size === 0 ? `${named('BEFORE', before)} and ${named('AFTER', after)} have` : `${named('BEFORE', before)} has`) : `${named('AFTER', after)} has`;
    throw new DiffInputError(`nothing measured: ${side} no inference requests, nothing to compare (a request is a span with inference.model.name, or one a server's convention maps: docs/formats.md)`, { exitCode: EXIT.NOTHING_MEASURED });
  }
  if (common.length === 0) {
    const list = (models: Map<string, ModelAnalysis>): string => (models.size === 0 ? 'no requests' : `model ${[...models.keys()].join(', ')}`);
    throw new DiffInputError(`BEFORE has ${list(beforeModels)}, AFTER has ${list(afterModels)}: no model in common, nothing to compare (models are matched by inference.model.name; for a model renamed between the runs give both names: --model BEFORE_NAME --after-model AFTER_NAME)`);
  }
  const beforeTimings = groupByModel(before.timings);
  const afterTimings = groupByModel(after.timings);
  const models = common.map((model) => {
    const change = modelChange(model, beforeTimings.get(model)?.rows() ?? [], afterTimings.get(afterName(model))?.rows() ?? [], beforeModels.get(model)!, afterModels.get(afterName(model))!, options);
    return afterName(model) === model ? change : { ...change, afterModel: afterName(model), notes: [`model: ${model} BEFORE is compared with ${afterName(model)} AFTER (--after-model)`, ...change.notes] };
  });
  const matched = new Set(common.map(afterName));
  return {
    models,
    onlyBefore: [...beforeModels.keys()].filter((m) => !afterModels.has(afterName(m))),
    onlyAfter: [...afterModels.keys()].filter((m) => !matched.has(m)),
    confidence: options.confidence ?? 0.95,
    ...(before.timeRange !== undefined || after.timeRange !== undefined ? { ranges: { ...sideRange('before', before), ...sideRange('after', after) } } : {}),
  };
}

function sideRange<K extends 'before' | 'after'>(side: K, result: AnalysisResult): { [S in K]?: SideRange } {
  return (result.timeRange === undefined ? {} : { [side]: { range: result.timeRange, requests: result.requests } }) as { [S in K]?: SideRange };
}

function modelChange(model: string, beforeAll: readonly RequestTiming[], afterAll: readonly RequestTiming[], beforeAnalysis: ModelAnalysis, afterAnalysis: ModelAnalysis, options: DiffOptions): ModelChange {
  // Failed requests are not latency: a release that fails fast would look faster, one that fails every request would compare its errors.
  const before = beforeAll.filter((r) => !r.error);
  const after = afterAll.filter((r) => !r.error);
  const notes: string[] = [];
  const outcomes = { before: outcomesOf(beforeAll, beforeAnalysis), after: outcomesOf(afterAll, afterAnalysis) };
  const cancelled = (o: RequestOutcomes): number => o.failures?.cancelled ?? 0;
  if (outcomes.before.errors + outcomes.after.errors + cancelled(outcomes.before) + cancelled(outcomes.after) > 0) {
    notes.push(`errors: ${outcomeText(outcomes.before, ' requests')} BEFORE → ${outcomeText(outcomes.after, '')} AFTER; latency compares successful requests only`);
  }
  const e2e = distributionChange(before.map((r) => r.e2eMs), after.map((r) => r.e2eMs), options);
  const phases: { phase: PhaseOrOther; change: DistributionChange }[] = [];
  for (const phase of [...PHASES, OTHER] as const) {
    const read = (r: RequestTiming): number | undefined => (phase === OTHER ? r.otherMs : r.phases[phase]);
    const b = values(before, read);
    const a = values(after, read);
    if (phase === OTHER && b.every((v) => v === 0) && a.every((v) => v === 0)) continue;
    if (b.length === 0 && a.length === 0) continue;
    if (b.length === 0 || a.length === 0) {
      notes.push(`${phase}: measured ${b.length === 0 ? 'AFTER' : 'BEFORE'} only (${b.length === 0 ? a.length : b.length} requests), not compared`);
      continue;
    }
    phases.push({ phase, change: distributionChange(b, a, options) });
  }
  const generation: { metric: GenerationMetric; change: DistributionChange }[] = [];
  for (const [metric, read] of GENERATION_METRICS) {
    const b = values(before, read);
    const a = values(after, read);
    if (b.length > 0 && a.length > 0) generation.push({ metric, change: distributionChange(b, a, options) });
    else if (b.length + a.length > 0) notes.push(`${metric}: measured ${b.length === 0 ? 'AFTER' : 'BEFORE'} only, not compared`);
  }
  const load = loadChange(beforeAnalysis, afterAnalysis);
  if (load?.differs) notes.push(loadNote(load));
  return { model, e2e, phases, generation, verdict: verdictChange(beforeAnalysis, afterAnalysis, e2e, load), outcomes, notes, ...(load ? { load } : {}) };
}

/**
 * A run's requests by outcome: its request timings (failed ones flagged), and the failures its
 * summary counts beside them, which have no timing (TGI's router spans of failed and cancelled requests).
 */
function outcomesOf(all: readonly RequestTiming[], analysis: ModelAnalysis): RequestOutcomes {
  let errors = 0;
  for (const r of all) if (r.error) errors++;
  const f = analysis.summary.failures;
  if (f === undefined) return { requests: all.length, errors };
  return { requests: all.length + f.server + f.client + f.cancelled, errors: errors + f.server + f.client, failures: f };
}

/** "3 of 9 (33.3%) requests (1 server, 2 client; 2 cancelled by the client)", `noun` after the counts. */
function outcomeText(o: RequestOutcomes, noun: string): string {
  const f = o.failures;
  const split = f === undefined ? '' : ` (${f.server} server, ${f.client} client; ${f.cancelled} cancelled by the client)`;
  return `${o.errors} of ${o.requests}${o.requests > 0 ? ` (${((o.errors / o.requests) * 100).toFixed(1)}%)` : ''}${noun}${split}`;
}

/** Both runs' request rate and concurrency, or undefined when a side has no rate (fewer than two requests). */
function loadChange(before: ModelAnalysis, after: ModelAnalysis): LoadChange | undefined {
  const rate = (m: ModelAnalysis): number | undefined => (m.summary.requests >= 2 && m.summary.throughputRps > 0 && Number.isFinite(m.summary.throughputRps) ? m.summary.throughputRps : undefined);
  const beforeRps = rate(before);
  const afterRps = rate(after);
  if (beforeRps === undefined || afterRps === undefined) return undefined;
  const beforeInFlight = (beforeRps * before.summary.e2e.meanMs) / 1000;
  const afterInFlight = (afterRps * after.summary.e2e.meanMs) / 1000;
  const held = (b: number, a: number): boolean => Math.abs(a - b) <= LOAD_TOLERANCE * b;
  return { beforeRps, afterRps, beforeInFlight, afterInFlight, differs: !held(beforeRps, afterRps) && !held(beforeInFlight, afterInFlight) };
}

function loadNote(load: LoadChange): string {
  const pct = (b: number, a: number): string => `${a >= b ? '+' : '−'}${Math.abs(((a - b) / b) * 100).toFixed(0)}%`;
  return (
    `load: ${load.beforeRps.toFixed(1)} → ${load.afterRps.toFixed(1)} req/s (${pct(load.beforeRps, load.afterRps)}), ` +
    `${load.beforeInFlight.toFixed(1)} → ${load.afterInFlight.toFixed(1)} requests in flight (${pct(load.beforeInFlight, load.afterInFlight)}): ` +
    `neither the request rate nor the concurrency held within ${LOAD_TOLERANCE * 100}%, so the runs were under different loads and queueing alone moves latency; ` +
    'compare runs at the same request rate (or the same number of clients)'
  );
}

function values(requests: readonly RequestTiming[], read: (r: RequestTiming) => number | undefined): number[] {
  const out: number[] = [];
  for (const r of requests) {
    const v = read(r);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Compares two samples of one quantity (milliseconds). */
export function distributionChange(beforeMs: readonly number[], afterMs: readonly number[], options: DiffOptions = {}): DistributionChange {
  const before = Float64Array.from(beforeMs).sort();
  const after = Float64Array.from(afterMs).sort();
  const alpha = options.alpha ?? 0.05;
  const quantiles = DIFF_QUANTILES.map(([label, q]): QuantileChange => {
    const b = nearestRank(before, q);
    const a = nearestRank(after, q);
    const minSamples = minSamplesFor(q);
    const enough = before.length >= minSamples && after.length >= minSamples;
    const interval = enough ? quantileInterval(before, after, q, options) : undefined;
    return {
      quantile: label,
      beforeMs: b,
      afterMs: a,
      changeMs: a - b,
      changeRatio: b > 0 ? (a - b) / b : 0,
      ...(interval ? { interval } : {}),
      minSamples,
      significant: interval !== undefined && (interval.lowMs > 0 || interval.highMs < 0),
    };
  });
  const shift = shiftTest(before, after);
  const missing = quantiles.filter((q) => q.interval === undefined);
  const fewest = Math.min(before.length, after.length);
  const note =
    missing.length === 0
      ? undefined
      : `too few requests for a significant answer at ${missing.map((q) => q.quantile).join('/')} (${before.length} before, ${after.length} after; ` +
        `${missing.map((q) => `${q.quantile} needs ${q.minSamples}`).join(', ')}${shift === undefined ? `, a shift test ${MIN_SHIFT_SAMPLES}` : ''} per side)`;
  return {
    beforeCount: before.length,
    afterCount: after.length,
    quantiles,
    ...(shift ? { shift } : {}),
    shiftSignificant: shift !== undefined && shift.pValue < alpha && fewest >= MIN_SHIFT_SAMPLES,
    ...(note !== undefined ? { note } : {}),
  };
}

function verdictChange(before: ModelAnalysis, after: ModelAnalysis, e2e: DistributionChange, load: LoadChange | undefined): VerdictChange {
  const b = before.diagnosis?.primary ?? null;
  const a = after.diagnosis?.primary ?? null;
  const fixes = (m: ModelAnalysis): Set<FixId> => new Set((m.diagnosis?.recommendations ?? []).map((r) => r.fix));
  const beforeFixes = fixes(before);
  const afterFixes = fixes(after);
  const appeared = [...afterFixes].filter((f) => !beforeFixes.has(f));
  const resolved = [...beforeFixes].filter((f) => !afterFixes.has(f));
  const faster = e2e.quantiles.some((q) => q.significant && q.changeMs < 0) || (e2e.shiftSignificant && (e2e.shift?.probabilitySlower ?? 0.5) < 0.5);
  const slower = e2e.quantiles.some((q) => q.significant && q.changeMs > 0) || (e2e.shiftSignificant && (e2e.shift?.probabilitySlower ?? 0.5) > 0.5);
  const name = (v: string | null): string => v ?? 'none';
  let judgement: string;
  if (a === 'insufficient-data' || b === 'insufficient-data') judgement = `not enough data on the ${b === 'insufficient-data' ? 'BEFORE' : 'AFTER'} side for a verdict`;
  else if (b !== null && b !== a) {
    judgement = faster ? 'the fix worked' : slower ? 'the verdict changed, but latency got worse' : 'the verdict changed, but latency did not change significantly';
    if (a !== null) judgement += `; next: ${a}`;
  } else if (b !== null) judgement = faster ? `still ${b}, though latency improved` : slower ? `still ${b}, and latency got worse` : `still ${b}; latency did not change significantly`;
  else if (a !== null) judgement = `new problem: ${a}`;
  else judgement = slower ? 'no verdict either side, but latency got worse' : faster ? 'no verdict either side; latency improved' : 'nothing stands out either side';
  // A change measured under another load is not the release's alone: said where the verdict is read.
  if (load?.differs) judgement += ` (under a different load, ${load.beforeRps.toFixed(1)} → ${load.afterRps.toFixed(1)} req/s: not like for like)`;
  return { before: b, after: a, text: `${name(b)} → ${name(a)}: ${judgement}`, appeared, resolved };
}

/** One `--fail-on-regression` objective: fail when quantile grew by more than `ratio`. */
export interface RegressionGate {
  readonly quantile: DiffQuantile;
  /** Allowed growth as a fraction, e.g. 0.1 for 10%. */
  readonly ratio: number;
}

/**
 * The gate's findings: a quantile of a model's e2e regressed when it grew by more than the
 * allowed ratio AND its bootstrap interval lies above 0 (the growth is not noise). A quantile
 * without an interval (too few requests), or a model BEFORE served and AFTER did not, is listed
 * in `unmeasured`: the gate fails closed.
 */
export function regressions(diff: AnalysisDiff, gates: readonly RegressionGate[]): { regressed: string[]; unmeasured: string[] } {
  const regressed: string[] = [];
  // A model that stopped serving (failed to load, every request rejected before its span) measured nothing AFTER.
  const unmeasured: string[] = gates.length === 0 ? [] : diff.onlyBefore.map((model) => `${model}: requests BEFORE, none AFTER`);
  for (const m of diff.models) {
    for (const gate of gates) {
      const q = m.e2e.quantiles.find((x) => x.quantile === gate.quantile);
      if (q === undefined) continue;
      const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
      if (q.interval === undefined) {
        unmeasured.push(`${m.model} ${q.quantile}: too few requests to tell (${m.e2e.beforeCount} before, ${m.e2e.afterCount} after; needs ${q.minSamples} per side)`);
      } else if (q.changeRatio > gate.ratio && q.interval.lowMs > 0) {
        regressed.push(`${m.model} ${q.quantile} ${q.beforeMs.toFixed(1)} → ${q.afterMs.toFixed(1)} ms (+${pct(q.changeRatio)}, ${pct(diff.confidence).replace('.0', '')} CI +${pct(q.interval.lowRatio)} to +${pct(q.interval.highRatio)}; limit ${pct(gate.ratio)})`);
      }
    }
  }
  return { regressed, unmeasured };
}

/** Parses `p99=10%,p95=5%` into gates; throws DiffInputError naming what was expected. */
export function parseRegressionGates(text: string): RegressionGate[] {
  const gates = text.split(',').map((part) => {
    const match = /^\s*(p50|p95|p99)\s*=\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(part);
    if (match === null) throw new DiffInputError(`--fail-on-regression: expected QUANTILE=PERCENT (p50, p95 or p99), e.g. p99=10%, got "${part}"`);
    return { quantile: match[1] as DiffQuantile, ratio: Number(match[2]) / 100 };
  });
  // As --slo: a limit given twice is ambiguous, so it is refused rather than one of the two applied.
  const twice = gates.find((g, i) => gates.findIndex((o) => o.quantile === g.quantile) !== i);
  if (twice !== undefined) throw new DiffInputError(`--fail-on-regression: expected each quantile once, got ${twice.quantile} twice in "${text}"`);
  return gates;
}

/**
 * @module analyzer/pipeline
 * The analysis pipeline, pure (no I/O): span batches in, AnalysisResult out. Every input
 * adapter (trace files in analyzer/files.ts; stdin, Prometheus …) ends by calling
 * `analyzeSpans`. Its stages, in order:
 *
 *   1. read       an adapter yields SpanBatch: normalized records, columns from a reader thread, or
 *                 scanned rows (the fast OTLP reader's spans in our convention, read straight
 *                 from the bytes, among records of the others)
 *   2. map        source conventions (analyzer/conventions/, registered in CONVENTIONS): a serving
 *                 system's own spans (Triton, vLLM, TGI, …) rewritten onto the span convention
 *                 (reader threads map theirs before handing columns over)
 *   3. assemble   spans → per-request phase timings (assemble.ts)
 *   4. measure    per-model summaries (measure.ts), GPU evidence over the traced window (device.ts)
 *   5. diagnose   signals → rules → ranked recommendations (diagnose/), once per model
 */
import { ATTR } from '../semconv.js';
import type { SpanRecord } from '../model/span.js';
import type { RequestTable } from '../model/request-table.js';
import type { DeviceEvidence, GpuSample } from '../model/gpu.js';
import { addFailures } from '../model/summary.js';
import type { ModelSummary, RequestFailures } from '../model/summary.js';
import { YEAR_2000_NS } from '../model/analysis.js';
import type { AnalysisResult, AnalysisWarning, AssemblyStats, ConventionUse, ModelAnalysis, TimeRange, TimeRangeCut } from '../model/analysis.js';
import { startsInRange } from '../model/analysis.js';
import { diagnose, hasSloTargets, resolveThresholds } from './diagnose/index.js';
import type { DiagnoseOptions } from './diagnose/index.js';
import { summarizeDevice } from './device.js';
import type { TimeWindow } from './device.js';
import { latencyTimeline } from './timeline.js';
import { RequestAssembler } from './assemble.js';
import type { GenericAccumulator } from './generic.js';
import type { AssembleOptions, AssemblyResult } from './assemble.js';
import { summarize, withFailures } from './measure.js';
import type { SpanColumns } from './_span-columns.js';
import { availableInputs, ConventionMapper, failuresByModel, mergeConventionUses, monotonicClock, serverOf } from './conventions/index.js';
import { AnalysisError } from './errors.js';
import { isoNs, ModelNotFoundError, rangeWords, TimeRangeEmptyError } from '../errors.js';
import { ScannedSpans } from '../formats/index.js';
import { formatCount, formatDuration } from '../model/count.js';

/** Spans as readers give them: normalized records, columns from a reader thread, or scanned rows (readSpanBatches). */
export type SpanBatch = readonly SpanRecord[] | SpanColumns | ScannedSpans;

/** True when the batch holds records (not columns). */
export function isRecords(batch: SpanBatch): batch is readonly SpanRecord[] {
  return Array.isArray(batch);
}

/** Options of `analyzeSpans`. */
export interface AnalyzeOptions extends AssembleOptions {
  /** Fail (AnalysisError) when the assembler had to drop spans, instead of warning. Readers apply it to skipped parts of a file. Default false. */
  readonly strict?: boolean;
  /** Only analyse requests of this model; a name no request has throws ModelNotFoundError (exit 2). Default: all models. */
  readonly model?: string;
  /** How many operations the generic report lists. Default 10. */
  readonly topOperations?: number;
  /** Diagnosis options (thresholds, SLO); `false` skips the diagnosis. Default: defaults. */
  readonly diagnose?: DiagnoseOptions | false;
  /** GPU sidecar samples; summarized over the traced window into device evidence for the diagnosis. */
  readonly gpuSamples?: readonly GpuSample[];
  /**
   * Conventions an adapter's reader threads already mapped (their spans arrive as columns).
   * Read once the last batch is in, so an adapter may fill it while the batches stream.
   */
  readonly readerConventions?: readonly ConventionUse[];
  /** Names the input in error messages, e.g. the files read. Default `input`. */
  readonly inputName?: string;
  /**
   * Only analyse requests that start in this range (ns since the epoch, the end excluded; either
   * bound may be absent): an incident's minutes out of a day's export. Input with no request
   * span: only the traces whose first span starts in it. A range nothing starts in throws
   * TimeRangeEmptyError (exit 4); input on a server's monotonic clock, AnalysisError.
   */
  readonly timeRange?: TimeRange;
}

export type { TimeRange } from '../model/analysis.js';

/**
 * The requests (and counted failures) that a `--start`/`--end` range keeps, warnings for what it
 * leaves out pushed to `warnings`; throws when the input has no wall-clock time or nothing starts
 * in the range. Requests are placed by their start (their end-to-end interval's), so a request is
 * whole or out, never cut at a bound; the assembler kept the generic report's traces by the same
 * rule (`startsInRange`), by their first span's start.
 */
function selectTimeRange(
  range: TimeRange,
  from: { readonly all: RequestTable; readonly ofModel: RequestTable; readonly modelFailures: Map<string, RequestFailures>; readonly conventions: readonly ConventionUse[]; readonly generic: GenericAccumulator; readonly input: string },
  warnings: AnalysisWarning[],
): { requests: RequestTable; failures: Map<string, RequestFailures> } {
  const { all, ofModel, modelFailures, input } = from;
  if (range.startNs === undefined && range.endNs === undefined) return { requests: ofModel, failures: modelFailures };
  // A Triton trace file's times count from the server's start: no clock time to compare.
  if (monotonicClock(from.conventions)) throw new AnalysisError(`a time range (--start/--end) needs wall-clock times: a Triton trace file in ${input} is timed on the server's monotonic clock, which no range of dates can select from`);
  const starts = ofModel.startNs;
  const requests = ofModel.where((i) => startsInRange(range, starts[i]!));
  if (requests.length === 0 && ofModel.length > 0) {
    let first = starts[0]!;
    let last = first;
    for (const t of starts) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
    throw new TimeRangeEmptyError(input, rangeWords(range), first, last);
  }
  const out = ofModel.length - requests.length;
  if (out > 0) warnings.push({ code: 'time-range', message: `${formatCount(requests.length)} of ${formatCount(ofModel.length)} requests start ${rangeWords(range)} (the range asked for); the other ${formatCount(out)} are left out`, count: out });
  // No request at all: the report is the generic one, of the traces that start in the range.
  const { generic } = from;
  const extent = generic.extent;
  if (all.length === 0 && extent !== undefined) {
    const kept = generic.traces;
    if (kept === 0) throw new TimeRangeEmptyError(input, rangeWords(range), extent.firstNs, extent.lastNs, 'trace');
    const left = generic.inputTraces - kept;
    if (left > 0) warnings.push({ code: 'time-range', message: `${formatCount(kept)} of ${formatCount(generic.inputTraces)} traces start ${rangeWords(range)} (the range asked for; a trace starts with its first span); the other ${formatCount(left)} are left out`, count: left });
  }
  // Failures a source counts without timing attributes (TGI's router spans) are kept as counts
  // per model, not times: a range that keeps every request keeps them; one that cuts the input
  // cannot say which of them fell inside, so it leaves them out, and says so.
  const untimed = [...modelFailures.values()].reduce((n, f) => n + f.server + f.client + f.cancelled, 0);
  if (untimed === 0 || out === 0) return { requests, failures: modelFailures };
  warnings.push({ code: 'time-range', message: `${formatCount(untimed)} failed or cancelled request${s(untimed)} that the source records without timing attributes (TGI's router spans) left out: the analysis counts them, it does not keep their times, so a range that cuts the input cannot place them`, count: untimed });
  return { requests, failures: new Map() };
}

/**
 * Stages 2 and 3: every batch mapped and assembled into requests. Its own function so that the
 * assembler (its trace window, with up to 100 000 finalized trace ids remembered, and the
 * request builder's columns) is garbage once the requests are out, not held by the caller's
 * frame through the summaries and the diagnosis.
 */
async function assembleAll(batches: AsyncIterable<SpanBatch> | Iterable<SpanBatch>, options: AnalyzeOptions): Promise<AssemblyResult & { conventions: ConventionUse[] }> {
  const assembler = new RequestAssembler(options);
  // Stage 2, the seam between readers and assembler: servers' own conventions become ours here.
  const mapper = new ConventionMapper();
  for await (const batch of batches) {
    if (isRecords(batch)) assembler.add(mapper.map(batch));
    else if (batch instanceof ScannedSpans) mapper.mapScanned(batch, assembler);
    else assembler.addColumns(batch);
  }
  for (const spans of mapper.drain()) assembler.add(spans);
  const conventions = mergeConventionUses([...mapper.uses(), ...(options.readerConventions ?? [])]);
  return { ...assembler.finish(), conventions };
}

/** The pipeline after reading: spans → source conventions mapped → requests → summaries → diagnoses. */
export async function analyzeSpans(batches: AsyncIterable<SpanBatch> | Iterable<SpanBatch>, options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const { requests: all, stats, generic, conventions } = await assembleAll(batches, options);
  options.collect?.();
  if (options.strict === true && stats.invalidSpans + stats.lateSpans > 0) {
    throw new AnalysisError(
      `--strict: ${options.inputName ?? 'input'}: ${formatCount(stats.invalidSpans)} span${s(stats.invalidSpans)} ending before ${stats.invalidSpans === 1 ? 'it starts' : 'they start'}, ${formatCount(stats.lateSpans)} span${s(stats.lateSpans)} arriving after ${stats.lateSpans === 1 ? 'its' : 'their'} trace was finalized`,
    );
  }
  const ofModel = options.model === undefined ? all : all.where((i) => all.model(i) === options.model);
  // Requests a source counted without a latency (TGI's failed and cancelled router spans), by
  // model: their models are seen too, though no request of theirs completed.
  const allFailures = failuresByModel(conventions);
  const modelFailures = options.model === undefined ? allFailures : new Map([...allFailures].filter(([model]) => model === options.model));
  // A name that matches nothing is a mistake on every input path (exit 2), not an empty report;
  // an input with no span at all is left to say "nothing measured" (exit 4) instead.
  if (options.model !== undefined && ofModel.length === 0 && modelFailures.size === 0 && stats.spans > 0) {
    throw new ModelNotFoundError(options.model, options.inputName ?? 'the input', [...all.modelGroups().keys(), ...allFailures.keys()]);
  }
  const warnings = assemblyWarnings(stats);
  const { requests, failures } = options.timeRange === undefined ? { requests: ofModel, failures: modelFailures } : selectTimeRange(options.timeRange, { all, ofModel, modelFailures, conventions, generic, input: options.inputName ?? 'the input' }, warnings);
  const diagnoseOptions = options.diagnose;
  // A model whose every request failed has its own "SLO not checked" (its diagnosis says why).
  if (diagnoseOptions && hasSloTargets(diagnoseOptions.slo) && requests.length === 0 && failures.size === 0) {
    warnings.push({ code: 'slo-not-checked', message: 'SLO not checked: no inference requests in the input', count: 1 });
  }
  // The GPU windows are the diagnosis's windows, so a --threshold windows.count= override applies to both.
  const windowCount = resolveThresholds(diagnoseOptions === false ? undefined : diagnoseOptions?.thresholds)['windows.count'];
  // The traced window once, for the evidence and for what the warnings say of it.
  const traced = (options.gpuSamples?.length ?? 0) > 0 && requests.length > 0 ? tracedWindow(requests) : undefined;
  const device = deviceEvidence(requests, options.gpuSamples ?? [], windowCount, traced);
  if (traced !== undefined && device.length === 0) {
    warnings.push({ code: 'gpu-samples-outside-window', message: outsideWindowMessage(options.gpuSamples ?? [], traced), count: 1 });
  } else if (traced !== undefined) {
    const partial = partialCoverageMessage(options.gpuSamples ?? [], traced);
    if (partial !== undefined) warnings.push({ code: 'gpu-samples-partial', message: partial, count: 1 });
  }
  // One model's requests selected at a time: a run of several models holds one model's copy at once.
  // A model with only failures (every TGI request failed or was cancelled) gets a summary of no
  // completed request, its failures beside it, and a diagnosis of insufficient data.
  const groups = requests.modelGroups();
  const none = (): RequestTable => requests.where(() => false);
  for (const model of failures.keys()) if (!groups.has(model)) groups.set(model, none);
  const models: ModelAnalysis[] = [...groups]
    .map(([model, take]): ModelAnalysis => {
      const list = take();
      const summary = withFailures(summarize(model, list), failures.get(model));
      // In start order, as the diagnosis reads them, without a sorted copy (the summary reads
      // them in the order assembled, so its sums stay as they were).
      list.sortByStartInPlace();
      if (diagnoseOptions === false) return { summary };
      // Requests read from a server's own convention: next steps in its terms, and the rules that
      // need what that server never records (batch sizes) say they could not run.
      const server = serverOf(list);
      const input = { model, requests: list, summary, ...(device.length > 0 ? { device } : {}), ...(server !== undefined ? { server, available: availableInputs(server) } : {}) };
      return { summary, diagnosis: diagnose(input, diagnoseOptions) };
    })
    .sort((a, b) => b.summary.requests - a.summary.requests || a.summary.model.localeCompare(b.summary.model));
  // One model: its summary covers the same requests, so reuse it instead of building every
  // histogram a second time (about 5% of a large run's CPU).
  const overall = requests.length === 0 ? undefined : models.length === 1 ? models[0]!.summary : withFailures(summarize('(all models)', requests), sumFailures(models.map((m) => m.summary)));
  requests.sortByStartInPlace();
  if (overall !== undefined && !monotonicClock(conventions)) warnings.push(...timeUnitWarning(overall.windowStartNs, overall.windowEndNs));
  const genericReport = generic.report(options.topOperations ?? 10);
  return {
    files: [],
    warnings,
    spans: stats.spans,
    traces: stats.traces,
    requests: requests.length,
    ...(overall ? { window: { startNs: overall.windowStartNs, endNs: overall.windowEndNs }, overall } : {}),
    models,
    ...(all.length === 0 && models.length === 0 && genericReport.traces > 0 ? { generic: genericReport } : {}),
    assembly: stats,
    timings: requests,
    device,
    timeline: latencyTimeline(requests, device),
    conventions,
    ...(options.timeRange !== undefined && (options.timeRange.startNs !== undefined || options.timeRange.endNs !== undefined) ? { timeRange: timeRangeCut(options.timeRange, ofModel.length, generic.inputTraces) } : {}),
  };
}

/** The range with the input's counts beside it (bounds only where given). */
function timeRangeCut(range: TimeRange, inputRequests: number, inputTraces: number): TimeRangeCut {
  return { ...(range.startNs !== undefined ? { startNs: range.startNs } : {}), ...(range.endNs !== undefined ? { endNs: range.endNs } : {}), inputRequests, inputTraces };
}

/** The failures the models' summaries count beside their requests, added up; undefined when none does. */
function sumFailures(summaries: readonly ModelSummary[]): RequestFailures | undefined {
  let sum: RequestFailures | undefined;
  for (const s of summaries) if (s.failures !== undefined) sum = addFailures(sum, s.failures);
  return sum;
}

/** GPU evidence over the requests' window (`traced`, when the caller has it), in `count` equal-time windows (the diagnosis's `windows.count`). */
export function deviceEvidence(requests: RequestTable, samples: readonly GpuSample[], count: number, traced?: TimeWindow): DeviceEvidence[] {
  if (samples.length === 0 || requests.length === 0 || count < 1) return [];
  const { startMs, endMs } = traced ?? tracedWindow(requests);
  const step = (endMs - startMs) / count;
  const windows: TimeWindow[] = Array.from({ length: count }, (_, i) => ({ startMs: startMs + i * step, endMs: i === count - 1 ? endMs : startMs + (i + 1) * step }));
  return summarizeDevice(samples, { startMs, endMs }, windows);
}

/** From the first request's start (whole ms) to the last request's end, ms since the epoch. */
function tracedWindow(requests: RequestTable): TimeWindow {
  const starts = requests.startsMs();
  let startMs = Infinity;
  let endMs = -Infinity;
  for (let i = 0; i < requests.length; i++) {
    const start = starts[i]!;
    startMs = Math.min(startMs, start);
    endMs = Math.max(endMs, start + requests.e2eMs[i]!);
  }
  return { startMs, endMs };
}

/** The times of the samples that hold readings (not stale, some GPU), ascending. A loop, not Math.min(...times): past ~150,000 samples a spread argument list overflows the stack. */
function usableSampleTimes(samples: readonly GpuSample[]): number[] {
  return samples
    .filter((s) => s.stale !== true && s.gpus.length > 0)
    .map((s) => s.timeMs)
    .sort((a, b) => a - b);
}

/** A time in ms since the epoch as RFC 3339 UTC, to the ms. */
function isoMs(ms: number): string {
  return isoNs(BigInt(Math.round(ms)) * 1_000_000n);
}

/**
 * Why no GPU sample falls inside the traced window, with where they lie: samples that end before
 * the traces start (or start after they end) are another run or a clock that is off, by the gap
 * named; samples on both sides of a window shorter than their period are neither.
 */
function outsideWindowMessage(samples: readonly GpuSample[], window: TimeWindow): string {
  const times = usableSampleTimes(samples);
  const lead = 'GPU samples given, but none falls inside the traced window';
  if (times.length === 0) return `${lead} (check the clocks of both machines)`;
  const first = times[0]!;
  const last = times[times.length - 1]!;
  const where = `${lead} (${isoMs(window.startMs)} to ${isoMs(window.endMs)}): the samples run from ${isoMs(first)} to ${isoMs(last)}`;
  const clocks = 'a clock that is off between the two machines, or samples of another run; the sidecar stamps samples with its own host clock';
  if (last < window.startMs) return `${where}, ending ${formatDuration((window.startMs - last) / 1000)} before the traces start (${clocks})`;
  if (first > window.endMs) return `${where}, starting ${formatDuration((first - window.endMs) / 1000)} after the traces end (${clocks})`;
  // Sorted: the last sample before the window and the first after it (none falls inside).
  const before = times.filter((t) => t < window.startMs).at(-1)!;
  const after = times.find((t) => t > window.endMs)!;
  return `${where}, with none between ${isoMs(before)} and ${isoMs(after)} (${formatDuration((after - before) / 1000)} apart), around the traced ${formatDuration((window.endMs - window.startMs) / 1000)}: the run is shorter than the sampling period (the sidecar's --period), or the sidecar was not sampling then`;
}

/**
 * When GPU samples start well after the traced window starts or end well before it ends (more
 * than three sampling periods and a tenth of the window), what they cover: the device evidence is
 * then of that part of the run only, which the figures alone do not show.
 */
function partialCoverageMessage(samples: readonly GpuSample[], window: TimeWindow): string | undefined {
  const times = usableSampleTimes(samples);
  const inside = times.filter((t) => t >= window.startMs && t <= window.endMs);
  const first = inside[0];
  const last = inside[inside.length - 1];
  const length = window.endMs - window.startMs;
  if (first === undefined || last === undefined || length <= 0) return undefined;
  const steps = times.slice(1).map((t, i) => t - times[i]!).filter((d) => d > 0).sort((a, b) => a - b);
  const period = steps[Math.floor(steps.length / 2)] ?? 0;
  const slack = Math.max(3 * period, 0.1 * length);
  const head = first - window.startMs;
  const tail = window.endMs - last;
  if (head <= slack && tail <= slack) return undefined;
  const gaps = [
    ...(head > slack ? [`start ${formatDuration(head / 1000)} after the traces start`] : []),
    ...(tail > slack ? [`end ${formatDuration(tail / 1000)} before the traces end`] : []),
  ];
  return `GPU samples cover ${Math.round(((last - first) / length) * 100)}% of the traced window (${isoMs(window.startMs)} to ${isoMs(window.endMs)}): they ${gaps.join(' and ')}, so the GPU evidence is of that part only (a clock that is off between the two machines, or a sidecar started late or stopped early)`;
}

/** The assembler's warning about `count` duplicate spans, count first; analyzer/files.ts trims it by what the readers already reported (`more`). */
export function duplicateMessage(count: number, more = false): string {
  return `${formatCount(count)}${more ? ' more' : ''} duplicate span${s(count)} (same trace, span id and kind) counted once`;
}

/** Turns the assembler's counts into warnings, one per kind of problem. */
function assemblyWarnings(stats: AssemblyStats): AnalysisWarning[] {
  const out: AnalysisWarning[] = [];
  const add = (code: AnalysisWarning['code'], count: number, message: string): void => {
    if (count > 0) out.push({ code, message: `${formatCount(count)} ${message}`, count });
  };
  if (stats.duplicateSpans > 0) out.push({ code: 'duplicate-span', message: duplicateMessage(stats.duplicateSpans), count: stats.duplicateSpans });
  add('invalid-span', stats.invalidSpans, `span${s(stats.invalidSpans)} ending before ${stats.invalidSpans === 1 ? 'it starts' : 'they start'} skipped`);
  const one = stats.lateSpans === 1;
  add('late-span', stats.lateSpans, `span${s(stats.lateSpans)} arrived after ${one ? 'its' : 'their'} trace was finalized and ${one ? 'was' : 'were'} not used (raise --idle-spans for inputs whose traces are spread far apart; or the same spans were exported twice, e.g. one file concatenated with itself or overlapping exports)`);
  add('unattached-phase-span', stats.unattachedPhaseSpans, `phase span${s(stats.unattachedPhaseSpans)} with no request span above ${stats.unattachedPhaseSpans === 1 ? 'it' : 'them'} (missing parent or no inference.model.name on the request span)`);
  if (stats.orphanSpans > 0) {
    const pieces = stats.fragmentedTraces === 0 ? '' : `: ${stats.fragmentedTraces} trace${s(stats.fragmentedTraces)} in ${stats.fragmentPieces} disconnected pieces, each measured on its own`;
    add('orphan-span', stats.orphanSpans, `span${s(stats.orphanSpans)} whose parent is not in the input${pieces} (export the whole trace, or add the other side's file)`);
  }
  add(
    'time-precision',
    stats.roundedRequests,
    `request${s(stats.roundedRequests)} timed more than 2^53 ns (about 104 days) from the input's first span, so their times are rounded to ${stats.roundedToNs} ns (unrelated clocks in one run, such as a Triton trace file's steady clock next to wall-clock traces: analyse each clock's files on their own for exact times)`,
  );
  add('clock-skew', stats.clockSkewRequests, `request${s(stats.clockSkewRequests)} with clock skew between client and server (server span outside its client span; re-centred, network clamped at 0)`);
  add(
    'first-token-after-end',
    stats.firstTokenAfterEnd,
    `request${stats.firstTokenAfterEnd === 1 ? ' whose first token came after its end' : 's whose first token came after their end'}: TTFT counted as the whole request; check the unit of a time to first token given as a duration (gen_ai.response.time_to_first_chunk and vLLM's times are seconds)`,
  );
  add(
    'invalid-batch-size',
    stats.invalidBatchSizes,
    `compute or decode span${s(stats.invalidBatchSizes)} whose ${ATTR.BATCH_SIZE} is no positive integer (e.g. 0.5, 0 or -3): read as carrying no batch size`,
  );
  return out;
}

/**
 * Times in OTLP, and as every reader gives them, are ns since the epoch (Jaeger's and Zipkin's µs
 * are converted). A run with no steady-clock source (a Triton trace file) that starts before 2000
 * but would start in this century read as µs or ms was most likely written by an exporter that
 * put µs or ms where ns are due: every duration and rate then reads 1000× or 10^6× off, and the
 * report would only call the clock monotonic.
 */
function timeUnitWarning(startNs: bigint, endNs: bigint): AnalysisWarning[] {
  if (startNs <= 0n || startNs >= YEAR_2000_NS) return [];
  const centuryEndNs = 4_102_444_800_000_000_000n; // 2100-01-01
  // Each factor with the unit it means in OTLP (ns due) and in Jaeger or Zipkin (µs due).
  const unit = (
    [
      ['µs', 'ms', 1000n, '1000'],
      ['ms', 's', 1_000_000n, '1,000,000'],
    ] as const
  ).find(([, , factor]) => startNs * factor >= YEAR_2000_NS && endNs * factor < centuryEndNs);
  if (unit === undefined) return [];
  const [name, coarse, factor, times] = unit;
  const date = new Date(Number((startNs * factor) / 1_000_000n)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return [
    {
      code: 'time-unit',
      message: `request times start before the year 2000, on no steady clock this input names; read as ${name} since the epoch they would start at ${date}: if the exporter wrote ${name} where ns are due (in a Jaeger or Zipkin export: ${coarse} where µs are due), every duration and rate here is ${times}× off (fix the exporter's time unit)`,
      count: 1,
    },
  ];
}

function s(n: number): string {
  return n === 1 ? '' : 's';
}

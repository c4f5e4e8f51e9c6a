/**
 * @module analyzer
 * Trace files → analysis: read every file (merged by trace id), rebuild each request's phase
 * timings, measure per-model percentiles, and diagnose each model. Apart from reading the input
 * files this is pure: the result is plain data, rendered by `report/`.
 */
import type { SpanRecord, TraceFormat } from '../model/span.js';
import type { RequestTiming } from '../model/request.js';
import type { ModelSummary } from '../model/summary.js';
import type { Diagnosis } from '../model/diagnosis.js';
import type { DeviceEvidence, GpuSample } from '../model/gpu.js';
import type { PrometheusInput } from '../model/prometheus.js';
import { detectFile, readGpuSamples, readSpans } from '../formats/index.js';
import type { ReadStats } from '../formats/index.js';
import { DEFAULT_THRESHOLDS, diagnose } from './diagnose/index.js';
import { summarizeDevice } from './device.js';
import { latencyTimeline } from './timeline.js';
import type { TimelineWindow } from './timeline.js';
import type { TimeWindow } from './device.js';
import type { DiagnoseOptions } from './diagnose/index.js';
import { RequestAssembler } from './assemble.js';
import type { AssembleOptions, AssemblyStats } from './assemble.js';
import type { GenericReport } from './generic.js';
import { groupByModel, summarize } from './measure.js';
import { readColumnsThreaded } from './_threaded-read.js';
import type { SpanColumns } from './_span-columns.js';

export { RequestAssembler, assembleRequests } from './assemble.js';
export type { AssembleOptions, AssemblyResult, AssemblyStats } from './assemble.js';
export { GenericAccumulator } from './generic.js';
export type { GenericReport, OperationTime } from './generic.js';
export { summarize, summarizeByModel, groupByModel } from './measure.js';
export { diagnose, parseSlo, parseThresholdOverride, parseThresholdOverrides, DEFAULT_THRESHOLDS, THRESHOLD_SPECS, DiagnoseOptionError } from './diagnose/index.js';
export type { DiagnoseInput, DiagnoseOptions, SloTargets, Thresholds, ThresholdKey } from './diagnose/index.js';

/** Options of `analyzeFiles` / `analyzeSpans`. */
export interface AnalyzeOptions extends AssembleOptions {
  /** Turn skipped parts of a file into an error instead of a warning. Default false. */
  readonly strict?: boolean;
  /** Only analyse requests of this model. Default: all models. */
  readonly model?: string;
  /** How many operations the generic report lists. Default 10. */
  readonly topOperations?: number;
  /** Diagnosis options (thresholds, SLO); `false` skips the diagnosis. Default: defaults. */
  readonly diagnose?: DiagnoseOptions | false;
  /**
   * Read files bigger than 4 MiB in a worker thread, parallel to assembly. Faster when a second
   * core is free; costs a second JS heap (tens of MB). Default false.
   */
  readonly threads?: boolean;
  /** GPU sidecar samples; summarized over the traced window into device evidence for the diagnosis. */
  readonly gpuSamples?: readonly GpuSample[];
}

/** One input file: what it was and how much of it was used. */
export interface FileSummary {
  readonly file: string;
  readonly format: TraceFormat;
  /** Spans read from the file. */
  readonly spans: number;
  /** Spans (or lines, records) skipped as unreadable. */
  readonly skipped: number;
  /** Leniencies applied while reading (base64 ids, snake_case keys, …), for `--verbose`. */
  readonly leniencies: readonly string[];
}

/** A problem worth telling the user, counted. */
export interface AnalysisWarning {
  /** The file it concerns, absent for problems across files. */
  readonly file?: string;
  readonly location?: string;
  readonly message: string;
  readonly count: number;
}

/** Everything learnt about one model. */
export interface ModelAnalysis {
  readonly summary: ModelSummary;
  /** Absent until the diagnosis stage runs. */
  readonly diagnosis?: Diagnosis;
}

/** The result of one analysis run: plain data for `report/`. */
export interface AnalysisResult {
  readonly files: readonly FileSummary[];
  readonly warnings: readonly AnalysisWarning[];
  /** Spans received from all files. */
  readonly spans: number;
  readonly traces: number;
  /** Requests analysed (after the model filter). */
  readonly requests: number;
  /** First request start and last request end, ns since epoch; absent without requests. */
  readonly window?: { readonly startNs: bigint; readonly endNs: bigint };
  /** All analysed requests together; absent without requests. */
  readonly overall?: ModelSummary;
  /** Per model, most requests first. */
  readonly models: readonly ModelAnalysis[];
  /** Self time and critical path by operation, when no request follows the convention. */
  readonly generic?: GenericReport;
  readonly assembly: Readonly<AssemblyStats>;
  /** The per-request rows the summaries were computed from (not serialized by reports). */
  readonly timings: readonly RequestTiming[];
  /** GPU evidence over the traced window (from GPU sample files), empty without samples. */
  readonly device: readonly DeviceEvidence[];
  /** e2e latency next to GPU state per time window; empty without GPU samples. */
  readonly timeline: readonly TimelineWindow[];
  /** Present when the input was a Prometheus-compatible engine instead of files. */
  readonly prometheus?: PrometheusInput;
}

/**
 * Reads, assembles, measures and diagnoses the given trace files. Every file is checked
 * (format sniffed from its content) before any is read, so a wrong file fails fast.
 * GPU sample files among them are read as samples, not spans (see `gpuSamples`).
 */
export async function analyzeFiles(files: readonly string[], options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const traceFiles: { file: string; bytes: number }[] = [];
  const sampleFiles: string[] = [];
  for (const file of files) {
    const detected = await detectFile(file);
    if (detected.format === 'gpu-samples') sampleFiles.push(file);
    else traceFiles.push({ file, bytes: detected.bytes });
  }
  const gpuSamples: GpuSample[] = [...(options.gpuSamples ?? [])];
  for (const file of sampleFiles) for (const sample of await readGpuSamples(file)) gpuSamples.push(sample);
  const strict = options.strict ?? false;
  const sources: Source[] = traceFiles.map(({ file, bytes }) => ({
    file,
    // Below a few MiB a thread costs more to start than it saves.
    reader: options.threads === true && bytes > THREAD_MIN_BYTES ? readColumnsThreaded(file, strict) : readSpans(file, { strict }),
  }));
  const fileStats = new Map<string, ReadStats>();
  const batches = mergeByTime(sources, (file, stats) => fileStats.set(file, stats));
  const result = await analyzeSpans(batches, { ...options, gpuSamples });
  const fileSummaries: FileSummary[] = files.map((file) => {
    const stats = fileStats.get(file);
    if (stats === undefined) return { file, format: 'gpu-samples', spans: 0, skipped: 0, leniencies: [] };
    return { file, format: stats.format, spans: stats.spans, skipped: stats.skipped, leniencies: stats.leniencies };
  });
  const readWarnings: AnalysisWarning[] = [...fileStats.values()].flatMap((s) => s.warnings);
  // The readers already report duplicates inside one file; keep the assembler's line only for
  // the rest (duplicates across files, or past the reader's check limit).
  const readerDuplicates = readWarnings.filter((w) => /duplicate span id/i.test(w.message)).reduce((n, w) => n + w.count, 0);
  const assemblyWarnings = result.warnings.flatMap((w): AnalysisWarning[] => {
    if (!w.message.includes(DUPLICATE_MESSAGE) || readerDuplicates === 0) return [w];
    const rest = w.count - readerDuplicates;
    return rest > 0 ? [{ message: `${rest} more ${DUPLICATE_MESSAGE}`, count: rest }] : [];
  });
  return { ...result, files: fileSummaries, warnings: [...readWarnings, ...assemblyWarnings] };
}

/** The pipeline after reading: spans → requests → summaries → diagnoses. */
export async function analyzeSpans(batches: AsyncIterable<SpanBatch> | Iterable<SpanBatch>, options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const assembler = new RequestAssembler(options);
  for await (const batch of batches) {
    if (isRecords(batch)) assembler.add(batch);
    else assembler.addColumns(batch);
  }
  const { requests: all, stats, generic } = assembler.finish();
  const requests = options.model === undefined ? all : all.filter((r) => r.model === options.model);
  const warnings = assemblyWarnings(stats);
  if (options.model !== undefined && requests.length === 0 && all.length > 0) {
    const models = [...groupByModel(all).keys()].join(', ');
    warnings.push({ message: `no requests of model "${options.model}" (models present: ${models})`, count: 1 });
  }
  const diagnoseOptions = options.diagnose;
  const device = deviceEvidence(requests, options.gpuSamples ?? []);
  if ((options.gpuSamples?.length ?? 0) > 0 && device.length === 0 && requests.length > 0) {
    warnings.push({ message: 'GPU samples given, but none falls inside the traced window (check the clocks of both machines)', count: 1 });
  }
  const models: ModelAnalysis[] = [...groupByModel(requests)]
    .map(([model, list]): ModelAnalysis => {
      const summary = summarize(model, list);
      if (diagnoseOptions === false) return { summary };
      const input = { model, requests: list, summary, ...(device.length > 0 ? { device } : {}) };
      return { summary, diagnosis: diagnose(input, diagnoseOptions) };
    })
    .sort((a, b) => b.summary.requests - a.summary.requests || a.summary.model.localeCompare(b.summary.model));
  // One model: its summary covers the same requests, so reuse it instead of building every
  // histogram a second time (about 5% of a large run's CPU).
  const overall = requests.length === 0 ? undefined : models.length === 1 ? models[0]!.summary : summarize('(all models)', requests);
  const genericReport = generic.report(options.topOperations ?? 10);
  return {
    files: [],
    warnings,
    spans: stats.spans,
    traces: stats.traces,
    requests: requests.length,
    ...(overall ? { window: { startNs: overall.windowStartNs, endNs: overall.windowEndNs }, overall } : {}),
    models,
    ...(all.length === 0 && genericReport.traces > 0 ? { generic: genericReport } : {}),
    assembly: stats,
    timings: requests,
    device,
    timeline: latencyTimeline(requests, device),
  };
}

/** GPU evidence over the requests' window, in as many equal-time windows as the diagnosis uses. */
function deviceEvidence(requests: readonly RequestTiming[], samples: readonly GpuSample[]): DeviceEvidence[] {
  if (samples.length === 0 || requests.length === 0) return [];
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const r of requests) {
    const start = Number(r.startNs / 1_000_000n);
    startMs = Math.min(startMs, start);
    endMs = Math.max(endMs, start + r.e2eMs);
  }
  const count = DEFAULT_THRESHOLDS['windows.count'];
  const step = (endMs - startMs) / count;
  const windows: TimeWindow[] = Array.from({ length: count }, (_, i) => ({ startMs: startMs + i * step, endMs: i === count - 1 ? endMs : startMs + (i + 1) * step }));
  return summarizeDevice(samples, { startMs, endMs }, windows);
}

const DUPLICATE_MESSAGE = 'duplicate span(s) (same trace, span id and kind) counted once';

/** Turns the assembler's counts into warnings, one per kind of problem. */
function assemblyWarnings(stats: AssemblyStats): AnalysisWarning[] {
  const out: AnalysisWarning[] = [];
  const add = (count: number, message: string): void => {
    if (count > 0) out.push({ message: `${count} ${message}`, count });
  };
  add(stats.duplicateSpans, DUPLICATE_MESSAGE);
  add(stats.invalidSpans, `span${s(stats.invalidSpans)} ending before ${stats.invalidSpans === 1 ? 'it starts' : 'they start'} skipped`);
  add(stats.lateSpans, `span${s(stats.lateSpans)} arrived after their trace was finalized and were not used (raise --idle-spans for inputs whose traces are spread far apart)`);
  add(stats.unattachedPhaseSpans, `phase span${s(stats.unattachedPhaseSpans)} with no request span above them (missing parent or no inference.model.name on the request span)`);
  add(stats.clockSkewRequests, `request${s(stats.clockSkewRequests)} with clock skew between client and server (server span outside its client span; re-centred, network clamped at 0)`);
  return out;
}

function s(n: number): string {
  return n === 1 ? '' : 's';
}

/** Spans as readers give them: normalized records, or columns from a reader thread. */
export type SpanBatch = readonly SpanRecord[] | SpanColumns;

const THREAD_MIN_BYTES = 4 * 1024 * 1024;

function isRecords(batch: SpanBatch): batch is readonly SpanRecord[] {
  return Array.isArray(batch);
}

interface Source {
  readonly file: string;
  readonly reader: AsyncGenerator<SpanRecord[], ReadStats> | AsyncGenerator<SpanColumns, ReadStats>;
}

/** Spans handed on at once while merging several files by time. */
const MERGE_CHUNK = 512;

/**
 * Reads several files as one stream, merged by span start time: exports of the same period
 * (client side, server side) then reach the assembler in step, so their traces meet before the
 * assembler's idle window closes them, even when one file is a single big document. Each batch
 * is sorted by start and handed on in chunks that do not run ahead of the other files. (Batches
 * from a reader thread are passed on whole.) One file passes straight through.
 */
async function* mergeByTime(sources: readonly Source[], done: (file: string, stats: ReadStats) => void): AsyncGenerator<SpanBatch> {
  if (sources.length === 1) {
    const only = sources[0]!;
    for (;;) {
      const next = await only.reader.next();
      if (next.done === true) {
        done(only.file, next.value);
        return;
      }
      if (next.value.length > 0) yield next.value;
    }
  }
  const live = sources.map((source) => ({ source, pending: [] as readonly SpanRecord[], pos: 0 }));
  while (live.length > 0) {
    for (let i = 0; i < live.length; ) {
      const entry = live[i]!;
      if (entry.pos < entry.pending.length) {
        i++;
        continue;
      }
      const next = await entry.source.reader.next();
      if (next.done === true) {
        done(entry.source.file, next.value);
        live.splice(i, 1);
        continue;
      }
      const batch: SpanBatch = next.value;
      if (!isRecords(batch)) {
        if (batch.length > 0) yield batch;
        continue;
      }
      entry.pending = [...batch].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
      entry.pos = 0;
    }
    if (live.length === 0) return;
    let pick = 0;
    for (let i = 1; i < live.length; i++) if (startAt(live[i]!) < startAt(live[pick]!)) pick = i;
    let limit: bigint | undefined;
    for (let i = 0; i < live.length; i++) {
      if (i === pick) continue;
      const start = startAt(live[i]!);
      if (limit === undefined || start < limit) limit = start;
    }
    const entry = live[pick]!;
    let end = entry.pos + 1;
    while (end < entry.pending.length && end - entry.pos < MERGE_CHUNK && (limit === undefined || entry.pending[end]!.startNs <= limit)) end++;
    yield entry.pending.slice(entry.pos, end);
    entry.pos = end;
  }
}

function startAt(entry: { readonly pending: readonly SpanRecord[]; readonly pos: number }): bigint {
  return entry.pending[entry.pos]!.startNs;
}

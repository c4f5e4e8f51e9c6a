/**
 * @module model/analysis
 * What one analysis run produces, as plain data for `report/`: the inputs used, warnings with
 * stable codes, assembly counts, per-model summaries and diagnoses, GPU evidence and the
 * latency timeline. Built by `analyzer/` (`analyzeSpans`, `analyzeFiles`).
 */
import type { TraceFormat } from './span.js';
import type { RequestTable } from './request-table.js';
import type { ModelSummary } from './summary.js';
import type { Diagnosis } from './diagnosis.js';
import type { DeviceEvidence, DeviceWindow } from './gpu.js';
import type { PrometheusInput } from './prometheus.js';

/** What assembly saw and skipped, for warnings and `--verbose`. */
export interface AssemblyStats {
  /** Spans received (duplicates and late spans included). */
  spans: number;
  /** Spans dropped because a span with the same id and kind was already in the trace. */
  duplicateSpans: number;
  /** Spans dropped because their trace had already been finalized. */
  lateSpans: number;
  /** Spans dropped because they end before they start. */
  invalidSpans: number;
  /** Spans whose parent is not in the input. */
  orphanSpans: number;
  /** Traces whose spans form more than one connected piece (a missing parent splits a trace). */
  fragmentedTraces: number;
  /** Pieces of the fragmented traces, all together. */
  fragmentPieces: number;
  /** Phase spans with no request span above them. */
  unattachedPhaseSpans: number;
  traces: number;
  /** Traces with at least one request span. */
  requestTraces: number;
  /** Requests whose client and server clocks disagreed. */
  clockSkewRequests: number;
  /**
   * Requests whose first token came more than 1 ms after their end (TTFT clamped to e2e): often a
   * unit mistake (a time to first chunk written in ms where seconds are due) or a damaged record.
   */
  firstTokenAfterEnd: number;
  /**
   * Compute and decode spans whose `inference.batch.size` is no positive integer (0.5, −3,
   * "0x10"): read as carrying no batch size.
   */
  invalidBatchSizes: number;
  /**
   * Requests timed more than 2⁵³ ns (about 104 days) from the input's first span, where times
   * held as doubles round (unrelated clocks in one run: a Triton file's steady clock next to
   * wall-clock traces).
   */
  roundedRequests: number;
  /** The largest rounding step among them, ns (0 when none). */
  roundedToNs: number;
}

/** Time spent by one (service, operation) across all traces. */
export interface OperationTime {
  readonly service: string;
  readonly operation: string;
  /** Number of spans. */
  readonly spans: number;
  /** Spans of this operation marked as errors. */
  readonly errors: number;
  /** Sum of span durations, ms. */
  readonly totalMs: number;
  /** Sum of self time, ms. */
  readonly selfMs: number;
  /** Sum of time on the critical path, ms. */
  readonly criticalPathMs: number;
  /** criticalPathMs ÷ the sum of all root-span durations (0–1). */
  readonly criticalPathShare: number;
}

/** The operation credited with critical-path time after a span ended and before its child took over (asynchronous work). */
export const ASYNC_GAP = '(async gap)';

/** The generic report: top operations by self time and by critical-path time. */
export interface GenericReport {
  readonly traces: number;
  readonly spans: number;
  /** Sum over the pieces of every trace of the time from the root's start to where its work ends, ms. */
  readonly rootMs: number;
  /** Connected pieces (roots) over all traces: more than `traces` when parents are missing from the input. */
  readonly pieces: number;
  /** Traces made of more than one piece. */
  readonly fragmentedTraces: number;
  /** Traces where work outlives its parent span (queues, fire-and-forget, producer → consumer). */
  readonly asyncTraces: number;
  /** Traces where a server span lay partly outside its client span (clock skew between hosts) and was moved into it. */
  readonly skewedTraces: number;
  readonly bySelfTime: readonly OperationTime[];
  readonly byCriticalPath: readonly OperationTime[];
}

/** Requests and e2e latency in one time window, with each GPU's state over the same window. */
export interface TimelineWindow {
  readonly startMs: number;
  readonly endMs: number;
  /** Requests that started inside the window. */
  readonly requests: number;
  /** Absent when no request started inside the window. */
  readonly e2eP50Ms?: number;
  readonly e2eP99Ms?: number;
  /** One entry per GPU, in the order of the device evidence. */
  readonly gpus: readonly (DeviceWindow & { readonly gpuUuid: string; readonly gpuName?: string })[];
}

/** Which clock a source's timestamps come from; a monotonic one has no wall-clock meaning. */
export type SourceClock = 'epoch' | 'monotonic';

/** 2000-01-01T00:00:00Z in ns since the epoch: a wall-clock trace starts after it, a steady clock's before. */
export const YEAR_2000_NS = 946_684_800_000_000_000n;

/** A range of wall-clock time, ns since the epoch: `startNs` included, `endNs` excluded; either bound may be absent. */
export interface TimeRange {
  readonly startNs?: bigint;
  readonly endNs?: bigint;
}

/**
 * True when `ns` lies in `range`. The one rule of `--start`/`--end`: a request is placed by its
 * start, a trace without requests by its first span's, so each is whole or out, never cut.
 */
export function startsInRange(range: TimeRange, ns: bigint): boolean {
  return (range.startNs === undefined || ns >= range.startNs) && (range.endNs === undefined || ns < range.endNs);
}

/** A `--start`/`--end` range and what the input held besides what it kept, so counts of the whole input are not read as the range's. */
export interface TimeRangeCut extends TimeRange {
  /** Requests in the input (of the `--model` one, where given), in the range or not; `AnalysisResult.requests` counts those kept. */
  readonly inputRequests: number;
  /** Traces without a request span in the input, in the range or not; the generic report counts those kept. */
  readonly inputTraces: number;
}

/** What a source convention (analyzer/conventions) reports about the requests it mapped. */
export interface ConventionNote {
  /** The layout or version recognised, e.g. "Triton trace file 2.x", "vLLM llm_request (v1 engine)". */
  readonly label: string;
  readonly clock: SourceClock;
  /** Facts this source never carries (e.g. "batch size"), named so the diagnosis can say what it could not see. */
  readonly unseen: readonly string[];
  /** For requests counted without a latency (they did not complete): who ended them, where the source says (TGI's router spans). */
  readonly ended?: 'server-error' | 'client-error' | 'cancelled';
}

/** A convention recognised in the input, with how many requests it gave. */
export interface ConventionUse extends ConventionNote {
  /** The convention's id, e.g. `triton`, `vllm`: the serving system the spans came from. */
  readonly id: string;
  readonly requests: number;
  /**
   * `requests` by model, for requests counted without a latency (`ended`): the model summaries'
   * `errors` and `failures` are filled from it (they have no request span to be measured from).
   */
  readonly byModel?: Readonly<Record<string, number>>;
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
  /** OTLP JSON lines read by the byte-scanning fast reader, and those it handed to the full parser, for `--verbose`. */
  readonly fastReader?: { readonly lines: number; readonly fallbacks: number };
  /** Standard input or a pipe held in a temporary file to be read as a file is, for `--verbose`. */
  readonly spooled?: Spooled;
}

/** Where a stream was held to be read as a file (a temporary directory), and how many bytes of it. */
export interface Spooled {
  readonly bytes: number;
  readonly directory: string;
}

/** Stable code of an analysis warning, so code (and tests) never match on the words. */
export type WarningCode =
  /** A reader's warning about part of one file: skipped as unreadable, or a duplicate span id kept once. */
  | 'read'
  /** Spans with the same trace, span id and kind across the whole input, counted once by the assembler. */
  | 'duplicate-span'
  | 'invalid-span'
  | 'late-span'
  | 'unattached-phase-span'
  | 'clock-skew'
  /** Requests whose first token came after their end: TTFT clamped to e2e (see AssemblyStats.firstTokenAfterEnd). */
  | 'first-token-after-end'
  /** Compute or decode spans whose batch size is no positive integer, read as carrying none (see AssemblyStats.invalidBatchSizes). */
  | 'invalid-batch-size'
  /** Triton trace files of several servers or runs, or with wall-clock files: unrelated clocks, so the window and rates mix them. */
  | 'monotonic-clocks'
  /** Requests timed so far from the input's first span that their times round (see AssemblyStats.roundedRequests). */
  | 'time-precision'
  /** Wall-clock requests before the year 2000 whose times, read as µs or ms since the epoch, fall in this century: an exporter's unit mistake. */
  | 'time-unit'
  /** Spans whose parent is not in the input: their traces are measured piece by piece. */
  | 'orphan-span'
  | 'gpu-samples-outside-window'
  /** GPU samples that start well after the traced window starts or end well before it ends: the GPU evidence is of part of the run. */
  | 'gpu-samples-partial'
  /** GPU sample values outside what a GPU can report (a damaged file or a faulty driver): left out of the analysis. */
  | 'gpu-sample-out-of-range'
  /** Prometheus input: a counter reset, a replica gone stale, bucket layouts that differ, partial data, an engine warning. */
  | 'metrics-quality'
  /** `--slo` given but no inference request to check it on. */
  | 'slo-not-checked'
  /** A time range (`--start`/`--end` on trace files): the requests it left out, and failures recorded without a time. */
  | 'time-range';

/** A problem worth telling the user, counted. */
export interface AnalysisWarning {
  /** What kind of problem. */
  readonly code: WarningCode;
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
  /** The per-request timings the summaries were computed from, in start order, as columns (`row(i)`, `rows()` give RequestTiming objects); not serialized by reports. */
  readonly timings: RequestTable;
  /** GPU evidence over the traced window (from GPU sample files), empty without samples. */
  readonly device: readonly DeviceEvidence[];
  /** e2e latency next to GPU state per time window; empty without GPU samples. */
  readonly timeline: readonly TimelineWindow[];
  /** Inference-server conventions the input was read as ("Triton trace file 2.x", …); empty for our own. */
  readonly conventions: readonly ConventionUse[];
  /** Present when the input was a Prometheus-compatible engine instead of files (`analyze --prometheus`). */
  readonly prometheus?: PrometheusInput;
  /** Present when `--start`/`--end` cut the trace files to a range: the range, and the input's counts beside those kept. */
  readonly timeRange?: TimeRangeCut;
}

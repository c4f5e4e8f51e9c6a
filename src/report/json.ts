/**
 * @module report/json
 * The `--json` output: a stable, documented schema (docs/json-schema.md). Keys are snake_case,
 * times in milliseconds (`*_ms`), shares 0–1, timestamps ISO 8601 UTC with the exact
 * nanoseconds alongside as decimal strings. New fields may be added; existing ones keep their
 * meaning within schema version 1.
 */
import type { AnalysisResult, ModelAnalysis, OperationTime, TimeRangeCut } from '../model/analysis.js';
import { isoNs } from '../errors.js';
import { diagnosisToJson } from './diagnosis-json.js';
import type { JsonDiagnosis } from './diagnosis-json.js';
import type { CountPercentiles, ModelSummary, Percentiles, PhaseSummary, Statistic } from '../model/summary.js';
import type { PhaseOrOther } from '../semconv.js';
import { isoTime, round } from './_format.js';
import { clocksByModel, modelClock, runClock } from './_windows.js';
import type { WindowClock } from './_windows.js';
import { prometheusJson } from './prometheus.js';

/** Schema id written as `schema`. */
export const JSON_SCHEMA_ID = 'latency-doctor/analysis@1';

/** A latency distribution in the JSON report. */
export interface JsonPercentiles {
  /** What p50_ms…max_ms are: `percentile` (per request), `bucket-percentile` (histogram buckets), `mean` (sum ÷ count only: they are null). */
  statistic: Statistic;
  count: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** One time window of the latency/GPU timeline in the JSON report. */
export interface JsonTimelineWindow {
  start: string;
  end: string;
  requests: number;
  e2e_p50_ms: number | null;
  e2e_p99_ms: number | null;
  gpus: {
    uuid: string;
    name: string | null;
    samples: number;
    max_temperature_c: number | null;
    mean_sm_clock_mhz: number | null;
    sm_clock_max_mhz: number | null;
    throttled_share: number | null;
    thermal_throttled_share: number | null;
    power_throttled_share: number | null;
    mean_utilization: number | null;
    memory_used_bytes: number | null;
  }[];
}

/** One phase in the JSON report. */
export interface JsonPhase extends JsonPercentiles {
  /** Σ phase time ÷ Σ e2e time, 0–1. */
  share: number;
  /** Requests that have this phase. */
  present: number;
}

/** A count distribution (tokens per request) in the JSON report. */
export interface JsonCounts {
  /** As JsonPercentiles' `statistic`. */
  statistic: Statistic;
  count: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/** Generation metrics (docs/conventions.md, "Generation") in the JSON report. */
export interface JsonGeneration {
  /** Requests that generated tokens (a first token or an output count). */
  requests: number;
  ttft: JsonPercentiles | null;
  tpot: JsonPercentiles | null;
  /** Inter-token latency, per gap between tokens (a server's per-token histogram); null on the trace path. */
  itl: JsonPercentiles | null;
  tokens_in: JsonCounts | null;
  tokens_out: JsonCounts | null;
  tokens_cached: JsonCounts | null;
  /** Σ cached prompt tokens ÷ Σ prompt tokens. */
  cached_share: number | null;
  /** Σ output tokens ÷ window seconds. */
  tokens_per_s: number | null;
}

/** One model in the JSON report. */
export interface JsonModel {
  model: string;
  services: string[];
  requests: number;
  errors: number;
  /** `errors` split by who ended the request, and the client's cancellations beside them, where the source tells them apart (TGI); null elsewhere. */
  failures: { server_errors: number; client_errors: number; cancelled: number } | null;
  /** Null with fewer than two requests. */
  throughput_rps: number | null;
  /** Null when no request of the model completed (every one failed or was cancelled: TGI's router spans). */
  window: JsonWindow | null;
  runtime: string | null;
  runtime_provider: string | null;
  precision: string | null;
  device: string | null;
  model_version: string | null;
  /** Null when no request of the model completed, as `window`. */
  e2e: JsonPercentiles | null;
  phases: Partial<Record<PhaseOrOther, JsonPhase>>;
  coverage: number;
  /** Null when no request of the model generated tokens. */
  generation: JsonGeneration | null;
  diagnosis: JsonDiagnosis | null;
}

/** A time window. */
export interface JsonWindow {
  /** ISO 8601; null when the times come from a monotonic clock (no wall-clock meaning). */
  start: string | null;
  end: string | null;
  /** `epoch`, or `monotonic` for sources such as Triton's trace file. */
  clock: 'epoch' | 'monotonic';
  start_unix_nano: string;
  end_unix_nano: string;
  duration_s: number;
}

/** A `--start`/`--end` range: bounds to the ns as given (null where not given), and what the input held. */
export interface JsonTimeRange {
  start: string | null;
  end: string | null;
  start_unix_nano: string | null;
  end_unix_nano: string | null;
  input_requests: number;
  input_traces: number;
}

/** One operation of the generic report. */
export interface JsonOperation {
  /** null when the spans name no service. */
  service: string | null;
  operation: string;
  spans: number;
  errors: number;
  total_ms: number;
  self_ms: number;
  critical_path_ms: number;
  critical_path_share: number;
}

/** The whole `--json` document. */
export interface JsonReport {
  schema: typeof JSON_SCHEMA_ID;
  files: { file: string; format: string; spans: number; skipped: number }[];
  spans: number;
  traces: number;
  requests: number;
  window: JsonWindow | null;
  /** Only with `--start`/`--end` on trace files: the range, and the input's counts beside the kept ones (`requests`, `generic.traces`). */
  time_range?: JsonTimeRange;
  /** Null with fewer than two requests (one request has no rate). */
  throughput_rps: number | null;
  /** Inference-server conventions the input was read as; empty for our own convention. */
  /** `ended`: who ended requests counted without a latency (TGI's failed and cancelled router spans), null for requests read with one. */
  conventions: { id: string; label: string; requests: number; clock: 'epoch' | 'monotonic'; unseen: string[]; ended: 'server-error' | 'client-error' | 'cancelled' | null }[];
  e2e: JsonPercentiles | null;
  phases: Partial<Record<PhaseOrOther, JsonPhase>>;
  coverage: number | null;
  /** Over all analysed requests; null when none generated tokens. */
  generation: JsonGeneration | null;
  models: JsonModel[];
  /** The diagnosis of the model with the most requests (every model's is under `models[]`). */
  diagnosis: JsonDiagnosis | null;
  generic: {
    traces: number;
    spans: number;
    root_ms: number;
    pieces: number;
    fragmented_traces: number;
    async_traces: number;
    skewed_traces: number;
    by_critical_path: JsonOperation[];
    by_self_time: JsonOperation[];
  } | null;
  assembly: { traces: number; request_traces: number; duplicate_spans: number; late_spans: number; invalid_spans: number; orphan_spans: number; fragmented_traces: number; unattached_phase_spans: number; clock_skew_requests: number };
  warnings: { code: string; file: string | null; location: string | null; message: string; count: number }[];
  /** e2e latency next to each GPU's state per time window; empty without GPU samples. */
  timeline: JsonTimelineWindow[];
  /** The engine, sources, replicas and queries when the input was Prometheus (`analyze --prometheus`); absent for files. */
  prometheus?: Record<string, unknown>;
}

/** Builds the JSON report object. */
export function toJsonReport(result: AnalysisResult): JsonReport {
  const overall = result.overall;
  const clock = runClock(result);
  const modelClocks = clocksByModel(result);
  const first = result.models[0];
  return {
    schema: JSON_SCHEMA_ID,
    files: result.files.map((f) => ({ file: f.file, format: f.format, spans: f.spans, skipped: f.skipped })),
    spans: result.spans,
    traces: result.traces,
    requests: result.requests,
    window: result.window ? window(result.window.startNs, result.window.endNs, clock) : null,
    ...(result.timeRange ? { time_range: timeRangeJson(result.timeRange) } : {}),
    throughput_rps: overall && result.requests >= 2 ? round(overall.throughputRps) : null,
    conventions: result.conventions.map((c) => ({ id: c.id, label: c.label, requests: c.requests, clock: c.clock, unseen: [...c.unseen], ended: c.ended ?? null })),
    e2e: overall ? percentiles(overall.e2e) : null,
    phases: overall ? phases(overall) : {},
    coverage: overall ? round(overall.coverage) : null,
    generation: overall ? generation(overall) : null,
    models: result.models.map((m) => model(m, modelClock(modelClocks, m.summary.model, clock))),
    diagnosis: first?.diagnosis ? diagnosisToJson(first.diagnosis) : null,
    generic: result.generic
      ? {
          traces: result.generic.traces,
          spans: result.generic.spans,
          root_ms: round(result.generic.rootMs),
          pieces: result.generic.pieces,
          fragmented_traces: result.generic.fragmentedTraces,
          async_traces: result.generic.asyncTraces,
          skewed_traces: result.generic.skewedTraces,
          by_critical_path: result.generic.byCriticalPath.map(operation),
          by_self_time: result.generic.bySelfTime.map(operation),
        }
      : null,
    assembly: {
      traces: result.assembly.traces,
      request_traces: result.assembly.requestTraces,
      duplicate_spans: result.assembly.duplicateSpans,
      late_spans: result.assembly.lateSpans,
      invalid_spans: result.assembly.invalidSpans,
      orphan_spans: result.assembly.orphanSpans,
      fragmented_traces: result.assembly.fragmentedTraces,
      unattached_phase_spans: result.assembly.unattachedPhaseSpans,
      clock_skew_requests: result.assembly.clockSkewRequests,
    },
    warnings: result.warnings.map((w) => ({ code: w.code, file: w.file ?? null, location: w.location ?? null, message: w.message, count: w.count })),
    timeline: result.timeline.map((w) => ({
      start: new Date(w.startMs).toISOString(),
      end: new Date(w.endMs).toISOString(),
      requests: w.requests,
      e2e_p50_ms: w.e2eP50Ms === undefined ? null : round(w.e2eP50Ms),
      e2e_p99_ms: w.e2eP99Ms === undefined ? null : round(w.e2eP99Ms),
      gpus: w.gpus.map((g) => ({
        uuid: g.gpuUuid,
        name: g.gpuName ?? null,
        samples: g.samples,
        max_temperature_c: g.maxTemperatureC ?? null,
        mean_sm_clock_mhz: g.meanSmClockMhz === undefined ? null : round(g.meanSmClockMhz),
        sm_clock_max_mhz: g.smClockMaxMhz ?? null,
        throttled_share: g.throttledShare === undefined ? null : round(g.throttledShare),
        thermal_throttled_share: g.thermalThrottledShare === undefined ? null : round(g.thermalThrottledShare),
        power_throttled_share: g.powerThrottledShare === undefined ? null : round(g.powerThrottledShare),
        mean_utilization: g.meanUtilization === undefined ? null : round(g.meanUtilization),
        memory_used_bytes: g.memoryUsedBytes ?? null,
      })),
    })),
  };
}

/** Renders the JSON report (pretty-printed, ends with a newline). */
export function renderJson(result: AnalysisResult): string {
  const report = toJsonReport(result);
  return JSON.stringify(result.prometheus ? { ...report, prometheus: prometheusJson(result.prometheus) } : report, null, 2) + '\n';
}

function model(m: ModelAnalysis, clock: 'epoch' | 'monotonic'): JsonModel {
  const s = m.summary;
  return {
    model: s.model,
    services: [...s.services],
    requests: s.requests,
    errors: s.errors,
    failures: s.failures ? { server_errors: s.failures.server, client_errors: s.failures.client, cancelled: s.failures.cancelled } : null,
    throughput_rps: s.requests >= 2 ? round(s.throughputRps) : null,
    // No request completed (every TGI request failed or was cancelled): no window and no latency, not zeros.
    window: s.requests === 0 ? null : window(s.windowStartNs, s.windowEndNs, clock),
    runtime: s.runtime ?? null,
    runtime_provider: s.runtimeProvider ?? null,
    precision: s.precision ?? null,
    device: s.device ?? null,
    model_version: s.modelVersion ?? null,
    e2e: s.requests === 0 ? null : percentiles(s.e2e),
    phases: phases(s),
    coverage: round(s.coverage),
    generation: generation(s),
    diagnosis: m.diagnosis ? diagnosisToJson(m.diagnosis) : null,
  };
}

function phases(s: ModelSummary): Partial<Record<PhaseOrOther, JsonPhase>> {
  const out: Partial<Record<PhaseOrOther, JsonPhase>> = {};
  for (const [phase, p] of Object.entries(s.phases) as [PhaseOrOther, PhaseSummary][]) {
    out[phase] = { ...percentiles(p), share: round(p.share), present: p.present };
  }
  return out;
}

function generation(s: ModelSummary): JsonGeneration | null {
  const g = s.generation;
  if (g === undefined) return null;
  const counts = (c: CountPercentiles | undefined): JsonCounts | null => (c === undefined ? null : { statistic: c.statistic ?? 'percentile', count: c.count, mean: round(c.mean), p50: round(c.p50), p95: round(c.p95), max: round(c.max) });
  return {
    requests: g.requests,
    ttft: g.ttft ? percentiles(g.ttft) : null,
    tpot: g.tpot ? percentiles(g.tpot) : null,
    itl: g.itl ? percentiles(g.itl) : null,
    tokens_in: counts(g.tokensIn),
    tokens_out: counts(g.tokensOut),
    tokens_cached: counts(g.tokensCached),
    cached_share: g.cachedShare === undefined ? null : round(g.cachedShare),
    tokens_per_s: g.tokensPerS === undefined ? null : round(g.tokensPerS),
  };
}

function percentiles(p: Percentiles): JsonPercentiles {
  return { statistic: p.statistic ?? 'percentile', count: p.count, mean_ms: round(p.meanMs), p50_ms: round(p.p50Ms), p90_ms: round(p.p90Ms), p95_ms: round(p.p95Ms), p99_ms: round(p.p99Ms), max_ms: round(p.maxMs) };
}

/** A `--start`/`--end` range as `--json` writes it (`analyze`'s `time_range`, each side's in `diff`). */
export function timeRangeJson(r: TimeRangeCut): JsonTimeRange {
  return {
    start: r.startNs === undefined ? null : isoNs(r.startNs),
    end: r.endNs === undefined ? null : isoNs(r.endNs),
    start_unix_nano: r.startNs?.toString() ?? null,
    end_unix_nano: r.endNs?.toString() ?? null,
    input_requests: r.inputRequests,
    input_traces: r.inputTraces,
  };
}

function window(startNs: bigint, endNs: bigint, clock: WindowClock): JsonWindow {
  const epoch = clock === 'epoch';
  return { start: epoch ? isoTime(startNs) : null, end: epoch ? isoTime(endNs) : null, clock, start_unix_nano: startNs.toString(), end_unix_nano: endNs.toString(), duration_s: round(Number(endNs - startNs) / 1e9) };
}

function operation(o: OperationTime): JsonOperation {
  return {
    service: o.service === '' ? null : o.service,
    operation: o.operation,
    spans: o.spans,
    errors: o.errors,
    total_ms: round(o.totalMs),
    self_ms: round(o.selfMs),
    critical_path_ms: round(o.criticalPathMs),
    critical_path_share: round(o.criticalPathShare),
  };
}


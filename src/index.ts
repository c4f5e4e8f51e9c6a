/**
 * @module latency-doctor
 * Library entry: the span convention and the data model shared by tracer, sidecar and analyzer.
 */
export { PHASES, GENERATION_PHASES, FIRST_TOKEN_EVENT, OTHER, ATTR, ROLE_CLIENT, BATCH_SPAN_NAME, FIX_IDS, TRACER_METRICS, SIDECAR_METRICS, GPU_ATTR, GPU_SAMPLE_SCHEMA, isPhase, isClientSpan, prometheusName, prometheusLabel } from './semconv.js';
export type { Phase, PhaseOrOther, FixId, MetricSpec, InstrumentKind } from './semconv.js';
export type { SpanRecord, SpanKind, AttributeValue, TraceFormat } from './model/span.js';
export type { RequestTiming } from './model/request.js';
export { RequestTable, REQUEST_FLAG, TABLE_NUMBERS, TABLE_TEXTS, asTable } from './model/request-table.js';
export type { Requests, TableNumber, TableText } from './model/request-table.js';
export type { GenerationTiming } from './model/generation.js';
export { timeToFirstTokenMs, timePerOutputTokenMs, outputTokensPerSecond, clampTtft, tokenCount, isGenerative } from './model/generation.js';
export type { GpuSample, GpuState, HostState, ClockEventReason, MigInstance } from './model/gpu.js';
export type { Percentiles, PhaseSummary, ModelSummary, GenerationSummary, CountPercentiles } from './model/summary.js';
export type { Diagnosis, Recommendation, Evidence, FixEffort, GainEstimate, NextStep, TailAttribution, SloResult, SloCheck, RuleOutcome } from './model/diagnosis.js';
export type { DeviceEvidence, DeviceWindow } from './model/gpu.js';
export type { AnalysisResult, AnalysisWarning, WarningCode, FileSummary, ModelAnalysis, AssemblyStats, GenericReport, OperationTime, TimelineWindow } from './model/analysis.js';
export { LatencyDoctorError, ModelNotFoundError, TimeRangeEmptyError, EXIT } from './errors.js';

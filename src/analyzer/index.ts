/**
 * @module analyzer
 * Spans → analysis. `analyzeSpans` (pipeline.ts) is the pure pipeline: span batches in,
 * AnalysisResult out, with the source conventions (conventions/) mapping servers' own spans
 * between the readers and the assembler; `analyzeFiles` (files.ts) is the trace-file adapter
 * that feeds it. The result is plain data (model/analysis.ts), rendered by `report/`.
 */
export { analyzeSpans, deviceEvidence, isRecords } from './pipeline.js';
export type { AnalyzeOptions, SpanBatch, TimeRange } from './pipeline.js';
export { analyzeFiles, defaultThreads } from './files.js';
export type { AnalyzeFilesOptions } from './files.js';
export { AnalysisError } from './errors.js';
export type { AnalysisResult, AnalysisWarning, WarningCode, FileSummary, ModelAnalysis, AssemblyStats, GenericReport, OperationTime, TimelineWindow } from '../model/analysis.js';
export { RequestAssembler, assembleRequests } from './assemble.js';
export type { AssembleOptions, AssemblyResult } from './assemble.js';
export { GenericAccumulator } from './generic.js';
export { CONVENTIONS, ConventionMapper, mapConventions, monotonicClock, rustDurationNs } from './conventions/index.js';
export type { ConventionUse, SourceConvention } from './conventions/index.js';
export { summarize, summarizeByModel, groupByModel } from './measure.js';
export { diagnose, diagnoseSignals, computeSignals, resolveThresholds, parseSlo, checkSlo, sloMeasured, parseThresholdOverride, parseThresholdOverrides, DEFAULT_THRESHOLDS, THRESHOLD_SPECS, DiagnoseOptionError, RULES, RULE_INPUTS, defineRule } from './diagnose/index.js';
export type { DiagnoseInput, DiagnoseOptions, SignalsContext, Signals, SloTargets, SloMeasured, SloMetric, SloQuantile, Thresholds, ThresholdKey, Rule, RuleInput, RuleNeeds } from './diagnose/index.js';
export { diffAnalyses, distributionChange, regressions, parseRegressionGates, DiffInputError } from './diff/index.js';
export type { AnalysisDiff, DiffOptions, DistributionChange, ModelChange, QuantileChange, RequestOutcomes, RegressionGate, VerdictChange } from './diff/index.js';

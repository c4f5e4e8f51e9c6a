/**
 * @module latency-doctor/tracer
 * Instrument an inference service: `setupTracing` once, `createInferenceTracer` per model, then
 * `tracer.infer(async (req) => …)` with a helper per phase of the span convention.
 */
export { setupTracing } from './setup-tracing.js';
export type { TracingOptions, TracingHandle, ExporterOption, MetricsOption, DroppedSpanCounts } from './setup-tracing.js';
export { createInferenceTracer } from './inference-tracer.js';
export type { InferenceTracer, InferOptions } from './inference-tracer.js';
export type { InferenceTracerOptions } from './tracer-state.js';
export type { InferenceRequest, QueueTicket } from './request-scope.js';
export type { GenerationRequest } from './generation.js';
export { traceClientCall, tracedFetch } from './client-call.js';
export type { ClientCallOptions, FetchInput, FetchInit } from './client-call.js';
export { continueFromHeaders, expressMiddleware } from './server-context.js';
export type { IncomingWithHeaders, TraceContextMiddleware } from './server-context.js';
export type { HeaderCarrier } from './headers.js';
export type { InputHashOption } from './input-hash.js';
export { FileSpanExporter, DEFAULT_TRACE_FILE } from './file-span-exporter.js';
export { spansToTracesData } from './otlp-json.js';
export { DURATION_BUCKETS_SECONDS, BATCH_SIZE_BUCKETS } from './phase-metrics.js';
export type { WarningSink } from './warn-once.js';
export { PHASES } from '../semconv.js';
export type { Phase } from '../semconv.js';

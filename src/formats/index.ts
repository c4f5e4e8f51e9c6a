/**
 * @module formats
 * Trace export → normalized spans: one reader per format, `detect.ts` sniffs the content,
 * `readSpans` streams SpanRecords in batches. The public surface of the readers.
 */

export { readSpans, readSpanBatches, readAllSpans } from './read.js';
export { ScannedSpans, SCANNED, SCANNED_KINDS, setHalves } from './_scanned-spans.js';
export type { EventFilter, ReadOptions, ReadStats, ReadWarning } from './read.js';
export type { Spooled } from '../model/analysis.js';
export { detectFile, openTrace, classifyDocument, MAX_DOCUMENT_BYTES } from './detect.js';
export type { DetectedFile, JsonFamily, Layout, OpenedTrace } from './detect.js';
export type { Compression } from './_bytes.js';
export { STDIN } from './_bytes.js';
export { TraceFormatError } from './errors.js';
export { IdDecoder } from './ids.js';
export { anyValue, otlpAttributes, jaegerTagValue, zipkinTagValue, int64Value } from './attributes.js';
export { isoToNs } from './python-console.js';
export { normalizeActivity, TRITON_SOURCE, TRITON_SOURCE_ATTR, tritonServerOf } from './triton-trace.js';
export type { TritonRows, TritonSpanSink } from './triton-trace.js';
export { readGpuSamples, isGpuSampleRecord, checkGpuSampleRanges } from './gpu-samples.js';
export type { GpuSampleReadOptions } from './gpu-samples.js';

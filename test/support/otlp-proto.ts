/**
 * @module test/support/otlp-proto
 * OTLP/JSON → OTLP protobuf bytes with the protobufjs code generated in
 * @opentelemetry/otlp-transformer, so a test can write the same spans as a binary export.
 */
import { createRequire } from 'node:module';

interface ProtoType {
  fromObject(o: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}
const require = createRequire(import.meta.url);
const generated = require('otlp-transformer-052/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtoType } } } } };
};
const ExportTraceServiceRequest = generated.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

/** OTLP/JSON → protobuf bytes: ids are hex in JSON but raw bytes in protobuf. */
export function toProto(json: string): Uint8Array {
  const doc = JSON.parse(json, function (key, value: unknown) {
    if ((key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string') return Buffer.from(value, 'hex');
    return value;
  });
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(doc)).finish();
}

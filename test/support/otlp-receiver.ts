/**
 * @module test/support/otlp-receiver
 * A real OTLP/gRPC receiver for tests: a @grpc/grpc-js server on 127.0.0.1 (ephemeral port)
 * serving the collector's TraceService and MetricsService Export methods, decoding requests with
 * the protobuf code generated from the official OTLP .proto files (shipped in
 * @opentelemetry/otlp-transformer 0.52, installed as `otlp-transformer-052`). Received spans are
 * flattened for assertions (hex ids, exact bigint nanoseconds, plain attribute maps).
 */
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';

const require = createRequire(import.meta.url);

interface GeneratedMessage {
  decode(reader: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}
interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: GeneratedMessage } };
        metrics: { v1: { ExportMetricsServiceRequest: GeneratedMessage } };
      };
    };
  };
}
const root = require('otlp-transformer-052/build/src/generated/root.js') as GeneratedRoot;
const TraceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const MetricsRequest = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** gRPC method path of the OTLP collector's trace service. */
export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** gRPC method path of the OTLP collector's metrics service. */
export const METRICS_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

/** An attribute value after flattening (arrays become arrays of scalars). */
export type ReceivedValue = string | number | boolean | ReceivedValue[] | null;

/** One span as the receiver got it. */
export interface ReceivedSpan {
  readonly service: string;
  readonly scope: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, ReceivedValue>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly events: readonly { readonly name: string; readonly attributes: Readonly<Record<string, ReceivedValue>> }[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
}

type Json = Record<string, unknown>;

function hex(base64: unknown): string {
  return typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : '';
}

function value(v: unknown): ReceivedValue {
  const o = (v ?? {}) as Json;
  if ('stringValue' in o) return o['stringValue'] as string;
  if ('boolValue' in o) return o['boolValue'] as boolean;
  if ('intValue' in o) return Number(o['intValue']);
  if ('doubleValue' in o) return o['doubleValue'] as number;
  if ('arrayValue' in o) return (((o['arrayValue'] as Json)['values'] as unknown[] | undefined) ?? []).map(value);
  return null;
}

/** OTLP KeyValue list → plain record. */
export function attributeMap(list: unknown): Record<string, ReceivedValue> {
  const out: Record<string, ReceivedValue> = {};
  for (const kv of (list as Json[] | undefined) ?? []) out[kv['key'] as string] = value(kv['value']);
  return out;
}

function flatten(request: Json): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of (request['resourceSpans'] as Json[] | undefined) ?? []) {
    const resource = attributeMap((rs['resource'] as Json | undefined)?.['attributes']);
    for (const ss of (rs['scopeSpans'] as Json[] | undefined) ?? []) {
      const scope = ((ss['scope'] as Json | undefined)?.['name'] as string | undefined) ?? '';
      for (const s of (ss['spans'] as Json[] | undefined) ?? []) {
        const status = (s['status'] as Json | undefined) ?? {};
        const parent = hex(s['parentSpanId']);
        spans.push({
          service: String(resource['service.name'] ?? ''),
          scope,
          traceId: hex(s['traceId']),
          spanId: hex(s['spanId']),
          parentSpanId: parent === '' ? undefined : parent,
          name: s['name'] as string,
          kind: (s['kind'] as number | undefined) ?? 0,
          startNs: BigInt((s['startTimeUnixNano'] as string | undefined) ?? '0'),
          endNs: BigInt((s['endTimeUnixNano'] as string | undefined) ?? '0'),
          attributes: attributeMap(s['attributes']),
          links: ((s['links'] as Json[] | undefined) ?? []).map((l) => ({ traceId: hex(l['traceId']), spanId: hex(l['spanId']) })),
          events: ((s['events'] as Json[] | undefined) ?? []).map((e) => ({ name: e['name'] as string, attributes: attributeMap(e['attributes']) })),
          statusCode: (status['code'] as number | undefined) ?? 0,
          statusMessage: (status['message'] as string | undefined) ?? '',
        });
      }
    }
  }
  return spans;
}

const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true };

/** The spans of one protobuf-encoded ExportTraceServiceRequest (a gRPC message or an OTLP/HTTP body). */
export function decodeTraceExport(body: Uint8Array): ReceivedSpan[] {
  return flatten(TraceRequest.toObject(TraceRequest.decode(body), TO_OBJECT) as Json);
}

/** One protobuf-encoded ExportMetricsServiceRequest in the protobuf JSON mapping (longs as strings). */
export function decodeMetricsExport(body: Uint8Array): Json {
  return MetricsRequest.toObject(MetricsRequest.decode(body), TO_OBJECT) as Json;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`, for an OTLP/gRPC exporter's `url`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[];
  /** Every metrics export request received so far (protobuf JSON mapping, longs as strings). */
  readonly metricRequests: Json[];
  /** Number of trace export calls answered (successfully or not). */
  exportCalls(): number;
  /** Answer further exports with this gRPC status (e.g. UNAVAILABLE); undefined to accept again. */
  failWith(code: grpc.status | undefined): void;
  /** Resolves once at least `count` spans have arrived (rejects after `timeoutMs`). */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Resolves once a metrics request matching `predicate` has arrived. */
  waitForMetrics(predicate: (request: Json) => boolean, timeoutMs?: number): Promise<Json>;
  close(): Promise<void>;
}

const passThrough = {
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer): Buffer => b,
  requestDeserialize: (b: Buffer): Buffer => b,
  responseSerialize: (b: Buffer): Buffer => b,
  responseDeserialize: (b: Buffer): Buffer => b,
} as const;

function poll<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = (): void => {
      const found = check();
      if (found !== undefined) resolve(found);
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** Starts a receiver on 127.0.0.1 with an ephemeral port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metricRequests: Json[] = [];
  let failure: grpc.status | undefined;
  let calls = 0;
  const server = new grpc.Server();
  const answer = (callback: grpc.sendUnaryData<Buffer>): void => {
    if (failure !== undefined) callback({ code: failure, details: 'receiver told to fail' });
    else callback(null, Buffer.alloc(0)); // an empty Export*ServiceResponse
  };
  server.addService(
    { Export: { path: TRACE_EXPORT_PATH, originalName: 'Export', ...passThrough } } as grpc.ServiceDefinition,
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        calls += 1;
        if (failure === undefined) spans.push(...decodeTraceExport(call.request));
        answer(callback);
      },
    },
  );
  server.addService(
    { Export: { path: METRICS_EXPORT_PATH, originalName: 'Export', ...passThrough } } as grpc.ServiceDefinition,
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        if (failure === undefined) metricRequests.push(decodeMetricsExport(call.request));
        answer(callback);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    spans,
    metricRequests,
    exportCalls: () => calls,
    failWith(code) {
      failure = code;
    },
    waitForSpans(count, timeoutMs = 10_000) {
      return poll(() => (spans.length >= count ? spans : undefined), timeoutMs, `${count} spans (have ${spans.length})`);
    },
    waitForMetrics(predicate, timeoutMs = 10_000) {
      return poll(() => metricRequests.find(predicate), timeoutMs, 'a matching metrics export');
    },
    close() {
      return new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      });
    },
  };
}

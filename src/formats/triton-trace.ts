/**
 * @module formats/triton-trace
 * Triton Inference Server's native trace file (`--trace-config triton,file=…`, docs
 * `docs/user_guide/trace.md` "JSON Trace Output"): a JSON array of records — `{id, model_name,
 * model_version, request_id, parent_id}` and `{id, timestamps:[{name, ns}]}` — interleaved and
 * not in time order. Each request id becomes one request span (SERVER, `inference.model.name`)
 * with phase spans for the stage intervals Triton's own `qa/common/trace_summary.py` uses:
 * receive/send → network, QUEUE_START→COMPUTE_START → queue, input/output copies → transfer,
 * COMPUTE_INPUT_END→COMPUTE_OUTPUT_START → compute. Ensemble steps nest under their parent id.
 *
 * Times are Triton's steady (monotonic) clock, not the epoch: durations are exact, absolute
 * times only order events within the file. Ids are made from the record ids (trace id = the
 * top-level request id).
 */

import type { AttributeValue, SpanRecord } from '../model/span.js';
import { ATTR } from '../semconv.js';
import type { Phase } from '../semconv.js';
import type { ReadContext } from './_context.js';
import { at, inTimeRange, isObject } from './_shared.js';
import { describeValue, TraceFormatError } from './errors.js';

/** True when a parsed value is a Triton trace array. */
export function isTritonTraceDocument(doc: unknown): boolean {
  if (!Array.isArray(doc)) return false;
  const first: unknown = doc[0];
  return isObject(first) && 'id' in first && !('traceId' in first) && ('timestamps' in first || 'model_name' in first || 'activity' in first);
}

/** Stage intervals (start event, end event, phase), after trace_summary.py. */
const STAGES: readonly (readonly [string, string, Phase, string])[] = [
  ['HTTP_RECV_START', 'HTTP_RECV_END', 'network', 'HTTP receive'],
  ['GRPC_WAITREAD_START', 'GRPC_WAITREAD_END', 'network', 'gRPC read'],
  ['QUEUE_START', 'COMPUTE_START', 'queue', 'queue'],
  ['COMPUTE_START', 'COMPUTE_INPUT_END', 'transfer', 'compute input'],
  ['COMPUTE_INPUT_END', 'COMPUTE_OUTPUT_START', 'compute', 'compute infer'],
  ['COMPUTE_OUTPUT_START', 'COMPUTE_END', 'transfer', 'compute output'],
  ['HTTP_SEND_START', 'HTTP_SEND_END', 'network', 'HTTP send'],
  ['GRPC_SEND_START', 'GRPC_SEND_END', 'network', 'gRPC send'],
];
const STARTS = ['HTTP_RECV_START', 'GRPC_WAITREAD_START', 'REQUEST_START', 'QUEUE_START', 'COMPUTE_START'];
const ENDS = ['HTTP_SEND_END', 'GRPC_SEND_END', 'INFER_RESPONSE_COMPLETE', 'REQUEST_END', 'COMPUTE_END'];

interface TritonRequest {
  model?: string;
  version?: string;
  requestId?: string;
  parent?: number;
  readonly times: Map<string, bigint>;
}

function nsOf(raw: unknown): bigint | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return inTimeRange(BigInt(Math.round(raw)));
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return inTimeRange(BigInt(raw));
  return undefined;
}

function hexId(value: bigint, chars: number): string {
  return value.toString(16).padStart(chars, '0');
}

/** Converts one parsed Triton trace array, appending request and phase spans to `out`. */
export function tritonTraceDocumentToSpans(doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  if (!Array.isArray(doc)) throw new TraceFormatError(ctx.file, at(where, '$'), 'a Triton trace array', describeValue(doc));
  ctx.note('Triton steady-clock times (not epoch; durations exact)');
  const requests = new Map<number, TritonRequest>();
  doc.forEach((record: unknown, i) => {
    if (!isObject(record) || typeof record['id'] !== 'number') {
      ctx.skip(at(where, `$[${i}]`), 'a Triton record with a numeric id', describeValue(record), 'record');
      return;
    }
    const id = record['id'];
    let request = requests.get(id);
    if (request === undefined) {
      request = { times: new Map() };
      requests.set(id, request);
    }
    if (typeof record['model_name'] === 'string') request.model = record['model_name'];
    if (record['model_version'] !== undefined) request.version = String(record['model_version']);
    if (typeof record['request_id'] === 'string' && record['request_id'] !== '') request.requestId = record['request_id'];
    if (typeof record['parent_id'] === 'number') request.parent = record['parent_id'];
    const timestamps = record['timestamps'];
    if (Array.isArray(timestamps)) {
      for (const stamp of timestamps as unknown[]) {
        if (!isObject(stamp) || typeof stamp['name'] !== 'string') continue;
        const ns = nsOf(stamp['ns']);
        if (ns !== undefined) request.times.set(stamp['name'], ns);
      }
    }
  });
  const root = (id: number): number => {
    let current = id;
    for (let hops = 0; hops < 64; hops++) {
      const parent = requests.get(current)?.parent;
      if (parent === undefined || !requests.has(parent)) return current;
      current = parent;
    }
    return current;
  };
  for (const [id, request] of requests) {
    const first = STARTS.map((n) => request.times.get(n)).find((t) => t !== undefined);
    const last = ENDS.map((n) => request.times.get(n)).find((t) => t !== undefined);
    if (first === undefined || last === undefined || last < first) {
      ctx.skip(at(where, `$ (request id ${id})`), 'start and end timestamps of a Triton request', `${request.times.size} timestamps`);
      continue;
    }
    const traceId = hexId(BigInt(root(id)) + 1n, 32);
    const spanId = hexId((BigInt(id) + 1n) << 8n, 16);
    const attributes: Record<string, AttributeValue> = { [ATTR.MODEL_NAME]: request.model ?? 'unknown', 'triton.trace.id': id };
    if (request.version !== undefined) attributes[ATTR.MODEL_VERSION] = request.version;
    if (request.requestId !== undefined) attributes['request_id'] = request.requestId;
    const record: SpanRecord = {
      traceId,
      spanId,
      ...(request.parent !== undefined && requests.has(request.parent) ? { parentSpanId: hexId((BigInt(request.parent) + 1n) << 8n, 16) } : {}),
      name: request.model ?? 'triton request',
      service: 'triton',
      kind: 'server',
      startNs: first,
      endNs: last,
      attributes,
      error: false,
    };
    out.push(record);
    STAGES.forEach(([from, to, phase, name], k) => {
      const start = request.times.get(from);
      const end = request.times.get(to);
      if (start === undefined || end === undefined || end < start) return;
      out.push({
        traceId,
        spanId: hexId(((BigInt(id) + 1n) << 8n) | BigInt(k + 1), 16),
        parentSpanId: spanId,
        name,
        service: 'triton',
        kind: 'internal',
        startNs: start,
        endNs: end,
        attributes: { [ATTR.PHASE]: phase },
        error: false,
      });
    });
  }
}

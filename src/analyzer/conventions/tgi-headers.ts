/**
 * @module analyzer/conventions/tgi-headers
 * TGI's per-request response headers as an HTTP client span recorded them
 * (`http.response.header.x-queue-time`, … in OpenTelemetry's HTTP semantic conventions, where
 * header capture is opted into): `x-total-time`, `x-validation-time`, `x-queue-time`,
 * `x-inference-time`, `x-time-per-token` (integer ms), `x-prompt-tokens`, `x-generated-tokens`
 * (router/src/server.rs, https://github.com/huggingface/text-generation-inference).
 *
 * The headers say how long the server took, not when it started, so the server's request span
 * is placed in the middle of the client span (the same equal-network-each-way assumption as
 * Zipkin's clock-skew correction); network = client − x-total-time.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR, ROLE_CLIENT } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { phaseSpanId, phaseSpans, placeInOrder } from './_spans.js';

const HEADER = 'http.response.header.';
const INFERENCE_HEADER = `${HEADER}x-inference-time`;
const QUEUE_HEADER = `${HEADER}x-queue-time`;
const NOTE: ConventionNote = {
  label: 'TGI response headers on a client span',
  clock: 'epoch',
  unseen: ['when the server started (placed in the middle of the client span)', 'prefill/decode split', 'time to first token', 'batch size'],
};

/** A captured header value: a string, a number, or a JSON array of strings as attribute flattening writes it. */
function headerMs(span: SpanRecord, name: string): number | undefined {
  let value: AttributeValue | undefined = span.attributes[HEADER + name];
  if (typeof value === 'string' && value.startsWith('[')) {
    try {
      const list: unknown = JSON.parse(value);
      value = Array.isArray(list) && (typeof list[0] === 'string' || typeof list[0] === 'number') ? list[0] : undefined;
    } catch {
      value = undefined;
    }
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** TGI timing headers on HTTP client spans. */
export const tgiHeadersConvention: SourceConvention = {
  id: 'tgi',
  lacks: ['batch-sizes'],
  scope: 'span',
  claims(span) {
    return span.kind === 'client' && INFERENCE_HEADER in span.attributes && QUEUE_HEADER in span.attributes;
  },
  map([span]) {
    return mapHeaders(span!);
  },
};

function mapHeaders(client: SpanRecord): MappedSpans {
  // A header past ~1.8e302 ms overflows as nanoseconds (a damaged value): unusable, like an absent one.
  const ns = (ms: number | undefined): bigint => (ms === undefined || !Number.isFinite(ms * 1e6) ? 0n : BigInt(Math.round(ms * 1e6)));
  const validation = ns(headerMs(client, 'x-validation-time'));
  const queue = ns(headerMs(client, 'x-queue-time'));
  const inference = ns(headerMs(client, 'x-inference-time'));
  const clientNs = client.endNs - client.startNs;
  let total = ns(headerMs(client, 'x-total-time'));
  if (total === 0n) total = validation + queue + inference;
  if (total > clientNs) total = clientNs;
  const startNs = client.startNs + (clientNs - total) / 2n;
  const attributes: Record<string, AttributeValue> = { [ATTR.MODEL_NAME]: 'tgi' };
  const tokensIn = tokenCount(headerMs(client, 'x-prompt-tokens'));
  const tokensOut = tokenCount(headerMs(client, 'x-generated-tokens'));
  if (tokensIn !== undefined) attributes[ATTR.TOKENS_INPUT] = tokensIn;
  if (tokensOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = tokensOut;
  const request: SpanRecord = {
    traceId: client.traceId,
    spanId: phaseSpanId(client.spanId, 255),
    parentSpanId: client.spanId,
    name: 'TGI request (from response headers)',
    service: 'text-generation-inference',
    kind: 'server',
    startNs,
    endNs: startNs + total,
    attributes,
    error: client.error,
  };
  const steps = [
    { phase: 'preprocess' as const, ns: validation, name: 'validation (x-validation-time)' },
    { phase: 'queue' as const, ns: queue, name: 'queue (x-queue-time)' },
    { phase: 'compute' as const, ns: inference, name: 'inference (x-inference-time)' },
  ];
  const marked: SpanRecord = { ...client, attributes: { ...client.attributes, [ATTR.ROLE]: ROLE_CLIENT } };
  return { spans: [marked, request, ...phaseSpans(request, placeInOrder(request.startNs, request.endNs, steps))], requests: 1, note: NOTE };
}

/**
 * @module analyzer/conventions/genai-client
 * OpenTelemetry GenAI client spans (semantic conventions `gen_ai.*`, kind CLIENT: OpenLLMetry,
 * OpenInference-style SDK instrumentations): `gen_ai.operation.name`, `gen_ai.request.model`,
 * `gen_ai.usage.input_tokens`/`output_tokens` (older `prompt_tokens`/`completion_tokens`), and
 * for a streamed response `gen_ai.response.time_to_first_chunk` (seconds), its first token, or
 * OpenLLMetry's first `llm.content.completion.chunk` event where that attribute is absent.
 * Spec: https://github.com/open-telemetry/semantic-conventions/blob/v1.41.0/docs/gen-ai/gen-ai-spans.md
 *
 * When the server's request span is in the same trace (vLLM, Triton, TGI or our own tracer),
 * the client span becomes the request's client span, so network time = client − server. Alone,
 * it is a request of its own with end-to-end time only. A model hosted in the process makes an
 * INTERNAL inference span (chat, text_completion, generate_content, embeddings), read alone the
 * same way; inside a traced request it is left as a span of that request.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR, ROLE_CLIENT } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { secondsToNs } from './_spans.js';

const PAIRED: ConventionNote = { label: 'OpenTelemetry GenAI client span (with the server span: network = client − server)', clock: 'epoch', unseen: [] };
// A server span that leaves more than the wire outside it (vLLM's): client − server is not network; its note says what it holds.
const PAIRED_UNSPLIT: ConventionNote = { label: 'OpenTelemetry GenAI client span (with the server span: client − server unattributed, the server records no split)', clock: 'epoch', unseen: [] };
/** The notes of GenAI spans read alone: end-to-end only, or with the first chunk's time (a streamed response). */
function aloneNotes(what: string, inside: string): readonly [ConventionNote, ConventionNote] {
  return [
    { label: `${what}: end-to-end only)`, clock: 'epoch', unseen: [inside, 'batch size', 'time to first token'] },
    { label: `${what}: end-to-end and time to first chunk)`, clock: 'epoch', unseen: [inside, 'batch size'] },
  ];
}
const [ALONE, ALONE_STREAMED] = aloneNotes('OpenTelemetry GenAI client span (alone', 'server-side phases (no server span in the trace)');
// A model hosted in the process itself: its inference span MAY be INTERNAL (gen-ai-spans.md, "Inference").
const [LOCAL, LOCAL_STREAMED] = aloneNotes('OpenTelemetry GenAI inference span of an in-process model (kind INTERNAL', 'phases inside the model call');
const TTFC = 'gen_ai.response.time_to_first_chunk';
/**
 * The span event OpenLLMetry's OpenAI instrumentation adds for every streamed chunk, in place of
 * the attribute above (traceloop/openllmetry, `SpanAttributes.LLM_CONTENT_COMPLETION_CHUNK`,
 * https://github.com/traceloop/openllmetry): the first one is the first token. Span events come
 * from OTLP inputs (JSON, protobuf), Jaeger logs and Zipkin annotations.
 */
const CHUNK_EVENT = 'llm.content.completion.chunk';

/** Start → first token: the time to first chunk attribute (seconds), else the first chunk event. */
function timeToFirstChunkNs(span: SpanRecord): bigint | undefined {
  const ttfc = secondsToNs(span.attributes[TTFC]);
  if (ttfc !== undefined || span.events === undefined) return ttfc;
  let first: bigint | undefined;
  for (const e of span.events) if (e.name === CHUNK_EVENT && (first === undefined || e.timeNs < first)) first = e.timeNs;
  return first === undefined || first < span.startNs ? undefined : first - span.startNs;
}
/** The inference operations of the GenAI conventions (not agents or tools, whose spans are INTERNAL too). */
const INFERENCE_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings']);

/**
 * Operations of the GenAI conventions that are no model call, though their spans may be CLIENT
 * too: a remote agent's invocation or creation (gen-ai-agent-spans.md), a tool call, a vector
 * store query (`retrieval`). Each is a call of its own with the model calls, if any, below it:
 * read as requests they would be "models" named after the span, beside the models they call.
 */
const NOT_INFERENCE = new Set(['invoke_agent', 'create_agent', 'execute_tool', 'retrieval']);

function isGenAiClient(span: SpanRecord): boolean {
  const a = span.attributes;
  if (span.kind !== 'client' || a[ATTR.ROLE] !== undefined) return false;
  const operation = a['gen_ai.operation.name'];
  if (operation !== undefined) return !(typeof operation === 'string' && NOT_INFERENCE.has(operation));
  return 'gen_ai.system' in a || 'gen_ai.provider.name' in a;
}

/** An inference span of a model run in-process (kind INTERNAL), which the conventions allow in place of CLIENT. */
function isLocalInference(span: SpanRecord): boolean {
  const a = span.attributes;
  const operation = a['gen_ai.operation.name'];
  return span.kind === 'internal' && a[ATTR.ROLE] === undefined && a[ATTR.MODEL_NAME] === undefined && typeof operation === 'string' && INFERENCE_OPERATIONS.has(operation);
}

/** Ids of the spans above a GenAI client span in this trace. */
function wrappersOfClients(spans: readonly SpanRecord[]): Set<string> {
  const out = new Set<string>();
  if (!spans.some((s) => s.kind === 'internal')) return out;
  const parentOf = new Map(spans.map((s) => [s.spanId, s.parentSpanId]));
  for (const s of spans) {
    if (!isGenAiClient(s)) continue;
    // Bounded walk: a parent cycle in damaged input must not loop.
    for (let id = s.parentSpanId, hops = 0; id !== undefined && hops < 64 && !out.has(id); id = parentOf.get(id), hops++) out.add(id);
  }
  return out;
}

/** GenAI client spans; trace-scoped because the server span decides what the client span is. */
export const genAiClientConvention: SourceConvention = {
  id: 'genai-client',
  lacks: ['batch-sizes'],
  scope: 'trace',
  events: [CHUNK_EVENT],
  claims: (span) => isGenAiClient(span) || isLocalInference(span),
  map(spans, context) {
    const serverInTrace = context?.hasRequest === true || spans.some((s) => s.attributes[ATTR.MODEL_NAME] !== undefined && s.attributes[ATTR.PHASE] === undefined && !isGenAiClient(s));
    let requests = 0;
    let streamed = 0;
    let local = 0;
    const wrappers = wrappersOfClients(spans);
    const out = spans.map((span): SpanRecord => {
      // An in-process model call inside a traced request is part of that request, not a request of its own;
      // an INTERNAL span above a GenAI client span (a framework's wrapper around the remote call) is not one either.
      const isLocal = !serverInTrace && isLocalInference(span) && !wrappers.has(span.spanId);
      if (!isGenAiClient(span) && !isLocal) return span;
      requests++;
      if (isLocal) local++;
      const a = span.attributes;
      const model = a['gen_ai.request.model'] ?? a['gen_ai.response.model'];
      const attributes: Record<string, AttributeValue> = { ...a, [ATTR.MODEL_NAME]: typeof model === 'string' && model !== '' ? model : span.name };
      if (serverInTrace) attributes[ATTR.ROLE] = ROLE_CLIENT;
      const tokensIn = tokenCount(a['gen_ai.usage.input_tokens'] ?? a['gen_ai.usage.prompt_tokens']);
      const tokensOut = tokenCount(a['gen_ai.usage.output_tokens'] ?? a['gen_ai.usage.completion_tokens']);
      if (tokensIn !== undefined) attributes[ATTR.TOKENS_INPUT] = tokensIn;
      if (tokensOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = tokensOut;
      const ttfc = span.firstTokenNs === undefined ? timeToFirstChunkNs(span) : undefined;
      if (ttfc === undefined) return { ...span, attributes };
      streamed++;
      return { ...span, attributes, firstTokenNs: span.startNs + ttfc };
    });
    const alone = local > 0 && local === requests ? (streamed > 0 ? LOCAL_STREAMED : LOCAL) : streamed > 0 ? ALONE_STREAMED : ALONE;
    const mapped: MappedSpans = { spans: out, requests, note: serverInTrace ? (context?.outsideUnattributed === true ? PAIRED_UNSPLIT : PAIRED) : alone };
    return mapped;
  },
};

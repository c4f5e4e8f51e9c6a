/**
 * @module analyzer/conventions/genai-client
 * OpenTelemetry GenAI client spans (semantic conventions `gen_ai.*`, kind CLIENT: OpenLLMetry and
 * other SDK instrumentations; the mapping is _client-spans.ts, shared with OpenInference's): `gen_ai.operation.name`, `gen_ai.request.model`,
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
import type { SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import { secondsToNs } from './_spans.js';
import { aloneNotes, clientSpanConvention, firstEventNs, pairedNotes } from './_client-spans.js';
import type { CallFacts, CallKind } from './_client-spans.js';

const TTFC = 'gen_ai.response.time_to_first_chunk';
/**
 * The span event OpenLLMetry's OpenAI instrumentation adds for every streamed chunk, in place of
 * the attribute above (traceloop/openllmetry, `SpanAttributes.LLM_CONTENT_COMPLETION_CHUNK`,
 * https://github.com/traceloop/openllmetry): the first one is the first token. Span events come
 * from OTLP inputs (JSON, protobuf), Jaeger logs and Zipkin annotations.
 */
const CHUNK_EVENT = 'llm.content.completion.chunk';

/** The inference operations of the GenAI conventions (not agents or tools, whose spans are INTERNAL too). */
const INFERENCE_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings']);

/**
 * Operations of the GenAI conventions that are no model call, though their spans may be CLIENT
 * too: a remote agent's invocation or creation (gen-ai-agent-spans.md), a tool call, a vector
 * store query (`retrieval`). Each is a call of its own with the model calls, if any, below it:
 * read as requests they would be "models" named after the span, beside the models they call.
 */
const NOT_INFERENCE = new Set(['invoke_agent', 'create_agent', 'execute_tool', 'retrieval']);

/**
 * A GenAI client span (kind CLIENT: a remote call), or the inference span of a model run
 * in-process (kind INTERNAL with an inference operation, which the conventions allow in place of CLIENT).
 */
function genAiCall(span: SpanRecord): CallKind | undefined {
  const a = span.attributes;
  const operation = a['gen_ai.operation.name'];
  if (span.kind === 'client') {
    if (operation !== undefined) return typeof operation === 'string' && NOT_INFERENCE.has(operation) ? undefined : 'remote';
    return 'gen_ai.system' in a || 'gen_ai.provider.name' in a ? 'remote' : undefined;
  }
  return span.kind === 'internal' && a[ATTR.MODEL_NAME] === undefined && typeof operation === 'string' && INFERENCE_OPERATIONS.has(operation) ? 'local' : undefined;
}

/** What a span says in the GenAI conventions' attributes (and OpenLLMetry's chunk events). */
export function genAiFacts(span: SpanRecord): CallFacts {
  const a = span.attributes;
  return {
    model: a['gen_ai.request.model'] ?? a['gen_ai.response.model'],
    tokensIn: a['gen_ai.usage.input_tokens'] ?? a['gen_ai.usage.prompt_tokens'],
    tokensOut: a['gen_ai.usage.output_tokens'] ?? a['gen_ai.usage.completion_tokens'],
    tokensCached: a['gen_ai.usage.cache_read.input_tokens'],
    // Start → first token: the time to first chunk attribute (seconds), else the first chunk event.
    firstTokenNs: secondsToNs(a[TTFC]) ?? firstEventNs(span, CHUNK_EVENT),
  };
}

/** The span events genAiFacts reads. */
export const GENAI_EVENTS: readonly string[] = [CHUNK_EVENT];

/** GenAI client spans; trace-scoped because the server span decides what the client span is. */
export const genAiClientConvention = clientSpanConvention({
  id: 'genai-client',
  lacks: ['batch-sizes'],
  events: GENAI_EVENTS,
  call: genAiCall,
  innermost: false,
  facts: genAiFacts,
  notes: {
    ...pairedNotes('OpenTelemetry GenAI client span'),
    alone: aloneNotes('OpenTelemetry GenAI client span (alone', 'server-side phases (no server span in the trace)'),
    // A model hosted in the process itself: its inference span MAY be INTERNAL (gen-ai-spans.md, "Inference").
    local: aloneNotes('OpenTelemetry GenAI inference span of an in-process model (kind INTERNAL', 'phases inside the model call'),
  },
});

/**
 * @module analyzer/conventions/openinference
 * OpenInference spans (Arize Phoenix and the openinference-instrumentation-* packages for OpenAI,
 * Anthropic, Bedrock, LangChain, LlamaIndex, …): a span with `openinference.span.kind` `LLM` (a
 * call to a model) or `EMBEDDING` (read as a request too, as the GenAI conventions' `embeddings`
 * operation is) is a client-side inference request, mapped as a GenAI client span is
 * (_client-spans.ts): model from `llm.request.model_name`, else `llm.model_name` (the response's
 * model, as the OpenAI instrumentation sets it), else `embedding.model_name`; tokens from
 * `llm.token_count.prompt` / `.completion` / `.prompt_details.cache_read`; the first token at
 * the span event `First Token Stream Event`, which the OpenAI, MistralAI and LlamaIndex
 * instrumentations add at a streamed response's first chunk. `input.value`, `output.value` and
 * the messages are the model's inputs and outputs: never read. `llm.invocation_parameters` (the
 * request's parameters as JSON) is not read either: a first token event, not `stream`, says
 * whether the first token was timed.
 *
 * The instrumentations make these spans of kind INTERNAL (the JS ones name it, the Python ones
 * leave the default), so kind says nothing here. An LLM span above another model call (LangChain's
 * or LlamaIndex's span around the OpenAI SDK's, or around an OpenLLMetry client span) is a
 * wrapper: only the innermost call counts. CHAIN, AGENT, TOOL, RETRIEVER, RERANKER, GUARDRAIL,
 * EVALUATOR and PROMPT spans are the application's own work, no model request: they stay spans
 * of the trace, and an LLM span below an AGENT span is still a request. A span carrying the GenAI
 * attributes too (OpenInference's OpenLLMetry span processor adds its attributes to OpenLLMetry's
 * client span) is read once, here: this convention is tried before the GenAI client one.
 *
 * Sources, Arize-ai/openinference at commit 1fe497f1d9f45a07eee55d97fe185e020560f9c7:
 * - OpenInference semantic conventions, https://github.com/Arize-ai/openinference/blob/1fe497f1d9f45a07eee55d97fe185e020560f9c7/spec/semantic_conventions.md
 *   and https://github.com/Arize-ai/openinference/blob/1fe497f1d9f45a07eee55d97fe185e020560f9c7/python/openinference-semantic-conventions/src/openinference/semconv/trace/__init__.py
 * - LLM spans, https://github.com/Arize-ai/openinference/blob/1fe497f1d9f45a07eee55d97fe185e020560f9c7/spec/llm_spans.md;
 *   embedding spans, https://github.com/Arize-ai/openinference/blob/1fe497f1d9f45a07eee55d97fe185e020560f9c7/spec/embedding_spans.md
 * - The first token event: openinference-instrumentation-openai `_stream.py` `_process_chunk`,
 *   https://github.com/Arize-ai/openinference/blob/1fe497f1d9f45a07eee55d97fe185e020560f9c7/python/instrumentation/openinference-instrumentation-openai/src/openinference/instrumentation/openai/_stream.py
 */
import type { SpanRecord } from '../../model/span.js';
import { aloneNotes, clientSpanConvention, firstEventNs, pairedNotes } from './_client-spans.js';
import type { CallKind } from './_client-spans.js';
import { GENAI_EVENTS, genAiFacts } from './genai-client.js';

const SPAN_KIND = 'openinference.span.kind';
/** The span event the instrumentations add when a streamed response's first chunk arrives. */
const FIRST_TOKEN_EVENT = 'First Token Stream Event';
/** The OpenInference span kinds that are a call to a model. */
const MODEL_CALLS = new Set(['LLM', 'EMBEDDING']);

function openInferenceCall(span: SpanRecord): CallKind | undefined {
  const kind = span.attributes[SPAN_KIND];
  // A remote call as a rule (a provider's API); a model run in-process is timed the same way, end to end.
  return typeof kind === 'string' && MODEL_CALLS.has(kind) ? 'remote' : undefined;
}

/** OpenInference LLM and embedding spans, as client-side inference requests. */
export const openInferenceConvention = clientSpanConvention({
  id: 'openinference',
  lacks: ['batch-sizes'],
  events: [FIRST_TOKEN_EVENT, ...GENAI_EVENTS],
  call: openInferenceCall,
  innermost: true,
  facts(span) {
    const a = span.attributes;
    // A span may carry the GenAI attributes too (OpenInference's OpenLLMetry span processor adds
    // its attributes to OpenLLMetry's client span): what the OpenInference ones lack is read there.
    const genAi = genAiFacts(span);
    return {
      model: a['llm.request.model_name'] ?? a['llm.model_name'] ?? a['embedding.model_name'] ?? genAi.model,
      tokensIn: a['llm.token_count.prompt'] ?? genAi.tokensIn,
      tokensOut: a['llm.token_count.completion'] ?? genAi.tokensOut,
      tokensCached: a['llm.token_count.prompt_details.cache_read'] ?? genAi.tokensCached,
      firstTokenNs: firstEventNs(span, FIRST_TOKEN_EVENT) ?? genAi.firstTokenNs,
    };
  },
  notes: {
    ...pairedNotes('OpenInference LLM span'),
    alone: aloneNotes('OpenInference LLM span (alone', 'server-side phases (no server span in the trace)'),
  },
});

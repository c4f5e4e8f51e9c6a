/**
 * @module analyzer/conventions/genai-client
 * OpenTelemetry GenAI client spans (semantic conventions `gen_ai.*`, kind CLIENT: OpenLLMetry,
 * OpenInference-style SDK instrumentations): `gen_ai.operation.name`, `gen_ai.request.model`,
 * `gen_ai.usage.input_tokens`/`output_tokens` (older `prompt_tokens`/`completion_tokens`), and
 * for a streamed response `gen_ai.response.time_to_first_chunk` (seconds), its first token.
 * Spec: https://github.com/open-telemetry/semantic-conventions/blob/v1.41.0/docs/gen-ai/gen-ai-spans.md
 *
 * When the server's request span is in the same trace (vLLM, Triton, TGI or our own tracer),
 * the client span becomes the request's client span, so network time = client − server. Alone,
 * it is a request of its own with end-to-end time only.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR, ROLE_CLIENT } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { secondsToNs } from './_spans.js';

const PAIRED: ConventionNote = { label: 'OpenTelemetry GenAI client span (with the server span: network = client − server)', clock: 'epoch', unseen: [] };
const ALONE: ConventionNote = {
  label: 'OpenTelemetry GenAI client span (alone: end-to-end only)',
  clock: 'epoch',
  unseen: ['server-side phases (no server span in the trace)', 'batch size', 'time to first token'],
};
const ALONE_STREAMED: ConventionNote = {
  label: 'OpenTelemetry GenAI client span (alone: end-to-end and time to first chunk)',
  clock: 'epoch',
  unseen: ['server-side phases (no server span in the trace)', 'batch size'],
};
const TTFC = 'gen_ai.response.time_to_first_chunk';

function isGenAiClient(span: SpanRecord): boolean {
  const a = span.attributes;
  return span.kind === 'client' && a[ATTR.ROLE] === undefined && ('gen_ai.operation.name' in a || 'gen_ai.system' in a || 'gen_ai.provider.name' in a);
}

/** GenAI client spans; trace-scoped because the server span decides what the client span is. */
export const genAiClientConvention: SourceConvention = {
  id: 'genai-client',
  lacks: ['batch-sizes'],
  scope: 'trace',
  claims: isGenAiClient,
  map(spans, context) {
    const serverInTrace = context?.hasRequest === true || spans.some((s) => s.attributes[ATTR.MODEL_NAME] !== undefined && s.attributes[ATTR.PHASE] === undefined && !isGenAiClient(s));
    let requests = 0;
    let streamed = 0;
    const out = spans.map((span): SpanRecord => {
      if (!isGenAiClient(span)) return span;
      requests++;
      const a = span.attributes;
      const model = a['gen_ai.request.model'] ?? a['gen_ai.response.model'];
      const attributes: Record<string, AttributeValue> = { ...a, [ATTR.MODEL_NAME]: typeof model === 'string' && model !== '' ? model : span.name };
      if (serverInTrace) attributes[ATTR.ROLE] = ROLE_CLIENT;
      const tokensIn = tokenCount(a['gen_ai.usage.input_tokens'] ?? a['gen_ai.usage.prompt_tokens']);
      const tokensOut = tokenCount(a['gen_ai.usage.output_tokens'] ?? a['gen_ai.usage.completion_tokens']);
      if (tokensIn !== undefined) attributes[ATTR.TOKENS_INPUT] = tokensIn;
      if (tokensOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = tokensOut;
      const ttfc = span.firstTokenNs === undefined ? secondsToNs(a[TTFC]) : undefined;
      if (ttfc === undefined) return { ...span, attributes };
      streamed++;
      return { ...span, attributes, firstTokenNs: span.startNs + ttfc };
    });
    const mapped: MappedSpans = { spans: out, requests, note: serverInTrace ? PAIRED : streamed > 0 ? ALONE_STREAMED : ALONE };
    return mapped;
  },
};

/**
 * @module analyzer/conventions/vllm
 * vLLM's `llm_request` span (`--otlp-traces-endpoint`): one SERVER span per finished request,
 * starting at the engine's arrival time, whose phase times are attributes in seconds
 * (`gen_ai.latency.*`), not child spans. Both attribute sets are read:
 * - v1 engine: time_in_queue, time_in_model_prefill, time_in_model_decode, time_to_first_token,
 *   e2e (vllm/v1/metrics/stats.py);
 * - v0 engine: time_in_queue, time_to_first_token, e2e, and with `--collect-detailed-traces`
 *   time_in_model_forward / _execute (vllm/engine/llm_engine.py).
 * Sources: https://github.com/vllm-project/vllm/blob/main/vllm/tracing.py and
 * https://docs.vllm.ai/en/latest/design/metrics.html ("Interval Calculations").
 *
 * The durations have no start times, so they are placed back to back inside the request span
 * in the order a request passes through them; with v1's set that order is exact at the first
 * token: pre-engine time (TTFT − queue − prefill: tokenisation, IPC into the engine core) →
 * queue → prefill → first token → decode → output delay (e2e − TTFT − decode). The request span
 * ends at `start + e2e` so the phases add up to vLLM's own e2e.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import type { Phase } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { phaseSpans, placeInOrder, secondsToNs } from './_spans.js';

const LATENCY = 'gen_ai.latency.';
// Keys tested on every span: built once, not per call.
const E2E_KEY = `${LATENCY}e2e`;
const QUEUE_KEY = `${LATENCY}time_in_queue`;
// The span starts at the request's arrival time, set when the API server hands the request to the engine client
// (vllm/v1/engine: arrival_time = time.time() when none is given), so the API server's own work before it is outside;
// it ends at arrival + e2e, when the output processor has the last output, before the API server writes the response.
// No attribute splits either gap between the API server and the wire (outsideSpan: 'unattributed').
const FRONTEND =
  'how the time between a client span and the llm_request span divides between the network and vLLM’s API server: before the span (its arrival time), the API server’s HTTP handling and request parsing, and the chat templating and tokenisation where the release does them before handing the request to the engine; after it (arrival + e2e), the API server writing the response. No vLLM attribute measures either, so that time is left unattributed (other), not counted as network';
const UNSEEN = ['batch size (vLLM spans do not record it; see vllm:iteration_tokens_total and vllm:num_requests_running)', 'prefix-cache hits per request', FRONTEND];
const V1: ConventionNote = { label: 'vLLM llm_request span (v1 engine)', clock: 'epoch', unseen: [...UNSEEN, 'model name (v1 spans carry none; the service name stands in)'] };
// With OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental, v1 spans name the model (gen_ai.request.model).
const V1_NAMED: ConventionNote = { label: 'vLLM llm_request span (v1 engine, with model name)', clock: 'epoch', unseen: UNSEEN };
const V0: ConventionNote = { label: 'vLLM llm_request span (v0 engine)', clock: 'epoch', unseen: [...UNSEEN, 'time before the engine (v0 spans start at engine arrival)'] };
// Counted apart so the report says how many requests ended without a token, and why their time is mostly unattributed.
const NO_TOKEN: ConventionNote = {
  label: 'vLLM llm_request span without an output token (aborted or cancelled before its first token, or a pooling request: no TTFT, time after the queue not attributed)',
  clock: 'epoch',
  unseen: UNSEEN,
};

function attr(span: SpanRecord, name: string): AttributeValue | undefined {
  return span.attributes[LATENCY + name];
}

/** vLLM `llm_request` spans, v0 and v1 engines. */
export const vllmConvention: SourceConvention = {
  id: 'vllm',
  lacks: ['batch-sizes'],
  outsideSpan: 'unattributed',
  scope: 'span',
  claims(span) {
    return span.name === 'llm_request' || E2E_KEY in span.attributes || QUEUE_KEY in span.attributes;
  },
  map([span]) {
    return mapLlmRequest(span!);
  },
};

function mapLlmRequest(span: SpanRecord): MappedSpans {
  const queue = secondsToNs(attr(span, 'time_in_queue'));
  const tokensOut = tokenCount(span.attributes['gen_ai.usage.output_tokens'] ?? span.attributes['gen_ai.usage.completion_tokens']);
  // 0.0 is vLLM's default for a request that never produced a token, not a measured TTFT.
  const measuredTtft = secondsToNs(attr(span, 'time_to_first_token'));
  const noToken = tokensOut === 0 || measuredTtft === 0n;
  const ttft = noToken ? undefined : measuredTtft;
  const e2e = secondsToNs(attr(span, 'e2e'));
  const prefill = secondsToNs(attr(span, 'time_in_model_prefill'));
  const decode = secondsToNs(attr(span, 'time_in_model_decode'));
  const v1 = prefill !== undefined || decode !== undefined;
  const endNs = e2e !== undefined ? span.startNs + e2e : span.endNs;
  const zero = 0n;
  const steps: { phase: Phase; ns: bigint; name: string }[] = noToken
    ? [{ phase: 'queue', ns: queue ?? zero, name: 'time_in_queue' }]
    : v1
    ? [
        { phase: 'preprocess', ns: nonNegative((ttft ?? zero) - (queue ?? zero) - (prefill ?? zero)), name: 'pre-engine (TTFT − queue − prefill)' },
        { phase: 'queue', ns: queue ?? zero, name: 'time_in_queue' },
        { phase: 'prefill', ns: prefill ?? zero, name: 'time_in_model_prefill' },
        { phase: 'decode', ns: decode ?? zero, name: 'time_in_model_decode' },
        { phase: 'postprocess', ns: nonNegative((e2e ?? zero) - (ttft ?? zero) - (decode ?? zero)), name: 'output (e2e − TTFT − decode)' },
      ]
    : [
        { phase: 'queue', ns: queue ?? zero, name: 'time_in_queue' },
        { phase: 'prefill', ns: ttft === undefined ? zero : nonNegative(ttft - (queue ?? zero)), name: 'prefill (TTFT − queue)' },
        { phase: 'decode', ns: ttft === undefined || e2e === undefined ? zero : nonNegative(e2e - ttft), name: 'decode (e2e − TTFT)' },
      ];
  const model = span.attributes['gen_ai.response.model'] ?? span.attributes['gen_ai.request.model'];
  const named = typeof model === 'string' && model !== '';
  const attributes: Record<string, AttributeValue> = {
    ...span.attributes,
    [ATTR.MODEL_NAME]: named ? model : span.service !== '' && !span.service.startsWith('unknown_service') ? span.service : 'vllm',
  };
  const tokensIn = tokenCount(span.attributes['gen_ai.usage.input_tokens'] ?? span.attributes['gen_ai.usage.prompt_tokens']);
  if (tokensIn !== undefined) attributes[ATTR.TOKENS_INPUT] = tokensIn;
  if (tokensOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = tokensOut;
  const request: SpanRecord = {
    ...span,
    kind: 'server',
    endNs: endNs > span.startNs ? endNs : span.endNs,
    attributes,
    ...(ttft !== undefined ? { firstTokenNs: span.startNs + ttft } : {}),
  };
  return { spans: [request, ...phaseSpans(request, placeInOrder(request.startNs, request.endNs, steps))], requests: 1, note: noToken ? NO_TOKEN : v1 ? (named ? V1_NAMED : V1) : V0 };
}

function nonNegative(ns: bigint): bigint {
  return ns > 0n ? ns : 0n;
}

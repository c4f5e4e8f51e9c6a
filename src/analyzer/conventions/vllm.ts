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
import { numberOf, phaseSpans, placeInOrder, secondsToNs } from './_spans.js';

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

// Parallel sampling (n > 1, best_of): the request's output tokens are its samples' together, so TPOT (e2e − TTFT over
// those tokens − 1) is the time per token of all samples streaming at once, about one sample's TPOT ÷ n.
const PARALLEL_TPOT = 'output tokens summed over the samples, so TPOT is per token of all samples together (about one sample’s ÷ n)';
const V1_SAMPLES: ConventionNote = {
  label: `vLLM llm_request spans of parallel-sampling requests (v1 engine, n > 1: one span per sample, counted as one request; TTFT the first token of any sample; ${PARALLEL_TPOT})`,
  clock: 'epoch',
  unseen: V1.unseen,
};
const V0_SAMPLES: ConventionNote = {
  label: `vLLM llm_request span with parallel sampling (v0 engine, n > 1 or best_of: one span per request; ${PARALLEL_TPOT}, best_of’s discarded ones included)`,
  clock: 'epoch',
  unseen: V0.unseen,
};

function attr(span: SpanRecord, name: string): AttributeValue | undefined {
  return span.attributes[LATENCY + name];
}

/** An `llm_request` span not yet mapped. */
function isLlmRequest(span: SpanRecord): boolean {
  return span.name === 'llm_request' || E2E_KEY in span.attributes || QUEUE_KEY in span.attributes;
}

/** vLLM `llm_request` spans, v0 and v1 engines. */
export const vllmConvention: SourceConvention = {
  id: 'vllm',
  lacks: ['batch-sizes'],
  outsideSpan: 'unattributed',
  scope: 'span',
  claims: isLlmRequest,
  map([span]) {
    return mapLlmRequest(span!);
  },
};

/**
 * vLLM's v1 engine serves a request with `n > 1` as n child requests, one per sample
 * (vllm/v1/engine/async_llm.py `add_request`: "Fan out child requests (for n>1)", copies of the
 * request with its arrival time and trace headers; vllm/v1/engine/parallel_sampling.py: each
 * child's SamplingParams with `n = 1`), and writes one `llm_request` span per child when it
 * finishes (vllm/v1/engine/output_processor.py `do_tracing`: that child's TTFT, e2e, queue,
 * prefill, decode and `completion_tokens`, `gen_ai.request.id` the request's external id,
 * `gen_ai.request.n` 1). The spans of one request share their parent (the propagated client
 * context), their start (the arrival time) and their request id; they are one request: counted
 * once, its first token the first of any sample, its end the last sample's, its output tokens
 * every sample's. Trace-scoped (the samples are siblings), and only for spans with a parent: a
 * span without one is its own trace and is mapped as it comes by `vllmConvention`.
 */
export const vllmSamplesConvention: SourceConvention = {
  id: 'vllm',
  lacks: ['batch-sizes'],
  outsideSpan: 'unattributed',
  scope: 'trace',
  claims: (span) => span.parentSpanId !== undefined && isLlmRequest(span),
  map(spans) {
    const groups = new Map<string, SpanRecord[]>();
    const out: SpanRecord[] = [];
    for (const s of spans) {
      if (s.attributes[ATTR.MODEL_NAME] !== undefined || s.attributes[ATTR.PHASE] !== undefined || !isLlmRequest(s)) {
        out.push(s);
        continue;
      }
      const id = s.attributes['gen_ai.request.id'];
      const key = `${s.parentSpanId ?? ''}\u0000${s.startNs}\u0000${typeof id === 'string' ? id : ''}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [s]);
      else group.push(s);
    }
    let note: ConventionNote | undefined;
    for (const group of groups.values()) {
      const mapped = mapLlmRequest(group.length === 1 ? group[0]! : mergeSamples(group));
      if (group.length > 1) note = V1_SAMPLES;
      else note ??= mapped.note;
      for (const s of mapped.spans) out.push(s);
    }
    return { spans: out, requests: groups.size, ...(note !== undefined ? { note } : {}) };
  },
};

/**
 * One `llm_request` span for the sample spans of one request: the attributes of the sample that
 * gave the first token (its queue and prefill are what that first token waited for), TTFT the
 * earliest, e2e the latest, decode from that first token to the last sample's last token,
 * `completion_tokens` summed, `gen_ai.request.n` the number of samples.
 */
function mergeSamples(samples: readonly SpanRecord[]): SpanRecord {
  const seconds = (s: SpanRecord, name: string): number | undefined => {
    const v = numberOf(attr(s, name));
    return v !== undefined && v > 0 ? v : undefined;
  };
  let first = samples[0]!;
  for (const s of samples) {
    const ttft = seconds(s, 'time_to_first_token');
    const best = seconds(first, 'time_to_first_token');
    if (ttft !== undefined && (best === undefined || ttft < best)) first = s;
  }
  const ttft = seconds(first, 'time_to_first_token');
  let e2e: number | undefined;
  let lastToken: number | undefined;
  let tokens = 0;
  let counted = false;
  let endNs = first.endNs;
  for (const s of samples) {
    const e = seconds(s, 'e2e');
    if (e !== undefined && (e2e === undefined || e > e2e)) e2e = e;
    const t = seconds(s, 'time_to_first_token');
    const d = numberOf(attr(s, 'time_in_model_decode'));
    if (t !== undefined && d !== undefined && d >= 0 && (lastToken === undefined || t + d > lastToken)) lastToken = t + d;
    const n = tokenCount(s.attributes['gen_ai.usage.output_tokens'] ?? s.attributes['gen_ai.usage.completion_tokens']);
    if (n !== undefined) {
      tokens += n;
      counted = true;
    }
    if (s.endNs > endNs) endNs = s.endNs;
  }
  const attributes: Record<string, AttributeValue> = { ...first.attributes, 'gen_ai.request.n': samples.length };
  if (e2e !== undefined) attributes[E2E_KEY] = e2e;
  if (ttft !== undefined && lastToken !== undefined) attributes[`${LATENCY}time_in_model_decode`] = lastToken - ttft;
  if (counted) {
    delete attributes['gen_ai.usage.output_tokens'];
    attributes['gen_ai.usage.completion_tokens'] = tokens;
  }
  return { ...first, endNs, attributes };
}

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
  // A v0 span is the whole request (its sequence group): with n > 1 or best_of, its tokens are every sequence's (num_sequences).
  const parallel = !v1 && ((numberOf(span.attributes['gen_ai.request.n']) ?? 1) > 1 || (numberOf(span.attributes['gen_ai.usage.num_sequences']) ?? 1) > 1);
  return { spans: [request, ...phaseSpans(request, placeInOrder(request.startNs, request.endNs, steps))], requests: 1, note: noToken ? NO_TOKEN : v1 ? (named ? V1_NAMED : V1) : parallel ? V0_SAMPLES : V0 };
}

function nonNegative(ns: bigint): bigint {
  return ns > 0n ? ns : 0n;
}

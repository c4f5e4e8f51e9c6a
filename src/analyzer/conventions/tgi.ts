/**
 * @module analyzer/conventions/tgi
 * Hugging Face Text Generation Inference (TGI) router spans (`--otlp-endpoint`): the HTTP
 * handler span (`generate`, `generate_stream`, `chat_completions`, `completions`,
 * `compat_generate`) records `validation_time`, `queue_time`, `inference_time`, `total_time`
 * and `time_per_token` as Rust Debug durations (`"1.234567ms"`, `"850µs"`, `"2.5s"`), set in
 * router/src/server.rs (https://github.com/huggingface/text-generation-inference). They are
 * placed in order from the span's start: validation (tokenisation) → queue → inference.
 * TGI does not split inference into prefill and decode per request (that needs the linked
 * `batch` spans), so inference counts as compute, and the report says what it could not see.
 *
 * The timings are recorded only when generation ends (`InferStreamResponse::End`): the handler
 * span of a request that failed (validation, overload, a generation error: logged with
 * `tracing::error!` on the child span where it happened, router/src/infer/mod.rs, which
 * tracing-opentelemetry marks with an error status) or was cancelled (the client went away and
 * the stream was dropped) ends without them. Those spans are counted apart, under their own
 * label, and left out of the latency figures: they have no phases, and their length is the time
 * to the failure, not a latency.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { phaseSpans, placeInOrder, secondsToNs } from './_spans.js';

const UNSEEN = ['prefill/decode split per request (only in linked batch spans)', 'time to first token', 'batch size', 'model name (the service name stands in)'];
const NOTE: ConventionNote = { label: 'TGI router span', clock: 'epoch', unseen: UNSEEN };
const UNFINISHED: ConventionNote = {
  label: 'TGI router span without timings (failed or cancelled before its last token: not in the latency figures)',
  clock: 'epoch',
  unseen: UNSEEN,
};

// The router's HTTP handler spans (router/src/server.rs). `compat_generate` only wraps a generate or
// generate_stream handler span, which holds the timings; Infer's methods of the same names record no fields.
const WITH_PARAMETERS = new Set(['generate', 'generate_stream']);
const OPENAI_HANDLERS = new Set(['completions', 'chat_completions']);

/**
 * A router handler span that ended without timings. generate/generate_stream declare `parameters`
 * (a GenerateParameters Debug string) where Infer's spans of the same names declare nothing; the
 * OpenAI-style handlers declare no field that is set before the end, so they are known by the module
 * tracing-opentelemetry records as `code.namespace` (TGI's `text_generation_router::server`).
 */
function unfinished(span: SpanRecord): boolean {
  if (WITH_PARAMETERS.has(span.name)) {
    const p = span.attributes['parameters'];
    return typeof p === 'string' && p.startsWith('GenerateParameters');
  }
  return OPENAI_HANDLERS.has(span.name) && span.attributes['code.namespace'] === 'text_generation_router::server';
}

const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, 'µs': 1e3, 'μs': 1e3, us: 1e3, ms: 1e6, s: 1e9 };

/** A Rust `Duration` Debug string (`"1.234567ms"`) or a number of seconds, as nanoseconds. */
export function rustDurationNs(value: AttributeValue | undefined): bigint | undefined {
  if (typeof value === 'number') return secondsToNs(value);
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ns|µs|μs|us|ms|s)\s*$/.exec(value);
  if (match === null) return undefined;
  // Debug prints at most 9 decimals; go through the digits so "1.234567ms" stays exact.
  const [whole, fraction = ''] = match[1]!.split('.');
  const scale = UNIT_NS[match[2]!]!;
  const digits = BigInt(whole! + fraction.padEnd(9, '0').slice(0, 9));
  return (digits * BigInt(scale)) / 1_000_000_000n;
}

/** TGI router request spans. */
export const tgiConvention: SourceConvention = {
  id: 'tgi',
  lacks: ['batch-sizes'],
  scope: 'span',
  claims(span) {
    const a = span.attributes;
    return 'inference_time' in a ? 'queue_time' in a && 'validation_time' in a : unfinished(span);
  },
  map([span]) {
    // Counted, with no spans: no phases to place, and its length is not a latency.
    if (!('inference_time' in span!.attributes)) return { spans: [], requests: 1, note: UNFINISHED };
    return mapRouterSpan(span!);
  },
};

function mapRouterSpan(span: SpanRecord): MappedSpans {
  const a = span.attributes;
  const validation = rustDurationNs(a['validation_time']);
  const queue = rustDurationNs(a['queue_time']);
  const inference = rustDurationNs(a['inference_time']);
  const perToken = rustDurationNs(a['time_per_token']);
  const attributes: Record<string, AttributeValue> = { ...a, [ATTR.MODEL_NAME]: span.service !== '' && !span.service.startsWith('unknown_service') ? span.service : 'tgi' };
  // Forks that record the counts themselves (LoRAX: prompt_tokens, generated_tokens) are read as recorded; otherwise
  // time_per_token = inference_time ÷ generated tokens (server.rs), so the output count comes back out.
  const recordedIn = tokenCount(a['prompt_tokens']);
  const recordedOut = tokenCount(a['generated_tokens']);
  if (recordedIn !== undefined) attributes[ATTR.TOKENS_INPUT] = recordedIn;
  if (recordedOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = recordedOut;
  else if (inference !== undefined && perToken !== undefined && perToken > 0n) attributes[ATTR.TOKENS_OUTPUT] = Math.round(Number(inference) / Number(perToken));
  const request: SpanRecord = { ...span, kind: 'server', attributes };
  const steps = [
    { phase: 'preprocess' as const, ns: validation ?? 0n, name: 'validation' },
    { phase: 'queue' as const, ns: queue ?? 0n, name: 'queue' },
    { phase: 'compute' as const, ns: inference ?? 0n, name: 'inference (prefill + decode)' },
  ];
  return { spans: [request, ...phaseSpans(request, placeInOrder(request.startNs, request.endNs, steps))], requests: 1, note: NOTE };
}

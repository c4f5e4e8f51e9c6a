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
 * the stream was dropped) ends without them. Those spans are left out of the latency figures
 * (they have no phases, and their length is the time to the failure, not a latency) and counted
 * by who ended the request, read from the error spans of their trace (`tgiOutcomeConvention`,
 * trace-scoped because the error is on a child span, which may be read before or after the
 * handler span): the server (overloaded, a generation error), the client's own error (a
 * validation error, a chat template that fails on its messages: both answered 422 by
 * router/src/server.rs), or no error at all (the client went away).
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { phaseSpans, placeInOrder, secondsToNs } from './_spans.js';

const UNSEEN = ['prefill/decode split per request (only in linked batch spans)', 'time to first token', 'batch size', 'model name (the service name stands in)'];
const NOTE: ConventionNote = { label: 'TGI router span', clock: 'epoch', unseen: UNSEEN };

/** Who ended a request whose handler span has no timings; `unknown` where its trace is not known to be TGI's own router (a fork's modules, no location attributes). */
type Outcome = 'server' | 'client' | 'cancelled' | 'unknown';

const UNFINISHED: Readonly<Record<Outcome, ConventionNote>> = {
  server: { label: 'TGI router span without timings: failed, a server error (overloaded, generation; not in the latency figures)', clock: 'epoch', unseen: UNSEEN, ended: 'server-error' },
  client: { label: "TGI router span without timings: rejected, the client's error (validation, chat template; not in the latency figures)", clock: 'epoch', unseen: UNSEEN, ended: 'client-error' },
  cancelled: { label: 'TGI router span without timings: cancelled by the client (no error in its trace; not in the latency figures)', clock: 'epoch', unseen: UNSEEN, ended: 'cancelled' },
  unknown: { label: 'TGI router span without timings (failed or cancelled before its last token: not in the latency figures)', clock: 'epoch', unseen: UNSEEN },
};

/** The module path tracing-opentelemetry records as `code.namespace` on the router's spans (its crates: text_generation_router, text_generation_router_v3, …). */
const ROUTER_MODULE = 'text_generation_router';
const SERVER_MODULE = 'text_generation_router::server';
const INFER_MODULE = 'text_generation_router::infer';
/** tokio's TryAcquireError, the message TGI logs when no concurrency permit is left (InferError::Overloaded, 429). */
const OVERLOADED = new Set(['no permits available', 'semaphore closed']);

// The router's HTTP handler spans (router/src/server.rs). `compat_generate` only wraps a generate or
// generate_stream handler span, which holds the timings; Infer's methods of the same names record no fields.
const WITH_PARAMETERS = new Set(['generate', 'generate_stream']);
const OPENAI_HANDLERS = new Set(['completions', 'chat_completions']);

function hasParameters(span: SpanRecord): boolean {
  const p = span.attributes['parameters'];
  return typeof p === 'string' && p.startsWith('GenerateParameters');
}

/**
 * A router handler span that ended without timings, as router/src/server.rs instruments them:
 * generate/generate_stream declare `parameters = ?req.parameters` (a GenerateParameters Debug
 * string) where Infer's spans of the same names declare nothing; chat_completions records
 * `parameters` once its chat template is applied (`span.record("parameters", …)`), so only a
 * request failing in the template lacks it; completions declares none (commented out). Those are
 * known by the module tracing-opentelemetry records as `code.namespace` with its default location
 * attributes (TGI's router: `text_generation_router::server`).
 */
function unfinished(span: SpanRecord): boolean {
  if ('inference_time' in span.attributes) return false;
  if (WITH_PARAMETERS.has(span.name)) return hasParameters(span);
  return OPENAI_HANDLERS.has(span.name) && (hasParameters(span) || span.attributes['code.namespace'] === SERVER_MODULE);
}

/** A span of TGI's router with an error status: where TGI logged why a request failed (a finished handler span is tgiConvention's, tried first). */
function routerError(span: SpanRecord): boolean {
  const module = span.attributes['code.namespace'];
  return span.error && typeof module === 'string' && module.startsWith(ROUTER_MODULE);
}

/**
 * Who ended an unfinished request, from its trace's error spans: a chat template that fails on
 * the messages (Infer's `apply_chat_template`) or a validation error (an error on Infer's
 * `generate_stream` other than the overload message: validation runs there after the permit) is
 * the client's; any other error (overloaded, a generation error sent by the backend, an
 * incomplete generation) the server's; no error at all, a client that went away. An error whose
 * message the input does not carry (a format without span events) counts as the server's.
 */
function outcomeOf(trace: readonly SpanRecord[]): Outcome {
  let client = false;
  for (const s of trace) {
    if (!s.error) continue;
    const inInfer = s.attributes['code.namespace'] === INFER_MODULE;
    const events = s.events ?? [];
    if (inInfer && s.name === 'apply_chat_template') client = true;
    else if (inInfer && s.name === 'generate_stream' && events.length > 0 && !events.some((e) => OVERLOADED.has(e.name))) client = true;
    else return 'server';
  }
  return client ? 'client' : 'cancelled';
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

/** TGI router request spans with their timings. */
export const tgiConvention: SourceConvention = {
  id: 'tgi',
  lacks: ['batch-sizes'],
  scope: 'span',
  claims(span) {
    const a = span.attributes;
    return 'inference_time' in a && 'queue_time' in a && 'validation_time' in a;
  },
  map([span]) {
    return mapRouterSpan(span!);
  },
};

/**
 * TGI router requests that ended without timings, counted by who ended them (see the module
 * comment); their handler spans are dropped (no phases, and their length is not a latency), the
 * trace's other spans passed on. Trace-scoped: a request's error is on a child span. Only traces
 * with an unfinished handler span or a router error span are held, not every TGI trace.
 */
export const tgiOutcomeConvention: SourceConvention = {
  id: 'tgi',
  lacks: ['batch-sizes'],
  scope: 'trace',
  // The error messages TGI logs as span events (validation, overload) are free text, and only
  // error spans' are read (outcomeOf).
  events: 'error-spans',
  claims: (span) => unfinished(span) || routerError(span),
  map(spans) {
    const handlers: SpanRecord[] = [];
    const rest: SpanRecord[] = [];
    for (const s of spans) (unfinished(s) ? handlers : rest).push(s);
    // Router errors of a request that finished (its handler span already mapped): nothing to count.
    if (handlers.length === 0) return { spans, requests: 0 };
    // The outcome rules are TGI's router's own: a fork (LoRAX logs from lorax_router::…) is counted without a split.
    const ours = handlers.every((s) => s.attributes['code.namespace'] === SERVER_MODULE);
    // The model the finished requests of the same router are counted under, so its summary counts these.
    return { spans: rest, requests: handlers.length, note: UNFINISHED[ours ? outcomeOf(spans) : 'unknown'], model: modelOf(handlers[0]!) };
  },
};

/** TGI records no model name on its spans: the router's service name stands in (one model per router). */
function modelOf(span: SpanRecord): string {
  return span.service !== '' && !span.service.startsWith('unknown_service') ? span.service : 'tgi';
}

function mapRouterSpan(span: SpanRecord): MappedSpans {
  const a = span.attributes;
  const validation = rustDurationNs(a['validation_time']);
  const queue = rustDurationNs(a['queue_time']);
  const inference = rustDurationNs(a['inference_time']);
  const perToken = rustDurationNs(a['time_per_token']);
  const attributes: Record<string, AttributeValue> = { ...a, [ATTR.MODEL_NAME]: modelOf(span) };
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

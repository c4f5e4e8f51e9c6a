/**
 * @module tracer/client-call
 * The caller's side of an inference call: a CLIENT span with `inference.role=client` around the
 * outbound call, and W3C `traceparent` in its headers so the server's request span becomes its
 * descendant and the analyzer can derive network time (client duration − server duration).
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { ReadableByteStreamController, ReadableStreamDefaultReader, ReadableStreamReadResult } from 'node:stream/web';
import { ATTR, FIRST_TOKEN_EVENT, ROLE_CLIENT } from '../semconv.js';
import { monotonicMs, toHrTime } from './clock.js';
import { headersForContext } from './headers.js';
import { recordFailure, runInContext } from './run-in-span.js';
import { reportFailure } from './warn-once.js';
import { TRACER_NAME, TRACER_VERSION } from './tracer-identity.js';

/** Options of one traced outbound call. */
export interface ClientCallOptions {
  /** Model the call asks for (`inference.model.name` on the client span). Default: not recorded. */
  readonly model?: string;
  /** Span name. Default: `call <model>` or `inference call`. */
  readonly name?: string;
  /** Request payload size in bytes (`inference.request.size`). Default: not recorded. */
  readonly requestSize?: number;
  /** Extra client span attributes. Default: none. */
  readonly attributes?: Attributes;
  /** Opt-in: record a thrown error's message and stack trace, not only its type (see InferenceTracerOptions). Default: off; `tracer.clientCall` and `tracer.fetch` follow the tracer's setting. */
  readonly recordExceptionMessages?: boolean;
}

/** Starts the client span; undefined when the SDK fails. */
export function startClientSpan(tracer: Tracer, options: ClientCallOptions | undefined, startMs: number): Span | undefined {
  try {
    const attributes: Attributes = { ...(options?.attributes ?? {}), [ATTR.ROLE]: ROLE_CLIENT };
    if (typeof options?.model === 'string' && options.model !== '') attributes[ATTR.MODEL_NAME] = options.model;
    const size = options?.requestSize;
    if (typeof size === 'number' && Number.isFinite(size) && size >= 0) attributes[ATTR.REQUEST_SIZE] = size;
    const name = options?.name ?? (options?.model !== undefined ? `call ${options.model}` : 'inference call');
    return tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes, startTime: toHrTime(startMs) }, context.active());
  } catch (error) {
    reportFailure('starting a client span', error);
    return undefined;
  }
}

function defaultTracer(): Tracer {
  return trace.getTracer(TRACER_NAME, TRACER_VERSION);
}

/**
 * Wraps one outbound inference call (any transport) in a CLIENT span. `fn` receives the headers to
 * send (`traceparent`, `tracestate`); its value or error reaches the caller unchanged.
 */
export function traceClientCall<T>(
  fn: (headers: Record<string, string>) => T,
  options?: ClientCallOptions,
  tracer: Tracer = defaultTracer(),
): T {
  const startMs = monotonicMs();
  const span = startClientSpan(tracer, options, startMs);
  if (span === undefined) return fn({});
  const ctx = trace.setSpan(context.active(), span);
  const headers = headersForContext(ctx);
  return runInContext(ctx, () => fn(headers), (failed, error) => {
    if (failed) recordFailure(span, error, options?.recordExceptionMessages === true);
    span.end(toHrTime(monotonicMs()));
  });
}

/** The argument types of the global fetch. */
export type FetchInput = Parameters<typeof fetch>[0];
/** The init argument of the global fetch. */
export type FetchInit = Parameters<typeof fetch>[1];

/**
 * `fetch` in a CLIENT span: injects `traceparent`, records the HTTP status and the response size
 * (from content-length) and marks 4xx/5xx answers as errors. A plain response is returned
 * unchanged and its span ends at the headers; a streamed one (STREAMED_CONTENT_TYPES) is returned
 * with its body passed through chunk by chunk, and its span ends when the body is consumed.
 */
export function tracedFetch(
  input: FetchInput,
  init?: FetchInit,
  options?: ClientCallOptions,
  tracer: Tracer = defaultTracer(),
): Promise<Response> {
  const startMs = monotonicMs();
  const span = startClientSpan(tracer, options, startMs);
  if (span === undefined) return fetch(input, init);
  const ctx = trace.setSpan(context.active(), span);
  let requestInit: FetchInit = init;
  try {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    for (const [name, value] of Object.entries(headersForContext(ctx))) headers.set(name, value);
    requestInit = { ...init, headers };
  } catch (error) {
    reportFailure('adding trace headers to a fetch call', error);
    requestInit = init;
  }
  const withMessage = options?.recordExceptionMessages === true;
  return runInContext(
    ctx,
    () => fetch(input, requestInit).then((response) => traceResponse(span, response, withMessage)),
    (failed, outcome) => {
      // A response ends its span itself (traceResponse): at once, or when its stream is over.
      if (!failed) return;
      recordFailure(span, outcome, withMessage);
      span.end(toHrTime(monotonicMs()));
    },
  );
}

/**
 * Content types whose body arrives over time: Server-Sent Events (OpenAI, Anthropic, TGI and vLLM
 * streaming) and newline-delimited JSON (Ollama's streaming API). For these the answer is the
 * body, not the headers.
 */
export const STREAMED_CONTENT_TYPES: readonly string[] = ['text/event-stream', 'application/x-ndjson'];

/** Annotates the span and ends it now, or, for a streamed body, returns the response that ends it at the body's end. Never throws. */
function traceResponse(span: Span, response: Response, withMessage: boolean): Response {
  try {
    annotateResponse(span, response);
    const type = (response.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
    // Only the platform's own stream is followed (a polyfilled fetch's Node stream body is left alone).
    if (response.body instanceof ReadableStream && STREAMED_CONTENT_TYPES.includes(type)) return followedResponse(span, response, withMessage);
  } catch (error) {
    reportFailure('following a streamed fetch response', error);
  }
  try {
    span.end(toHrTime(monotonicMs()));
  } catch (error) {
    // This runs in the caller's promise chain: a failing span must not reject its fetch.
    reportFailure('ending a fetch span', error);
  }
  return response;
}

/**
 * The same response with its body passed through a stream that pulls one chunk from the original
 * each time the caller reads one (no read-ahead, nothing kept): the first non-empty chunk adds the
 * `inference.first_token` event (the client's time to first token, as `req.token()` marks it on a
 * request span), and the body's end ends the span: read to the end, failed (recorded as the
 * error, which still reaches the caller), or cancelled by the caller (no error). The bytes are
 * counted for `inference.response.size` when no content-length was sent; their contents are never read.
 */
function followedResponse(span: Span, response: Response, withMessage: boolean): Response {
  const original = response.body as ReadableStream<Uint8Array>;
  // Assigned last, once nothing can fail any more: a locked original with no follower would be unreadable.
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  const sized = response.headers.has('content-length');
  let bytes = 0;
  let ended = false;
  let cancelled = false;
  const end = (failed: boolean, error?: unknown): void => {
    if (ended) return;
    ended = true;
    try {
      if (failed) recordFailure(span, error, withMessage);
      else if (!sized) span.setAttribute(ATTR.RESPONSE_SIZE, bytes);
      span.end(toHrTime(monotonicMs()));
    } catch (failure) {
      reportFailure('ending a streamed fetch span', failure);
    }
  };
  const body = new ReadableStream({
    type: 'bytes',
    async pull(controller: ReadableByteStreamController) {
      // A byte stream takes no empty chunk, and a pull that enqueues nothing leaves the read waiting: skip empty ones.
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          end(true, error);
          controller.error(error);
          return;
        }
        // Cancelled while the read was waiting: the stream is closed already.
        if (cancelled) return;
        if (chunk.done) {
          end(false);
          controller.close();
          // A BYOB read waiting when the body ends is answered with 0 bytes, as the original's would be.
          controller.byobRequest?.respond(0);
          return;
        }
        const value = chunk.value;
        if (value.byteLength === 0) continue;
        if (bytes === 0) markFirstChunk(span);
        bytes += value.byteLength;
        controller.enqueue(value);
        return;
      }
    },
    cancel(reason) {
      cancelled = true;
      end(false);
      return reader.cancel(reason);
    },
  });
  const followed = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  // What `new Response` cannot be given: where the answer came from.
  Object.defineProperties(followed, {
    url: { value: response.url, enumerable: true },
    redirected: { value: response.redirected, enumerable: true },
    type: { value: response.type, enumerable: true },
  });
  // The follower pulls nothing before the caller reads, so the reader is in place before the first pull.
  reader = original.getReader();
  return followed;
}

function markFirstChunk(span: Span): void {
  try {
    span.addEvent(FIRST_TOKEN_EVENT, toHrTime(monotonicMs()));
  } catch (error) {
    reportFailure('recording the first-chunk event', error);
  }
}

function annotateResponse(span: Span, response: Response): void {
  try {
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
    const length = Number(response.headers.get('content-length'));
    if (Number.isFinite(length) && length >= 0 && response.headers.has('content-length')) {
      span.setAttribute(ATTR.RESPONSE_SIZE, length);
    }
  } catch (error) {
    reportFailure('recording a fetch response', error);
  }
}

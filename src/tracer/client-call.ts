/**
 * @module tracer/client-call
 * The caller's side of an inference call: a CLIENT span with `inference.role=client` around the
 * outbound call, and W3C `traceparent` in its headers so the server's request span becomes its
 * descendant and the analyzer can derive network time (client duration − server duration).
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { ATTR, ROLE_CLIENT } from '../semconv.js';
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
 * (from content-length) and marks 4xx/5xx answers as errors. Returns the Response unchanged.
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
  return runInContext(ctx, () => fetch(input, requestInit), (failed, outcome) => {
    if (failed) recordFailure(span, outcome, options?.recordExceptionMessages === true);
    else if (outcome instanceof Response) annotateResponse(span, outcome);
    span.end(toHrTime(monotonicMs()));
  });
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

/**
 * @module tracer/server-context
 * The server's side of a traced call: continue the caller's trace from the incoming headers, so
 * a request span started inside (by `infer`) becomes the descendant of the caller's CLIENT span.
 */
import { context } from '@opentelemetry/api';
import { contextFromHeaders } from './headers.js';
import type { HeaderCarrier } from './headers.js';

/** Runs `fn` in the trace carried by `headers` (W3C traceparent); returns what `fn` returns. */
export function continueFromHeaders<T>(headers: HeaderCarrier | undefined, fn: () => T): T {
  const ctx = contextFromHeaders(headers);
  let entered = false;
  try {
    return context.with(ctx, () => {
      entered = true;
      return fn();
    });
  } catch (error) {
    if (!entered) return fn();
    throw error;
  }
}

/** The request shape the middleware needs (express, or Node's IncomingMessage). */
export interface IncomingWithHeaders {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** An express-compatible middleware function. */
export type TraceContextMiddleware = (request: IncomingWithHeaders, response: unknown, next: (error?: unknown) => void) => void;

/**
 * Express middleware that continues the caller's trace for the rest of the request's handling.
 * It starts no span of its own: the request span that `infer` records is what the analyzer
 * compares with the caller's CLIENT span.
 */
export function expressMiddleware(): TraceContextMiddleware {
  return (request, _response, next) => {
    continueFromHeaders(request.headers, () => next());
  };
}

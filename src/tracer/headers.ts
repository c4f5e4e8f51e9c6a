/**
 * @module tracer/headers
 * W3C trace-context in and out of the header shapes services meet: Node's IncomingHttpHeaders,
 * fetch `Headers`, and plain records (looked up case-insensitively).
 */
import { context, propagation } from '@opentelemetry/api';
import type { Context, TextMapGetter } from '@opentelemetry/api';
import { reportFailure } from './warn-once.js';

/** Incoming headers in any of the usual shapes. */
export type HeaderCarrier =
  | { readonly get: (name: string) => string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

function hasGet(carrier: HeaderCarrier): carrier is { readonly get: (name: string) => string | null } {
  return typeof (carrier as { get?: unknown }).get === 'function';
}

const getter: TextMapGetter<HeaderCarrier> = {
  keys(carrier) {
    if (hasGet(carrier)) return [];
    return Object.keys(carrier);
  },
  get(carrier, key) {
    if (hasGet(carrier)) return carrier.get(key) ?? undefined;
    const record = carrier as Readonly<Record<string, string | readonly string[] | undefined>>;
    const direct = record[key];
    if (direct !== undefined) return direct as string | string[];
    const wanted = key.toLowerCase();
    for (const name of Object.keys(record)) {
      if (name.toLowerCase() === wanted) return record[name] as string | string[] | undefined;
    }
    return undefined;
  },
};

/** The context carried by `headers` (traceparent, tracestate, baggage) on top of `base`. Never throws. */
export function contextFromHeaders(headers: HeaderCarrier | undefined, base: Context = context.active()): Context {
  if (headers === undefined || headers === null) return base;
  try {
    return propagation.extract(base, headers, getter);
  } catch (error) {
    reportFailure('reading trace context from headers', error);
    return base;
  }
}

/** Writes the propagation headers of `ctx` into a fresh record. Never throws. */
export function headersForContext(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  try {
    propagation.inject(ctx, carrier);
  } catch (error) {
    // Propagation is best effort; the call goes out without trace headers.
    reportFailure('writing trace context headers', error);
  }
  return carrier;
}

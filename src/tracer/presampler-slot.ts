/**
 * @module tracer/presampler-slot
 * Where `setupTracing` leaves its presampler (src/tracer/presample.ts) for the request path.
 * Instrumentation imports only this slot and the API: with a service's own SDK the slot stays
 * empty and every span is the SDK's.
 */
import type { Attributes, Context, Span, SpanContext, SpanKind, TracerProvider } from '@opentelemetry/api';

/** Takes a request span's sampling decision before the SDK is asked for the span. */
export interface Presampler {
  /**
   * The request span when the sampler drops it: a non-recording span with the ids, flags and trace
   * state the SDK would give it. Undefined when the SDK must start the span: the decision then
   * waits for the SDK's next span (see `attributes`, `release`). `parentSpanContext` is
   * `trace.getSpanContext(parent)`, which the caller has already read.
   */
  dropped(parent: Context, parentSpanContext: SpanContext | undefined, name: string, kind: SpanKind, attributes: Attributes): Span | undefined;
  /** The attributes the sampler saw (and may have changed): the SDK's span starts with these. */
  readonly attributes: Attributes;
  /** Forgets a decision the SDK did not take (it failed before sampling). */
  release(): void;
}

let slot: { readonly provider: TracerProvider; readonly presampler: Presampler } | undefined;

/** Makes `presampler` serve requests while `provider` (the API's) is the registered one. */
export function fillPresamplerSlot(provider: TracerProvider, presampler: Presampler): void {
  slot = { provider, presampler };
}

/** Empties the slot (shutdown). */
export function emptyPresamplerSlot(): void {
  slot = undefined;
}

/**
 * The presampler serving `provider` (the API's tracer provider, as `trace.getTracerProvider()`
 * gave it to the caller), if `setupTracing` started its SDK.
 */
export function presamplerFor(provider: TracerProvider): Presampler | undefined {
  // trace.disable() (our shutdown, or the service's) installs a new provider: the slot is stale then.
  return slot !== undefined && slot.provider === provider ? slot.presampler : undefined;
}

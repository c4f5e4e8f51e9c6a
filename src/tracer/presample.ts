/**
 * @module tracer/presample
 * The sampling decision of a request span, taken by the tracer before it asks the SDK for the
 * span, when the SDK is the one `setupTracing` started.
 *
 * Why: in a process that has recorded spans, V8 allocates at the SDK's `startSpan` allocation
 * sites directly in the old generation (allocation-site pretenuring, learnt from recorded spans
 * that live until their batch is exported), and a span the sampler drops is made at the same
 * sites: it then costs 0.7–1.4 µs instead of ~0.45 µs (docs/tracer.md, "Why the unsampled
 * request is measured twice"). A dropped request span made here uses sites that only dropped
 * spans use.
 *
 * Exactness: what the SDK's `Tracer.startSpan` (OpenTelemetry JS 2.x) does for a span, in the same
 * order: suppressed tracing is left to the SDK; a span id, then a trace id for a root, from the
 * same generator; the same sampler called once with the same arguments. A dropped span is a
 * non-recording span with those ids, no flags and the sampler's (else the parent's) trace state,
 * as the SDK makes it. A kept span is started by the SDK, which gets the same ids from the
 * generator and the decision from `DecisionSampler` instead of sampling again.
 */
import { trace, TraceFlags } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, SpanContext, SpanKind, Tracer } from '@opentelemetry/api';
import { isTracingSuppressed, sanitizeAttributes } from '@opentelemetry/core';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';
import type { PooledIdGenerator } from './id-generator.js';
import type { Presampler } from './presampler-slot.js';

const NO_ATTRIBUTES: Attributes = Object.freeze({});
// Read once: the SDK's index exports it through a getter, a call on every read.
const NOT_RECORD = SamplingDecision.NOT_RECORD;

/**
 * The SDK's sampler: the service's (or the environment's) sampler, except for the span whose
 * decision the tracer has just taken, which gets that decision.
 */
export class DecisionSampler implements Sampler {
  private handed: SamplingResult | undefined;
  private handedTraceId = '';
  private handedName = '';
  /** Decisions the SDK took from here (the set-up check reads it). */
  taken = 0;

  constructor(readonly inner: Sampler) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const handed = this.handed;
    if (handed !== undefined) {
      this.handed = undefined;
      if (traceId === this.handedTraceId && spanName === this.handedName) {
        this.taken += 1;
        return handed;
      }
    }
    return this.inner.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  /** Hands `result` to the SDK's next span, if it is the span named `name` in trace `traceId`. */
  hand(traceId: string, name: string, result: SamplingResult): void {
    this.handed = result;
    this.handedTraceId = traceId;
    this.handedName = name;
  }

  /** Forgets a decision the SDK did not take. */
  forget(): void {
    this.handed = undefined;
  }

  toString(): string {
    return this.inner.toString();
  }
}

/** The presampler of the SDK `setupTracing` started. */
export class SdkPresampler implements Presampler {
  attributes: Attributes = NO_ATTRIBUTES;
  private lastInput: Attributes | undefined;
  private lastSanitized: Attributes = NO_ATTRIBUTES;

  constructor(
    private readonly sampler: DecisionSampler,
    private readonly ids: PooledIdGenerator,
  ) {}

  dropped(parent: Context, parentSpanContext: SpanContext | undefined, name: string, kind: SpanKind, attributes: Attributes): Span | undefined {
    // The SDK returns an invalid span here, without ids or sampling.
    if (isTracingSuppressed(parent)) return undefined;
    const valid = parentSpanContext !== undefined && trace.isSpanContextValid(parentSpanContext);
    const spanId = this.ids.generateSpanId();
    const traceId = valid ? parentSpanContext.traceId : this.ids.generateTraceId();
    // A tracer's request attributes are one object: sanitized once, copied per span (a sampler may change its copy).
    if (attributes !== this.lastInput) {
      this.lastSanitized = sanitizeAttributes(attributes);
      this.lastInput = attributes;
    }
    const seen = { ...this.lastSanitized };
    const result = this.sampler.inner.shouldSample(parent, traceId, name, kind, seen, []);
    if (result.decision === NOT_RECORD) {
      const traceState = result.traceState ?? (valid ? parentSpanContext.traceState : undefined);
      // The SDK's shape: traceState present even when undefined.
      return trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE, traceState } as SpanContext);
    }
    this.attributes = seen;
    this.ids.preset(spanId, valid ? undefined : traceId);
    this.sampler.hand(traceId, name, result);
    return undefined;
  }

  release(): void {
    this.ids.clearPreset();
    this.sampler.forget();
    this.attributes = NO_ATTRIBUTES;
  }

  /**
   * Whether `tracer` (the API's, for our tracer name) is served by the SDK this presampler belongs
   * to: a root span handed a drop decision must come back dropped, with the ids it was handed.
   * Another provider registered first, or a changed SDK, fails it and the presampler stays unused.
   */
  servesTracer(tracer: Tracer, probeName: string): boolean {
    const takenBefore = this.sampler.taken;
    const spanId = this.ids.generateSpanId();
    const traceId = this.ids.generateTraceId();
    try {
      this.ids.preset(spanId, traceId);
      this.sampler.hand(traceId, probeName, { decision: NOT_RECORD });
      const span = tracer.startSpan(probeName, { root: true });
      const got = span.spanContext();
      return this.sampler.taken === takenBefore + 1 && !span.isRecording() && got.traceId === traceId && got.spanId === spanId;
    } catch {
      return false;
    } finally {
      this.release();
    }
  }
}

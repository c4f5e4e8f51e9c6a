/**
 * The context the tracer makes active inside `infer` and its phases behaves as the API's own:
 * calls made inside follow the request's trace and sampling decision (sampled or not), other
 * instrumentation's spans nest under the phase, values set by the caller (baggage) stay visible,
 * and code that sets or deletes context values inside a phase gets a working context.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { AlwaysOffSampler, InMemorySpanExporter, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';

let tracing: TracingHandle | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

/** The W3C traceparent header a downstream call made in `ctx` would carry. */
function traceparentIn(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier['traceparent'];
}

const USER_KEY = createContextKey('test user value');

describe('inside an unsampled request', () => {
  it('downstream calls carry the request trace, not sampled, from the request and from its phases', async () => {
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false, sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) });
    const tracer = createInferenceTracer({ model: 'm' });
    const seen = tracer.infer((req) => {
      const inRequest = traceparentIn(context.active());
      const inPhase = req.compute(() => traceparentIn(context.active()));
      const other = req.network(() => trace.getTracer('other-library').startSpan('fetch'));
      return { inRequest, inPhase, otherRecording: other.isRecording(), otherTrace: other.spanContext().traceId };
    });
    expect(seen.inRequest).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const traceId = seen.inRequest!.split('-')[1];
    expect(traceId).not.toBe('0'.repeat(32));
    // Phases are not spans of an unsampled request: calls inside them continue the request's span.
    expect(seen.inPhase).toBe(seen.inRequest);
    expect(seen.otherRecording).toBe(false);
    expect(seen.otherTrace).toBe(traceId);
    await tracing.forceFlush();
    expect(memory.getFinishedSpans()).toHaveLength(0);
  });

  it('follows a remote parent that was not sampled (headers given to infer)', () => {
    tracing = setupTracing({ exporter: { spanExporter: new InMemorySpanExporter() }, metrics: false });
    const tracer = createInferenceTracer({ model: 'm' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const inside = tracer.infer((req) => req.compute(() => traceparentIn(context.active())), {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00` },
    });
    expect(inside).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  });
});

describe('inside a sampled request', () => {
  it("nests other instrumentation's spans under the phase, and keeps the caller's context values", async () => {
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false });
    const tracer = createInferenceTracer({ model: 'm' });
    const callerCtx = ROOT_CONTEXT.setValue(USER_KEY, 'from the caller');
    const result = context.with(callerCtx, () =>
      tracer.infer((req) =>
        req.network(() => {
          const active = context.active();
          trace.getTracer('other-library').startSpan('fetch').end();
          // Code that derives contexts inside a phase: values and the active span behave as the API's.
          const added = active.setValue(USER_KEY, 'changed inside');
          const removed = active.deleteValue(USER_KEY);
          const withoutSpan = trace.deleteSpan(active);
          return {
            userValue: active.getValue(USER_KEY),
            added: added.getValue(USER_KEY),
            addedSpan: trace.getSpan(added)?.spanContext().spanId,
            removed: removed.getValue(USER_KEY),
            removedSpan: trace.getSpan(removed)?.spanContext().spanId,
            activeSpan: trace.getSpan(active)?.spanContext().spanId,
            withoutSpan: trace.getSpan(withoutSpan),
            withoutSpanValue: withoutSpan.getValue(USER_KEY),
            traceparent: traceparentIn(active),
          };
        }),
      ),
    );
    await tracing.forceFlush();
    const spans = memory.getFinishedSpans();
    const byName = (name: string): ReadableSpan => spans.find((s) => s.name === name)!;
    const network = byName('network');
    const request = spans.find((s) => s.attributes[ATTR.MODEL_NAME] === 'm')!;
    const fetch = byName('fetch');
    expect(network.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(fetch.parentSpanContext?.spanId).toBe(network.spanContext().spanId);
    expect(fetch.spanContext().traceId).toBe(request.spanContext().traceId);
    const phaseId = network.spanContext().spanId;
    expect(result).toEqual({
      userValue: 'from the caller',
      added: 'changed inside',
      addedSpan: phaseId,
      removed: undefined,
      removedSpan: phaseId,
      activeSpan: phaseId,
      withoutSpan: undefined,
      withoutSpanValue: 'from the caller',
      traceparent: `00-${request.spanContext().traceId}-${phaseId}-01`,
    });
  });

  it('starts the request span before its first phase and ends it after its last', async () => {
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false });
    const tracer = createInferenceTracer({ model: 'm' });
    tracer.infer((req) => {
      req.preprocess(() => 1);
      return req.postprocess(() => 2);
    });
    await tracing.forceFlush();
    const ns = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
    const spans = memory.getFinishedSpans();
    const request = spans.find((s) => s.attributes[ATTR.MODEL_NAME] === 'm')!;
    const first = spans.find((s) => s.name === 'preprocess')!;
    const last = spans.find((s) => s.name === 'postprocess')!;
    expect(ns(request.startTime)).toBeLessThanOrEqual(ns(first.startTime));
    expect(ns(request.endTime)).toBeGreaterThanOrEqual(ns(last.endTime));
  });
});

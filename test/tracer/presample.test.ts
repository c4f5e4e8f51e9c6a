/**
 * The request span's sampling decision taken before the SDK is asked for the span
 * (src/tracer/presample.ts): the configured sampler sees each request span once, with what the
 * SDK would give it; kept spans carry the ids and attributes the decision was made on; dropped
 * requests propagate what the SDK's own non-recording span would; suppressed tracing and another
 * registered provider are left alone.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, SpanContext } from '@opentelemetry/api';
import { suppressTracing, TraceState } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTR } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';

let tracing: TracingHandle | undefined;

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  trace.disable();
  context.disable();
  propagation.disable();
});

interface Call {
  readonly traceId: string;
  readonly name: string;
  readonly kind: SpanKind;
  readonly attributes: Attributes;
  readonly links: number;
  readonly parent: SpanContext | undefined;
  readonly decision: SamplingDecision;
}

/** Wraps a sampler and records every call (and may change the attributes, or answer a trace state). */
class RecordingSampler implements Sampler {
  readonly calls: Call[] = [];
  constructor(
    private readonly inner: Sampler,
    private readonly extra: { readonly mutate?: boolean; readonly traceState?: TraceState; readonly add?: Attributes } = {},
  ) {}
  shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const result = this.inner.shouldSample(ctx, traceId, name, kind, attributes, links);
    this.calls.push({ traceId, name, kind, attributes: { ...attributes }, links: links.length, parent: trace.getSpanContext(ctx), decision: result.decision });
    if (this.extra.mutate === true) attributes['sampler.saw'] = true;
    return {
      ...result,
      ...(this.extra.traceState !== undefined ? { traceState: this.extra.traceState } : {}),
      ...(this.extra.add !== undefined ? { attributes: this.extra.add } : {}),
    };
  }
  toString(): string {
    return `Recording(${this.inner.toString()})`;
  }
}

function collector(): { exporter: InMemorySpanExporter; spans: () => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  return { exporter, spans: () => exporter.getFinishedSpans() };
}

const MODEL = { model: 'presampled', version: '3', device: 'cpu' } as const;

describe('a request span sampled before the SDK starts it', () => {
  it('is sampled once, with the SDK’s arguments; kept spans carry the ids the decision was made on', async () => {
    const sampler = new RecordingSampler(new TraceIdRatioBasedSampler(0.5));
    const sink = collector();
    tracing = setupTracing({ exporter: { spanExporter: sink.exporter }, metrics: false, sampler, maxQueueSize: 65_536 });
    const tracer = createInferenceTracer(MODEL);
    const inside: SpanContext[] = [];
    for (let i = 0; i < 400; i += 1) {
      // Every other request continues a remote trace (a SERVER span under a remote parent).
      const headers = i % 2 === 0 ? { traceparent: `00-${(i + 1).toString(16).padStart(32, '0')}-${'b'.repeat(16)}-01` } : undefined;
      tracer.infer(
        (req) => {
          inside.push(trace.getSpanContext(context.active())!);
          return req.compute(() => i);
        },
        headers === undefined ? {} : { headers },
      );
    }
    await tracing.forceFlush();
    const requestCalls = sampler.calls.filter((c) => c.name === 'infer presampled');
    expect(requestCalls).toHaveLength(400);
    for (const [i, call] of requestCalls.entries()) {
      expect(call.kind).toBe(SpanKind.SERVER);
      expect(call.links).toBe(0);
      expect(call.attributes).toEqual({ [ATTR.MODEL_NAME]: 'presampled', [ATTR.MODEL_VERSION]: '3', [ATTR.DEVICE]: 'cpu' });
      // The trace the sampler decided on is the trace the request ran in.
      expect(inside[i]!.traceId).toBe(call.traceId);
      if (i % 2 === 0) expect(call.parent?.traceId).toBe(call.traceId);
      else expect(call.parent).toBeUndefined();
    }
    const kept = requestCalls.filter((c) => c.decision === SamplingDecision.RECORD_AND_SAMPLED);
    // Roots get random trace ids: about half of them are kept (100 expected, standard deviation ~7).
    const keptRoots = requestCalls.filter((c, i) => i % 2 === 1 && c.decision === SamplingDecision.RECORD_AND_SAMPLED).length;
    expect(keptRoots).toBeGreaterThan(65);
    expect(keptRoots).toBeLessThan(135);
    const requestSpans = sink.spans().filter((s) => s.name === 'infer presampled');
    expect(requestSpans.map((s) => s.spanContext().traceId).sort()).toEqual(kept.map((c) => c.traceId).sort());
    // The ids the request saw inside are the exported span's, and every kept request has its compute span.
    const byTrace = new Map(inside.map((c) => [c.traceId, c]));
    for (const span of requestSpans) {
      expect(byTrace.get(span.spanContext().traceId)?.spanId).toBe(span.spanContext().spanId);
      expect(span.attributes[ATTR.MODEL_NAME]).toBe('presampled');
    }
    expect(sink.spans().filter((s) => s.name === 'compute')).toHaveLength(kept.length);
    // Phase spans of kept requests are sampled by the SDK as before (their own calls).
    expect(sampler.calls.filter((c) => c.name === 'compute')).toHaveLength(kept.length);
  });

  it('a dropped request propagates what the SDK’s own dropped span would: the trace, a new span id, no flags, the sampler’s trace state', async () => {
    const state = new TraceState('ld=1');
    tracing = setupTracing({ exporter: { spanExporter: collector().exporter }, metrics: false, sampler: new RecordingSampler(new AlwaysOffSampler(), { traceState: state }) });
    const tracer = createInferenceTracer(MODEL);
    const parentTraceId = '0af7651916cd43dd8448eb211c80319c';
    const headers = { traceparent: `00-${parentTraceId}-b7ad6b7169203331-01` };
    let seen: SpanContext | undefined;
    let outgoing: Record<string, string> = {};
    const result = tracer.infer(
      (req) => {
        seen = trace.getSpanContext(context.active());
        propagation.inject(context.active(), outgoing);
        return req.traceId === '' ? 'untraced' : 'traced';
      },
      { headers },
    );
    expect(result).toBe('untraced');
    // The SDK's own span for the same parent and sampler, for comparison.
    const parentCtx = propagation.extract(ROOT_CONTEXT, headers);
    const sdkSpan = trace.getTracer('hand-written').startSpan('infer presampled', { kind: SpanKind.SERVER }, parentCtx);
    expect(sdkSpan.isRecording()).toBe(false);
    const expected = sdkSpan.spanContext();
    expect(seen?.traceId).toBe(parentTraceId);
    expect(seen?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(seen?.spanId).not.toBe('b7ad6b7169203331');
    expect(seen?.traceFlags).toBe(expected.traceFlags);
    expect(seen?.traceState?.serialize()).toBe(expected.traceState?.serialize());
    expect(seen?.isRemote).toBe(expected.isRemote);
    expect(outgoing['traceparent']).toBe(`00-${parentTraceId}-${seen?.spanId}-00`);
    expect(outgoing['tracestate']).toBe('ld=1');
    outgoing = {};
    // A root request the sampler drops gets a fresh valid trace.
    tracer.infer(() => {
      seen = trace.getSpanContext(context.active());
    });
    expect(seen?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen?.traceId).not.toBe(parentTraceId);
    expect(trace.isSpanContextValid(seen!)).toBe(true);
  });

  it('a sampler’s changes to the attributes, and the attributes it adds, reach the kept span', async () => {
    const sink = collector();
    tracing = setupTracing({ exporter: { spanExporter: sink.exporter }, metrics: false, sampler: new RecordingSampler(new AlwaysOnSampler(), { mutate: true, add: { 'sampler.added': 1 } }) });
    createInferenceTracer(MODEL).infer(() => 1);
    await tracing.forceFlush();
    const [span] = sink.spans().filter((s) => s.name === 'infer presampled');
    expect(span?.attributes['sampler.saw']).toBe(true);
    expect(span?.attributes['sampler.added']).toBe(1);
    expect(span?.attributes[ATTR.MODEL_NAME]).toBe('presampled');
  });

  it('under suppressed tracing, samples nothing and records nothing, as the SDK', async () => {
    const sampler = new RecordingSampler(new AlwaysOnSampler());
    const sink = collector();
    tracing = setupTracing({ exporter: { spanExporter: sink.exporter }, metrics: false, sampler });
    const tracer = createInferenceTracer(MODEL);
    const traceId = context.with(suppressTracing(context.active()), () => tracer.infer((req) => req.compute(() => req.traceId)));
    await tracing.forceFlush();
    expect(traceId).toBe('');
    expect(sampler.calls).toEqual([]);
    expect(sink.spans()).toEqual([]);
  });

  it('leaves requests to a provider registered before setupTracing (whose SDK is not ours)', async () => {
    const theirs = collector();
    const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(theirs.exporter)] });
    trace.setGlobalTracerProvider(provider);
    const ours = new RecordingSampler(new AlwaysOffSampler());
    tracing = setupTracing({ exporter: { spanExporter: collector().exporter }, metrics: false, sampler: ours });
    createInferenceTracer(MODEL).infer((req) => req.compute(() => 1));
    expect(ours.calls).toEqual([]);
    expect(theirs.spans().map((s) => s.name).sort()).toEqual(['compute', 'infer presampled']);
    await provider.shutdown();
  });

  it('after shutdown, a provider the service registers serves the requests', async () => {
    const ours = new RecordingSampler(new AlwaysOffSampler());
    tracing = setupTracing({ exporter: { spanExporter: collector().exporter }, metrics: false, sampler: ours });
    const tracer = createInferenceTracer(MODEL);
    tracer.infer(() => 1);
    expect(ours.calls).toHaveLength(1);
    await tracing.shutdown();
    tracing = undefined;
    const theirs = collector();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(theirs.exporter)] });
    trace.setGlobalTracerProvider(provider);
    tracer.infer((req) => req.compute(() => 1));
    expect(ours.calls).toHaveLength(1);
    expect(theirs.spans().map((s) => s.name).sort()).toEqual(['compute', 'infer presampled']);
    await provider.shutdown();
  });
});

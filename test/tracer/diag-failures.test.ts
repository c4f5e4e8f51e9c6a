/**
 * Failures the tracer absorbs to protect the call it wraps are reported through OpenTelemetry's
 * `diag` logger (never swallowed silently), and the wrapped call's value, error and items are
 * unchanged: generation metrics and events, a throwing token counter, a poisoned error object,
 * and a diag logger that itself throws (said once through the warning sink).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { diag, DiagLogLevel, metrics, trace } from '@opentelemetry/api';
import type { Histogram, Meter, MeterProvider, Span, SpanContext, Tracer, TracerProvider } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { resetWarnings, setWarningSink } from '../../src/tracer/warn-once.js';
import type { WarningSink } from '../../src/tracer/warn-once.js';

let tracing: TracingHandle | undefined;
let logged: string[] = [];
let previousSink: WarningSink | undefined;

/** Registers a diag logger at debug level that keeps every line. */
function collectDiag(): void {
  logged = [];
  const keep = (message: string): void => {
    logged.push(message);
  };
  diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, DiagLogLevel.DEBUG);
}

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  diag.disable();
  trace.disable();
  metrics.disable();
  if (previousSink !== undefined) setWarningSink(previousSink);
  previousSink = undefined;
  resetWarnings();
});

/** A recording span of a foreign SDK whose addEvent throws (everything else works). */
function spanRefusingEvents(): Span {
  const context: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  const span: Span = {
    spanContext: () => context,
    setAttribute: () => span,
    setAttributes: () => span,
    addEvent: () => {
      throw new Error('event refused');
    },
    addLink: () => span,
    addLinks: () => span,
    setStatus: () => span,
    updateName: () => span,
    end: () => undefined,
    isRecording: () => true,
    recordException: () => undefined,
  };
  return span;
}

/** A MeterProvider whose histograms throw on record (a broken metrics SDK). */
function meterProviderRefusingRecords(): MeterProvider {
  const histogram = {
    record: () => {
      throw new Error('record refused');
    },
  } as unknown as Histogram;
  const meter = { createHistogram: () => histogram } as unknown as Meter;
  return { getMeter: () => meter };
}

describe('absorbed failures go to diag, the wrapped call is unaffected', () => {
  it('a token counter that throws: every item still streams through, the failure is logged', async () => {
    collectDiag();
    tracing = setupTracing({ exporter: { spanExporter: new InMemorySpanExporter() }, metrics: false });
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    const items = await tracer.generate(async (req) => {
      const out: string[] = [];
      const count = (item: string): number => {
        if (item === 'bad') throw new TypeError(`cannot count "${item}"`);
        return 1;
      };
      for await (const item of req.stream(['a', 'bad', 'c'], count)) out.push(item);
      return { out, tokens: req.outputTokens };
    });
    expect(items).toEqual({ out: ['a', 'bad', 'c'], tokens: 2 });
    expect(logged).toContain(
      "latency-doctor tracer: counting the tokens of a streamed item failed: TypeError (its message is not logged: it may quote the model's output)",
    );
    // The streamed item (model output) never reaches the log.
    expect(logged.join('\n')).not.toContain('"bad"');
  });

  it('a span refusing the first-token event: the token is counted, the value returned, the failure logged', () => {
    collectDiag();
    const tracerRefusingEvents = { startSpan: () => spanRefusingEvents() } as unknown as Tracer;
    const provider: TracerProvider = { getTracer: () => tracerRefusingEvents };
    trace.setGlobalTracerProvider(provider);
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    const result = tracer.generate((req) => {
      req.token();
      req.token();
      return `tokens: ${req.outputTokens}`;
    });
    expect(result).toBe('tokens: 2');
    expect(logged).toContain('latency-doctor tracer: recording the first-token event failed: event refused');
  });

  it('a metrics SDK that throws on record: generate returns its value, the failure is logged', async () => {
    collectDiag();
    metrics.setGlobalMeterProvider(meterProviderRefusingRecords());
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    const result = await tracer.generate(async (req) => {
      await req.prefill(async () => 'prompt done');
      req.tokens(3);
      return 'answer';
    });
    expect(result).toBe('answer');
    expect(logged).toContain('latency-doctor tracer: recording the generation metrics failed: record refused');
  });

  it('a metrics SDK that throws when asked for a meter: generate returns its value, the failure is logged', () => {
    collectDiag();
    metrics.setGlobalMeterProvider({
      getMeter: () => {
        throw new Error('no meter for you');
      },
    });
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    expect(tracer.generate((req) => (req.token(), 'answer'))).toBe('answer');
    expect(logged).toContain('latency-doctor tracer: creating the generation metric instruments failed: no meter for you');
  });

  it('an error whose toString throws reaches the caller as is; diag says it could not be printed', () => {
    collectDiag();
    tracing = setupTracing({ exporter: { spanExporter: new InMemorySpanExporter() }, metrics: false });
    // Only a tracer that records messages turns the error into text (by default only its type is read).
    const tracer = createInferenceTracer({ model: 'poison', recordExceptionMessages: true });
    const poisoned = {
      toString(): string {
        throw new Error('no text');
      },
    };
    let caught: unknown;
    try {
      tracer.infer((req) => req.compute(() => {
        throw poisoned;
      }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(poisoned);
    expect(logged).toContain('latency-doctor tracer: an error object could not be turned into text (its toString or message threw)');
  });

  it('a diag logger that throws: the call is unaffected, and that is said once through the warning sink', () => {
    const warnings: string[] = [];
    previousSink = setWarningSink((message) => warnings.push(message));
    // The tracer reports its failures at warn level; the API itself logs at debug while registering.
    const quiet = (): void => undefined;
    const throwing = (): void => {
      throw new Error('logger down');
    };
    diag.setLogger({ error: throwing, warn: throwing, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.DEBUG);
    const broken = {
      startSpan: () => {
        throw new Error('tracer exploded');
      },
    } as unknown as Tracer;
    trace.setGlobalTracerProvider({ getTracer: () => broken });
    const tracer = createInferenceTracer({ model: 'diag' });
    expect(tracer.infer((req) => req.compute(() => 'still works'))).toBe('still works');
    expect(tracer.infer(() => 'again')).toBe('again');
    diag.disable();
    expect(warnings).toEqual([
      'latency-doctor tracer: the OpenTelemetry diag logger threw (logger down); tracer failures reported to it may be missing',
    ]);
  });
});

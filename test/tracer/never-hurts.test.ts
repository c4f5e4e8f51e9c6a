/**
 * The tracer must never hurt the service: values and errors pass through unchanged, errors are
 * recorded on the span, nothing the tracer does throws into the caller (broken exporter, dead
 * collector, bad attributes, broken SDK, no setup), and a dead collector costs bounded memory
 * and one warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ContextManager, Tracer, TracerProvider } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { exposedGc } from '../support/gc.js';

const model = { model: 'bert-base', runtime: 'onnxruntime', precision: 'fp32', device: 'cpu' } as const;
let tracing: TracingHandle | undefined;
let warnings: string[] = [];

function setupInMemory(extra: Parameters<typeof setupTracing>[0] = {}): InMemorySpanExporter {
  const memory = new InMemorySpanExporter();
  warnings = [];
  tracing = setupTracing({
    serviceName: 'never-hurts',
    exporter: { spanExporter: memory },
    metrics: false,
    scheduledDelayMillis: 10,
    onWarning: (m) => warnings.push(m),
    ...extra,
  });
  return memory;
}

async function finished(memory: InMemorySpanExporter): Promise<ReadableSpan[]> {
  await tracing!.forceFlush();
  return memory.getFinishedSpans();
}

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

describe('values and errors pass through unchanged', () => {
  it('returns the same object from sync and async functions, and keeps sync results sync', async () => {
    setupInMemory();
    const tracer = createInferenceTracer(model);
    const value = { logits: new Float32Array(4) };
    const syncResult = tracer.infer((req) => req.compute(() => value));
    expect(syncResult).toBe(value);
    const phaseResult = tracer.infer((req) => req.preprocess(() => 42));
    expect(phaseResult).toBe(42);
    const asyncResult = tracer.infer(async (req) => req.compute(async () => value));
    expect(asyncResult).toBeInstanceOf(Promise);
    expect(await asyncResult).toBe(value);
  });

  it('rethrows the very same error (sync and async) and records it on the spans with status ERROR', async () => {
    const memory = setupInMemory();
    const tracer = createInferenceTracer(model);
    const syncError = new RangeError('bad shape');
    let caught: unknown;
    try {
      tracer.infer((req) => req.preprocess(() => {
        throw syncError;
      }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(syncError);

    const asyncError = new Error('session.run failed');
    await expect(tracer.infer(async (req) => req.compute(async () => Promise.reject(asyncError)))).rejects.toBe(asyncError);

    const thrownString = 'plain string';
    expect(() => tracer.infer(() => {
      throw thrownString;
    })).toThrow(thrownString);

    const spans = await finished(memory);
    const failedPhases = spans.filter((s) => s.attributes[ATTR.PHASE] !== undefined);
    expect(failedPhases).toHaveLength(2);
    for (const span of failedPhases) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.some((e) => e.name === 'exception')).toBe(true);
    }
    const requests = spans.filter((s) => s.attributes[ATTR.MODEL_NAME] === 'bert-base');
    expect(requests).toHaveLength(3);
    expect(requests.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
    const compute = failedPhases.find((s) => s.attributes[ATTR.PHASE] === 'compute')!;
    // The message may quote the input: recorded only on opt-in (test/tracer/exception-privacy.test.ts).
    expect(compute.status.message).toBeUndefined();
    expect(compute.events[0]!.attributes).toEqual({ 'exception.type': 'Error' });
  });

  it('returns a foreign thenable as is, without calling its then', () => {
    setupInMemory();
    const tracer = createInferenceTracer(model);
    let thenCalls = 0;
    const lazy = { then: () => { thenCalls += 1; } };
    expect(tracer.infer((req) => req.compute(() => lazy))).toBe(lazy);
    expect(thenCalls).toBe(0);
  });

  it('returns a Promise subclass as is: an SDK promise keeps its methods and its lazy then is not called', async () => {
    setupInMemory();
    const tracer = createInferenceTracer(model);
    // The shape of the OpenAI / Anthropic Node clients' APIPromise (src/core/api-promise.ts in
    // openai/openai-node): a Promise subclass whose then() starts parsing the response body.
    let parses = 0;
    class ApiPromise extends Promise<string> {
      constructor(private readonly response: Promise<string>) {
        super((resolve) => resolve(''));
      }
      private parse(): Promise<string> {
        parses += 1;
        return this.response.then((body) => body.toUpperCase());
      }
      override then<A = string, B = never>(ok?: ((v: string) => A | PromiseLike<A>) | null, err?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
        return this.parse().then(ok, err);
      }
      asResponse(): Promise<string> {
        return this.response;
      }
    }
    const call = new ApiPromise(Promise.resolve('raw body'));
    const returned = tracer.infer((req) => req.compute(() => call));
    expect(returned).toBe(call);
    expect(parses).toBe(0);
    expect(await (returned as ApiPromise).asResponse()).toBe('raw body');
    expect(parses).toBe(0);
  });
});

describe('batches', () => {
  it('passes a failed batch error through unchanged and marks every member compute span and the batch span', async () => {
    const memory = setupInMemory();
    const tracer = createInferenceTracer(model);
    const failure = new Error('CUDA out of memory');
    const tickets: ReturnType<Parameters<Parameters<typeof tracer.infer>[0]>[0]['enqueue']>[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const members = [0, 1].map(() =>
      tracer.infer(async (req) => {
        tickets.push(req.enqueue());
        await released;
      }),
    );
    await expect(tracer.runBatch(tickets, async () => Promise.reject(failure))).rejects.toBe(failure);
    // A ticket used twice (a retried batch) gets one queue span only.
    tracer.runBatch(tickets, () => undefined);
    release();
    await Promise.all(members);
    const spans = await finished(memory);
    const computes = spans.filter((s) => s.attributes[ATTR.PHASE] === 'compute');
    expect(computes).toHaveLength(4);
    expect(computes.filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(2);
    expect(spans.filter((s) => s.attributes[ATTR.PHASE] === 'queue')).toHaveLength(2);
    const batches = spans.filter((s) => s.name === 'inference.batch');
    expect(batches.map((s) => s.status.code).sort()).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR].sort());
  });

  it('makes spans started inside a phase children of that phase span', async () => {
    const memory = setupInMemory();
    const tracer = createInferenceTracer(model);
    tracer.infer((req) => req.network(() => tracer.clientCall(() => 'downstream')));
    const spans = await finished(memory);
    const network = spans.find((s) => s.attributes[ATTR.PHASE] === 'network')!;
    const client = spans.find((s) => s.attributes[ATTR.ROLE] === 'client')!;
    expect(client.parentSpanContext?.spanId).toBe(network.spanContext().spanId);
  });
});

describe('nothing the tracer does throws into the caller', () => {
  it('works as a no-op before setupTracing, including batches and client calls', async () => {
    const tracer = createInferenceTracer(model);
    const tickets: ReturnType<Parameters<Parameters<typeof tracer.infer>[0]>[0]['enqueue']>[] = [];
    const value = tracer.infer((req) => {
      req.setRequestSize(10);
      req.setCacheHit(true);
      tickets.push(req.enqueue());
      expect(req.traceId).toBe('');
      return req.postprocess(() => 'ok');
    });
    expect(value).toBe('ok');
    expect(tracer.runBatch(tickets, () => 'batched')).toBe('batched');
    expect(tracer.clientCall((headers) => Object.keys(headers).length)).toBe(0);
    expect(await tracer.infer(async (req) => req.compute(async () => 7))).toBe(7);
  });

  it('ignores bad attributes and unknown phases', async () => {
    const memory = setupInMemory();
    const poisoned = {};
    Object.defineProperty(poisoned, 'boom', { enumerable: true, get: () => { throw new Error('getter'); } });
    const tracer = createInferenceTracer({ ...model, attributes: { ok: 'yes', nested: { a: 1 } as unknown as string } });
    const result = tracer.infer(
      (req) => {
        req.setRequestSize(Number.NaN);
        req.setResponseSize(-5);
        req.setCacheHit('yes' as unknown as boolean);
        req.setAttribute('', 'empty key');
        req.setAttribute('weird', { deep: true } as unknown as string);
        req.hashInput(new Uint8Array([1, 2, 3])); // hashing is off: records nothing
        req.phase('warmup' as unknown as 'compute', () => undefined);
        // A name every object has (Object.prototype) is no phase either.
        req.phase('toString' as unknown as 'compute', () => undefined);
        return req.phase('compute', () => 'done', poisoned);
      },
      { attributes: poisoned, requestSize: Number.POSITIVE_INFINITY },
    );
    expect(result).toBe('done');
    const spans = await finished(memory);
    const request = spans.find((s) => s.attributes[ATTR.MODEL_NAME] === 'bert-base')!;
    expect(request.attributes['ok']).toBe('yes');
    expect(request.attributes[ATTR.REQUEST_SIZE]).toBeUndefined();
    expect(request.attributes[ATTR.INPUT_HASH]).toBeUndefined();
    expect(request.attributes['nested']).toBeUndefined();
    expect(warnings.filter((w) => w.includes('unknown phase'))).toHaveLength(2);
    expect(spans.map((s) => s.name).filter((name) => name === 'warmup' || name === 'toString')).toEqual([]);
  });

  it('survives an SDK whose tracer throws', () => {
    const throwing = (): never => {
      throw new Error('broken SDK');
    };
    const provider = { getTracer: () => ({ startSpan: throwing, startActiveSpan: throwing }) as unknown as Tracer } as TracerProvider;
    trace.setGlobalTracerProvider(provider);
    try {
      const tracer = createInferenceTracer(model);
      let calls = 0;
      const value = tracer.infer((req) => {
        calls += 1;
        return req.compute(() => 'computed') + req.preprocess(() => '!');
      });
      expect(value).toBe('computed!');
      expect(calls).toBe(1);
      expect(tracer.clientCall(() => 'sent')).toBe('sent');
    } finally {
      trace.disable();
    }
  });

  it('runs the function exactly once when the context manager throws', () => {
    setupInMemory();
    const broken: ContextManager = {
      active: () => ROOT_CONTEXT,
      with: () => {
        throw new Error('context manager broke');
      },
      bind: (_ctx, target) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    };
    context.disable();
    context.setGlobalContextManager(broken);
    const tracer = createInferenceTracer(model);
    let calls = 0;
    const value = tracer.infer((req) => {
      calls += 1;
      return req.compute(() => 5);
    });
    expect(value).toBe(5);
    expect(calls).toBe(1);
  });

  it('keeps serving when the exporter throws or fails, counts the lost spans and warns once', async () => {
    let exportCalls = 0;
    const broken: SpanExporter = {
      export: (_spans, callback) => {
        exportCalls += 1;
        if (exportCalls % 2 === 0) {
          callback({ code: ExportResultCode.FAILED, error: new Error('backend said no') });
          return;
        }
        throw new Error('exporter threw');
      },
      shutdown: () => Promise.reject(new Error('shutdown failed too')),
    };
    warnings = [];
    tracing = setupTracing({
      exporter: { spanExporter: broken },
      metrics: false,
      maxExportBatchSize: 8,
      scheduledDelayMillis: 5,
      onWarning: (m) => warnings.push(m),
    });
    const tracer = createInferenceTracer(model);
    for (let i = 0; i < 50; i += 1) {
      expect(tracer.infer((req) => req.compute(() => i))).toBe(i);
    }
    await tracing.forceFlush();
    await tracing.shutdown();
    expect(exportCalls).toBeGreaterThan(2);
    expect(tracing.droppedSpans().exportFailed).toBe(100);
    expect(warnings.filter((w) => w.includes('dropping spans'))).toHaveLength(1);
  });
});

describe('a dead collector', () => {
  it('costs bounded memory: the queue is capped, excess spans are counted, one warning, shutdown bounded', async () => {
    warnings = [];
    tracing = setupTracing({
      // Port 9 on loopback: nothing listens, connections are refused.
      exporter: { otlpEndpoint: 'http://127.0.0.1:9' },
      metrics: false,
      maxQueueSize: 100,
      maxExportBatchSize: 50,
      scheduledDelayMillis: 20,
      exportTimeoutMillis: 500,
      onWarning: (m) => warnings.push(m),
    });
    const tracer = createInferenceTracer(model);
    const requests = 1000;
    for (let i = 0; i < requests; i += 1) {
      tracer.infer((req) => {
        req.preprocess(() => i);
        req.compute(() => i);
        return req.postprocess(() => i);
      });
    }
    const produced = requests * 4;
    const dropped = tracing.droppedSpans();
    // Everything beyond the queue (and the one batch in flight) was dropped, not held.
    expect(dropped.queueFull).toBeGreaterThanOrEqual(produced - 100 - 50);
    const started = Date.now();
    await tracing.shutdown();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(warnings.filter((w) => w.includes('dropping spans'))).toHaveLength(1);
    expect(warnings[0]).toContain('127.0.0.1:9');
  });

  it('keeps the heap flat while tens of thousands of spans cannot be delivered', async () => {
    const gc = exposedGc();
    warnings = [];
    tracing = setupTracing({
      exporter: { otlpEndpoint: 'http://127.0.0.1:9' },
      metrics: false,
      maxQueueSize: 200,
      maxExportBatchSize: 100,
      scheduledDelayMillis: 10,
      exportTimeoutMillis: 300,
      onWarning: (m) => warnings.push(m),
    });
    const tracer = createInferenceTracer(model);
    const payload = 'x'.repeat(256); // makes every retained span visibly heavier
    const serve = async (requests: number): Promise<void> => {
      for (let i = 0; i < requests; i += 1) {
        tracer.infer((req) => {
          req.setAttribute('payload.note', payload);
          req.preprocess(() => i);
          req.compute(() => i);
          return req.postprocess(() => i);
        });
        if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await serve(2_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    await serve(20_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // 80,000 spans were produced after the baseline; kept, they would take well over 50 MB.
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    expect(tracing.droppedSpans().total).toBeGreaterThan(80_000);
    expect(warnings).toHaveLength(1);
  }, 60_000);
});

/**
 * End to end over the wire: setupTracing with the real OTLP/gRPC exporter sending to a real gRPC
 * receiver on loopback; traced requests through every phase, a client call continued on the
 * server side, and a dynamic batch. Asserts spans, parents, attributes, links and timings as
 * received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, BATCH_SPAN_NAME, GENERATION_PHASES, PHASES, ROLE_CLIENT } from '../../src/semconv.js';
import { continueFromHeaders, createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import type { OtlpReceiver, ReceivedSpan } from '../support/otlp-receiver.js';
import { TIMER_SLACK_MS } from '../support/timers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin: a synchronous phase that really takes `ms`
  }
}
const ms = (ns: bigint): number => Number(ns) / 1e6;
const duration = (s: ReceivedSpan): number => ms(s.endNs - s.startNs);

describe('tracer → OTLP/gRPC → receiver', () => {
  let receiver: OtlpReceiver;
  let tracing: TracingHandle;
  let requestTraceId = '';
  const results: unknown[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = setupTracing({
      serviceName: 'e2e-inference',
      exporter: { otlpEndpoint: receiver.endpoint },
      metrics: false,
      scheduledDelayMillis: 50,
    });
    const tracer = createInferenceTracer({
      model: 'resnet50',
      version: '3',
      runtime: 'onnxruntime',
      runtimeProvider: 'CPUExecutionProvider',
      precision: 'fp32',
      device: 'cpu',
      hashInputs: { key: 'test-key' },
    });

    // One request, client side → server side, through all seven phases.
    const answer = await tracer.clientCall(
      (headers) =>
        continueFromHeaders(headers, () =>
          tracer.infer(async (req) => {
            requestTraceId = req.traceId;
            req.setRequestSize(4096);
            const decoded = req.serialize(() => {
              busyWait(3);
              return { pixels: new Float32Array(16) };
            });
            const normalized = req.preprocess(() => {
              busyWait(5);
              return decoded.pixels;
            });
            req.hashInput(normalized);
            await req.network(() => sleep(4));
            await req.queue(() => sleep(6));
            await req.transfer(() => sleep(3));
            const logits = await req.compute(() => sleep(12).then(() => [0.1, 0.9]), 1);
            const top = req.postprocess(() => {
              busyWait(2);
              return logits.indexOf(Math.max(...logits));
            });
            req.setCacheHit(false);
            req.setResponseSize(128);
            return { top };
          }),
        ),
      { requestSize: 4096 },
    );
    results.push(answer);

    // Three requests batched together by a batcher: each waits in the queue, then one compute.
    const tickets: ReturnType<Parameters<Parameters<typeof tracer.infer>[0]>[0]['enqueue']>[] = [];
    let release!: () => void;
    const batchDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const members = [0, 1, 2].map((i) =>
      tracer.infer(async (req) => {
        await sleep(i * 5);
        tickets.push(req.enqueue());
        await batchDone;
        return i;
      }),
    );
    await sleep(25);
    const batchResult = await tracer.runBatch(tickets, async () => {
      await sleep(10);
      return 'batch-output';
    });
    release();
    results.push(batchResult, await Promise.all(members));

    await tracing.shutdown();
    await receiver.waitForSpans(1 + 1 + 7 + 3 * 3 + 1, 5000);
  });

  afterAll(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('returns what the traced functions returned', () => {
    expect(results).toEqual([{ top: 1 }, 'batch-output', [0, 1, 2]]);
  });

  it('links client span, request span and one child span per phase', () => {
    const trace = receiver.spans.filter((s) => s.traceId === requestTraceId);
    const client = trace.find((s) => s.attributes[ATTR.ROLE] === ROLE_CLIENT);
    const request = trace.find((s) => s.name === 'infer resnet50');
    expect(client).toBeDefined();
    expect(request).toBeDefined();
    expect(client!.kind).toBe(3);
    expect(client!.parentSpanId).toBeUndefined();
    expect(client!.attributes[ATTR.MODEL_NAME]).toBe('resnet50');
    expect(request!.kind).toBe(2); // SERVER: it continues a remote parent
    expect(request!.parentSpanId).toBe(client!.spanId);
    expect(request!.service).toBe('e2e-inference');
    expect(request!.scope).toBe('latency-doctor');
    const phases = trace.filter((s) => s.attributes[ATTR.PHASE] !== undefined);
    // Every phase of a non-generative request (prefill and decode replace compute in generative ones).
    const nonGenerative = PHASES.filter((p) => !(GENERATION_PHASES as readonly string[]).includes(p));
    expect(phases.map((s) => s.attributes[ATTR.PHASE]).sort()).toEqual([...nonGenerative].sort());
    for (const span of phases) {
      expect(span.parentSpanId).toBe(request!.spanId);
      expect(span.attributes[ATTR.MODEL_NAME]).toBeUndefined();
      expect(span.startNs >= request!.startNs && span.endNs <= request!.endNs).toBe(true);
    }
  });

  it('carries the convention attributes on the request span', () => {
    const request = receiver.spans.find((s) => s.traceId === requestTraceId && s.name === 'infer resnet50')!;
    expect(request.attributes).toMatchObject({
      [ATTR.MODEL_NAME]: 'resnet50',
      [ATTR.MODEL_VERSION]: '3',
      [ATTR.RUNTIME]: 'onnxruntime',
      [ATTR.RUNTIME_PROVIDER]: 'CPUExecutionProvider',
      [ATTR.PRECISION]: 'fp32',
      [ATTR.DEVICE]: 'cpu',
      [ATTR.REQUEST_SIZE]: 4096,
      [ATTR.RESPONSE_SIZE]: 128,
      [ATTR.CACHE_HIT]: false,
    });
    expect(request.attributes[ATTR.INPUT_HASH]).toMatch(/^[0-9a-f]{32}$/);
    const compute = receiver.spans.find((s) => s.traceId === requestTraceId && s.attributes[ATTR.PHASE] === 'compute')!;
    expect(compute.attributes[ATTR.BATCH_SIZE]).toBe(1);
  });

  it('times each phase as it ran, in order, on one clock', () => {
    const trace = receiver.spans.filter((s) => s.traceId === requestTraceId);
    const byPhase = new Map(trace.filter((s) => s.attributes[ATTR.PHASE]).map((s) => [s.attributes[ATTR.PHASE] as string, s]));
    const expected: Record<string, number> = { serialize: 3, preprocess: 5, network: 4, queue: 6, transfer: 3, compute: 12, postprocess: 2 };
    for (const [phase, minimum] of Object.entries(expected)) {
      const d = duration(byPhase.get(phase)!);
      expect(d, phase).toBeGreaterThanOrEqual(minimum - TIMER_SLACK_MS);
      // Generous: CI machines are shared; the ordering below is the strict check.
      expect(d, phase).toBeLessThan(minimum + 1000);
    }
    // Sequential phases never overlap (a shared timeline, not per-span millisecond starts).
    const order = ['serialize', 'preprocess', 'network', 'queue', 'transfer', 'compute', 'postprocess'];
    for (let i = 1; i < order.length; i += 1) {
      expect(byPhase.get(order[i]!)!.startNs >= byPhase.get(order[i - 1]!)!.endNs, order[i]).toBe(true);
    }
    const client = trace.find((s) => s.kind === 3)!;
    const request = trace.find((s) => s.name === 'infer resnet50')!;
    expect(duration(client)).toBeGreaterThanOrEqual(duration(request));
  });

  it('records a batch: queue until the batch starts, shared compute with the batch size, one linked batch span', () => {
    const batch = receiver.spans.filter((s) => s.name === BATCH_SPAN_NAME);
    expect(batch).toHaveLength(1);
    const batchSpan = batch[0]!;
    expect(batchSpan.parentSpanId).toBeUndefined();
    expect(batchSpan.attributes[ATTR.BATCH_SIZE]).toBe(3);
    expect(batchSpan.attributes[ATTR.MODEL_NAME]).toBeUndefined();
    const requests = receiver.spans.filter((s) => s.traceId !== requestTraceId && s.name === 'infer resnet50');
    expect(requests).toHaveLength(3);
    expect(batchSpan.links.map((l) => l.spanId).sort()).toEqual(requests.map((r) => r.spanId).sort());
    expect(batchSpan.links.map((l) => l.traceId).sort()).toEqual(requests.map((r) => r.traceId).sort());
    for (const request of requests) {
      const children = receiver.spans.filter((s) => s.parentSpanId === request.spanId);
      const queue = children.find((s) => s.attributes[ATTR.PHASE] === 'queue')!;
      const compute = children.find((s) => s.attributes[ATTR.PHASE] === 'compute')!;
      expect(queue).toBeDefined();
      expect(compute.attributes[ATTR.BATCH_SIZE]).toBe(3);
      // The queue wait ends when the batch is picked; compute covers the batch function only,
      // not the tracer's bookkeeping in between (that gap is left to `other`).
      expect(queue.endNs).toBe(batchSpan.startNs);
      expect(compute.startNs >= queue.endNs).toBe(true);
      expect(compute.endNs).toBe(batchSpan.endNs);
      // The batch function sleeps 10 ms.
      expect(duration(compute)).toBeGreaterThanOrEqual(10 - TIMER_SLACK_MS);
    }
    // Requests enqueued 0, 5 and 10 ms in wait correspondingly less.
    const waits = requests
      .map((r) => receiver.spans.find((s) => s.parentSpanId === r.spanId && s.attributes[ATTR.PHASE] === 'queue')!)
      .sort((a, b) => Number(a.startNs - b.startNs))
      .map(duration);
    expect(waits[0]!).toBeGreaterThan(waits[2]!);
  });
});

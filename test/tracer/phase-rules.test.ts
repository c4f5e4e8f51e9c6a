/**
 * What a real service needs from the phase helpers: a phase span covers the wrapped work and
 * not the tracer's own bookkeeping (batches of 1, 8 and 32), phases of one request never nest or
 * overlap (so they never add up to more than the request), a `req` used after `infer` records
 * nothing, and foreign tickets are reported instead of silently ignored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HrTime } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { ATTR } from '../../src/semconv.js';
import { createInferenceTracer, PHASES, setupTracing } from '../../src/tracer/index.js';
import type { InferenceRequest, Phase, QueueTicket, TracingHandle } from '../../src/tracer/index.js';

let tracing: TracingHandle | undefined;
let warnings: string[] = [];

function setup(memory: InMemorySpanExporter): void {
  warnings = [];
  tracing = setupTracing({
    serviceName: 'phase-rules',
    exporter: { spanExporter: memory },
    metrics: false,
    scheduledDelayMillis: 10,
    onWarning: (m) => warnings.push(m),
  });
}

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

function ms(time: HrTime): number {
  return time[0] * 1e3 + time[1] / 1e6;
}
function durationMs(span: ReadableSpan): number {
  return ms(span.endTime) - ms(span.startTime);
}
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // known-length synchronous work
  }
}
function phaseSpans(spans: readonly ReadableSpan[], phase: Phase): ReadableSpan[] {
  return spans.filter((s) => s.attributes[ATTR.PHASE] === phase);
}

describe('a phase span covers the wrapped work, not the bookkeeping', () => {
  const WORK_MS = 0.2;
  // Best of many rounds: the first ones run cold code, and on a loaded machine (CI under load
  // average 6 once had the best of 7 at 5.1 µs) any round may be preempted.
  const ROUNDS = 40;

  for (const size of [1, 8, 32]) {
    it(`runBatch compute at batch ${size}: within 5 µs + 2% of the work the batch function measured`, async () => {
      const memory = new InMemorySpanExporter();
      setup(memory);
      const tracer = createInferenceTracer({ model: 'spin' });
      // Noise (a preemption) only ever adds time; the best round shows what the tracer adds.
      let bestExcessUs = Number.POSITIVE_INFINITY;
      let worstShortfallUs = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        memory.reset();
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        const tickets: QueueTicket[] = [];
        const requests = Array.from({ length: size }, () =>
          tracer.infer(async (req) => {
            tickets.push(req.enqueue());
            await released;
          }),
        );
        let workStart = 0;
        let workEnd = 0;
        tracer.runBatch(tickets, () => {
          workStart = performance.now();
          spin(WORK_MS);
          workEnd = performance.now();
        });
        release();
        await Promise.all(requests);
        await tracing!.forceFlush();
        const computes = phaseSpans(memory.getFinishedSpans(), 'compute');
        expect(computes).toHaveLength(size);
        const measured = workEnd - workStart;
        let roundExcess = 0;
        for (const span of computes) {
          expect(span.attributes[ATTR.BATCH_SIZE]).toBe(size);
          const excessUs = (durationMs(span) - measured) * 1000;
          roundExcess = Math.max(roundExcess, excessUs);
          worstShortfallUs = Math.min(worstShortfallUs, excessUs);
        }
        bestExcessUs = Math.min(bestExcessUs, roundExcess - 0.02 * measured * 1000);
      }
      // The span covers the work (two clock reads may round apart by a nanosecond or so)...
      expect(worstShortfallUs).toBeGreaterThan(-0.01);
      // ...and adds at most 5 µs + 2% of it.
      expect(bestExcessUs).toBeLessThanOrEqual(5);
    });
  }
});

describe('phases of one request never nest or overlap', () => {
  it('runs a phase helper called inside another phase untraced, with one warning', () => {
    const memory = new InMemorySpanExporter();
    setup(memory);
    const tracer = createInferenceTracer({ model: 'nest' });
    for (let i = 0; i < 3; i += 1) {
      const value = tracer.infer((req) => req.preprocess(() => req.serialize(() => 'decoded')));
      expect(value).toBe('decoded');
    }
    return tracing!.forceFlush().then(() => {
      const spans = memory.getFinishedSpans();
      expect(phaseSpans(spans, 'preprocess')).toHaveLength(3);
      expect(phaseSpans(spans, 'serialize')).toHaveLength(0);
      const nested = warnings.filter((w) => w.includes('req.serialize() was called while another phase'));
      expect(nested).toHaveLength(1);
    });
  });

  it('records only the first of two phases running at the same time', async () => {
    const memory = new InMemorySpanExporter();
    setup(memory);
    const tracer = createInferenceTracer({ model: 'overlap' });
    const sleep = (n: number) => new Promise((resolve) => setTimeout(resolve, n));
    await tracer.infer(async (req) => {
      await Promise.all([req.preprocess(() => sleep(5)), req.network(() => sleep(5))]);
      await req.postprocess(() => sleep(1));
    });
    await tracing!.forceFlush();
    const spans = memory.getFinishedSpans();
    expect(phaseSpans(spans, 'preprocess')).toHaveLength(1);
    expect(phaseSpans(spans, 'network')).toHaveLength(0);
    // Once the first phase is over, the next one is recorded again.
    expect(phaseSpans(spans, 'postprocess')).toHaveLength(1);
    expect(warnings.some((w) => w.includes('req.network() was called while another phase'))).toBe(true);
  });

  it('never lets the analyzer add phases up to more than the request (nested, concurrent, a batch inside a phase)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-phase-rules-'));
    const file = join(dir, 'traces.jsonl');
    try {
      warnings = [];
      tracing = setupTracing({ serviceName: 'overlap-svc', exporter: { file }, metrics: false, onWarning: (m) => warnings.push(m) });
      const tracer = createInferenceTracer({ model: 'overlap' });
      const sleep = (n: number) => new Promise((resolve) => setTimeout(resolve, n));
      const shapes: ((req: InferenceRequest) => Promise<unknown>)[] = [
        async (req) => req.preprocess(async () => {
          spin(2);
          await req.compute(async () => spin(3));
        }),
        async (req) => Promise.all([req.serialize(() => sleep(4)), req.compute(() => sleep(4)), req.postprocess(() => sleep(4))]),
        async (req) => req.network(async () => {
          const ticket = req.enqueue();
          await sleep(2);
          tracer.runBatch([ticket], () => spin(3));
        }),
        async (req) => {
          const ticket = req.enqueue();
          await req.preprocess(() => sleep(3));
          tracer.runBatch([ticket], () => spin(2));
        },
      ];
      for (const shape of shapes) await tracer.infer(shape);
      await tracing.shutdown();
      tracing = undefined;
      const result = await analyzeFiles([file]);
      expect(result.timings).toHaveLength(shapes.length);
      for (const timing of result.timings) {
        const phaseSum = Object.values(timing.phases).reduce((a, b) => a + b, 0);
        expect(phaseSum).toBeLessThanOrEqual(timing.e2eMs + 1e-6);
        expect(phaseSum + timing.otherMs).toBeCloseTo(timing.e2eMs, 6);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a request used after infer returned', () => {
  it('records no span for a helper or a batch, and warns once', async () => {
    const memory = new InMemorySpanExporter();
    setup(memory);
    const tracer = createInferenceTracer({ model: 'late' });
    let saved: InferenceRequest | undefined;
    let ticket: QueueTicket | undefined;
    await tracer.infer(async (req) => {
      saved = req;
      ticket = req.enqueue();
    });
    expect(saved!.compute(() => 'late')).toBe('late');
    expect(await saved!.postprocess(async () => 'later')).toBe('later');
    expect(tracer.runBatch([ticket!], () => 'batched')).toBe('batched');
    await tracing!.forceFlush();
    const spans = memory.getFinishedSpans();
    expect(spans.filter((s) => s.attributes[ATTR.PHASE] !== undefined)).toEqual([]);
    expect(spans.filter((s) => s.name === 'inference.batch')).toEqual([]);
    expect(warnings.filter((w) => w.includes('whose infer() had returned'))).toHaveLength(1);
  });
});

describe('tickets and phase names', () => {
  it('warns once when runBatch gets tickets that did not come from enqueue, and still runs the batch', async () => {
    const memory = new InMemorySpanExporter();
    setup(memory);
    const tracer = createInferenceTracer({ model: 'tickets' });
    const fake: QueueTicket = { enqueuedAtMs: performance.now(), model: 'tickets' };
    expect(tracer.runBatch([fake], () => 42)).toBe(42);
    expect(tracer.runBatch([fake, fake], () => 43)).toBe(43);
    await tracing!.forceFlush();
    expect(memory.getFinishedSpans()).toEqual([]);
    const found = warnings.filter((w) => w.includes('did not come from req.enqueue()'));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('1 ticket(s)');
  });

  it('exports PHASES and Phase from latency-doctor/tracer for req.phase()', async () => {
    const memory = new InMemorySpanExporter();
    setup(memory);
    const tracer = createInferenceTracer({ model: 'phases' });
    expect(PHASES).toContain('compute');
    await tracer.infer(async (req) => {
      for (const phase of PHASES) await req.phase(phase, async () => undefined);
    });
    await tracing!.forceFlush();
    const recorded = memory.getFinishedSpans().map((s) => s.attributes[ATTR.PHASE]).filter((p) => p !== undefined);
    expect(recorded).toEqual([...PHASES]);
  });
});

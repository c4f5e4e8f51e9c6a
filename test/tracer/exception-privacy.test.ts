/**
 * Errors thrown by the wrapped call often quote the model's input ("invalid token '…'", a prompt
 * fragment). Over the real OTLP/gRPC path (setupTracing → exporter → receiver on loopback), the
 * tracer records only the error's type by default, in every place it records a failure (phase,
 * request, batch and client spans), still rethrows the very same error object, and records the
 * message and stack trace only for a tracer that opted in with `recordExceptionMessages`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, EXCEPTION } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing, traceClientCall } from '../../src/tracer/index.js';
import type { InferenceTracer, TracingHandle } from '../../src/tracer/index.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import type { OtlpReceiver, ReceivedSpan } from '../support/otlp-receiver.js';

/** Stands for a model input that ends up in an error message. */
const PROMPT = 'my secret prompt: transfer 500 to account 1234';

class TokenizerError extends Error {}

/** What each failing call threw, and what reached the caller. */
interface Outcome {
  readonly thrown: unknown;
  readonly caught: unknown;
}

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('the call did not fail');
}

/** Fails a request in each way the tracer records a failure; every error message quotes PROMPT. */
async function failEverywhere(tracer: InferenceTracer): Promise<Record<string, Outcome>> {
  const out: Record<string, Outcome> = {};
  const sync = new TokenizerError(`invalid token in '${PROMPT}'`);
  out['sync phase'] = { thrown: sync, caught: await caught(() => tracer.infer((req) => req.preprocess(() => { throw sync; }))) };
  const rejected = new RangeError(`input '${PROMPT}' exceeds 4096 tokens`);
  out['async phase'] = { thrown: rejected, caught: await caught(() => tracer.infer(async (req) => req.compute(async () => Promise.reject(rejected)))) };
  const text = `bad request: ${PROMPT}`;
  out['thrown string'] = { thrown: text, caught: await caught(() => tracer.infer(() => { throw text; })) };
  const batchError = new Error(`batch failed on '${PROMPT}'`);
  out['batch'] = {
    thrown: batchError,
    caught: await caught(() =>
      tracer.infer(async (req) => {
        const ticket = req.enqueue();
        return tracer.runBatch([ticket], async () => Promise.reject(batchError));
      }),
    ),
  };
  const clientError = new TypeError(`upstream refused '${PROMPT}'`);
  out['client call'] = { thrown: clientError, caught: await caught(() => tracer.clientCall(() => { throw clientError; })) };
  const standalone = new SyntaxError(`cannot parse '${PROMPT}'`);
  out['standalone client call'] = { thrown: standalone, caught: await caught(() => traceClientCall(() => Promise.reject(standalone), { model: tracer.model })) };
  return out;
}

/** The failed spans one service exported (the batch span carries no model name, so services tell the runs apart). */
function failed(spans: readonly ReceivedSpan[], service: string): ReceivedSpan[] {
  return spans.filter((s) => s.service === service && s.statusCode === 2);
}

function setup(endpoint: string, serviceName: string): TracingHandle {
  return setupTracing({ serviceName, exporter: { otlpEndpoint: endpoint }, metrics: false, scheduledDelayMillis: 20 });
}

describe('exceptions on spans, over OTLP/gRPC', () => {
  let receiver: OtlpReceiver;
  let tracing: TracingHandle;
  let quiet: Record<string, Outcome> = {};
  let verbose: Record<string, Outcome> = {};

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = setup(receiver.endpoint, 'quiet');
    quiet = await failEverywhere(createInferenceTracer({ model: 'quiet-model' }));
    await tracing.shutdown();
    tracing = setup(receiver.endpoint, 'verbose');
    verbose = await failEverywhere(createInferenceTracer({ model: 'verbose-model', recordExceptionMessages: true }));
    await tracing.shutdown();
  });

  afterAll(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('rethrows the very same error object (or value) in every path, with or without messages', () => {
    for (const [what, o] of [...Object.entries(quiet), ...Object.entries(verbose)]) expect(o.caught, what).toBe(o.thrown);
  });

  it('by default records the type only: exception.type and error.type, status ERROR without a description, no message or stack anywhere', () => {
    // Phase + request (sync), phase + request (async), request (string), compute + batch + request, client, client.
    const spans = failed(receiver.spans, 'quiet');
    const dump = JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(spans).toHaveLength(10);
    expect(dump).not.toContain('secret prompt');
    expect(dump).not.toContain(EXCEPTION.MESSAGE);
    expect(dump).not.toContain(EXCEPTION.STACKTRACE);
    for (const span of spans) {
      expect(span.statusMessage, span.name).toBe('');
      const events = span.events.filter((e) => e.name === EXCEPTION.EVENT);
      expect(events, span.name).toHaveLength(1);
      expect(Object.keys(events[0]!.attributes)).toEqual([EXCEPTION.TYPE]);
      expect(span.attributes[EXCEPTION.ERROR_TYPE]).toBe(events[0]!.attributes[EXCEPTION.TYPE]);
    }
    const types = new Set(spans.map((s) => s.attributes[EXCEPTION.ERROR_TYPE]));
    // A subclass that kept `name` is named by its class; a thrown string by its type.
    expect([...types].sort()).toEqual(['Error', 'RangeError', 'SyntaxError', 'TokenizerError', 'TypeError', 'string']);
    const preprocess = spans.find((s) => s.attributes[ATTR.PHASE] === 'preprocess');
    expect(preprocess?.attributes[EXCEPTION.ERROR_TYPE]).toBe('TokenizerError');
  });

  it('with recordExceptionMessages records the message, the stack trace and the status description', () => {
    const spans = failed(receiver.spans, 'verbose');
    const compute = spans.find((s) => s.attributes[ATTR.PHASE] === 'compute' && s.attributes[EXCEPTION.ERROR_TYPE] === 'RangeError');
    expect(compute).toBeDefined();
    const event = compute!.events.find((e) => e.name === EXCEPTION.EVENT)!;
    expect(event.attributes[EXCEPTION.MESSAGE]).toBe(`input '${PROMPT}' exceeds 4096 tokens`);
    expect(String(event.attributes[EXCEPTION.STACKTRACE])).toMatch(/^RangeError: input .*\n\s+at /);
    expect(compute!.statusMessage).toBe(`input '${PROMPT}' exceeds 4096 tokens`);
    // The tracer's clientCall follows the tracer's setting; the thrown string is its own message.
    const client = spans.find((s) => s.kind === 3 && s.attributes[EXCEPTION.ERROR_TYPE] === 'TypeError');
    expect(client?.events[0]?.attributes[EXCEPTION.MESSAGE]).toBe(`upstream refused '${PROMPT}'`);
    const stringRequest = spans.find((s) => s.attributes[EXCEPTION.ERROR_TYPE] === 'string');
    expect(stringRequest?.events[0]?.attributes[EXCEPTION.MESSAGE]).toBe(`bad request: ${PROMPT}`);
    const batch = spans.find((s) => s.links.length > 0);
    expect(batch?.events[0]?.attributes[EXCEPTION.MESSAGE]).toBe(`batch failed on '${PROMPT}'`);
    // traceClientCall outside a tracer has its own option, off unless given.
    const standalone = spans.find((s) => s.attributes[EXCEPTION.ERROR_TYPE] === 'SyntaxError');
    expect(standalone?.events[0]?.attributes).toEqual({ [EXCEPTION.TYPE]: 'SyntaxError' });
  });
});

describe('a thrown value that cannot be inspected, over OTLP/gRPC', () => {
  it('still marks the request failed (status ERROR, error.type unknown), with or without messages, and rethrows it', async () => {
    const receiver = await startOtlpReceiver();
    try {
      // A Proxy whose prototype cannot be read: even `instanceof Error` throws on it.
      const poisoned = new Proxy(
        {},
        {
          getPrototypeOf: () => {
            throw new Error('trap');
          },
        },
      );
      for (const [service, recordExceptionMessages] of [['poison-quiet', false], ['poison-verbose', true]] as const) {
        const tracing = setup(receiver.endpoint, service);
        const tracer = createInferenceTracer({ model: 'm', recordExceptionMessages });
        expect(await caught(() => tracer.infer(() => { throw poisoned; }))).toBe(poisoned);
        expect(await caught(() => tracer.infer(async (req) => req.compute(async () => Promise.reject(poisoned))))).toBe(poisoned);
        await tracing.shutdown();
        // Request (sync), compute + request (async): all three failed, typed 'unknown'.
        const spans = failed(receiver.spans, service);
        expect(spans.map((s) => s.name).sort(), service).toEqual(['compute', 'infer m', 'infer m']);
        for (const span of spans) expect(span.attributes[EXCEPTION.ERROR_TYPE], service).toBe('unknown');
      }
    } finally {
      await receiver.close();
    }
  });
});

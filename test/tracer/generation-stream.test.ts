/**
 * A generation that hands its token stream back to the caller (`return req.stream(…)`, the shape
 * of a service that pipes the stream into its response later): the request span, the decode span
 * and the token counts follow the stream to its end (exhausted, stopped early by the consumer, or
 * failed), written by the OTLP JSON lines file fallback and read back by the analyzer.
 */
import { EventEmitter, on } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { ATTR, FIRST_TOKEN_EVENT } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import { TIMER_SLACK_MS } from '../support/timers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const dir = mkdtempSync(join(tmpdir(), 'ld-generation-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FileSpan {
  readonly name: string;
  readonly traceId: string;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes?: { key: string; value: Record<string, unknown> }[];
  readonly events?: { name: string; timeUnixNano: string }[];
  readonly status?: { code?: number };
}

function readSpans(file: string): FileSpan[] {
  const spans: FileSpan[] = [];
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const data = JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: FileSpan[] }[] }[] };
    for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
  }
  return spans;
}
const attr = (s: FileSpan, key: string): unknown => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.intValue ?? v.stringValue ?? v.boolValue);
};
const ms = (ns: string): number => Number(BigInt(ns) / 1000n) / 1000;

async function* model(tokens: number, stepMs: number, failAfter?: Error): AsyncGenerator<string> {
  for (let i = 0; i < tokens; i += 1) {
    await sleep(stepMs);
    if (failAfter !== undefined && i === 1) throw failAfter;
    yield `t${i}`;
  }
}

describe('tracer.generate returning its stream', () => {
  it('ends the request and the decode span with the stream, with its tokens and TTFT, read back by analyze', async () => {
    const file = join(dir, 'stream.jsonl');
    const tracing = setupTracing({ serviceName: 'lm', exporter: { file }, metrics: false, scheduledDelayMillis: 20 });
    const tracer = createInferenceTracer({ model: 'tiny-lm' });

    // 1: consumed to the end. Prefill 10 ms, then 5 tokens 5 ms apart, all after generate returned.
    const t0 = performance.now();
    const full = await tracer.generate(async (req) => {
      req.setInputTokens(7);
      await req.prefill(() => sleep(10));
      return req.decode(() => req.stream(model(5, 5)));
    });
    const got: string[] = [];
    let firstSeenMs = 0;
    for await (const t of full) {
      if (got.length === 0) firstSeenMs = performance.now() - t0;
      got.push(t);
    }
    const fullMs = performance.now() - t0;
    expect(got).toEqual(['t0', 't1', 't2', 't3', 't4']);

    // 2: the consumer stops after two tokens (a client that went away): no error, two tokens.
    const early = tracer.generate((req) => req.stream(model(50, 2)));
    let taken = 0;
    for await (const _ of early) if (++taken === 2) break;

    // 3: the model fails after one token: the consumer gets the very same error, the span says ERROR.
    const abort = new DOMException('stopped', 'AbortError');
    const failing = tracer.generate((req) => req.stream(model(5, 2, abort)));
    let caught: unknown;
    try {
      for await (const _ of failing) void _;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(abort);
    await tracing.shutdown();

    const spans = readSpans(file);
    const requests = spans.filter((s) => attr(s, ATTR.MODEL_NAME) === 'tiny-lm');
    expect(requests.map((s) => Number(attr(s, ATTR.TOKENS_OUTPUT)))).toEqual([5, 2, 1]);
    const [r1, r2, r3] = requests as [FileSpan, FileSpan, FileSpan];
    // Request 1 lasts until its last token: 10 ms prefill + 5 × 5 ms, at most what the caller saw.
    const e2e1 = ms(r1.endTimeUnixNano) - ms(r1.startTimeUnixNano);
    expect(e2e1).toBeGreaterThanOrEqual(35 - TIMER_SLACK_MS);
    expect(e2e1).toBeLessThanOrEqual(fullMs);
    const first = r1.events?.find((e) => e.name === FIRST_TOKEN_EVENT);
    expect(first).toBeDefined();
    const ttft1 = ms(first!.timeUnixNano) - ms(r1.startTimeUnixNano);
    expect(ttft1).toBeGreaterThanOrEqual(15 - TIMER_SLACK_MS); // prefill 10 ms + the first step 5 ms
    expect(ttft1).toBeLessThanOrEqual(firstSeenMs);
    const decode = spans.find((s) => s.traceId === r1.traceId && s.name === 'decode')!;
    expect(ms(decode.endTimeUnixNano) - ms(decode.startTimeUnixNano)).toBeGreaterThanOrEqual(25 - TIMER_SLACK_MS);
    expect(decode.endTimeUnixNano <= r1.endTimeUnixNano).toBe(true);
    expect(r2.status?.code ?? 0).toBe(0);
    expect(r3.status?.code).toBe(2);
    expect(attr(r3, 'error.type')).toBe('AbortError');

    // The analyzer's figures, by hand: tokens 5, 2, 1 (max 5); every request generative with a TTFT.
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(3);
    const g = result.overall!.generation!;
    expect(g.tokensOut!.count).toBe(3);
    expect(g.tokensOut!.max).toBe(5);
    expect(g.tokensOut!.mean).toBeCloseTo(8 / 3, 6);
    expect(g.ttft!.count).toBe(3);
    expect(g.ttft!.maxMs).toBeGreaterThanOrEqual(15 - TIMER_SLACK_MS);
    expect(result.overall!.phases.decode!.present).toBe(1);
    expect(result.overall!.phases.prefill!.present).toBe(1);
  });

  it('lets the consumer cancel while it waits for the next token, as the bare source does', async () => {
    const file = join(dir, 'cancel.jsonl');
    const tracing = setupTracing({ serviceName: 'lm', exporter: { file }, metrics: false, scheduledDelayMillis: 20 });
    const tracer = createInferenceTracer({ model: 'cancel-lm' });
    // Tokens arrive as events; a client that disconnects stops the stream from a 'close' handler
    // while the loop waits for a token that will never come.
    const model = new EventEmitter();
    const stream = tracer.generate((req) => req.stream(on(model, 'token'), () => 1));
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    model.emit('token', 'a');
    expect(await first).toEqual({ done: false, value: ['a'] });
    const pending = iterator.next(); // waits for a second token
    // Before: return() queued behind the pending next() and never settled (this test timed out).
    expect(await iterator.return!()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    await tracing.shutdown();
    const [request] = readSpans(file).filter((s) => attr(s, ATTR.MODEL_NAME) === 'cancel-lm');
    expect(Number(attr(request!, ATTR.TOKENS_OUTPUT))).toBe(1);
    expect(request!.status?.code ?? 0).toBe(0);
  });
});

/**
 * `tracer.fetch` on a streamed answer, against a real HTTP server on loopback that sends
 * Server-Sent Events one at a time when the test says so: the client span ends when the body has
 * been consumed (not at the headers), marks the first chunk as the first token, and the caller
 * reads exactly the bytes the server sent. A body the caller cancels or the server cuts short
 * ends the span too; a non-streamed answer still ends it at the headers. Last, a generation traced
 * on both sides through a trace file and `analyze`: no clock skew, and the TTFT the caller saw.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR, EXCEPTION, FIRST_TOKEN_EVENT } from '../../src/semconv.js';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { continueFromHeaders, createInferenceTracer, setupTracing, tracedFetch } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { TIMER_SLACK_MS } from '../support/timers.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-fetch-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let tracing: TracingHandle | undefined;
const servers: Server[] = [];

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const EVENTS = ['data: {"token":"Hel"}\n\n', 'data: {"token":"lo"}\n\n', 'data: [DONE]\n\n'];

/** A server whose /sse answer sends EVENTS[i] when `send()` is called for the i-th time; /json answers at once. */
async function sseServer(): Promise<{ base: string; connected: Promise<void>; send: () => void; cut: () => void; closed: Promise<void> }> {
  let current: ServerResponse | undefined;
  let sent = 0;
  let resolveConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (resolveConnected = resolve));
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const server = createServer((req, res) => {
    if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '18' }).end('{"answer":"Hello"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
    res.on('close', () => resolveClosed());
    current = res;
    resolveConnected();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connected,
    send: () => {
      const event = EVENTS[sent++]!;
      current!.write(event);
      if (sent === EVENTS.length) current!.end();
    },
    cut: () => current!.socket?.destroy(),
    closed,
  };
}

async function clientSpans(memory: InMemorySpanExporter): Promise<ReadableSpan[]> {
  await tracing!.forceFlush();
  return memory.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
}

const ms = (t: [number, number]): number => t[0] * 1e3 + t[1] / 1e6;

function setup(): { memory: InMemorySpanExporter; tracer: ReturnType<typeof createInferenceTracer> } {
  const memory = new InMemorySpanExporter();
  tracing = setupTracing({ serviceName: 'sse-client', exporter: { spanExporter: memory }, metrics: false, scheduledDelayMillis: 10 });
  return { memory, tracer: createInferenceTracer({ model: 'lm' }) };
}

describe('tracer.fetch on a Server-Sent Events answer', () => {
  it('ends the client span when the body has been read, marks the first chunk, and passes every byte through', async () => {
    const { memory, tracer } = setup();
    const sse = await sseServer();
    const response = await tracer.fetch(`${sse.base}/sse`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.url).toBe(`${sse.base}/sse`);
    // Headers are in, no token yet: the span is still open.
    expect(await clientSpans(memory)).toEqual([]);

    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    sse.send();
    const first = await reader.read();
    text += decoder.decode(first.value, { stream: true });
    const afterFirstMs = performance.timeOrigin + performance.now();
    expect(await clientSpans(memory)).toEqual([]);
    sse.send();
    sse.send();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    expect(text).toBe(EVENTS.join(''));

    const [span, ...others] = await clientSpans(memory);
    expect(others).toEqual([]);
    expect(span!.attributes).toMatchObject({ 'http.response.status_code': 200, [ATTR.MODEL_NAME]: 'lm', [ATTR.RESPONSE_SIZE]: Buffer.byteLength(EVENTS.join('')) });
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    const events = span!.events.filter((e) => e.name === FIRST_TOKEN_EVENT);
    expect(events).toHaveLength(1);
    // The first chunk falls inside the span, before the caller had it in hand, and the span ends after the last one.
    const firstMs = ms(events[0]!.time);
    expect(firstMs).toBeGreaterThan(ms(span!.startTime));
    expect(firstMs).toBeLessThanOrEqual(afterFirstMs);
    expect(ms(span!.endTime)).toBeGreaterThan(firstMs);
    // Never the contents: no attribute or event holds a byte of the answer.
    expect(JSON.stringify([span!.attributes, span!.events])).not.toMatch(/Hel|DONE/);
  });

  it('response.text() and a for-await loop read the same bytes, and a BYOB reader still works', async () => {
    const { memory, tracer } = setup();
    const sse = await sseServer();
    const whole = tracer.fetch(`${sse.base}/sse`).then((r) => r.text());
    await sse.connected;
    EVENTS.forEach(() => sse.send());
    expect(await whole).toBe(EVENTS.join(''));

    const sse2 = await sseServer();
    const looped = (async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of (await tracer.fetch(`${sse2.base}/sse`)).body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
      return Buffer.concat(chunks).toString();
    })();
    await sse2.connected;
    EVENTS.forEach(() => sse2.send());
    expect(await looped).toBe(EVENTS.join(''));

    const sse3 = await sseServer();
    const byob = (await tracer.fetch(`${sse3.base}/sse`)).body!.getReader({ mode: 'byob' });
    sse3.send();
    const read = await byob.read(new Uint8Array(64));
    expect(Buffer.from(read.value!).toString()).toBe(EVENTS[0]);
    await byob.cancel();
    expect((await clientSpans(memory)).map((s) => s.events.filter((e) => e.name === FIRST_TOKEN_EVENT).length)).toEqual([1, 1, 1]);
  });

  it('a caller that stops reading cancels the server stream and ends the span without an error', async () => {
    const { memory, tracer } = setup();
    const sse = await sseServer();
    const response = await tracer.fetch(`${sse.base}/sse`);
    sse.send();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      expect(Buffer.from(chunk).toString()).toBe(EVENTS[0]);
      break;
    }
    // The cancel reached the server, as it would without the tracer.
    await sse.closed;
    const [span] = await clientSpans(memory);
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.attributes[ATTR.RESPONSE_SIZE]).toBe(Buffer.byteLength(EVENTS[0]!));
  });

  it('a stream the server cuts short: the caller gets the same error as without the tracer, the span records it', async () => {
    const { memory, tracer } = setup();
    const read = async (r: Response): Promise<unknown> => {
      try {
        await r.text();
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const plain = await sseServer();
    const untraced = fetch(`${plain.base}/sse`).then(read);
    await plain.connected;
    plain.send();
    plain.cut();
    const expected = (await untraced) as Error;
    expect(expected).toBeInstanceOf(Error);

    const sse = await sseServer();
    const traced = tracer.fetch(`${sse.base}/sse`).then(read);
    await sse.connected;
    sse.send();
    sse.cut();
    const error = (await traced) as Error;
    expect(error).toBeInstanceOf(expected.constructor as new () => Error);
    expect(error.message).toBe(expected.message);
    const [span] = await clientSpans(memory);
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes[EXCEPTION.ERROR_TYPE]).toBe(expected.name === 'Error' ? expected.constructor.name : expected.name);
    expect(span!.events.at(-1)?.name).toBe(EXCEPTION.EVENT);
  });

  it('a span whose every method throws changes nothing the caller reads, streamed or not', async () => {
    const throwing = (): never => {
      throw new Error('broken span');
    };
    const span = {
      spanContext: () => ({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED }),
      setAttribute: throwing,
      setAttributes: throwing,
      addEvent: throwing,
      setStatus: throwing,
      end: throwing,
      isRecording: () => true,
      recordException: throwing,
      updateName: throwing,
      addLink: throwing,
      addLinks: throwing,
    } as unknown as Span;
    const tracer = { startSpan: () => span, startActiveSpan: throwing } as unknown as Tracer;
    const sse = await sseServer();
    const streamed = tracedFetch(`${sse.base}/sse`, undefined, undefined, tracer).then((r) => r.text());
    await sse.connected;
    EVENTS.forEach(() => sse.send());
    expect(await streamed).toBe(EVENTS.join(''));
    expect(await (await tracedFetch(`${sse.base}/json`, undefined, undefined, tracer)).json()).toEqual({ answer: 'Hello' });
  });

  it('a non-streamed answer keeps ending its span at the headers, with no first-token event', async () => {
    const { memory, tracer } = setup();
    const sse = await sseServer();
    const response = await tracer.fetch(`${sse.base}/json`);
    const [span] = await clientSpans(memory);
    expect(span!.attributes).toMatchObject({ 'http.response.status_code': 200, [ATTR.RESPONSE_SIZE]: 18 });
    expect(span!.events).toEqual([]);
    expect(await response.json()).toEqual({ answer: 'Hello' });
  });
});

describe('a streamed generation traced on both sides, read back by analyze', () => {
  it('the client span covers the whole stream (no clock skew) and gives the TTFT the caller saw', async () => {
    const file = join(dir, 'both-sides.jsonl');
    tracing = setupTracing({ serviceName: 'sse', exporter: { file }, metrics: false, scheduledDelayMillis: 10 });
    const lm = createInferenceTracer({ model: 'tiny-lm' });
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    async function* decode(): AsyncGenerator<string> {
      for (let i = 0; i < 5; i += 1) {
        await sleep(10);
        yield `t${i}`;
      }
    }
    // The server: prefill 30 ms, then 5 tokens 10 ms apart, each sent as an event.
    const server = createServer((req, res) => {
      void continueFromHeaders(req.headers, () =>
        lm.generate(async (g) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.flushHeaders();
          await g.prefill(() => sleep(30));
          await g.decode(async () => {
            for await (const token of g.stream(decode())) res.write(`data: ${token}\n\n`);
          });
          res.end('data: [DONE]\n\n');
        }),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/generate`;
    for (let i = 0; i < 3; i += 1) {
      const response = await lm.fetch(url, { method: 'POST' });
      expect(await response.text()).toBe('data: t0\n\ndata: t1\n\ndata: t2\n\ndata: t3\n\ndata: t4\n\ndata: [DONE]\n\n');
    }
    await tracing.shutdown();
    tracing = undefined;

    const result = await analyzeFiles([file], { diagnose: false });
    const rows = result.timings.rows();
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.hasClient).toBe(true);
      // The client span ends after the last event, so it holds the server's request span.
      expect(r.clockSkew).toBe(false);
      expect(r.e2eMs).toBeGreaterThanOrEqual(r.serverMs);
      expect(r.e2eMs).toBeGreaterThanOrEqual(80 - TIMER_SLACK_MS);
    }
    expect(result.overall!.generation!.ttft!.count).toBe(3);
    // Each request's first token comes after the 30 ms prefill and the first 10 ms step, and before its end.
    const ttft = result.timings.number('ttftMs');
    rows.forEach((r, i) => {
      expect(ttft[i]).toBeGreaterThanOrEqual(40 - TIMER_SLACK_MS);
      expect(ttft[i]).toBeLessThan(r.e2eMs);
    });
  });
});

/**
 * Generation-aware analysis: the first token (a request-span event, a client-span event, or
 * the end of the prefill span), token counts, and the `generation` block of the summaries and
 * the reports, read back from every trace format the readers take (OTLP JSON and protobuf,
 * Jaeger logs, Zipkin annotations) and through the column path of the reader thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles, analyzeSpans, assembleRequests, summarize } from '../../src/analyzer/index.js';
import { toColumns } from '../../src/analyzer/_span-columns.js';
import { renderJson } from '../../src/report/json.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import { ATTR, FIRST_TOKEN_EVENT } from '../../src/semconv.js';
import type { SpanRecord } from '../../src/model/span.js';
import { timePerOutputTokenMs } from '../../src/model/generation.js';
import { writeAs, type SynthFormat, type SynthSpan } from '../support/synth.js';
import { toProto } from '../support/otlp-proto.js';
import { EPOCH_NS, clientSpan, phaseSpan, requestSpan, span, traceId } from './_spans.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-generation-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ms = (t: number): bigint => EPOCH_NS + BigInt(Math.round(t * 1e6));
const withEvent = (s: SpanRecord, atMs: number): SpanRecord => ({ ...s, firstTokenNs: ms(atMs) });

/** A streamed request as SynthSpans: queue, prefill, decode; first token at prefill end. */
function generative(i: number, { queueMs, prefillMs, decodeMs, tokensIn, tokensOut, cached }: { queueMs: number; prefillMs: number; decodeMs: number; tokensIn: number; tokensOut: number; cached?: number }): SynthSpan[] {
  const t = traceId(1000 + i);
  const start = EPOCH_NS + BigInt(i) * 50_000_000n;
  const at = (offsetMs: number): bigint => start + BigInt(Math.round(offsetMs * 1000)) * 1000n;
  const id = (k: number): string => (0x10000 + i * 8 + k).toString(16).padStart(16, '0');
  const end = queueMs + prefillMs + decodeMs + 1;
  const attributes: Record<string, string | number | boolean> = { [ATTR.MODEL_NAME]: 'tiny-lm', [ATTR.TOKENS_INPUT]: tokensIn, [ATTR.TOKENS_OUTPUT]: tokensOut };
  if (cached !== undefined) attributes[ATTR.TOKENS_CACHED] = cached;
  const phase = (k: number, name: string, from: number, to: number): SynthSpan => ({ traceId: t, spanId: id(k), parentSpanId: id(0), name, service: 'lm', kind: 'internal', startNs: at(from), endNs: at(to), attributes: { [ATTR.PHASE]: name } });
  return [
    { traceId: t, spanId: id(0), name: 'generate tiny-lm', service: 'lm', kind: 'server', startNs: at(0), endNs: at(end), attributes, events: [{ name: FIRST_TOKEN_EVENT, timeNs: at(queueMs + prefillMs) }] },
    phase(1, 'queue', 0, queueMs),
    phase(2, 'prefill', queueMs, queueMs + prefillMs),
    phase(3, 'decode', queueMs + prefillMs, queueMs + prefillMs + decodeMs),
  ];
}

describe('assembler: first token and token counts', () => {
  it('takes the first token from the request span event and the counts from its attributes', async () => {
    const t = traceId(1);
    const req = withEvent(requestSpan(t, 0, 100, { attributes: { [ATTR.TOKENS_INPUT]: 512, [ATTR.TOKENS_OUTPUT]: '41', [ATTR.TOKENS_CACHED]: 256 } }), 20);
    const { requests } = await assembleRequests([[req, phaseSpan(t, req.spanId, 'prefill', 5, 25), phaseSpan(t, req.spanId, 'decode', 25, 95)]]);
    const r = requests.row(0);
    expect(r.ttftMs).toBeCloseTo(20, 9);
    expect(r).toMatchObject({ tokensIn: 512, tokensOut: 41, tokensCached: 256 });
    expect(r.phases).toEqual({ prefill: 20, decode: 70 });
  });

  it('without an event, the end of the last prefill span is the first token', async () => {
    const t = traceId(2);
    const req = requestSpan(t, 0, 100, { attributes: { [ATTR.TOKENS_OUTPUT]: 11 } });
    const { requests } = await assembleRequests([[req, phaseSpan(t, req.spanId, 'prefill', 10, 30), phaseSpan(t, req.spanId, 'prefill', 30, 42), phaseSpan(t, req.spanId, 'decode', 42, 100)]]);
    expect(requests.row(0).ttftMs).toBeCloseTo(42, 9);
  });

  it('measures TTFT from the client span start, preferring the client’s own first-token event', async () => {
    const t = traceId(3);
    const client = clientSpan(t, 0, 130);
    const req = withEvent(requestSpan(t, 10, 120, { parent: client.spanId }), 40);
    const both = await assembleRequests([[withEvent(client, 45), req]]);
    expect(both.requests.row(0).ttftMs).toBeCloseTo(45, 9);
    const serverOnly = await assembleRequests([[{ ...client, traceId: traceId(4) }, { ...req, traceId: traceId(4) }]]);
    expect(serverOnly.requests.row(0).ttftMs).toBeCloseTo(40, 9);
  });

  it('shifts a server-side first token with the clock-skew correction and clamps it to e2e', async () => {
    const t = traceId(5);
    const client = clientSpan(t, 0, 100);
    // Server clock 50 ms ahead: its span [60, 140] is centred into the client's [0, 100] as [10, 90].
    const req = withEvent(requestSpan(t, 60, 140, { parent: client.spanId }), 70);
    const { requests } = await assembleRequests([[client, req]]);
    expect(requests.row(0).clockSkew).toBe(true);
    expect(requests.row(0).ttftMs).toBeCloseTo(20, 9);
    const late = withEvent(requestSpan(traceId(6), 0, 50), 80);
    expect((await assembleRequests([[late]])).requests.row(0).ttftMs).toBe(50);
  });

  it('warns about first tokens past the request’s end (a time to first chunk written in ms where seconds are due), still clamping TTFT to e2e', async () => {
    // One GenAI client span of 1 s whose time_to_first_chunk says 350 (s): 350 ms was meant.
    const genai = (n: number, ttfc: number): SpanRecord => ({
      ...span({ trace: traceId(100 + n), kind: 'client', name: 'chat gpt', start: n * 2000, end: n * 2000 + 1000 }),
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt', 'gen_ai.response.time_to_first_chunk': ttfc, 'gen_ai.usage.output_tokens': 20 },
    });
    const result = await analyzeSpans([[genai(0, 350), genai(1, 0.35), genai(2, 0.4)]], { diagnose: false });
    expect(result.overall!.generation!.ttft!.maxMs).toBe(1000);
    const warning = result.warnings.find((w) => w.code === 'first-token-after-end');
    expect(warning?.count).toBe(1);
    expect(warning?.message).toMatch(/^1 request whose first token came after its end/);
    expect(result.assembly.firstTokenAfterEnd).toBe(1);
  });

  it('leaves a non-generative request without generation fields, and its summary without a generation block', async () => {
    const t = traceId(7);
    const req = requestSpan(t, 0, 10);
    const { requests } = await assembleRequests([[req, phaseSpan(t, req.spanId, 'compute', 1, 9)]]);
    expect(requests.row(0)).not.toHaveProperty('ttftMs');
    expect(requests.row(0)).not.toHaveProperty('tokensOut');
    expect(summarize('resnet50', requests).generation).toBeUndefined();
  });
});

describe('generation summary and reports', () => {
  // 40 requests: TTFT = queue + prefill, TPOT = (decode + 1 ms after the last token) / (out − 1).
  const spans = Array.from({ length: 40 }, (_, i) =>
    generative(i, { queueMs: 5 + (i % 4), prefillMs: 20 + (i % 10), decodeMs: 100 + 2 * i, tokensIn: 100 + 10 * i, tokensOut: 51, cached: i % 2 === 0 ? 50 : 0 }),
  ).flat();

  it.each<SynthFormat | 'otlp-proto'>(['otlp-json', 'otlp-jsonl', 'jaeger', 'zipkin', 'otlp-proto'])('reads the first-token event and counts from %s', async (format) => {
    const file = join(tmp, `gen-${format}`);
    writeFileSync(file, format === 'otlp-proto' ? toProto(writeAs('otlp-json', spans)) : writeAs(format, spans));
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(40);
    const g = result.overall!.generation!;
    expect(g.requests).toBe(40);
    expect(g.ttft!.count).toBe(40);
    const ttfts = Array.from({ length: 40 }, (_, i) => 5 + (i % 4) + 20 + (i % 10)).sort((a, b) => a - b);
    expect(g.ttft!.maxMs).toBeCloseTo(ttfts[39]!, 2);
    expect(g.ttft!.p50Ms).toBeCloseTo(ttfts[19]!, 1);
    const tpots = Array.from({ length: 40 }, (_, i) => timePerOutputTokenMs(5 + (i % 4) + 20 + (i % 10) + 100 + 2 * i + 1, 5 + (i % 4) + 20 + (i % 10), 51)!);
    expect(g.tpot!.maxMs).toBeCloseTo(Math.max(...tpots), 2);
    expect(g.tokensOut!.p50).toBe(51);
    expect(g.tokensIn!.max).toBe(490);
    // Counts are whole tokens: the 20th and 38th of 100, 110, … 490, not a histogram bucket’s edge (290.19).
    expect(g.tokensIn!.p50).toBe(290);
    expect(g.tokensIn!.p95).toBe(470);
    expect(g.cachedShare).toBeCloseTo((20 * 50) / (40 * 100 + 10 * 780), 6);
    expect(result.overall!.phases.prefill!.present).toBe(40);
    expect(result.overall!.phases.decode!.present).toBe(40);
  });

  it('reads the event without prefill spans, through the reader thread’s columns too', async () => {
    const noPrefill = spans.filter((s) => s.attributes[ATTR.PHASE] !== 'prefill');
    const file = join(tmp, 'no-prefill.jsonl');
    writeFileSync(file, writeAs('otlp-jsonl', noPrefill));
    const direct = await analyzeFiles([file], { diagnose: false });
    expect(direct.overall!.generation!.ttft!.count).toBe(40);
    const { readAllSpans } = await import('../../src/formats/index.js');
    const { spans: read } = await readAllSpans(file);
    const { columns } = toColumns(read, read[0]!.startNs);
    const viaColumns = await analyzeSpans([columns], { diagnose: false });
    expect(viaColumns.overall!.generation).toEqual(direct.overall!.generation);
  });

  it('shows TTFT, TPOT and tokens in --json, text and Markdown', async () => {
    const file = join(tmp, 'report.jsonl');
    writeFileSync(file, writeAs('otlp-jsonl', spans));
    const result = await analyzeFiles([file], { diagnose: false });
    const json = JSON.parse(renderJson(result)) as Record<string, any>;
    for (const scope of [json['generation'], json['models'][0]['generation']]) {
      expect(Object.keys(scope.ttft)).toEqual(expect.arrayContaining(['p50_ms', 'p95_ms', 'p99_ms']));
      expect(Object.keys(scope.tpot)).toEqual(expect.arrayContaining(['p50_ms', 'p95_ms', 'p99_ms']));
      expect(scope.tokens_out).toMatchObject({ p50: 51, p95: 51 });
      expect(scope.tokens_in.p50).toBeGreaterThan(0);
      expect(scope.tokens_per_s).toBeGreaterThan(0);
    }
    expect(Object.keys(json['phases'])).toEqual(expect.arrayContaining(['queue', 'prefill', 'decode']));
    const text = renderText(result);
    expect(text).toMatch(/first token\s+[\d.]+/);
    expect(text).toMatch(/per token\s+[\d.]+/);
    expect(text).toContain('output p50 51');
    // Σ output tokens ÷ window is the service's throughput, not a stream's speed (1000 ÷ TPOT): the text says which.
    expect(text).toMatch(/\d+ output tokens\/s over all streams \(one stream: [\d.]+\/s at TPOT p50\)/);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const markdown = renderMarkdown(result);
    expect(markdown).toContain('| time to first token (TTFT) |');
    expect(markdown).toContain('| time per output token (TPOT) |');
  });

  it('writes generation: null for a run without generative requests', async () => {
    const t = traceId(9);
    const req = requestSpan(t, 0, 10);
    const result = await analyzeSpans([[req, phaseSpan(t, req.spanId, 'compute', 1, 9)]], { diagnose: false });
    const json = JSON.parse(renderJson({ ...result, files: [] })) as Record<string, any>;
    expect(json['generation']).toBeNull();
    expect(json['models'][0]['generation']).toBeNull();
  });
});

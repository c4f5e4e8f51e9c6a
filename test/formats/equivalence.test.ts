/**
 * The same spans written in different formats read back to the same SpanRecords: Jaeger's own
 * OTLP → Jaeger conversion (a real input/output pair), and one synthetic inference trace written
 * by test/support/synth in every format (times on whole microseconds, the finest Jaeger and
 * Zipkin can carry), its span events included (Jaeger logs, Zipkin annotations).
 *
 * And the two readers (`fast`: byte scanners, Triton files record by record; `full`: every
 * document parsed whole) give the same analysis, every figure of it, of every trace fixture
 * alone, of the sets of files the tests analyse together, and of large Triton trace files (past
 * 1 MiB, read record by record) as Triton writes them, cut, split and rotated.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/files.js';
import { TraceFormatError } from '../../src/formats/index.js';
import { toJsonReport } from '../../src/report/json.js';
import { renderText } from '../../src/report/text.js';
import { busyServer, tracesOf, tritonWrites } from '../support/triton-busy.js';
import type { TemplateRecord } from '../support/triton-busy.js';
import type { SpanRecord } from '../../src/model/span.js';
import { ids, writeAs } from '../support/synth.js';
import type { SynthFormat, SynthSpan } from '../support/synth.js';
import { fixture, jsonText, read, readOutcome, tempDir } from './helpers.js';
import { CONVENTION_EVENTS } from '../../src/analyzer/conventions/index.js';
import { otlpToJaeger, otlpToZipkin } from '../support/collector-export.js';
import type { TracesData } from '../support/collector-export.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A span as comparable text, leaving out attributes a converter adds by itself. */
function comparable(span: SpanRecord, dropPrefixes: readonly string[] = []): string {
  const attributes = Object.fromEntries(Object.entries(span.attributes).filter(([k]) => !dropPrefixes.some((p) => k.startsWith(p))));
  const { shared: _shared, ...rest } = span;
  return JSON.stringify({ ...rest, attributes }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

// Both JSON lines readers: JSON.parse per line (default) and the byte-scanning fast path.
describe.each(['fast', 'full'] as const)('cross-format equivalence (%s reader)', (reader) => {
  it("Jaeger's conversion of an OTLP document reads back to the same spans", async () => {
    const otlp = await read(fixture('otlp-json/jaeger-transform-otlp2jaeger-in.json'), { reader });
    const jaeger = await read(fixture('jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json'), { reader });
    expect(otlp.spans).toHaveLength(2);
    // Jaeger adds otel.scope.* tags of its own.
    expect(jaeger.spans.map((s) => comparable(s, ['otel.'])).sort()).toEqual(otlp.spans.map((s) => comparable(s)).sort());
  });

  const id = ids(7);
  const t0 = 1_717_171_717_000_000_000n;
  const us = (n: number): bigint => t0 + BigInt(n) * 1000n;
  const trace: SynthSpan[] = [
    { traceId: id.traceId(1), spanId: id.spanId(1), name: 'POST /v1/predict', service: 'gateway', kind: 'client', startNs: us(0), endNs: us(9000), attributes: { 'inference.role': 'client', 'inference.model.name': 'resnet50' }, events: [{ name: 'inference.first_token', timeNs: us(7000) }] },
    {
      traceId: id.traceId(1),
      spanId: id.spanId(2),
      parentSpanId: id.spanId(1),
      name: 'predict',
      service: 'model-server',
      kind: 'server',
      startNs: us(500),
      endNs: us(8500),
      attributes: { 'inference.model.name': 'resnet50', 'inference.request.size': 150528, 'inference.cache.hit': false, 'inference.precision': 'fp16' },
      // Span events (Triton's timestamps in its OpenTelemetry mode): Jaeger logs, Zipkin annotations.
      events: [
        { name: 'REQUEST_START', timeNs: us(500) },
        { name: 'QUEUE_START', timeNs: us(600) },
        { name: 'REQUEST_END', timeNs: us(8500) },
      ],
    },
    { traceId: id.traceId(1), spanId: id.spanId(3), parentSpanId: id.spanId(2), name: 'queue', service: 'model-server', kind: 'internal', startNs: us(600), endNs: us(6600), attributes: { 'inference.phase': 'queue' } },
    { traceId: id.traceId(1), spanId: id.spanId(4), parentSpanId: id.spanId(2), name: 'compute', service: 'model-server', kind: 'internal', startNs: us(6600), endNs: us(8400), attributes: { 'inference.phase': 'compute', 'inference.batch.size': 8, 'gpu.util': 0.25 }, error: true, links: [{ traceId: id.traceId(2), spanId: id.spanId(9) }] },
  ];

  it.each(['otlp-json', 'otlp-jsonl', 'jaeger', 'zipkin'] as const)('a synthetic inference trace written as %s reads back exactly', async (format: SynthFormat) => {
    const { spans } = await read(tmp.write(`synth-${reader}-${format}.json`, writeAs(format, trace)), { reader });
    expect(spans).toHaveLength(trace.length);
    for (const want of trace) {
      const got = spans.find((s) => s.spanId === want.spanId);
      expect(got).toBeDefined();
      expect(got?.traceId).toBe(want.traceId);
      expect(got?.parentSpanId).toBe(want.parentSpanId);
      expect(got?.name).toBe(want.name);
      expect(got?.service).toBe(want.service);
      expect(got?.kind).toBe(want.kind);
      expect(got?.startNs).toBe(want.startNs);
      expect(got?.endNs).toBe(want.endNs);
      expect(got?.error).toBe(want.error === true);
      expect(got?.attributes).toEqual(want.attributes);
      // Zipkin v2 has no links.
      if (format !== 'zipkin') expect(got?.links).toEqual(want.links);
      expect(got?.events).toEqual(want.events);
      expect(got?.firstTokenNs).toBe(want.events?.find((e) => e.name === 'inference.first_token')?.timeNs);
    }
  });
});

/**
 * An OTLP export with failed spans among others, each with span events of every kind: names a
 * convention reads (Triton's, OpenLLMetry's chunk), free text (error messages, HTTP lines, with
 * quotes, escapes and unicode), the first-token event, events with attributes; every time on a
 * whole µs (what Jaeger and Zipkin keep).
 */
function failedSpansExport(): TracesData {
  const t = (us: number): string => String(1_770_000_000_000_000_000n + BigInt(us) * 1000n);
  const str = (key: string, value: string): { key: string; value: Record<string, unknown> } => ({ key, value: { stringValue: value } });
  const trace = '5e1f'.padEnd(32, '7');
  const span = (n: number, status: { code?: number; message?: string } | undefined, events: [string, number, ...{ key: string; value: Record<string, unknown> }[]][]): Record<string, unknown> => ({
    traceId: trace,
    spanId: `5e1f${String(n).padStart(12, '0')}`,
    ...(n > 1 ? { parentSpanId: '5e1f000000000001' } : {}),
    name: `span ${n}`,
    kind: n === 1 ? 2 : 1,
    startTimeUnixNano: t(n * 100),
    endTimeUnixNano: t(n * 100 + 90),
    attributes: [str('code.namespace', 'text_generation_router::infer')],
    events: events.map(([name, at, ...attributes]) => ({ timeUnixNano: t(n * 100 + at), name, ...(attributes.length > 0 ? { attributes } : {}) })),
    ...(status === undefined ? {} : { status }),
  });
  const spans = [
    span(1, undefined, [['QUEUE_START', 1], ['POST /generate_stream 200', 2], ['inference.first_token', 3], ['llm.content.completion.chunk', 4]]),
    span(2, { code: 2, message: 'Input validation error' }, [
      ['QUEUE_START', 1],
      ['`inputs` tokens + `max_new_tokens` must be <= 512. Given: 500 `inputs` tokens and 20 `max_new_tokens`', 2],
      ['exception', 3, str('exception.type', 'ValidationError'), str('exception.message', 'bad "token" é\n 模型')],
      ['', 4],
      ['bad "token" é\n 模型 🚀', 5],
    ]),
    span(3, { code: 1 }, [['no permits available', 1], ['COMPUTE_START', 2], ['exception', 3, str('exception.type', 'x')]]),
    span(4, { code: 2 }, []),
    span(5, { code: 2 }, [['inference.first_token', 1], ['llm.content.completion.chunk', 2], ['no permits available', 3]]),
    span(6, undefined, [['Template error: undefined value (in <string>:1)', 1], ['COMPUTE_END', 2, str('k', 'v')]]),
    span(7, { code: 2 }, [['Template error: undefined value (in <string>:1)', 1], ['COMPUTE_END', 2, str('k', 'v')]]),
  ];
  return { resourceSpans: [{ resource: { attributes: [str('service.name', 'text-generation-inference.router')] }, scopeSpans: [{ scope: { name: 'router' }, spans: spans as unknown as TracesData['resourceSpans'][0]['scopeSpans'][0]['spans'] }] }] };
}

describe("the analyzer's event filter on failed spans (every event of an error span, the names conventions read on the others)", () => {
  const doc = failedSpansExport();
  const names = CONVENTION_EVENTS!.names;

  it('is what the conventions declare: Triton and OpenLLMetry names, error spans for TGI', () => {
    expect(CONVENTION_EVENTS?.errorSpans).toBe(true);
    expect([...names]).toEqual(expect.arrayContaining(['QUEUE_START', 'COMPUTE_START', 'llm.content.completion.chunk']));
    expect(names.has('no permits available')).toBe(false);
  });

  const cases = (['jaeger', 'zipkin'] as const).flatMap((format) => (['before', 'after'] as const).map((place) => [format, place] as const));
  it.each(cases)('%s with the tags %s the events: fast and full read the same, and every event of an error span is kept', async (format, place) => {
    const otlp = (await read(tmp.write('failed-spans.otlp.json', JSON.stringify(doc)))).spans;
    const file = tmp.write(`failed-spans-${format}-${place}.json`, format === 'jaeger' ? otlpToJaeger(doc, place) : otlpToZipkin(doc, place));
    // The tags really are where the case says.
    const text = readFileSync(file, 'utf8');
    const [eventsKey, tagsKey] = format === 'jaeger' ? ['"logs":', '"tags":'] : ['"annotations":', '"tags":'];
    expect(text.indexOf(tagsKey) < text.indexOf(eventsKey), place).toBe(place === 'before');
    const full = await readOutcome(file, { reader: 'full', events: CONVENTION_EVENTS });
    const fast = await readOutcome(file, { reader: 'fast', events: CONVENTION_EVENTS });
    expect(fast.fast).toEqual({ lines: 1, fallbacks: 0 });
    expect(jsonText(fast.spans)).toBe(jsonText(full.spans));
    expect(fast.stats).toBe(full.stats);
    const got = fast.spans!;
    expect(got).toHaveLength(otlp.length);
    for (const want of otlp) {
      const span = got.find((s) => s.spanId === want.spanId)!;
      expect(span.error, want.name).toBe(want.error);
      const events = want.error ? want.events : want.events?.filter((e) => names.has(e.name));
      expect(span.events, want.name).toEqual(events === undefined || events.length === 0 ? undefined : events);
      expect(span.firstTokenNs, want.name).toBe(want.firstTokenNs);
    }
    // Read without a filter, every event of every span, as from OTLP.
    const all = (await read(file)).spans;
    for (const want of otlp) expect(all.find((s) => s.spanId === want.spanId)!.events, want.name).toEqual(want.events);
  });
});

/** Files the fast reader read as one document each (a Triton trace file record by record), none handed back, in the last `analysisBy`. */
let scannedWhole = 0;

/** Every figure of the analysis of `files` by one reader (the text report, the JSON report, each request, the warnings), or its error. */
async function analysisBy(files: readonly string[], reader: 'fast' | 'full'): Promise<string> {
  try {
    const result = await analyzeFiles(files, { reader });
    scannedWhole = result.files.filter((f) => f.fastReader?.lines === 1 && f.fastReader.fallbacks === 0).length;
    // The fast reader's own counts (lines it read, lines it handed on) are the one thing that differs by design.
    const summaries = result.files.map(({ fastReader: _counts, ...summary }) => summary);
    return jsonText({ text: renderText(result), report: toJsonReport(result), assembly: result.assembly, warnings: result.warnings, files: summaries, timings: result.timings.rows() });
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return `error: ${error.message}`;
  }
}

const SERVING = fixture('../serving/');
const EXAMPLES = fixture('../../../examples/traces/');

/** Every trace fixture (JSON, JSON lines, logs) and example, alone. */
const SINGLE_FILES: readonly string[] = [
  ...readdirSync(fixture(''), { recursive: true })
    .map(String)
    .filter((f) => /\.(json|jsonl|log)$/.test(f))
    .map((f) => fixture(f)),
  ...readdirSync(SERVING).filter((f) => /\.(json|jsonl|log)$/.test(f)).map((f) => SERVING + f),
  ...readdirSync(EXAMPLES).filter((f) => /\.(json|jsonl)$/.test(f)).map((f) => EXAMPLES + f),
].sort();

/** The sets of files the other tests analyse together (and a file given twice). */
const FILE_SETS: Record<string, readonly string[]> = {
  'Triton example + ensemble': [SERVING + 'triton_trace_v2_docs_example.json', SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json'],
  'Triton example + GenAI client': [SERVING + 'triton_trace_v2_docs_example.json', SERVING + 'genai-client-alone.synthetic.json'],
  'OTLP demo + Triton example': [EXAMPLES + 'inference-demo.otlp.jsonl', SERVING + 'triton_trace_v2_docs_example.json'],
  'Triton OpenTelemetry + Triton trace file': [SERVING + 'triton-otel-http.synthetic.json', SERVING + 'triton-trace-v2-responds-after-execute.synthetic.json'],
  'OTLP demo + GPU samples': [EXAMPLES + 'inference-demo.otlp.jsonl', fixture('../nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl')],
  'the demo as OTLP, Jaeger and Zipkin': [EXAMPLES + 'inference-demo.otlp.jsonl', EXAMPLES + 'inference-demo.jaeger.json', EXAMPLES + 'inference-demo.zipkin.json'],
  'a Jaeger file twice': [fixture('jaeger-json/jaeger-uimodel-ui_01-edgecases.json'), fixture('jaeger-json/jaeger-uimodel-ui_01-edgecases.json')],
  'a Triton trace file twice': [SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json', SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json'],
};

/** Large Triton trace files (past 1 MiB: the fast reader reads them record by record), as sets of files. */
function largeTritonSets(): Record<string, readonly string[]> {
  const busy = busyServer(1_500_000, 7);
  const templates = ['triton_trace_v2_docs_example.json', 'triton-trace-v2-grpc-ensemble.synthetic.json', 'triton-trace-v2-responds-after-execute.synthetic.json'].flatMap((name) =>
    tracesOf(JSON.parse(readFileSync(SERVING + name, 'utf8')) as TemplateRecord[]),
  );
  const { records, starts } = tritonWrites(templates, 3_000, 3);
  const half = Math.floor(records.length / 2);
  // A log-frequency rotation starts its file between two traces.
  const rotation = starts.find((s) => s >= half)!;
  const array = (rs: readonly string[]): string => `[${rs.join(',')}]`;
  const write = (name: string, text: string | Buffer): string => tmp.write(name, text);
  const written = write('large-written.json', array(records));
  return {
    'a busy server (requests interleaved), on one line': [write('large-busy.json', array(busy))],
    'a busy server, a record per line, gzipped': [write('large-busy.json.gz', gzipSync(`[\n${busy.join(',\n')}\n]\n`))],
    'a busy server never closed, cut inside a record': [write('large-busy-running.json', `[${busy.join(',')},{"id":99999999,"timestamps":[{"name":"QUEUE_ST`)],
    'Triton fixtures’ traces as Triton writes them': [written],
    'the same, given twice': [written, written],
    'the same, with another server’s busy file': [written, write('large-other-server.json', array(busy))],
    'rotated by log-frequency (FILE.0, FILE.1)': [write('large-rotated.json.0', array(records.slice(0, rotation))), write('large-rotated.json.1', array(records.slice(rotation)))],
    'cut in two inside a trace (FILE.0, FILE.1)': [write('large-cut.json.0', array(records.slice(0, half))), write('large-cut.json.1', array(records.slice(half)))],
    'the second half alone (its first trace’s root in the first)': [write('large-second-half.json', array(records.slice(half)))],
    'a killed server’s file (never closed, cut inside a record)': [write('large-killed.json', `[${records.slice(0, half).join(',')},${records[half]!.slice(0, 25)}`)],
  };
}

describe('the fast and the full reader: the same analysis, every figure', () => {
  it.each(SINGLE_FILES.map((f) => [f.slice(f.indexOf('/test/') + 1).replace(/^.*\/examples\//, 'examples/'), f]))('%s', async (_name, file) => {
    expect(await analysisBy([file], 'fast')).toBe(await analysisBy([file], 'full'));
  });

  it.each(Object.entries(FILE_SETS))('%s', async (_name, files) => {
    expect(await analysisBy(files, 'fast')).toBe(await analysisBy(files, 'full'));
  });

  const large = largeTritonSets();
  it.each(Object.entries(large))('large Triton trace files: %s', async (_name, files) => {
    const full = await analysisBy(files, 'full');
    expect(full).not.toMatch(/^error/);
    expect(await analysisBy(files, 'fast')).toBe(full);
    // Each Triton file was read record by record, none handed back to a whole parse.
    expect(scannedWhole).toBe(files.length);
  }, 60_000);
});

/**
 * The byte-scanning Jaeger and Zipkin document readers (formats/_jaeger-fast.ts,
 * _zipkin-fast.ts) and the full readers (JSON.parse, jaeger-json.ts, zipkin-json.ts) agree.
 * Jaeger: on every Jaeger fixture and on hand-written documents
 * in every spelling the full reader accepts (short and uppercase ids, references, span.kind and
 * error tags, inline and late processes, logs with the first-token event, escapes, unicode,
 * float times, odd tag values), each written pretty, minified and as one line; the scanner
 * must read the ones it claims (else these tests would compare the full reader with itself),
 * and hand the others back. Damaged documents give the same spans or the same error. Zipkin
 * likewise: tags (numbers, booleans, the error tag and its message, non-string values),
 * endpoints, kinds, shared spans, annotations, 64-bit trace ids, arrays of traces. Both read
 * Jaeger logs and Zipkin annotations as span events, as the Collector's translators map them.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openTrace, readAllSpans, readSpans, TraceFormatError } from '../../src/formats/index.js';
import type { EventFilter, ReadOptions, ReadWarning } from '../../src/formats/index.js';
import type { SpanRecord } from '../../src/model/span.js';
import { WINDOWED } from '../../src/formats/_document-window.js';
import { isObject } from '../../src/formats/_shared.js';
import { damage, expectSameThroughWindows, fixture, random, read, tempDir, jsonText, readOutcome, readThroughWindow, windowTakes, WINDOWS, withWindow } from './helpers.js';
import { exposedGc } from '../support/gc.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const text = jsonText;
const outcome = readOutcome;

async function expectAgree(file: string, options: ReadOptions = {}): Promise<{ lines: number; fallbacks: number } | undefined> {
  const full = await outcome(file, { ...options, reader: 'full' });
  const fast = await outcome(file, { ...options, reader: "fast" });
  expect(fast.error, file).toBe(full.error);
  expect(fast.stats, file).toBe(full.stats);
  expect(text(fast.spans), file).toBe(text(full.spans));
  expect(full.fast, file).toBeUndefined();
  return fast.fast;
}

const READ_FAST = { lines: 1, fallbacks: 0 };

/**
 * Reads `doc` by each reader with ERROR_SPAN_EVENTS: its spans' error statuses are `errors`, an
 * error span has every event it has without a filter, any other the names asked for, the
 * first-token time unchanged; every spelling is the scanner's and agrees with the full reader.
 * Returns each reader's spans.
 */
async function expectErrorSpanEvents(name: string, doc: unknown, errors: readonly boolean[]): Promise<Map<string, SpanRecord[]>> {
  const file = tmp.write(`${name}.json`, JSON.stringify(doc));
  const every = (await readAllSpans(file, { reader: 'full' })).spans;
  const byReader = new Map<string, SpanRecord[]>();
  for (const reader of ['fast', 'full'] as const) {
    const spans = (await readAllSpans(file, { reader, events: ERROR_SPAN_EVENTS })).spans;
    expect(spans.map((s) => s.error), reader).toEqual(errors);
    for (const [i, s] of spans.entries()) {
      const all = every[i]!.events;
      const kept = s.error ? all : all?.filter((e) => ERROR_SPAN_EVENTS.names.has(e.name));
      expect(s.events, `${reader} ${s.spanId}`).toEqual(kept?.length === 0 ? undefined : kept);
      expect(s.firstTokenNs, `${reader} ${s.spanId}`).toBe(every[i]!.firstTokenNs);
    }
    byReader.set(reader, spans);
  }
  for (const spelling of spellings(`${name}-filtered`, doc)) expect(await expectAgree(spelling, { events: ERROR_SPAN_EVENTS }), spelling).toEqual(READ_FAST);
  return byReader;
}
const HANDED_BACK = { lines: 0, fallbacks: 1 };

/** A document written pretty (CRLF too), minified, and minified on one line with a newline; each path of detection. */
function spellings(name: string, doc: unknown): string[] {
  return [
    tmp.write(`${name}.pretty.json`, JSON.stringify(doc, null, 2)),
    tmp.write(`${name}.crlf.json`, JSON.stringify(doc, null, '\t').replace(/\n/g, '\r\n')),
    tmp.write(`${name}.min.json`, JSON.stringify(doc)),
    tmp.write(`${name}.line.json`, `${JSON.stringify(doc)}\n`),
  ];
}

const T = '4a1b2c3d4e5f60718293a4b5c6d7e8f9';
const tag = (key: string, type: string, value: unknown): Record<string, unknown> => ({ key, type, value });

/** A span in jaeger-query's layout; `over` replaces or adds fields. */
function span(spanID: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceID: T,
    spanID,
    operationName: `op ${spanID}`,
    references: [],
    startTime: 1_770_000_000_001_000,
    duration: 44_000,
    tags: [tag('span.kind', 'string', 'server')],
    logs: [],
    processID: 'p1',
    warnings: null,
    ...over,
  };
}

/** `span` with its tags written after its logs (JSON keys have no order; jaeger-query writes tags first). */
function tagsLast(spanID: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const { tags, ...rest } = span(spanID, over);
  return { ...rest, tags };
}

/** What the analyzer asks for (CONVENTION_EVENTS' shape): some names on every span, every event of an error span. */
const ERROR_SPAN_EVENTS: EventFilter = { names: new Set(['QUEUE_START', 'llm.content.completion.chunk']), errorSpans: true };

const PROCESSES = { p1: { serviceName: 'frontend', tags: [] }, p2: { serviceName: 'model-server', tags: [tag('hostname', 'string', 'gpu-7')] } };

/** The envelope `{"data":[{traceID, spans, processes, warnings}]}` around `spans`. */
function envelope(spans: unknown[], trace: Record<string, unknown> = {}): unknown {
  return { data: [{ traceID: T, spans, processes: PROCESSES, warnings: null, ...trace }], total: 0, limit: 0, offset: 0, errors: null };
}

/** Logs of span `n` (1–99) as TGI's router writes them, and an event a convention reads: free-text messages, quotes, escapes, unicode, fields beside the event. */
function errorLogs(n: number): unknown[] {
  const at = (k: number): number => 1_770_000_000_000_000 + n * 1000 + k * 10;
  return [
    { timestamp: at(1), fields: [tag('event', 'string', 'QUEUE_START')] },
    { timestamp: at(2), fields: [tag('level', 'string', 'ERROR'), tag('event', 'string', '`inputs` tokens + `max_new_tokens` must be <= 512. Given: 500 `inputs` tokens and 20 `max_new_tokens`')] },
    { timestamp: at(3), fields: [tag('event', 'string', 'no permits available')] },
    { timestamp: at(4), fields: [tag('event', 'string', 'bad "token" é\n 模型 🚀'), tag('exception.message', 'string', 'line\nbreak')] },
    { timestamp: at(5), fields: [tag('message', 'string', 'no event field')] },
  ];
}

/** Documents the scanner reads itself. */
const READ: Record<string, unknown> = {
  'dropped leading zeros (31/15 chars), uppercase and short ids': envelope([
    span('0b7ad6b716920333', { traceID: 'af7651916cd43dd8448eb211c80319c' }),
    span('b7ad6b716920334', { traceID: 'af7651916cd43dd8448eb211c80319c', references: [{ refType: 'CHILD_OF', traceID: 'af7651916cd43dd8448eb211c80319c', spanID: 'b7ad6b716920333' }] }),
    span('B7AD6B7169203335', { traceID: T.toUpperCase(), parentSpanID: 'ABC' }),
    span('00000000000000f1', { references: [{ refType: 'CHILD_OF', traceID: T, spanID: '0' }, { refType: 'CHILD_OF', traceID: '', spanID: '1' }] }),
  ]),
  'references: CHILD_OF, CHILD_OF into another trace (a link), FOLLOWS_FROM, several, parentSpanID, odd entries': envelope([
    span('1000000000000001'),
    span('1000000000000002', { references: [{ refType: 'FOLLOWS_FROM', traceID: T, spanID: '1000000000000001' }, { refType: 'CHILD_OF', traceID: T, spanID: '1000000000000001' }] }),
    span('1000000000000003', { references: [{ refType: 'CHILD_OF', traceID: '1'.repeat(32), spanID: '1000000000000001' }, { refType: 'CHILD_OF', traceID: T, spanID: '1000000000000002' }, { refType: 'CHILD_OF', traceID: T, spanID: '1000000000000001' }] }),
    span('1000000000000004', { parentSpanID: '1000000000000003' }),
    span('1000000000000005', { parentSpanID: '1000000000000003', references: [{ refType: 'CHILD_OF', traceID: T, spanID: '1000000000000002' }] }),
    span('1000000000000006', { parentSpanID: 'abc', references: [{ refType: 'FOLLOWS_FROM', traceID: T, spanID: '1000000000000002' }] }),
    span('1000000000000007', { references: [null, 3, 'x', [], { refType: 7, traceID: T, spanID: '1000000000000001' }, { traceID: T }, { spanID: '1000000000000001', traceID: 5 }], parentSpanID: 12 }),
    span('1000000000000008', { references: { refType: 'CHILD_OF' }, parentSpanID: '' }),
    span('1000000000000009', { references: [{ refType: 'CHILD_OF', traceID: T, spanID: '0000000000000000' }], parentSpanID: '0000000000000000' }),
  ]),
  'span.kind, error and otel.status_code tags, tag types and odd values': envelope([
    span('2000000000000001', { tags: [tag('span.kind', 'string', 'client'), tag('error', 'bool', true)] }),
    span('2000000000000002', { tags: [tag('span.kind', 'string', 'SPAN_KIND_PRODUCER'), tag('error', 'bool', 'true'), tag('error', 'bool', 'false')] }),
    span('2000000000000003', { tags: [tag('span.kind', 'string', 'weird'), tag('otel.status_code', 'string', 'ERROR'), tag('error', 'string', 'true')] }),
    span('2000000000000004', {
      tags: [
        tag('int', 'int64', 42),
        tag('big', 'int64', '9007199254740993'),
        tag('small', 'INT64', '-7'),
        tag('f', 'float64', 1.5),
        tag('fs', 'float64', 'NaN'),
        tag('fx', 'FLOAT64', 'abc'),
        tag('b', 'BOOL', 'false'),
        tag('bin', 'binary', 'AAEC'),
        tag('untyped', 'whatever', 3),
        { key: 'no-type', value: 'v' },
        { key: 'no-value', type: 'string' },
        tag('null', 'string', null),
        tag('obj', 'string', { a: [1, 2] }),
        tag('arr', 'string', [1, 'x']),
        tag('num-as-bool', 'bool', 1),
        { value: 'no key', type: 'string' },
        { key: 5, type: 'string', value: 'numeric key' },
        'not a tag',
        null,
        tag('int', 'int64', 43),
        tag('__proto__', 'string', 'proto'),
        tag('1', 'string', 'numeric-looking key'),
        tag('e', 'float64', 1e21),
        tag('neg', 'float64', -0.0),
      ],
    }),
    span('2000000000000005', { tags: 'not a list' }),
    span('2000000000000006', { tags: [{ type: 'string', value: 'x', key: 'value first' }] }),
  ]),
  'inline processes, processes before and after the spans, odd processes': {
    data: [
      { traceID: T, processes: PROCESSES, spans: [span('3000000000000001'), span('3000000000000002', { processID: 'p2' })] },
      {
        spans: [
          span('3000000000000003', { traceID: '3'.repeat(32), processID: 'p3', process: { serviceName: 'inline', tags: [] } }),
          span('3000000000000005', { traceID: '3'.repeat(32), processID: 7 }),
          span('3000000000000006', { traceID: '3'.repeat(32), process: { tags: [] }, processID: 'p3' }),
          span('3000000000000007', { traceID: '3'.repeat(32), process: 'x', processID: undefined }),
          span('3000000000000012', { traceID: '3'.repeat(32), processID: 'p4' }),
          span('3000000000000013', { traceID: '3'.repeat(32), processID: 'p5' }),
        ],
        processes: { p3: { serviceName: 'late' }, p4: 'not an object', p5: { serviceName: 5 } },
        traceID: '3'.repeat(32),
      },
      { processes: { p1: { serviceName: 'only processes' } }, spans: [span('3000000000000011', { traceID: '5'.repeat(32) })] },
      { traceID: '6'.repeat(32), spans: [], processes: {} },
    ],
  },
  'logs: the first-token event (first match wins), other events, odd logs, float and string times': envelope([
    span('4000000000000001', {
      logs: [
        { timestamp: 1_770_000_000_002_000, fields: [tag('event', 'string', 'queued')] },
        { timestamp: 1_770_000_000_003_000, fields: [tag('level', 'string', 'info'), tag('event', 'string', 'inference.first_token')] },
        { timestamp: 1_770_000_000_004_000, fields: [tag('event', 'string', 'inference.first_token')] },
      ],
    }),
    span('4000000000000002', { logs: [{ timestamp: 1_770_000_000_002_500.7, fields: [{ key: 'event', value: 'inference.first_token' }] }] }),
    span('4000000000000003', { logs: [{ timestamp: 'soon', fields: [tag('event', 'string', 'inference.first_token')] }, { timestamp: 1, fields: [tag('event', 'string', 'inference.first_token')] }] }),
    span('4000000000000004', { logs: [null, { fields: 'x' }, { timestamp: 5, fields: [tag('message', 'string', 'inference.first_token')] }] }),
    span('4000000000000005', { logs: 'not a list' }),
    span('4000000000000006', { startTime: 1.7700000000015e15, duration: 12.5 }),
    span('4000000000000007', { startTime: '1770000000001000', duration: '44' }),
    span('4000000000000008', { startTime: 1_770_000_000_001_000, duration: 0 }),
    span('4000000000000009', { startTime: 9_007_199_254_740_000, duration: 5000 }),
    span('4000000000000010', { startTime: 1e15, duration: 1e3 }),
    span('4000000000000011', { startTime: 1, duration: 0.4 }),
  ]),
  // The Collector's Jaeger translator writes each OTel span event as a log: an `event` field with its name, its attributes as further fields.
  'logs as span events: names, fields beside them, repeated and odd event fields, unreadable times, shapes only the full rules read': envelope([
    span('4100000000000001', {
      logs: [
        { timestamp: 1_770_000_000_001_100, fields: [tag('event', 'string', 'REQUEST_START')] },
        { timestamp: 1_770_000_000_001_200, fields: [tag('level', 'string', 'info'), tag('event', 'string', 'QUEUE_START'), tag('batch', 'int64', 4)] },
        { fields: [tag('event', 'string', 'no time')], timestamp: '1770000000001300' },
        { timestamp: 1_770_000_000_001_400, fields: [tag('event', 'string', 'first'), tag('event', 'string', 'COMPUTE_START')] },
        { timestamp: 1_770_000_000_001_500, fields: [tag('event', 'int64', 7)] },
        { timestamp: 1_770_000_000_001_600, fields: [] },
        { timestamp: 1_770_000_000_001_700 },
        { timestamp: 'soon', fields: [tag('event', 'string', 'unreadable time')] },
        { fields: [tag('event', 'string', 'no time at all')] },
        { timestamp: 1.7700000000018e15, fields: [{ value: 'COMPUTE_END', key: 'event', type: 'string' }], extra: { nested: [1, { a: null }] } },
        { timestamp: 1_770_000_000_001_900, fields: [tag('event', 'string', 'é 模型 🚀')] },
      ],
    }),
    span('4100000000000002', { logs: [null, { timestamp: 1_770_000_000_002_000, fields: [tag('event', 'string', 'after a null log')] }] }),
    span('4100000000000003', { logs: [{ timestamp: 1_770_000_000_003_000, fields: 'not a list' }, { timestamp: 1_770_000_000_003_100, fields: [tag('event', 'string', 'x')] }] }),
    span('4100000000000004', { logs: [{ timestamp: 1_770_000_000_004_000, fields: [null, 'x', tag('event', 'string', 'after odd fields')] }] }),
    span('4100000000000005', { logs: [{ timestamp: 1_770_000_000_005_000, fields: [tag('event', 'string', 'line\nbreak "quoted"')] }] }),
    span('4100000000000006', { logs: [{ timestamp: 1_770_000_000_006_000, fields: [tag('event', 'string', 'inference.first_token')] }, { timestamp: 1_770_000_000_006_500, fields: [tag('event', 'string', 'llm.content.completion.chunk')] }] }),
    span('4100000000000007', { logs: [] }),
  ]),
  // The error status (`error`, `otel.status_code` tags) known before the logs or only after them.
  'error spans: error and otel.status_code tags before and after their logs, odd logs, escapes, the first-token event': envelope([
    span('4300000000000001', { tags: [tag('error', 'bool', true)], logs: errorLogs(1) }),
    tagsLast('4300000000000002', { tags: [tag('span.kind', 'string', 'server'), tag('error', 'bool', true)], logs: errorLogs(2) }),
    tagsLast('4300000000000003', { tags: [tag('otel.status_code', 'string', 'ERROR')], logs: errorLogs(3) }),
    tagsLast('4300000000000004', { tags: [tag('error', 'bool', false)], logs: errorLogs(4) }),
    tagsLast('4300000000000005', { logs: errorLogs(5) }),
    tagsLast('4300000000000006', { tags: [tag('error', 'bool', true)], logs: [null, { timestamp: 1_770_000_000_006_100, fields: 'x' }, ...errorLogs(6)] }),
    tagsLast('4300000000000007', { tags: [tag('error', 'bool', true), tag('error', 'bool', false)], logs: errorLogs(7) }),
    tagsLast('4300000000000008', { tags: [tag('error', 'bool', true)], logs: [] }),
    tagsLast('4300000000000009', { tags: [tag('error', 'string', 'true')], logs: [...errorLogs(9), { timestamp: 1_770_000_000_009_900, fields: [tag('event', 'string', 'inference.first_token')] }] }),
    span('4300000000000010', { tags: [tag('otel.status_code', 'string', 'ERROR')], logs: [...errorLogs(10), { timestamp: 1_770_000_000_010_900, fields: [tag('event', 'string', 'inference.first_token')] }] }),
  ]),
  'escapes and unicode in names, keys, values and process names': envelope(
    [
      span('5000000000000001', { operationName: 'GET /v1/chat "quoted" \\ back\\slash \t tab \u0001 ctl / é 模型 🚀 \ud83d' }),
      span('5000000000000002', { processID: 'p\u00e9', tags: [tag('clé', 'string', 'valeur é'), tag('quote"key', 'string', 'line\nbreak'), tag('emoji', 'string', '🚀 \u2028')] }),
    ],
    { processes: { p1: { serviceName: 'frontend' }, 'p\u00e9': { serviceName: 'sérvice "x"' } } },
  ),
  'a bare trace with unknown keys, warnings everywhere': {
    _comment: 'written by hand',
    traceID: T,
    spans: [span('6000000000000001', { warnings: ['clock skew adjustment disabled'], flags: 1, extra: { nested: [1, 2, { a: null }] } })],
    processes: PROCESSES,
    warnings: ['a trace warning'],
  },
  'a bare trace with processes only (no traceID)': { spans: [span('6100000000000001')], processes: PROCESSES },
  // Minified, longer than the first 1 MiB read of the file: the rest is read by position into one buffer.
  'a document past the first read': envelope(Array.from({ length: 4000 }, (_, i) => span(`8${String(i).padStart(15, '0')}`, { parentSpanID: i > 0 ? `8${String(i - 1).padStart(15, '0')}` : undefined }))),
  'an envelope with unknown keys around data': { kind: 'export', data: [{ traceID: T, spans: [span('6200000000000001')], processes: PROCESSES }], meta: { page: 1 } },
  // What jaeger-query answers to a query that went well: every key, errors null.
  'the query API envelope with errors null': { data: [{ traceID: T, spans: [span('6300000000000001')], processes: PROCESSES }], total: 0, limit: 0, offset: 0, errors: null },
};

/** Documents the scanner hands back to the full reader (shapes and ids only the full reader's rules take). */
const HANDED: Record<string, unknown> = {
  'a bare array of traces': [{ traceID: T, spans: [span('7000000000000001')], processes: PROCESSES }],
  'a bare array of spans with inline processes': [span('7000000000000002', { process: { serviceName: 'anon' } })],
  'a data element that is a span': { data: [span('7000000000000003', { process: { serviceName: 'anon' } })] },
  'a data element that is not a trace (skipped with a warning)': { data: [{ traceID: T, spans: [span('7000000000000004')] }, { nope: 1 }, 5] },
  'an empty data array': { data: [], total: 0 },
  // A processID its trace does not list (the full reader warns, with the span's path), also for keys every object has.
  'spans whose processID their trace lacks': {
    data: [
      {
        traceID: '3'.repeat(32),
        spans: [
          span('3000000000000004', { traceID: '3'.repeat(32), processID: 'missing' }),
          span('3000000000000008', { traceID: '3'.repeat(32), processID: 'constructor' }),
          span('3000000000000009', { traceID: '3'.repeat(32), processID: 'toString' }),
        ],
        processes: { p3: { serviceName: 'late' } },
      },
      { traceID: '4'.repeat(32), spans: [span('3000000000000010', { traceID: '4'.repeat(32) })], processes: [] },
      { traceID: '5'.repeat(32), spans: [span('3000000000000014', { traceID: '5'.repeat(32) })] },
    ],
  },
  // The query API's errors: the full reader reports them (a warning beside traces, the error without).
  'the query API with errors beside its traces': { data: [{ traceID: T, spans: [span('7000000000000011')], processes: PROCESSES }], total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found', traceID: 'ab12' }] },

  'base64 ids': envelope([span(Buffer.from('7000000000000005', 'hex').toString('base64'))]),
  'ids of a length unpadded base64 also has (11 / 22 chars)': envelope([span('70000000005', { traceID: 'a'.repeat(22) })]),
  'an opaque id': envelope([span('span-1')]),
  'a 0x-prefixed id': envelope([span('0x7000000000000006')]),
  'a span without a start time (skipped with a warning)': envelope([span('7000000000000007'), span('7000000000000008', { startTime: undefined })]),
  'a span with a negative duration (skipped)': envelope([span('7000000000000009', { duration: -5 })]),
  'a span with a zero trace id (skipped)': envelope([span('7000000000000010', { traceID: '0'.repeat(32) })]),
  // Past the first 64 KiB detection looks at: only the scanner sees it (and the full reader reads the document as OTLP).
  'an OTLP key at the top after the data': {
    data: [{ traceID: T, spans: Array.from({ length: 400 }, (_, i) => span(`71${String(i).padStart(14, '0')}`)) }],
    resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [] }] }],
  },
};

describe('Jaeger documents: byte scanner and full reader agree', () => {
  it.each(Object.entries(READ))('%s: read by the scanner, the same spans', async (name, doc) => {
    for (const file of spellings(name.replace(/\W+/g, '-'), doc)) {
      expect(await expectAgree(file), file).toEqual(READ_FAST);
      // The analyzer's projection changes nothing for Jaeger documents.
      expect(text((await readAllSpans(file, { attributes: 'analysis' })).spans)).toBe(text((await readAllSpans(file, { reader: 'full' })).spans));
    }
  });

  it.each(Object.entries(HANDED))('%s: handed back, the same spans or error', async (name, doc) => {
    for (const file of spellings(name.replace(/\W+/g, '-'), doc)) expect(await expectAgree(file), file).toEqual(HANDED_BACK);
  });

  it('logs are the spans\' events, named by their event field, as the Collector reads them back', async () => {
    const doc = READ['logs as span events: names, fields beside them, repeated and odd event fields, unreadable times, shapes only the full rules read'];
    const file = tmp.write('logs-events.json', JSON.stringify(doc));
    for (const reader of ['fast', 'full'] as const) {
      const spans = (await readAllSpans(file, { reader })).spans;
      const events = (id: string): string[] | undefined => spans.find((s) => s.spanId === id)!.events?.map((e) => `${e.name}@${e.timeNs}`);
      expect(events('4100000000000001'), reader).toEqual([
        'REQUEST_START@1770000000001100000',
        'QUEUE_START@1770000000001200000',
        'no time@1770000000001300000',
        'COMPUTE_START@1770000000001400000',
        '@1770000000001500000',
        '@1770000000001600000',
        '@1770000000001700000',
        'COMPUTE_END@1770000000001800000',
        'é 模型 🚀@1770000000001900000',
      ]);
      expect(events('4100000000000002'), reader).toEqual(['after a null log@1770000000002000000']);
      expect(events('4100000000000003'), reader).toEqual(['@1770000000003000000', 'x@1770000000003100000']);
      expect(events('4100000000000004'), reader).toEqual(['after odd fields@1770000000004000000']);
      expect(events('4100000000000005'), reader).toEqual(['line\nbreak "quoted"@1770000000005000000']);
      // The first-token event is still the first-token time too.
      const withFirstToken = spans.find((s) => s.spanId === '4100000000000006')!;
      expect(withFirstToken.firstTokenNs, reader).toBe(1_770_000_000_006_000_000n);
      expect(events('4100000000000006'), reader).toEqual(['inference.first_token@1770000000006000000', 'llm.content.completion.chunk@1770000000006500000']);
      expect(events('4100000000000007'), reader).toBeUndefined();
      // Asked for some names only (as the analyzer asks for those its conventions read): the others are not made, the first-token time still is.
      const some = (await readAllSpans(file, { reader, events: new Set(['QUEUE_START', 'COMPUTE_END', 'after odd fields', 'x']) })).spans;
      expect(some.map((s) => s.events?.map((e) => e.name)), reader).toEqual([['QUEUE_START', 'COMPUTE_END'], undefined, ['x'], ['after odd fields'], undefined, undefined, undefined]);
      expect(some.find((s) => s.spanId === '4100000000000006')!.firstTokenNs, reader).toBe(1_770_000_000_006_000_000n);
    }
    for (const spelling of spellings('logs-events-some', doc)) expect(await expectAgree(spelling, { events: new Set(['QUEUE_START', '', 'x', 'inference.first_token']) }), spelling).toEqual(READ_FAST);
    // A key twice in a log (JSON.parse keeps the last): the logs alone go to the full rules, the document stays the scanner's.
    const one = JSON.stringify(envelope([span('4200000000000001', { logs: [{ timestamp: 1_770_000_000_001_000, fields: [tag('event', 'string', 'QUEUE_START')] }] })]));
    const twice = one.replace('"timestamp":1770000000001000', '"timestamp":1770000000000500,"timestamp":1770000000001000').replace('"key":"event"', '"key":"level","key":"event"');
    expect(twice).not.toBe(one);
    expect(await expectAgree(tmp.write('logs-duplicate-keys.json', twice))).toEqual(READ_FAST);
    expect((await readAllSpans(tmp.write('logs-duplicate-keys-2.json', twice))).spans[0]!.events).toEqual([{ name: 'QUEUE_START', timeNs: 1_770_000_000_001_000_000n }]);
  });

  it("an error span keeps every event, the others the names asked for, whether its error tag comes before or after its logs", async () => {
    const doc = READ['error spans: error and otel.status_code tags before and after their logs, odd logs, escapes, the first-token event'];
    const byReader = await expectErrorSpanEvents('error-span-logs', doc, [true, true, true, false, false, true, false, true, true, true]);
    for (const [reader, spans] of byReader) {
      // The free-text message of an error span read after its logs, in full (escapes and all).
      expect(spans[1]!.events?.map((e) => e.name), reader).toEqual(['QUEUE_START', '`inputs` tokens + `max_new_tokens` must be <= 512. Given: 500 `inputs` tokens and 20 `max_new_tokens`', 'no permits available', 'bad "token" é\n 模型 🚀', '']);
      expect(spans[3]!.events?.map((e) => e.name), reader).toEqual(['QUEUE_START']);
    }
  });

  it("a failed query (the query API's errors, no trace) is refused alike by both, in the API's words", async () => {
    const failed = {
      'data null': { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] },
      'data empty': { data: [], total: 0, limit: 0, offset: 0, errors: [{ code: 500, msg: 'storage unavailable' }] },
    };
    for (const [name, doc] of Object.entries(failed)) {
      for (const file of spellings(`failed-query-${name.replace(/\W+/g, '-')}`, doc)) {
        await expectAgree(file);
        const error = await readAllSpans(file).catch((e: unknown) => e);
        expect(error, file).toBeInstanceOf(TraceFormatError);
        expect((error as Error).message, file).toMatch(/\$\.errors: expected Jaeger traces \(the query API answered with errors instead\), got (404 trace not found|500 storage unavailable)$/);
      }
    }
  });

  it("the query API's errors are said on one line, whatever their messages hold (newlines, tabs)", async () => {
    // The messages went into the error (or the warning beside traces) as written: a newline in
    // one made the TraceFormatError two lines, where its message is one line to print as is.
    const errors = [{ code: 500, msg: 'storage\nunavailable:\r\n\tretry', traceID: 'ab\n12' }];
    const failed = tmp.write('failed-query-newlines.json', JSON.stringify({ data: null, errors }));
    expect(await expectAgree(failed)).toBeUndefined();
    const error = await readAllSpans(failed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toMatch(/got 500 storage unavailable: retry \(trace ab 12\)$/);
    const beside = tmp.write('query-errors-newlines.json', JSON.stringify({ ...(envelope([span('8000000000000002')]) as object), errors }));
    expect(await expectAgree(beside)).toEqual(HANDED_BACK);
    const { warnings } = await read(beside);
    expect(warnings.map((w) => w.message)).toEqual(['1× the Jaeger query API reported errors with these traces: 500 storage unavailable: retry (trace ab 12)']);
  });

  it('duplicate keys (JSON.parse keeps the last) are handed back', async () => {
    const one = JSON.stringify(envelope([span('8000000000000001')]));
    const cases = [
      one.replace('"operationName":', '"operationName":"first","operationName":'),
      one.replace('"processes":', '"processes":{"p1":{"serviceName":"first"}},"processes":'),
      one.replace('"serviceName":"frontend"', '"serviceName":"first","serviceName":"frontend"'),
      one.replace('{"key":"span.kind","type":"string","value":"server"}', '{"key":"span.kind","type":"string","value":"client","value":"server"}'),
      one.replace('"data":', '"data":[],"data":'),
    ];
    for (const [i, body] of cases.entries()) {
      expect(body).not.toBe(one);
      expect(await expectAgree(tmp.write(`dup-${i}.json`, body))).toEqual(HANDED_BACK);
    }
  });

  it('escaped keys, a BOM, whitespace everywhere and trailing text', async () => {
    const one = JSON.stringify(envelope([span('8100000000000001')]));
    expect(await expectAgree(tmp.write('escaped-key.json', one.replace('"operationName"', '"operation\\u004eame"')))).toEqual(HANDED_BACK);
    expect(await expectAgree(tmp.write('bom.json', `\ufeff${one}`))).toEqual(READ_FAST);
    expect(await expectAgree(tmp.write('spaced.json', one.replace(/([,:[\]{}])/g, ' \n\t$1 \r\n ')))).toEqual(READ_FAST);
    // Refused by both with the same error (so no counts to see).
    expect(await expectAgree(tmp.write('trailing.json', `${one} x`))).toBeUndefined();
    expect(await expectAgree(tmp.write('truncated.json', one.slice(0, -3)))).toBeUndefined();
    // Two documents, one a line: JSON lines, not a whole document.
    expect(await expectAgree(tmp.write('two-lines.json', `${one}\n${one}`))).toBeUndefined();
    expect(await expectAgree(tmp.write('concatenated.json', `${one}${one}`))).toBeUndefined();
    expect(await expectAgree(tmp.write('concatenated-pretty.json', `${JSON.stringify(JSON.parse(one), null, 1)}\n${JSON.stringify(JSON.parse(one), null, 1)}`))).toEqual(HANDED_BACK);
    // A document detection sees as another family is not handed to the scanner at all.
    expect(await expectAgree(tmp.write('otlp-first.json', one.replace('{"data":', '{"resourceSpans":[],"data":')))).toBeUndefined();
  });

  it('gzip-compressed documents (pretty and minified) are scanned too, and a damaged stream is refused alike', async () => {
    for (const [i, doc] of [READ['references: CHILD_OF, CHILD_OF into another trace (a link), FOLLOWS_FROM, several, parentSpanID, odd entries'], [zspan('a100000000000001')]].entries()) {
      for (const body of [JSON.stringify(doc, null, 2), JSON.stringify(doc)]) {
        const file = tmp.write(`gzip-${i}-${body.length}.json.gz`, gzipSync(body));
        expect(await expectAgree(file), file).toEqual(READ_FAST);
        const cut = gzipSync(body);
        expect(await expectAgree(tmp.write(`gzip-cut-${i}-${body.length}.json.gz`, cut.subarray(0, cut.length - 12)))).toBeUndefined();
      }
    }
  });

  it('every Jaeger fixture, pretty, minified and on one line', async () => {
    const dir = fixture('jaeger-json');
    const counts: Record<string, number> = { read: 0, handed: 0 };
    for (const name of readdirSync(dir)) {
      const doc: unknown = JSON.parse(readFileSync(`${dir}/${name}`, 'utf8'));
      for (const file of [`${dir}/${name}`, ...spellings(`fixture-${name}`, doc)]) {
        const fast = await expectAgree(file);
        if (fast?.lines === 1) counts['read']!++;
        else if (fast?.fallbacks === 1) counts['handed']!++;
      }
    }
    // All but the anonymizer's bare span array (5 spellings) are read by the scanner.
    expect(counts).toEqual({ read: 25, handed: 5 });
  });

  it('damaged documents: the same spans or the same error', async () => {
    const rand = random(20261129);
    const sources = [
      ...readdirSync(fixture('jaeger-json')).map((n) => readFileSync(fixture(`jaeger-json/${n}`))),
      Buffer.from(JSON.stringify(READ['references: CHILD_OF, CHILD_OF into another trace (a link), FOLLOWS_FROM, several, parentSpanID, odd entries'])),
      Buffer.from(JSON.stringify(READ['logs as span events: names, fields beside them, repeated and odd event fields, unreadable times, shapes only the full rules read'])),
      Buffer.from(JSON.stringify(READ['error spans: error and otel.status_code tags before and after their logs, odd logs, escapes, the first-token event'])),
    ];
    let fast = 0;
    let handed = 0;
    for (let i = 0; i < 150; i++) {
      const source = sources[Math.floor(rand() * sources.length)]!;
      // Every other one read as the analyzer reads it (some names, every event of error spans).
      const counts = await expectAgree(tmp.write(`damaged-${i}.json`, damage(source, rand)), i % 2 === 0 ? {} : { events: ERROR_SPAN_EVENTS });
      if (counts?.lines === 1) fast++;
      if (counts?.fallbacks === 1) handed++;
    }
    // Some damage leaves a document the scanner reads (a changed value) or hands back, so both were compared.
    expect(fast).toBeGreaterThan(2);
    expect(handed).toBeGreaterThan(2);
  });
});

const Z = '5b8efff798038103';
const zspan = (id: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  traceId: Z,
  parentId: undefined,
  id,
  kind: 'SERVER',
  name: `get /${id}`,
  timestamp: 1_770_000_000_001_000,
  duration: 2000,
  localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1' },
  tags: { 'http.method': 'GET', 'http.status_code': '200' },
  ...over,
});

/** `zspan` with its tags written after its annotations, as zipkin-go writes them (`zspan` writes them first). */
function zipkinOrder(id: string, over: Record<string, unknown>): Record<string, unknown> {
  const { tags, ...rest } = zspan(id, over);
  return { ...rest, tags };
}

/** Annotations of span `n` (1–99): an event a convention reads, free-text messages, quotes, escapes, unicode, the name|{attributes}|dropped form. */
function errorAnnotations(n: number): unknown[] {
  const at = (k: number): number => 1_770_000_000_000_000 + n * 1000 + k * 10;
  return [
    { timestamp: at(1), value: 'QUEUE_START' },
    { timestamp: at(2), value: '`inputs` tokens + `max_new_tokens` must be <= 512. Given: 500 `inputs` tokens and 20 `max_new_tokens`' },
    { timestamp: at(3), value: 'no permits available' },
    { timestamp: at(4), value: 'exception|{"exception.message":"bad \"token\" é\\n"}|0' },
    { timestamp: at(5), value: 'llm.content.completion.chunk|{}|1' },
  ];
}

/** Zipkin documents the scanner reads itself. */
const ZIPKIN_READ: Record<string, unknown> = {
  'a span array: kinds, parents, shared halves, endpoints, 64- and 128-bit trace ids': [
    zspan('a000000000000001', { kind: undefined }),
    zspan('a000000000000002', { parentId: 'a000000000000001', kind: 'CLIENT', remoteEndpoint: { serviceName: 'model-server', port: 8000 } }),
    zspan('a000000000000002', { parentId: 'a000000000000001', shared: true, localEndpoint: { serviceName: 'model-server' } }),
    zspan('a000000000000003', { traceId: `${'0'.repeat(16)}${Z}`, kind: 'PRODUCER', shared: false }),
    zspan('a000000000000004', { traceId: '5B8EFFF798038103', parentId: 'A1', kind: 'weird', localEndpoint: 'x', remoteEndpoint: { serviceName: 5 } }),
    zspan('a000000000000005', { parentId: '', traceId: 'f'.repeat(31) }),
    zspan('a000000000000006', { remoteEndpoint: { serviceName: 'peer' }, tags: { 'peer.service': 'tagged' } }),
    zspan('a000000000000007', { localEndpoint: { serviceName: null }, kind: 7, parentId: 5 }),
  ],
  'tags: numbers, booleans, the error tag and its message, non-string values, odd keys': [
    zspan('b000000000000001', { tags: { n: '42', f: '1.5', big: '9007199254740993', lead: '007', e: '1e3', t: 'true', no: 'false', empty: '', neg: '-0' } }),
    zspan('b000000000000002', { tags: { error: 'boom: model timed out' } }),
    zspan('b000000000000003', { tags: { error: '' } }),
    zspan('b000000000000004', { tags: { error: 'false' } }),
    zspan('b000000000000005', { tags: { error: 'true', 'x.y': 'z' } }),
    zspan('b000000000000006', { tags: { num: 5, bool: true, nul: null, obj: { a: [1] }, arr: [1, 'x'] } }),
    zspan('b000000000000007', { tags: { '2': 'two', '1': 'one', 'é clé': 'valeur "é"', emoji: '🚀 \u2028' } }),
    zspan('b000000000000008', { tags: 'not an object' }),
    zspan('b000000000000009', { tags: { error: 12 } }),
  ],
  'annotations: the first-token event (first match wins), float and string times, odd entries': [
    zspan('c000000000000001', { annotations: [{ timestamp: 1_770_000_000_001_500, value: 'queued' }, { timestamp: 1_770_000_000_001_700, value: 'inference.first_token' }, { timestamp: 1_770_000_000_001_900, value: 'inference.first_token' }] }),
    zspan('c000000000000002', { annotations: [{ timestamp: 'soon', value: 'inference.first_token' }, { timestamp: 1, value: 'inference.first_token' }] }),
    zspan('c000000000000003', { annotations: [null, 'x', { value: 'inference.first_token' }] }),
    zspan('c000000000000004', { annotations: 'none', timestamp: 1.7700000000015e15, duration: 0.6 }),
    zspan('c000000000000005', { timestamp: '1770000000001000', duration: '5' }),
  ],
  // The Collector's Zipkin exporter writes each OTel span event as an annotation: its name, or `name|{attributes}|dropped` when it has attributes.
  'annotations as span events: names, the name|{attributes}|dropped form and lookalikes, unreadable times, odd entries': [
    zspan('c100000000000001'),
    zspan('c100000000000002', {
      annotations: [
        { timestamp: 1_770_000_000_001_100, value: 'REQUEST_START' },
        { timestamp: 1_770_000_000_001_200, value: 'QUEUE_START|{"batch":4,"why":"a|b"}|0' },
        { timestamp: 1_770_000_000_001_300, value: 'COMPUTE_START|{}|2' },
        { timestamp: 1_770_000_000_001_400, value: 'a|b' },
        { timestamp: 1_770_000_000_001_500, value: 'x|{}|' },
        { timestamp: 1_770_000_000_001_600, value: 'y|[1]|0' },
        { timestamp: 1_770_000_000_001_700, value: 'z|{}|1x' },
        { value: 'COMPUTE_END', timestamp: '1770000000001800' },
        { timestamp: 1_770_000_000_001_900, value: 5 },
        { timestamp: 1_770_000_000_002_000 },
        { timestamp: 'soon', value: 'unreadable time' },
        { value: 'no time' },
        { timestamp: 1.7700000000021e15, value: 'é 模型 🚀', extra: [1, { a: null }] },
      ],
    }),
    zspan('c100000000000003', { annotations: [null, { timestamp: 1_770_000_000_003_000, value: 'after a null' }] }),
    zspan('c100000000000004', { annotations: [{ timestamp: 1_770_000_000_004_000, value: 'wr' }, { timestamp: 1_770_000_000_004_100, value: 'inference.first_token' }] }),
    zspan('c100000000000005', { annotations: [] }),
  ],
  // Zipkin writes annotations before tags: the error status is known only after the events, or before them when written so.
  'error spans: the error tag after and before the annotations, its odd values, escapes, the first-token event': [
    zipkinOrder('c200000000000001', { annotations: errorAnnotations(1), tags: { error: 'true' } }),
    zipkinOrder('c200000000000002', { annotations: errorAnnotations(2), tags: { 'otel.status_code': 'Error', error: 'validation: "bad" é' } }),
    zipkinOrder('c200000000000003', { annotations: errorAnnotations(3), tags: { error: 'false' } }),
    zipkinOrder('c200000000000004', { annotations: errorAnnotations(4), tags: { error: '' } }),
    zipkinOrder('c200000000000005', { annotations: errorAnnotations(5) }),
    zipkinOrder('c200000000000006', { annotations: [null, 'x', ...errorAnnotations(6)], tags: { error: 'true' } }),
    zspan('c200000000000007', { annotations: errorAnnotations(7), tags: { error: 'true' } }),
    zspan('c200000000000008', { annotations: errorAnnotations(8), tags: { error: 'false' } }),
    zipkinOrder('c200000000000009', { annotations: [...errorAnnotations(9), { timestamp: 1_770_000_000_009_900, value: 'inference.first_token' }], tags: { error: 'true' } }),
    zipkinOrder('c200000000000010', { annotations: [], tags: { error: 'true' } }),
  ],
  'an array of traces (an empty one first)': [[], [zspan('d000000000000001'), zspan('d000000000000002', { parentId: 'd000000000000001' })], [zspan('d000000000000003', { traceId: 'e'.repeat(32) })]],
  'unknown keys and a Zipkin v1-looking key after the first span': [zspan('e000000000000001', { debug: true, extra: { deep: [1, { a: null }] } }), zspan('e000000000000002', { binaryAnnotations: [] })],
};

/** Zipkin documents the scanner hands back. */
const ZIPKIN_HANDED: Record<string, unknown> = {
  'a single span object': zspan('f000000000000001'),
  'an empty array': [],
  'an incomplete span (no duration, skipped)': [zspan('f000000000000002'), zspan('f000000000000003', { duration: undefined })],
  'an escaped tag key': [zspan('f000000000000004', { tags: { 'line\nkey': 'x' } })],
  'a first span another family could claim (Jaeger spanID)': [zspan('f000000000000006', { spanID: 'f000000000000006', processID: 'p1' })],
  'an element of an array of traces that is not an array': [[zspan('f000000000000007')], { not: 'a trace' }],
  'base64 ids': [zspan(Buffer.from('f000000000000008', 'hex').toString('base64'))],
  'a tag the error tag set too': [zspan('f000000000000009', { tags: { error: 'boom', 'error.message': 'explicit' } })],
};

describe('Zipkin documents: byte scanner and full reader agree', () => {
  it.each(Object.entries(ZIPKIN_READ))('%s: read by the scanner, the same spans', async (name, doc) => {
    for (const file of spellings(`zipkin-${name.replace(/\W+/g, '-')}`, doc)) expect(await expectAgree(file), file).toEqual(READ_FAST);
  });

  it.each(Object.entries(ZIPKIN_HANDED))('%s: handed back, the same spans or error', async (name, doc) => {
    for (const file of spellings(`zipkin-${name.replace(/\W+/g, '-')}`, doc)) expect(await expectAgree(file), file).toEqual(HANDED_BACK);
  });

  it('annotations are the spans\' events, named as the Collector reads them back', async () => {
    const doc = ZIPKIN_READ['annotations as span events: names, the name|{attributes}|dropped form and lookalikes, unreadable times, odd entries'];
    const file = tmp.write('zipkin-annotation-events.json', JSON.stringify(doc));
    for (const reader of ['fast', 'full'] as const) {
      const spans = (await readAllSpans(file, { reader })).spans;
      const events = (id: string): string[] | undefined => spans.find((s) => s.spanId === id)!.events?.map((e) => `${e.name}@${e.timeNs}`);
      expect(events('c100000000000001'), reader).toBeUndefined();
      expect(events('c100000000000002'), reader).toEqual([
        'REQUEST_START@1770000000001100000',
        'QUEUE_START@1770000000001200000',
        'COMPUTE_START@1770000000001300000',
        'a|b@1770000000001400000',
        'x|{}|@1770000000001500000',
        'y|[1]|0@1770000000001600000',
        'z|{}|1x@1770000000001700000',
        'COMPUTE_END@1770000000001800000',
        '@1770000000001900000',
        '@1770000000002000000',
        'é 模型 🚀@1770000000002100000',
      ]);
      expect(events('c100000000000003'), reader).toEqual(['after a null@1770000000003000000']);
      const withFirstToken = spans.find((s) => s.spanId === 'c100000000000004')!;
      expect(withFirstToken.firstTokenNs, reader).toBe(1_770_000_000_004_100_000n);
      expect(events('c100000000000004'), reader).toEqual(['wr@1770000000004000000', 'inference.first_token@1770000000004100000']);
      expect(events('c100000000000005'), reader).toBeUndefined();
      const some = (await readAllSpans(file, { reader, events: new Set(['QUEUE_START', 'a|b', 'after a null']) })).spans;
      expect(some.map((s) => s.events?.map((e) => e.name)), reader).toEqual([undefined, ['QUEUE_START', 'a|b'], ['after a null'], undefined, undefined]);
      expect(some.find((s) => s.spanId === 'c100000000000004')!.firstTokenNs, reader).toBe(1_770_000_000_004_100_000n);
    }
    for (const spelling of spellings('zipkin-annotation-events-some', doc)) expect(await expectAgree(spelling, { events: new Set(['COMPUTE_START', '', 'wr']) }), spelling).toEqual(READ_FAST);
  });

  it('an error span keeps every event, the others the names asked for, whether its error tag comes after or before its annotations', async () => {
    const doc = ZIPKIN_READ['error spans: the error tag after and before the annotations, its odd values, escapes, the first-token event'];
    const byReader = await expectErrorSpanEvents('zipkin-error-span-annotations', doc, [true, true, false, true, false, true, true, false, true, true]);
    for (const [reader, spans] of byReader) {
      expect(spans[0]!.events?.map((e) => e.name), reader).toEqual(['QUEUE_START', '`inputs` tokens + `max_new_tokens` must be <= 512. Given: 500 `inputs` tokens and 20 `max_new_tokens`', 'no permits available', 'exception', 'llm.content.completion.chunk']);
      expect(spans[2]!.events?.map((e) => e.name), reader).toEqual(['QUEUE_START', 'llm.content.completion.chunk']);
    }
  });

  it("real exports' logs and annotations (Jaeger's ui_01, Brave's smartthings trace) are their spans' events", async () => {
    for (const reader of ['fast', 'full'] as const) {
      const jaeger = (await readAllSpans(fixture('jaeger-json/jaeger-uimodel-ui_01-edgecases.json'), { reader })).spans;
      // A log named by its event field, and one of other fields only (no name).
      expect(jaeger.filter((s) => s.events !== undefined).map((s) => s.events), reader).toEqual([
        [
          { name: 'some-event', timeNs: 1_485_467_191_639_875_000n },
          { name: '', timeNs: 1_485_467_191_639_875_000n },
        ],
      ]);
      const zipkin = (await readAllSpans(fixture('zipkin-json/zipkin-lens-smartthings-mobile-web-install.json'), { reader })).spans;
      const names = zipkin.flatMap((s) => (s.events ?? []).map((e) => e.name));
      // Only the spans with a duration are read (the others are incomplete); their 9 annotations are events.
      expect(names.sort(), reader).toEqual(['Body Part Received', 'Body Part Received', 'Body Part Received', 'Headers Received', 'Headers Received', 'Headers Received', 'Status Received', 'Status Received', 'Status Received']);
    }
  });

  it('Zipkin v1 is refused by both with the same error', async () => {
    const v1 = {
      binaryAnnotations: [zspan('f000000000000004', { binaryAnnotations: [{ key: 'a', value: 'b' }] })],
      endpoints: [zspan('f000000000000005', { annotations: [{ timestamp: 1, value: 'sr', endpoint: { serviceName: 'x' } }] })],
    };
    for (const [name, doc] of Object.entries(v1)) {
      for (const file of spellings(`zipkin-v1-${name}`, doc)) {
        expect(await expectAgree(file)).toBeUndefined();
        await expect(readAllSpans(file)).rejects.toThrow(/Zipkin v1/);
      }
    }
  });

  it('duplicate keys are handed back', async () => {
    const one = JSON.stringify([zspan('9000000000000001')]);
    const cases = [one.replace('"name":', '"name":"first","name":'), one.replace('"http.method":"GET"', '"http.method":"PUT","http.method":"GET"'), one.replace('"serviceName":"frontend"', '"serviceName":"a","serviceName":"frontend"')];
    for (const [i, body] of cases.entries()) {
      expect(body).not.toBe(one);
      expect(await expectAgree(tmp.write(`zipkin-dup-${i}.json`, body))).toEqual(HANDED_BACK);
    }
  });

  it('every Zipkin fixture, pretty, minified and on one line, and damaged ones', async () => {
    const dir = fixture('zipkin-json');
    const counts: Record<string, number> = { read: 0, handed: 0 };
    const sources: Buffer[] = [];
    for (const name of readdirSync(dir)) {
      const doc: unknown = JSON.parse(readFileSync(`${dir}/${name}`, 'utf8'));
      if (!name.includes('smartthings')) sources.push(readFileSync(`${dir}/${name}`));
      for (const file of [`${dir}/${name}`, ...spellings(`zipkin-fixture-${name}`, doc)]) {
        const fast = await expectAgree(file);
        if (fast?.lines === 1) counts['read']!++;
        else if (fast?.fallbacks === 1) counts['handed']!++;
      }
    }
    // The single span object and the smartthings trace (incomplete spans, skipped by the full reader) are handed back.
    expect(counts).toEqual({ read: 10, handed: 10 });
    sources.push(Buffer.from(JSON.stringify(ZIPKIN_READ['annotations as span events: names, the name|{attributes}|dropped form and lookalikes, unreadable times, odd entries'])));
    sources.push(Buffer.from(JSON.stringify(ZIPKIN_READ['error spans: the error tag after and before the annotations, its odd values, escapes, the first-token event'])));
    const rand = random(20261130);
    let fast = 0;
    for (let i = 0; i < 100; i++) {
      // Every other one read as the analyzer reads it (some names, every event of error spans).
      const got = await expectAgree(tmp.write(`zipkin-damaged-${i}.json`, damage(sources[Math.floor(rand() * sources.length)]!, rand)), i % 2 === 0 ? {} : { events: ERROR_SPAN_EVENTS });
      if (got?.lines === 1) fast++;
    }
    expect(fast).toBeGreaterThan(2);
  });
});

describe('documents past the whole-parse size (64 MiB)', () => {
  const big = tempDir();
  afterAll(() => big.cleanup());

  /** A document of `family` over 64 MiB: the demo's first trace again and again, each copy with its own trace id (`again`: and the first copy once more at the end, its spans duplicates). */
  function largeDocument(family: 'jaeger' | 'zipkin', again = false): { file: string; spans: number } {
    const source = JSON.parse(readFileSync(new URL(`../../examples/traces/inference-demo.${family}.json`, import.meta.url), 'utf8')) as unknown;
    const traceId = (i: number): string => i.toString(16).padStart(32, '0');
    const pieces: string[] = [];
    let bytes = 0;
    let spans = 0;
    if (family === 'jaeger') {
      const trace = (source as { data: { traceID: string; spans: { traceID: string }[] }[] }).data[0]!;
      const text = JSON.stringify(trace);
      for (let i = 1; bytes < 65 * 1024 * 1024; i++) {
        const copy = text.replaceAll(trace.traceID, traceId(i));
        pieces.push(copy);
        bytes += copy.length + 1;
        spans += trace.spans.length;
      }
      if (again) pieces.push(pieces[0]!);
      return { file: big.write('large.jaeger.json', `{"data":[${pieces.join(',')}]}`), spans };
    }
    const first = (source as { traceId: string }[])[0]!.traceId;
    const trace = (source as { traceId: string }[]).filter((s) => s.traceId === first);
    const text = trace.map((s) => JSON.stringify(s)).join(',');
    for (let i = 1; bytes < 65 * 1024 * 1024; i++) {
      const copy = text.replaceAll(first, traceId(i));
      pieces.push(copy);
      bytes += copy.length + 1;
      spans += trace.length;
    }
    if (again) pieces.push(pieces[0]!);
    return { file: big.write('large.zipkin.json', `[${pieces.join(',')}]`), spans };
  }

  it('OTLP on one line: read as a line, not streamed as a document (which took 31 s and 1.38 GB for 70 MB)', async () => {
    // The demo's lines, their resourceSpans joined again and again into one document on one line.
    const lines = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8').trim().split('\n');
    const elements = lines.map((l) => JSON.stringify((JSON.parse(l) as { resourceSpans: unknown[] }).resourceSpans).slice(1, -1));
    const perCopy = lines.reduce((n, l) => n + (l.match(/"spanId"/g)?.length ?? 0), 0);
    const pieces: string[] = [];
    let bytes = 0;
    let spans = 0;
    for (let copy = 0; bytes < 65 * 1024 * 1024; copy++) {
      // Each copy its own trace ids, so no span is a duplicate of another.
      const text = elements.join(',').replace(/"traceId":"([0-9a-f]{24})[0-9a-f]{8}"/g, (_, head: string) => `"traceId":"${head}${copy.toString(16).padStart(8, '0')}"`);
      pieces.push(text);
      bytes += text.length + 1;
      spans += perCopy;
    }
    const file = big.write('large.otlp.json', `{"resourceSpans":[${pieces.join(',')}]}`);
    const opened = await openTrace(file);
    try {
      expect(opened.layout).toBe('json-lines');
    } finally {
      await opened.close();
    }
    const read = await readAllSpans(file);
    expect(read.spans.length).toBe(spans);
    // Classified from its start, then scanned once by the byte scanner (not parsed at detection).
    expect(read.stats.fastReader).toEqual(READ_FAST);
  }, 120_000);

  it('JSON lines of 2 MB lines (the Collector writing large batches): detection peeks the first line, not the whole file', async () => {
    const lines = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8').trim().split('\n');
    const elements = lines.map((l) => JSON.stringify((JSON.parse(l) as { resourceSpans: unknown[] }).resourceSpans).slice(1, -1)).join(',');
    const perCopy = lines.reduce((n, l) => n + (l.match(/"spanId"/g)?.length ?? 0), 0);
    const out: string[] = [];
    let spans = 0;
    for (let line = 0; line < 12; line++) {
      // Each line two copies of the demo, every copy its own trace ids.
      const copies = [0, 1].map((k) => elements.replace(/"traceId":"([0-9a-f]{24})[0-9a-f]{8}"/g, (_, head: string) => `"traceId":"${head}${(line * 2 + k).toString(16).padStart(8, '0')}"`));
      out.push(`{"resourceSpans":[${copies.join(',')}]}`);
      spans += 2 * perCopy;
    }
    expect(out[0]!.length).toBeGreaterThan(1024 * 1024);
    const file = big.write('long-lines.otlp.jsonl', `${out.join('\n')}\n`);
    const opened = await openTrace(file);
    try {
      expect(opened.layout).toBe('json-lines');
      expect(opened.sniffed.moreLines).toBe(true);
      // Before, a first line past the first 1 MiB peek had the whole file read into one buffer at detection (a 212 MB file of 2 MB lines: 257 MB held).
      expect(opened.sniffed.opened.content.holdsAll()).toBe(false);
    } finally {
      await opened.close();
    }
    const read = await readAllSpans(file);
    expect(read.spans.length).toBe(spans);
  }, 120_000);

  it('OTLP on one line past 1 MiB: the byte scanner and the full parser agree, whole, cut short and damaged', async () => {
    const lines = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8').trim().split('\n');
    const elements = lines.map((l) => JSON.stringify((JSON.parse(l) as { resourceSpans: unknown[] }).resourceSpans).slice(1, -1)).join(',');
    const doc = `{"resourceSpans":[${elements},${elements.replace(/"traceId":"([0-9a-f]{24})[0-9a-f]{8}"/g, (_, head: string) => `"traceId":"${head}ffffffff"`)}]}`;
    expect(doc.length).toBeGreaterThan(1024 * 1024);
    expect(await expectAgree(big.write('one-line.otlp.json', doc))).toEqual(READ_FAST);
    expect(await expectAgree(big.write('one-line-newline.otlp.json', `${doc}\n`))).toEqual(READ_FAST);
    // Cut short: the same error from both, at the cut (the scanner hands the line back; the line reader refuses a file's only line, as detection refuses a shorter one).
    const cut = big.write('one-line-cut.otlp.json', doc.slice(0, doc.length - 200));
    expect(await expectAgree(cut)).toBeUndefined();
    expect((await outcome(cut, {})).error).toBe(`${cut}:1:${doc.length - 199}: expected a JSON document, got end of file (truncated?)`);
    const rand = random(20261130);
    for (let i = 0; i < 12; i++) await expectAgree(big.write(`one-line-damaged-${i}.otlp.json`, damage(Buffer.from(doc), rand)));
  }, 120_000);

  for (const family of ['jaeger', 'zipkin'] as const) {
    it(`${family}: scanned through a sliding window, neither read whole (which held the file) nor streamed element by element (20× the file)`, async () => {
      const { file, spans } = largeDocument(family);
      // Buffers held while it is read: a window and the stream's chunks, not the document's 65 MiB.
      const { spans: read, stats, most } = await readThroughWindow(file, (f) => readSpans(f));
      expect(read).toBe(spans);
      expect(stats.fastReader).toEqual({ lines: 1, fallbacks: 0 });
      expect(most).toBeLessThan(WINDOWED.windowBytes + 16 * 1024 * 1024);
    }, 60_000);
  }

  for (const family of ['jaeger', 'zipkin'] as const) {
    it(`${family}: handed on batch by batch as it is read, not made into records whole first (1.2 million records held at once for 630 MB); the full reader's spans and warnings`, async () => {
      // The first trace again at the end: its spans duplicates, checked across batches as the whole document was.
      const { file } = largeDocument(family, true);
      const gc = exposedGc();
      const heap = (): number => {
        gc();
        return process.memoryUsage().heapUsed;
      };
      const warnings: ReadWarning[] = [];
      const batches = readSpans(file, { onWarning: (w) => warnings.push(w) });
      const before = heap();
      const spans: SpanRecord[] = [];
      let atFirst: number | undefined;
      let next = await batches.next();
      for (; next.done !== true; next = await batches.next()) {
        spans.push(...next.value);
        atFirst ??= heap();
      }
      const held = heap();
      expect(next.value.fastReader).toEqual({ lines: 1, fallbacks: 0 });
      // Made into records whole before the first batch, the reader held them all then (what the loop holds at its end).
      expect(atFirst! - before).toBeLessThan((held - before) / 4);
      const full = await read(file, { reader: 'full' });
      expect(spans.length).toBe(full.spans.length);
      expect(text(spans)).toBe(text(full.spans));
      expect(text(warnings)).toBe(text(full.warnings));
    }, 180_000);
  }
});


describe('Jaeger and Zipkin documents through a sliding window (formats/_document-window.ts)', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('every Jaeger and Zipkin fixture and hand-written document, pretty and minified: what reading it whole gives, through windows of 64 B to 4 KiB', async () => {
    const docs: [string, unknown][] = [];
    for (const family of ['jaeger-json', 'zipkin-json']) {
      for (const name of readdirSync(fixture(family))) docs.push([`${family}-${name}`, JSON.parse(readFileSync(fixture(`${family}/${name}`), 'utf8'))]);
    }
    for (const doc of Object.values(READ)) docs.push([`jaeger-${docs.length}`, doc]);
    for (const doc of Object.values(ZIPKIN_READ)) docs.push([`zipkin-${docs.length}`, doc]);
    let taken = 0;
    let files = 0;
    for (const [name, doc] of docs) {
      // Pretty (LF and CRLF) and minified without a newline: a short one-line document with one is JSON lines to detection.
      for (const file of spellings(`window-${name.replace(/[^a-z0-9.-]/gi, '_')}`, doc).slice(0, 3)) {
        files++;
        if (await windowTakes(file)) taken++;
        await expectSameThroughWindows(file);
        await expectSameThroughWindows(file, { events: ERROR_SPAN_EVENTS });
      }
    }
    // All but bare traces, bare spans and envelopes whose first key is not `data` go through the window.
    expect(taken).toBeGreaterThan(files / 2);
  }, 180_000);

  it('damaged documents: through windows, the same spans or the same error as read whole', async () => {
    const rand = random(20261201);
    // Pretty-printed (a short one-line document with a newline is JSON lines to detection), and each bare Jaeger trace also in the query API's envelope.
    const docs = ['jaeger-json', 'zipkin-json'].flatMap((family) => readdirSync(fixture(family)).map((n) => JSON.parse(readFileSync(fixture(`${family}/${n}`), 'utf8')) as unknown));
    const enveloped = docs.filter((d) => isObject(d) && Array.isArray(d['spans'])).map((d) => ({ data: [d] }));
    const sources = [...docs, ...enveloped].map((d) => Buffer.from(JSON.stringify(d, null, 1)));
    let taken = 0;
    for (let i = 0; i < 120; i++) {
      const file = dir.write(`damaged-${i}.json`, damage(sources[Math.floor(rand() * sources.length)]!, rand));
      if (await windowTakes(file)) taken++;
      await expectSameThroughWindows(file, i % 2 === 0 ? {} : { events: ERROR_SPAN_EVENTS });
    }
    expect(taken).toBeGreaterThan(20);
  }, 180_000);

  it('gzip: the window reads the inflated stream', async () => {
    for (const family of ['jaeger', 'zipkin']) {
      const doc = JSON.parse(readFileSync(new URL(`../../examples/traces/inference-demo.${family}.json`, import.meta.url), 'utf8')) as unknown;
      const file = dir.write(`demo.${family}.json.gz`, gzipSync(Buffer.from(JSON.stringify(doc, null, 2))));
      expect(await windowTakes(file)).toBe(true);
      await expectSameThroughWindows(file);
    }
  });

  it('a document the scanner gives back late (a base64 span id in its last trace): read by the full reader from a fresh open, the spans handed on not handed on again', async () => {
    const source = JSON.parse(readFileSync(new URL('../../examples/traces/inference-demo.jaeger.json', import.meta.url), 'utf8')) as { data: { spans: { spanID: string }[] }[] };
    const traces = Array.from({ length: 40 }, (_, i) => JSON.parse(JSON.stringify(source.data[0]).replaceAll(/"traceID":"[0-9a-f]{24}/g, `"traceID":"${i.toString(16).padStart(24, '0')}`)) as { spans: { spanID: string }[] });
    traces.at(-1)!.spans[0]!.spanID = Buffer.from(traces.at(-1)!.spans[0]!.spanID, 'hex').toString('base64');
    const file = dir.write('late-fallback.jaeger.json', JSON.stringify({ data: traces }));
    expect(await windowTakes(file)).toBe(true);
    const full = await outcome(file, { reader: 'full' });
    for (const sizes of WINDOWS) {
      const through = await withWindow(sizes, () => outcome(file, { batchSize: 7 }));
      expect(through.fast).toEqual(HANDED_BACK);
      expect(text(through.spans)).toBe(text(full.spans));
      expect(through.stats).toBe(full.stats);
    }
  });
});

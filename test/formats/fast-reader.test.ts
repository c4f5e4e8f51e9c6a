/**
 * The byte-scanning OTLP JSON lines reader (formats/_otlp-fast.ts) and the full reader
 * (JSON.parse per line) agree on every fixture, on lines written in every spelling the full
 * reader accepts, and on every fuzzed input: same spans, same stats and warnings, same errors.
 * With the analyzer's attribute projection, every span classifies the same way.
 */

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readSpanBatches, ScannedSpans, SCANNED, TraceFormatError } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import type { SpanRecord } from '../../src/model/span.js';
import { classify } from '../../src/analyzer/_span-columns.js';
import { damage, fixture, FIXTURE_FILES, random, tempDir, jsonText, readOutcome } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const text = jsonText;
const outcome = readOutcome;

async function expectAgree(file: string, extra: ReadOptions = {}): Promise<{ lines: number; fallbacks: number } | undefined> {
  const full = await outcome(file, { ...extra, reader: 'full' });
  const fast = await outcome(file, { ...extra, reader: 'fast' });
  expect(fast.error, file).toBe(full.error);
  expect(fast.stats, file).toBe(full.stats);
  expect(text(fast.spans), file).toBe(text(full.spans));
  // The analyzer's projection: fewer attributes on phase spans, the same classification, the rest exact.
  const projected = await outcome(file, { ...extra, reader: 'fast', attributes: 'analysis' });
  expect(projected.error, file).toBe(full.error);
  expect(projected.stats, file).toBe(full.stats);
  expect(projected.spans?.length, file).toBe(full.spans?.length);
  (full.spans ?? []).forEach((want, i) => {
    const got = projected.spans![i]!;
    expect(text({ ...got, attributes: {} }), file).toBe(text({ ...want, attributes: {} }));
    expect(classify(got), file).toEqual(classify(want));
    for (const [k, v] of Object.entries(got.attributes)) expect(want.attributes[k], file).toEqual(v);
    const role = classify(want);
    if (role.request || role.client || role.phase === undefined) expect(got.attributes, file).toEqual(want.attributes);
  });
  // Scanned rows (what the analyzer reads): the same spans as the projected records, attribute
  // order included, once each row is made a record again; each column row classified alike.
  const scanned = await scannedOutcome(file, extra);
  expect(scanned.error, file).toBe(projected.error);
  expect(scanned.stats, file).toBe(projected.stats);
  expect(text(scanned.spans), file).toBe(text(projected.spans));
  return fast.fast;
}

/** What readSpanBatches gave, every row made a record again; its column rows checked against `classify`. */
async function scannedOutcome(file: string, options: ReadOptions): Promise<{ spans?: SpanRecord[]; stats?: string; error?: string; rows: number }> {
  const spans: SpanRecord[] = [];
  let rows = 0;
  try {
    const reader = readSpanBatches(file, options);
    for (let next = await reader.next(); ; next = await reader.next()) {
      if (next.done === true) {
        const { fastReader: _f, ...rest } = next.value;
        return { spans, stats: text(rest), rows };
      }
      const batch = next.value;
      if (!(batch instanceof ScannedSpans)) {
        spans.push(...batch);
        continue;
      }
      for (let i = 0; i < batch.length; i++) {
        const record = batch.record(i);
        spans.push(record);
        if (batch.records[i] !== undefined) continue;
        rows++;
        const role = classify(record);
        expect(role.phase, file).toBe(batch.phases[i]! < 0 ? undefined : record.attributes['inference.phase']);
        expect((batch.flags[i]! & SCANNED.REQUEST) !== 0, file).toBe(role.request);
        expect((batch.flags[i]! & SCANNED.CLIENT) !== 0, file).toBe(role.client);
        expect(batch.batchValues[i], file).toBe(record.attributes['inference.batch.size']);
      }
    }
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return { error: error.message, rows };
  }
}

const HEX_TRACE = '5b8efff798038103d269b633813fc60c';
const B64_TRACE = Buffer.from(HEX_TRACE, 'hex').toString('base64');

/** One OTLP JSON line in one of the spellings the full reader accepts, chosen by `rand`. */
function variantLine(i: number, rand: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const spanId = (n: number): string => (0x1000 + n).toString(16).padStart(16, '0');
  const t0 = 1_717_171_717_123_456_789n + BigInt(i) * 1_000_000n;
  const snake = rand() < 0.1;
  const k = (camel: string, snakeCase: string): string => (snake ? snakeCase : camel);
  const time = (ns: bigint): unknown => (rand() < 0.1 ? Number(ns) : `${ns}`);
  const attr = (key: string, value: unknown): unknown => ({ key, value });
  const phase = pick(['queue', 'preprocess', 'compute', 'decode', 'bogus', undefined]);
  const attrs: unknown[] = [];
  if (phase !== undefined) attrs.push(attr('inference.phase', { stringValue: phase }));
  if (rand() < 0.5) attrs.push(attr('inference.batch.size', pick([{ intValue: '8' }, { intValue: 4 }, { doubleValue: 2 }, { stringValue: '3' }])));
  if (rand() < 0.3) attrs.push(attr('inference.model.name', { stringValue: pick(['resnet', 'llama\\u00e9', 'bert']) }));
  if (rand() < 0.2) attrs.push(attr('inference.role', { stringValue: 'client' }));
  if (rand() < 0.5) attrs.push(attr(pick(['gpu.util', 'http.route', 'caf\u00e9', 'x']), pick([{ doubleValue: 0.5 }, { boolValue: true }, { arrayValue: { values: [{ intValue: '1' }] } }, { kvlistValue: { values: [] } }, {}])));
  if (rand() < 0.05) attrs.push('not an object');
  if (rand() < 0.05) attrs.push({ key: 'inference.phase', value: { stringValue: 'compute' }, extra: [1, { a: null }] });
  const span: Record<string, unknown> = {
    [k('traceId', 'trace_id')]: pick([HEX_TRACE, HEX_TRACE, HEX_TRACE, B64_TRACE, HEX_TRACE.toUpperCase(), '']),
    [k('spanId', 'span_id')]: pick([spanId(i), spanId(i), spanId(i), '0000000000000000', Buffer.from(spanId(i), 'hex').toString('base64')]),
    [k('parentSpanId', 'parent_span_id')]: pick([spanId(0), '', undefined, '0000000000000000', null]),
    name: pick(['predict', 'pre\\"dict', 'caf\u00e9 \u{1f600}', 'tab\there', null, 7]),
    kind: pick([1, 2, 3, 'SPAN_KIND_CLIENT', 'SPAN_KIND_SERVER', 9, null, undefined]),
    [k('startTimeUnixNano', 'start_time_unix_nano')]: time(t0),
    [k('endTimeUnixNano', 'end_time_unix_nano')]: pick([time(t0 + 5_000_000n), time(t0 + 5_000_000n), time(t0 - 1n), '', 'x']),
    attributes: pick([attrs, attrs, attrs, null, {}]),
    status: pick([{}, { code: 2 }, { code: 'STATUS_CODE_ERROR', message: 'x' }, { code: 1 }, undefined]),
    flags: 257,
    droppedAttributesCount: 0,
    futureField: { nested: [1, 2, { deep: 'value' }] },
  };
  if (rand() < 0.3) span['events'] = [{ [k('timeUnixNano', 'time_unix_nano')]: time(t0 + 1_000_000n), name: pick(['inference.first_token', 'COMPUTE_START', 'other']) }, 'junk'];
  if (rand() < 0.1) span['links'] = [{ traceId: pick([HEX_TRACE, B64_TRACE]), spanId: spanId(3) }];
  for (const key of Object.keys(span)) if (span[key] === undefined) delete span[key];
  // Any field order.
  const entries = Object.entries(span).sort(() => rand() - 0.5);
  const spans = [Object.fromEntries(entries)];
  if (rand() < 0.2) spans.push({ ...Object.fromEntries(entries), spanId: spanId(i + 5000) });
  const resource = { attributes: [attr('service.name', { stringValue: pick(['model-server', 'gate\\nway']) })] };
  const scopes = [{ scope: { name: 'x', version: '1' }, spans }];
  const rs = rand() < 0.2 ? { [k('scopeSpans', 'scope_spans')]: scopes, resource } : { resource, [k('scopeSpans', 'scope_spans')]: scopes, schemaUrl: '' };
  const doc = rand() < 0.05 ? { batches: [rs] } : { [k('resourceSpans', 'resource_spans')]: [rs], extra: true };
  let line = JSON.stringify(doc).replace(/\\\\/g, '\\');
  // Whitespace, as a pretty printer on one line would leave it.
  if (rand() < 0.1) line = line.replace(/,/g, ', ').replace(/:/g, ' : ');
  if (rand() < 0.05) line = `${line} `;
  if (rand() < 0.03) line = line.replace('"spans"', '"spans":[],"spans"');
  return line;
}

function variantFile(seed: number, lines: number): Buffer {
  const rand = random(seed);
  const out: string[] = [];
  for (let i = 1; i <= lines; i++) out.push(variantLine(i, rand));
  return Buffer.from(`${out.join(rand() < 0.5 ? '\n' : '\r\n')}\n`);
}

/**
 * One OTLP JSON line in the layout the Collector's file exporter writes (minified, span fields in
 * proto order, empty ones left out): the layout the fast reader matches in one pass per span and
 * per attribute list. Values vary over what that layout may hold and what it may not (which
 * sends a span to the general rules or the line to the full reader): escapes, \u escapes and
 * surrogate pairs in kept strings, escaped keys, duplicate keys, uppercase or zero ids, times
 * as numbers (exponent form too), 1 to 22 digits, kinds past the enum, every scalar value kind.
 */
function exporterLine(i: number, rand: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  /** Mostly one of `usual`, rarely one of `odd` (each odd value sends its line elsewhere, so they stay rare). */
  const or = <T>(usual: readonly T[], odd: readonly T[]): T => (rand() < 0.03 ? pick(odd) : pick(usual));
  const hex = (n: number, chars: number): string => {
    let out = '';
    for (let k = 0; k < chars; k++) out += '0123456789abcdef'[Math.floor(rand() * 16)];
    return n === 0 ? out : out.slice(0, chars - 4) + (n % 0x10000).toString(16).padStart(4, '0');
  };
  const trace = or([hex(i % 7, 32), hex(0, 32)], ['0'.repeat(32), hex(1, 32).toUpperCase(), hex(1, 30)]);
  const spans: string[] = [];
  const count = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < count; k++) {
    // 15/16 digits (where a double stops being exact), 19 (the most under 2^64) and 1.
    const t0 = pick([1_772_460_000_017_410_092n, 999_999_999_999_999n, 1_000_000_000_000_000n, 9_999_999_999_999_999_000n, 1n]) + BigInt(i * 1000 + k);
    const time = (ns: bigint): string => or([`"${ns}"`], [`${ns}`, `${Number(ns).toExponential()}`, `"00${ns}"`, `"${ns}0"`, '"0"', '""', '"12a"']);
    const str = (): string => pick(['predict', 'decode request', 'caf\u00e9', 'pre\\"dict', 'tab\\there', '\\u00e9t\\u00E9', '\\ud83d\\ude00 smile', 'x'.repeat(60), '', 'aXcdeYgh', 'aYcdeXgh']);
    const fields: string[] = [`"traceId":"${trace}"`, `"spanId":"${or([hex(k + 1, 16)], ['0'.repeat(16), hex(3, 16).toUpperCase()])}"`];
    if (rand() < 0.1) fields.push(`"traceState":"${pick(['a=b', 'k=\\"v\\"'])}"`);
    if (rand() < 0.8) fields.push(`"parentSpanId":"${or([hex(9, 16), hex(9, 16), '', '0'.repeat(16)], [hex(9, 15)])}"`);
    if (rand() < 0.7) fields.push(`"flags":${or(['1', '257', '0'], ['-1', '1.5'])}`);
    fields.push(`"name":"${str()}"`);
    if (rand() < 0.9) fields.push(`"kind":${or(['1', '2', '3', '0', '5', '6', '9'], ['12', '"SPAN_KIND_CLIENT"', '2.0', '1e0', 'null'])}`);
    fields.push(`"startTimeUnixNano":${time(t0)}`);
    fields.push(`"endTimeUnixNano":${time(t0 + or([5_000_000n, 0n, 1n], [-1n]))}`);
    if (rand() < 0.9) {
      const entries: string[] = [];
      const n = Math.floor(rand() * 4);
      if (rand() < 0.8) entries.push(`{"key":"inference.phase","value":{"stringValue":"${pick(['queue', 'compute', 'decode', 'bogus', 'comp\\u0075te'])}"}}`);
      for (let a = 0; a < n; a++) {
        const key = or(['inference.batch.size', 'inference.model.name', 'inference.role', 'http.route', 'caf\u00e9', 'x'], ['esc\\"aped', 'inference.ph\\u0061se']);
        const value = pick([
          `{"stringValue":"${str()}"}`,
          `{"stringValue":"client"}`,
          `{"intValue":"${pick(['8', '-5', '007', '12345678901234567890', ' 3', '1e3', '', '0', '999999999999999', '9007199254740991', '9007199254740993', '1\\u0030'])}"}`,
          `{"intValue":${pick(['4', '-0', '9007199254740993'])}}`,
          `{"doubleValue":${pick(['0.5', '2', '1e300', '-0.0', '"NaN"'])}}`,
          `{"boolValue":${pick(['true', 'false'])}}`,
          '{}',
          '{"arrayValue":{"values":[{"intValue":"1"}]}}',
          '{"stringValue":"a","intValue":"1"}',
        ]);
        entries.push(or([`{"key":"${key}","value":${value}}`], [`{"value":${value},"key":"${key}"}`, `{"key":"${key}","value":${value},"key":"y"}`]));
      }
      fields.push(`"attributes":[${entries.join(',')}]`);
    }
    if (rand() < 0.1) fields.push(`"droppedAttributesCount":${pick(['1', '0'])}`);
    if (rand() < 0.1) fields.push(`"events":[{"timeUnixNano":"${t0 + 10n}","name":"inference.first_token"}]`);
    if (rand() < 0.05) fields.push(`"droppedLinksCount":2`);
    if (rand() < 0.9) fields.push(`"status":${pick(['{}', '{}', '{"code":2}', '{"code":1}', '{"code":"STATUS_CODE_ERROR"}', '{"message":"x","code":2}'])}`);
    // Rarely a duplicate field (JSON.parse keeps the last).
    if (rand() < 0.03) fields.push(pick([`"name":"again"`, `"spanId":"${hex(7, 16)}"`, '"kind":2']));
    spans.push(`{${fields.join(',')}}`);
  }
  const service = pick(['inference-api', 'caf\\u00e9']);
  return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${service}"}}]},"scopeSpans":[{"scope":{"name":"s","version":"1"},"spans":[${spans.join(',')}]}]}]}`;
}

/** Exporter-layout lines, some damaged one by one (a byte changed, a token spliced in, cut short). */
function exporterFile(seed: number, lines: number, damaged: number): Buffer {
  const rand = random(seed);
  const out: string[] = [];
  for (let i = 1; i <= lines; i++) {
    let line = exporterLine(i, rand);
    if (rand() < damaged) {
      const at = Math.floor(rand() * line.length);
      const kind = Math.floor(rand() * 3);
      if (kind === 0) line = line.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + line.slice(at + 1);
      else if (kind === 1) line = line.slice(0, at) + ['"x"', '1', 'null', '[]', '{}', ',', '"', 'true', '\\', ' '][Math.floor(rand() * 10)] + line.slice(at);
      else line = line.slice(0, at);
    }
    out.push(line);
  }
  return Buffer.from(`${out.join('\n')}\n`);
}

describe('fast and full OTLP JSON lines readers', () => {
  it.each(FIXTURE_FILES)('agree on %s', async (source) => {
    await expectAgree(fixture(source));
  });

  it('agree on the demo export, every line of which takes the fast path', async () => {
    const file = fixture('../../../examples/traces/inference-demo.otlp.jsonl');
    const counts = await expectAgree(file);
    expect(counts?.lines).toBeGreaterThan(10);
    expect(counts?.fallbacks).toBe(0);
    // Every span of the demo is in our convention: all of them come as column rows, the first
    // line's too (detection parsed it, but the byte scanner reads it: read.ts familyOfLineOne).
    const scanned = await scannedOutcome(file, {});
    expect(counts?.lines).toBe(readFileSync(file, 'utf8').trim().split('\n').length);
    expect(scanned.rows).toBe(scanned.spans!.length);
  });

  it('agree on lines in every spelling the full reader accepts; the plain ones take the fast path, the others fall back line by line', async () => {
    let fast = 0;
    let fallbacks = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const counts = await expectAgree(tmp.write(`variants-${seed}.jsonl`, variantFile(seed, 300)));
      fast += counts?.lines ?? 0;
      fallbacks += counts?.fallbacks ?? 0;
    }
    expect(fast).toBeGreaterThan(50);
    expect(fallbacks).toBeGreaterThan(100);
  });

  it("agree on lines in the exporters' layout (the fast reader's one-pass path), plain, odd and damaged line by line", async () => {
    let fast = 0;
    let fallbacks = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const counts = await expectAgree(tmp.write(`exporter-${seed}.jsonl`, exporterFile(seed, 120, seed % 2 === 0 ? 0.3 : 0)));
      fast += counts?.lines ?? 0;
      fallbacks += counts?.fallbacks ?? 0;
    }
    expect(fast).toBeGreaterThan(100);
    expect(fallbacks).toBeGreaterThan(50);
  });

  it('agree on a very long line (thousands of spans, past the 1 MiB read chunk)', async () => {
    const rand = random(7);
    const spans: string[] = [];
    for (let i = 0; i < 4000; i++) spans.push(JSON.stringify(JSON.parse(exporterLine(i, rand)).resourceSpans[0].scopeSpans[0].spans[0]));
    const line = `{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[${spans.join(',')}]}]}]}`;
    expect(line.length).toBeGreaterThan(1 << 20);
    const first = exporterLine(0, random(1));
    await expectAgree(tmp.write('long-line.jsonl', `${first}\n${line}\n${first}\n`));
  });

  it("agree on the servers' wrappers (Jaeger API v3 `result`, Tempo v2 `trace`, Tempo v1 `batches`) and their combinations; a document in one wrapper takes the fast path, an ambiguous one falls back", async () => {
    const rand = random(20261201);
    // `"resourceSpans":[…]` of an exporter line, and the same list under another key.
    const lists = Array.from({ length: 6 }, (_, i) => exporterLine(i + 1, rand).slice(1, -1));
    const batches = (l: string): string => l.replace('"resourceSpans"', '"batches"');
    const single = [
      (l: string) => `{"result":{${l}}}`,
      (l: string) => `{"trace":{${l}}}`,
      (l: string) => `{${batches(l)}}`,
      (l: string) => `{"result":{${batches(l)}}}`,
      (l: string) => `{"result":null,"trace":{${l}}}`,
      (l: string) => `{"trace":{"result":{${l}}}}`,
      (l: string) => `{"status":"ok","result":{"x":[1,{"y":2}],${l}},"errors":[]}`,
    ];
    const pretty = (l: string): string => `{\n  "result": {\n    ${l}\n  }\n}`;
    // What the full reader settles by the keys' precedence, not their order, or refuses.
    const ambiguous = [
      (l: string) => `{"result":{${l}},${l}}`,
      (l: string) => `{${l},"result":{${l}}}`,
      (l: string) => `{"trace":{${l}},"result":{${l}}}`,
      (l: string) => `{"result":{${l}},${batches(l)}}`,
      (l: string) => `{"result":{${l.replace('"resourceSpans"', '"resource_spans"')}}}`,
      (l: string) => `{"result":{}}`,
      (l: string) => `{"result":{"scopeSpans":[]}}`,
      (l: string) => `{"result":{"result":{"result":{"result":{${l}}}}}}`,
    ];
    // After a plain first line, so that detection takes each file as OTLP whatever the others are
    // (its classifier looks one wrapper deep). Wrapped, each line takes the fast path exactly when
    // it does plain (some exporter lines are odd on their own).
    const file = (name: string, wrap: (l: string) => string): string => tmp.write(name, `{${lists[0]}}\n${lists.slice(1).map(wrap).join('\n')}\n`);
    const plain = await expectAgree(file('plain.jsonl', (l) => `{${l}}`));
    expect(plain?.lines).toBeGreaterThan(0);
    for (const [k, wrap] of single.entries()) expect(await expectAgree(file(`wrapped-${k}.jsonl`, wrap)), `wrapped-${k}`).toEqual(plain);
    for (const [k, wrap] of ambiguous.entries()) expect((await expectAgree(file(`ambiguous-${k}.jsonl`, wrap)))?.lines, `ambiguous-${k}`).toBe(0);
    // A document past 1 MiB (read from its bytes, not parsed): one wrapper, pretty-printed; several
    // concatenated with the same wrapper (fast) or another (the notes' order: the full reader).
    // The demo export's resources (every one of its lines takes the fast path), past 1 MiB.
    const demo = readFileSync(fixture('../../../examples/traces/inference-demo.otlp.jsonl'), 'utf8').trim().split('\n');
    const resources = demo.map((line) => line.replace(/^\{"resourceSpans":\[/, '').replace(/\]\}$/, '')).join(',\n');
    // Twice, the second time under other trace ids.
    const big = `${resources},\n${resources.replace(/"traceId":"([0-9a-f]{24})[0-9a-f]{8}"/g, (_, head: string) => `"traceId":"${head}ffffffff"`)}`;
    const document = (wrap: (l: string) => string): string => wrap(`"resourceSpans":[\n${big}\n]`);
    expect(document(single[0]!).length).toBeGreaterThan(1 << 20);
    const documents = {
      'wrapped-document.json': [document(pretty), { lines: 1, fallbacks: 0 }],
      'batches-document.json': [document(single[2]!), { lines: 1, fallbacks: 0 }],
      'wrapped-documents.json': [`${document(single[0]!)}\n${document(single[0]!)}\n`, { lines: 1, fallbacks: 0 }],
      'mixed-documents.json': [`${document((l) => `{${l}}`)}\n${document(single[2]!)}\n`, { lines: 0, fallbacks: 1 }],
    } as const;
    for (const [name, [content, counts]] of Object.entries(documents)) expect(await expectAgree(tmp.write(name, content)), name).toEqual(counts);
  });

  it('agree on resources in every layout (service.name first, repeated, empty, not a string, among others)', async () => {
    const entry = (key: string, value: string): string => `{"key":"${key}","value":${value}}`;
    const resources = [
      `{"attributes":[${entry('service.name', '{"stringValue":"api"}')}]}`,
      `{"attributes":[${entry('host.name', '{"stringValue":"h"}')},${entry('service.name', '{"stringValue":"api"}')}]}`,
      // The first service.name wins, even an empty one (no service), as the full reader reads it.
      `{"attributes":[${entry('service.name', '{"stringValue":"first"}')},${entry('service.name', '{"stringValue":"second"}')}]}`,
      `{"attributes":[${entry('service.name', '{}')},${entry('service.name', '{"stringValue":"second"}')}]}`,
      `{"attributes":[${entry('host.name', '{}')},${entry('service.name', '{"stringValue":"api"}')}]}`,
      `{"attributes":[${entry('service.name', '{"intValue":"7"}')}]}`,
      `{"attributes":[${entry('service.name', '{"boolValue":false}')}]}`,
      `{"attributes":[${entry('service.name', '{"doubleValue":1.5e3}')}]}`,
      `{"attributes":[${entry('service.name', '{"stringValue":""}')}]}`,
      `{"attributes":[${entry('service.name', '{"stringValue":"caf\\u00e9"}')}]}`,
      `{"attributes":[]}`,
      `{"attributes":[${entry('service.name', '{"stringValue":"api"}')}],"droppedAttributesCount":1}`,
      `{"droppedAttributesCount":1,"attributes":[${entry('service.name', '{"stringValue":"api"}')}]}`,
      `{"attributes":[${entry('service.name', '{"stringValue":"api"}')}],"attributes":[]}`,
      `{"attributes":[{"value":{"stringValue":"api"},"key":"service.name"}]}`,
      `{"attributes":[${entry('service.name', '{"arrayValue":{"values":[{"stringValue":"a"}]}}')}]}`,
      `{"attributes":{}}`,
      `{}`,
      `null`,
    ];
    const rand = random(11);
    const lines = resources.map((resource, i) => {
      const line = exporterLine(i, rand);
      return line.replace(/"resource":\{"attributes":\[\{"key":"service.name","value":\{"stringValue":"[^"]*"\}\}\]\}/, `"resource":${resource}`);
    });
    expect(lines.every((line, i) => line.includes(`"resource":${resources[i]!}`))).toBe(true);
    const counts = await expectAgree(tmp.write('resources.jsonl', `${lines.join('\n')}\n`));
    expect(counts?.lines).toBeGreaterThan(10);
  });

  it('agree on the order of the leniencies a line notes: kind names and times written as numbers, whichever a span meets first', async () => {
    // The fast reader counts a line's leniencies and notes them once the line succeeded; it
    // noted times written as numbers before kind names always, where the full reader notes each
    // as it meets it (a span's times, its events' too, before its kind): with a kind name in an
    // earlier span than the first number time, the stats listed the two the other way round.
    const T = '5b8efff798038103d269b633813fc60c';
    const span = (id: string, kind: string, start: string, end: string, events = ''): string =>
      `{"traceId":"${T}","spanId":"${id}","name":"a","kind":${kind},"startTimeUnixNano":${start},"endTimeUnixNano":${end}${events}}`;
    const line = (...spans: string[]): string => `{"resourceSpans":[{"scopeSpans":[{"spans":[${spans.join(',')}]}]}]}`;
    const named = span('1111111111111111', '"SPAN_KIND_SERVER"', '"1772460000017410092"', '"1772460000017810092"');
    const lines = {
      'a kind name, then number times': line(named, span('2222222222222222', '1', '1772460000017410092', '1772460000017810092')),
      'a kind name, then a number event time': line(named, span('2222222222222222', '1', '"1772460000017410092"', '"1772460000017810092"', ',"events":[{"timeUnixNano":1772460000017510092}]')),
      'both in one span, the kind written first': line(span('2222222222222222', '"SPAN_KIND_SERVER"', '1772460000017410092', '1772460000017810092')),
      'number times, then a kind name': line(span('2222222222222222', '1', '1772460000017410092', '1772460000017810092'), named),
    };
    for (const [name, body] of Object.entries(lines)) {
      // After a line with neither (detection's, where it found the family).
      const file = tmp.write(`note-order-${name.replace(/\W+/g, '-')}.jsonl`, `{"resourceSpans":[]}\n${body}\n`);
      expect(await expectAgree(file), name).toEqual({ lines: 2, fallbacks: 0 });
      expect((await outcome(file, {})).stats, name).toMatch(/"leniencies":\["(span kinds|int64 times)/);
    }
  });

  it('agree on times with one character next to the digits in any of their 19 places', async () => {
    // Times are read four digits at a time: every place, with the characters just outside '0'–'9'.
    const rand = random(12);
    const lines: string[] = [];
    for (let at = 0; at < 19; at++) {
      for (const c of ['/', ':', 'a', ' ', '\u00b2', '0']) {
        const time = '1772460000017410092'.split('');
        time[at] = c;
        // The end well after any start: a digit misread must not be caught by the order check instead.
        const line = exporterLine(at, rand)
          .replace(/"startTimeUnixNano":"?[^,]*,/, `"startTimeUnixNano":"${time.join('')}",`)
          .replace(/"endTimeUnixNano":"?[^,]*,/, '"endTimeUnixNano":"1999999999999999999",');
        lines.push(line);
      }
    }
    const counts = await expectAgree(tmp.write('times.jsonl', `${lines.join('\n')}\n`));
    expect(counts?.fallbacks).toBeGreaterThan(19 * 4);
  });

  it('agree on ids with one character just outside the hex digits in any of their places, each after the id it differs from', async () => {
    // Ids are checked four bytes at a time, and found again in a table by their last four bytes:
    // every place of each id gets the characters just outside '0'-'9' and 'a'-'f' (and two
    // inside), on a line right after one with the id unchanged, so a changed id before its last
    // four bytes is looked up where the unchanged one is kept. A span's own id is looked up among
    // parent ids: its variants come from the parent id. All-zero ids: no parent, or the full reader's.
    const TRACE = '5b8efff798038103d269b633813fc60c';
    const PARENT = 'eee19b7ec3c1b173';
    const span = (traceId: string, spanId: string, parentSpanId: string): string =>
      `{"traceId":"${traceId}","spanId":"${spanId}","parentSpanId":"${parentSpanId}","flags":1,"name":"predict","kind":1,"startTimeUnixNano":"1772460000017410092","endTimeUnixNano":"1772460000017810092",` +
      '"attributes":[{"key":"inference.phase","value":{"stringValue":"queue"}}],"status":{}}';
    const line = (s: string): string => `{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[${s}]}]}]}`;
    const ids: Record<string, (id: string) => string> = {
      traceId: (id) => line(span(id, 'aaaabbbbccccdddd', PARENT)),
      spanId: (id) => line(span(TRACE, id, PARENT)),
      parentSpanId: (id) => line(span(TRACE, 'aaaabbbbccccdddd', id)),
    };
    const lines: string[] = [];
    let bad = 0;
    for (const [field, withId] of Object.entries(ids)) {
      const id = field === 'traceId' ? TRACE : PARENT;
      for (let at = 0; at < id.length; at++) {
        for (const c of ['/', ':', '`', 'g', 'A', 'F', '0', 'f']) {
          lines.push(withId(id), withId(`${id.slice(0, at)}${c}${id.slice(at + 1)}`));
          if (!'0f'.includes(c)) bad++;
        }
      }
      lines.push(withId('0'.repeat(id.length)));
      if (field !== 'parentSpanId') bad++;
    }
    const counts = await expectAgree(tmp.write('ids.jsonl', `${lines.join('\n')}\n`));
    // Exactly the lines with a character outside lowercase hex, or an all-zero trace or span id,
    // fall back.
    expect(counts).toEqual({ lines: lines.length - bad, fallbacks: bad });
  });

  it('agree on names, keys and values that begin alike (longer, shorter, escaped or non-ASCII after the same bytes)', async () => {
    // Strings read before are found again by their first bytes and what follows them: each of
    // these comes right after one it shares its first 24 bytes with, and differs after them.
    const base = 'x'.repeat(30);
    const variants = [`${base.slice(0, 24)}abcdef`, `${base}y`, base.slice(0, 26), `${base}\\"`, `${base.slice(0, 28)}\\u0078\\u0078`, `${base}\u00e9`, `${base.slice(0, 29)}\\n`];
    const span = (name: string, i: number): string =>
      `{"traceId":"${'ab'.repeat(15)}${(i + 16).toString(16)}","spanId":"${'cd'.repeat(7)}${(i + 16).toString(16)}","name":"${name}","kind":1,"startTimeUnixNano":"1772460000017410092","endTimeUnixNano":"1772460000017810092","attributes":[{"key":"${name}","value":{"stringValue":"${name}"}},{"key":"inference.phase","value":{"stringValue":"queue"}}],"status":{}}`;
    const line = (name: string, i: number): string => `{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[${span(name, i)}]}]}]}`;
    const lines = [line('first', 0)];
    for (const v of variants) lines.push(line(base, lines.length), line(v, lines.length));
    const counts = await expectAgree(tmp.write('alike.jsonl', `${lines.join('\n')}\n`));
    // Only the three with an escape in a key leave the fast path (an escaped key could spell a known one).
    expect(counts).toEqual({ lines: lines.length - 3, fallbacks: 3 });
  });

  it("agree on the exporters' layout with any one letter of a field name changed", async () => {
    // The layout's field names are compared eight bytes at a time (overlapping at the end):
    // a change at any place in any of them must be seen, and the line read by the general rules.
    const span =
      '{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","traceState":"a=b","parentSpanId":"eee19b7ec3c1b173","flags":1,"name":"predict","kind":2,' +
      '"startTimeUnixNano":"1772460000017410092","endTimeUnixNano":"1772460000017810092","attributes":[{"key":"inference.phase","value":{"stringValue":"queue"}},' +
      '{"key":"inference.batch.size","value":{"intValue":"4"}},{"key":"x","value":{"doubleValue":0.5}},{"key":"y","value":{"boolValue":false}}],' +
      '"droppedAttributesCount":1,"droppedEventsCount":2,"droppedLinksCount":3,"status":{"code":2}}';
    const line = (s: string): string => `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[${s}]}]}]}`;
    const lines = [line(span), line(span)];
    for (const name of new Set(span.match(/"[A-Za-z]+":/g)!.map((k) => k.slice(1, -2)))) {
      for (let i = 0; i < name.length; i++) {
        const changed = `${name.slice(0, i)}${name[i] === 'X' ? 'Y' : 'X'}${name.slice(i + 1)}`;
        lines.push(line(span.replaceAll(`"${name}":`, `"${changed}":`)));
      }
    }
    expect(lines.length).toBeGreaterThan(150);
    const counts = await expectAgree(tmp.write('field-names.jsonl', `${lines.join('\n')}\n`));
    expect(counts?.lines).toBeGreaterThan(50);
  });

  it('agree on every fuzzed input', async () => {
    const rand = random(20261129);
    const sources: Buffer[] = FIXTURE_FILES.filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(fixture(f)));
    sources.push(variantFile(99, 40), exporterFile(98, 40, 0));
    for (let i = 0; i < 150; i++) {
      const source = sources[Math.floor(rand() * sources.length)]!;
      const file = tmp.write(`fuzzed-${i}.jsonl`, damage(source, rand));
      await expectAgree(file);
      await expectAgree(file, { strict: true });
    }
  }, 120_000);
});

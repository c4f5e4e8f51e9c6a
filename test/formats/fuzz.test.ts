/**
 * Never a stack trace: real fixtures damaged at random (seeded, so failures reproduce) —
 * truncated, bytes flipped, tokens spliced in, gzip cut short, values of the wrong type — are
 * either read or refused with a one-line TraceFormatError, on both the whole-document and the
 * streaming path. Nothing else may escape. Also the classes that once ended in an internal
 * error: deep nesting (stack overflow in recursive readers), a UTF-8 BOM before every format,
 * times outside the representable range, and nested or self-referential OTLP protobuf.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, readAllSpans, TraceFormatError } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import { damage, fixture, FIXTURE_FILES as FILES, random, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Reads and detects `file`; returns whether it was read (true) or refused with a one-line TraceFormatError (false). */
async function readOrRefuse(file: string, options: ReadOptions, what: string): Promise<boolean> {
  try {
    await readAllSpans(file, options);
    await detectFile(file);
    return true;
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw new Error(`${what} (${file}): ${(error as Error).stack ?? String(error)}`);
    expect(error.message).not.toMatch(/\n/);
    expect(error.message.startsWith(file)).toBe(true);
    return false;
  }
}

describe('damaged fixtures', () => {
  it('are read or refused with a one-line TraceFormatError, never anything else', async () => {
    const rand = random(20261128);
    let read = 0;
    let refused = 0;
    for (let i = 0; i < 120; i++) {
      const source = FILES[Math.floor(rand() * FILES.length)] as string;
      const file = tmp.write(`damaged-${i}.bin`, damage(readFileSync(fixture(source)), rand));
      // Both JSON lines readers (the fast path, the default, and JSON.parse per line); fast-reader.test.ts checks they agree.
      for (const options of [{}, { wholeDocumentBytes: 300 }, { reader: 'full' as const }]) {
        if (await readOrRefuse(file, options, `${source} (damaged-${i}.bin)`)) read++;
        else refused++;
      }
    }
    expect(read).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 120_000);
});

const BOTH_PATHS = [{}, { wholeDocumentBytes: 300 }] as const;
/** JSON.stringify and String() already overflow the stack below 5 000 levels; 20 000 is far past that and keeps stream-json's pass short. */
const JSON_DEPTH = 20_000;
/** Protobuf nesting costs 4–9 bytes a level: 100 000 levels is a 0.5 MB message. */
const PROTO_DEPTH = 100_000;

describe('deep nesting', () => {
  const nested = ['['.repeat(JSON_DEPTH) + ']'.repeat(JSON_DEPTH), '{"a":'.repeat(JSON_DEPTH) + '1' + '}'.repeat(JSON_DEPTH)];
  const otlpAny = '{"arrayValue":{"values":['.repeat(JSON_DEPTH) + '{"intValue":1}' + ']}}'.repeat(JSON_DEPTH);
  const otlpMap = '{"kvlistValue":{"values":[{"key":"k","value":'.repeat(JSON_DEPTH) + '{"intValue":1}' + '}]}}'.repeat(JSON_DEPTH);
  const span = (tagValue: string): Record<string, string> => ({
    jaeger: `{"data":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spans":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331","operationName":"op","startTime":1700000000000000,"duration":10,"processID":"p1","tags":[{"key":"x","value":${tagValue}}]}],"processes":{"p1":{"serviceName":"svc"}}}]}`,
    zipkin: `[{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331","name":"x","timestamp":1700000000000000,"duration":5,"tags":{"x":${tagValue}}}]`,
    python: `{"name":"x","context":{"trace_id":"0x0af7651916cd43dd8448eb211c80319c","span_id":"0xb7ad6b7169203331"},"kind":"SpanKind.INTERNAL","start_time":"2026-01-01T00:00:00.000000Z","end_time":"2026-01-01T00:00:01.000000Z","attributes":{"x":${tagValue}},"resource":{"attributes":{"service.name":${tagValue}}}}`,
    triton: `[{"id":1,"model_name":${tagValue},"model_version":1},{"id":1,"timestamps":[{"name":"REQUEST_START","ns":1},{"name":"REQUEST_END","ns":${tagValue}}]}]`,
    otlpTop: `{"resourceSpans":[${tagValue}]}`,
  });
  const otlp = (value: string): string =>
    `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":${value}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000","attributes":[{"key":"k","value":${value}}]}]}]}]}`;

  it('20 000 levels in every value position of every format: read or refused, never a stack overflow', async () => {
    const inputs = [
      ...nested.flatMap((deep) => Object.entries(span(deep))),
      ['otlp-array', otlp(otlpAny)],
      ['otlp-kvlist', otlp(otlpMap)],
    ];
    let read = 0;
    for (const [name, text] of inputs) {
      for (const [layout, body] of [
        ['document', text!],
        ['lines', `${text!}\n${text!}\n`],
      ]) {
        const file = tmp.write(`deep-${name}-${layout}.json`, body!);
        // The streaming path (stream-json) is iterative by construction and slow on 100k-deep
        // tokens: it gets the documents only.
        for (const options of layout === 'document' ? BOTH_PATHS : [{}]) if (await readOrRefuse(file, options, `${name} ${layout}`)) read++;
      }
    }
    expect(read).toBeGreaterThan(0);
  }, 180_000);

  it('deeply nested attribute values are kept, cut at 64 levels', async () => {
    const { spans } = await readAllSpans(tmp.write('deep-kept.json', otlp(otlpAny)));
    expect(spans).toHaveLength(1);
    expect(String(spans[0]!.attributes['k'])).toContain('[nested deeper than 64 levels]');
  });
});

describe('a UTF-8 byte-order mark', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  it('before every fixture, as is, minified to one line and gzipped, reads the same spans as without', async () => {
    const all = readdirSync(fixture(''), { recursive: true })
      .map(String)
      .filter((f) => /\.(json|jsonl|log)$/.test(f));
    for (const source of all) {
      const data = readFileSync(fixture(source));
      const variants: [string, Buffer][] = [['plain', data]];
      if (source.endsWith('.json')) {
        try {
          variants.push(['minified', Buffer.from(JSON.stringify(JSON.parse(data.toString('utf8'))))]);
        } catch {
          // Concatenated documents (Python console output) have no one-line form.
        }
      }
      for (const [variant, body] of variants) {
        const plain = tmp.write(`nobom-${variant}-${source.replace(/\//g, '_')}`, body);
        const withBom = Buffer.concat([BOM, body]);
        for (const [packing, bytes] of [
          ['raw', withBom],
          ['gzip', gzipSync(withBom)],
        ] as const) {
          const file = tmp.write(`bom-${variant}-${packing}-${source.replace(/\//g, '_')}`, bytes);
          const expected = (await readAllSpans(plain)).spans.length;
          const got = await readAllSpans(file).catch((e: unknown) => {
            throw new Error(`${source} ${variant} ${packing}: ${(e as Error).message}`);
          });
          expect(got.spans.length, `${source} ${variant} ${packing}`).toBe(expected);
          expect(await readOrRefuse(file, { wholeDocumentBytes: 300 }, `${source} ${variant} ${packing} streamed`)).toBeTypeOf('boolean');
        }
      }
    }
  }, 180_000);

  it('inside a value (not whitespace to JSON.parse) is refused with a TraceFormatError at the mark, on every path', async () => {
    // The syntax scanner (_json-scan.ts) took a mark inside a value for whitespace, as it is
    // before one; the value it let through was then given to JSON.parse, whose SyntaxError
    // escaped (an unclosed array read as a Triton trace, JSON lines), or the error was placed
    // after the value (concatenated documents).
    const cases = {
      'unclosed array': '[{"a":\ufeff1}',
      'unclosed Triton trace': '[{"id":1,"model_name":"m"},{"id":1,"timestamps":[\ufeff{"name":"REQUEST_START","ns":1}]}',
      'JSON lines': '{"a":\ufeff1}\n{"b":2}\n',
      'concatenated documents': '{"a":\ufeff1}{"b":2}',
    };
    for (const [name, body] of Object.entries(cases)) {
      const file = tmp.write(`bom-inside-${name.replace(/\W/g, '-')}.json`, body);
      for (const options of [...BOTH_PATHS, { reader: 'full' as const }]) expect(await readOrRefuse(file, options, name)).toBe(false);
      const error = await readAllSpans(file).catch((e: unknown) => e);
      expect((error as Error).message, name).toContain("got '\ufeff'");
    }
  });
});

describe('times out of range', () => {
  const values = ['1e300', '-1', '18446744073709551616', '"99999999999999999999999"', '1.8e19', '"-5"', '9007199254740993000'];
  it('are skipped as unreadable spans (or read when representable), never an "Invalid time value"', async () => {
    for (const v of values) {
      const docs = [
        `{"data":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spans":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331","operationName":"op","startTime":${v},"duration":${v},"processID":"p1","tags":[{"key":"inference.model.name","value":"m"}]}],"processes":{"p1":{"serviceName":"svc"}}}]}`,
        `[{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331","name":"x","timestamp":${v},"duration":${v},"tags":{"inference.model.name":"m"}}]`,
        `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x","startTimeUnixNano":${v},"endTimeUnixNano":${v},"attributes":[{"key":"inference.model.name","value":{"stringValue":"m"}}]}]}]}]}`,
        `[{"id":1,"model_name":"m","model_version":1},{"id":1,"timestamps":[{"name":"REQUEST_START","ns":1},{"name":"REQUEST_END","ns":${v}}]}]`,
      ];
      for (const [d, doc] of docs.entries()) {
        const file = tmp.write(`time-${d}-${values.indexOf(v)}.json`, doc);
        for (const options of BOTH_PATHS) await readOrRefuse(file, options, `time ${v}`);
        // The analyzer formats windows as dates: every span it gets must be a representable time.
        const { spans } = await readAllSpans(file).catch(() => ({ spans: [] }));
        for (const span of spans) {
          expect(() => new Date(Number(span.startNs / 1_000_000n)).toISOString()).not.toThrow();
          expect(() => new Date(Number(span.endNs / 1_000_000n)).toISOString()).not.toThrow();
        }
      }
    }
  }, 120_000);
});

describe('Triton request ids that are no ids', () => {
  it('a record whose id is a fraction, negative, infinite or past 2^53 is skipped, a parent_id so is none; never a RangeError from BigInt', async () => {
    // Span ids spell the id + 1 in 56 bits (BigInt): `"id":1.5` or `1e400` (Infinity to
    // JSON.parse) threw a RangeError on every path, a negative id made a span id with a '-' in
    // it, and one past 2^56 an id longer than 16 hex digits.
    const records = (id: string, parent?: string): string =>
      `[{"id":${id},"model_name":"m","model_version":1${parent === undefined ? '' : `,"parent_id":${parent}`}},{"id":${id},"timestamps":[{"name":"REQUEST_START","ns":1}]},{"id":${id},"timestamps":[{"name":"REQUEST_END","ns":2}]}]`;
    const paths = [...BOTH_PATHS, { reader: 'full' as const }, { scanDocumentBytes: 0 }];
    for (const id of ['1.5', '1e400', '-1e400', '-1', '9007199254740992', '2e20']) {
      const file = tmp.write(`triton-id-${id}.json`, records(id));
      for (const options of paths) {
        expect(await readOrRefuse(file, options, `id ${id}`)).toBe(true);
        const { spans, stats } = await readAllSpans(file, options);
        expect(spans, `id ${id}`).toEqual([]);
        expect(stats.warnings[0]?.message, `id ${id}`).toMatch(/^3 records skipped: expected a Triton record with a request id/);
      }
    }
    for (const parent of ['1.5', '1e400', '-2', '2e20']) {
      const file = tmp.write(`triton-parent-${parent}.json`, records('3', parent));
      for (const options of paths) {
        const { spans } = await readAllSpans(file, options);
        expect(spans.map((s) => [s.spanId, s.parentSpanId, s.traceId.length]), `parent ${parent}`).toEqual([['0000000000000400', undefined, 32]]);
      }
    }
  });
});

describe('OTLP protobuf, hand-built and damaged', () => {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  const field = (number: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([(number << 3) | 2, ...varint(body.length)]), body]);
  const fixed64 = (number: number, value: bigint): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = (number << 3) | 1;
    b.writeBigUInt64LE(value, 1);
    return b;
  };
  /** TracesData with one span whose attribute `k` holds `value` (an AnyValue body). */
  const tracesData = (value: Buffer): Buffer => {
    const span = Buffer.concat([
      field(1, Buffer.alloc(16, 1)),
      field(2, Buffer.alloc(8, 2)),
      field(5, Buffer.from('x')),
      fixed64(7, 1_700_000_000_000_000_000n),
      fixed64(8, 1_700_000_000_000_001_000n),
      field(9, Buffer.concat([field(1, Buffer.from('k')), field(2, value)])),
    ]);
    return field(1, field(2, field(2, span)));
  };
  const varintLength = (n: number): number => varint(n).length;
  /**
   * `depth` AnyValues nested through array_value (5), or alternating with kvlist_value (6) when
   * `mixed`. Every field's value is its last part, so the message is prefixes around one scalar:
   * lengths are computed inside out, then the prefixes are written outside in (linear, not the
   * quadratic cost of wrapping a growing buffer 100 000 times).
   */
  const nestedValue = (depth: number, mixed: boolean): Buffer => {
    const scalar = [0x18, 0x01];
    const prefixes: number[][] = [];
    let inner = scalar.length;
    for (let i = 0; i < depth; i++) {
      let prefix: number[];
      if (mixed && i % 2 === 1) {
        const keyValue = 3 + 1 + varintLength(inner) + inner;
        const list = 1 + varintLength(keyValue) + keyValue;
        prefix = [0x32, ...varint(list), 0x0a, ...varint(keyValue), 0x0a, 0x01, 0x6b, 0x12, ...varint(inner)];
      } else {
        const array = 1 + varintLength(inner) + inner;
        prefix = [0x2a, ...varint(array), 0x0a, ...varint(inner)];
      }
      prefixes.push(prefix);
      inner += prefix.length;
    }
    const out = Buffer.alloc(inner);
    let at = 0;
    for (let i = prefixes.length - 1; i >= 0; i--) for (const byte of prefixes[i]!) out[at++] = byte;
    out.set(scalar, at);
    return out;
  };

  it('nested 100 000 deep (arrays, and arrays of maps of arrays …): read, with the value cut at 64 levels', async () => {
    for (const mixed of [false, true]) {
      const file = tmp.write(`deep-${mixed}.binpb`, tracesData(nestedValue(PROTO_DEPTH, mixed)));
      const { spans } = await readAllSpans(file);
      expect(spans).toHaveLength(1);
      expect(String(spans[0]!.attributes['k'])).toContain('[nested deeper than 64 levels]');
    }
  }, 120_000);

  it('self-referential lengths (a field claiming the bytes around it) and random damage: read or refused', async () => {
    const require = createRequire(import.meta.url);
    const root = require('otlp-transformer-052/build/src/generated/root.js') as {
      opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { fromObject(o: unknown): unknown; encode(m: unknown): { finish(): Uint8Array } } } } } } };
    };
    const request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
    const json = readFileSync(fixture('otlp-json/jaeger-memstore-otel_traces_01.json'), 'utf8');
    const doc = JSON.parse(json, (key, value: unknown) => ((key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string' ? Buffer.from(value, 'hex') : value));
    const real = Buffer.from(request.encode(request.fromObject(doc)).finish());
    const rand = random(17);
    const inputs: Buffer[] = [];
    // A length that claims more than the message, exactly the message, or points back at its own tag.
    for (const claim of [real.length + 10, real.length - 2, 0, 1, 2 ** 31 - 1]) inputs.push(Buffer.concat([Buffer.from([0x0a, ...varint(claim)]), real]));
    // A message that is its own tag-and-length over and over: 0a 0a 0a … (field 1, length 10, field 1 …).
    inputs.push(Buffer.alloc(200_000, 0x0a));
    inputs.push(Buffer.concat([Buffer.from([0x0a]), Buffer.alloc(100_000, 0x2a)]));
    for (let i = 0; i < 60; i++) {
      const copy = Buffer.from(real);
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
      inputs.push(rand() < 0.3 ? copy.subarray(0, Math.floor(rand() * copy.length)) : copy);
    }
    let read = 0;
    for (const [i, body] of inputs.entries()) {
      for (const [kind, bytes] of [
        ['message', body],
        ['records', Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, k) => (body.length >>> (24 - 8 * k)) & 0xff)), body])],
      ] as const) {
        const file = tmp.write(`proto-${i}-${kind}.bin`, bytes);
        if (await readOrRefuse(file, {}, `protobuf ${kind} ${i}`)) read++;
      }
    }
    expect(read).toBeGreaterThan(0);
  }, 120_000);
});

/**
 * Reading a JSON lines file in byte ranges (formats/_ranges.ts, what the analyzer's reader
 * threads do) gives what reading it whole gives: the same spans in the same order, the same
 * ReadStats (warnings with their line numbers, leniencies, fast-reader counts) and the same
 * errors, on the fixtures, the demo export and fuzzed inputs, whatever the range size. Where
 * the ranges cannot stand for one read (RangeMerger.add says why), the analyzer reads the file
 * whole instead; that must stay rare.
 */

import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openTrace, readAllSpans, TraceFormatError } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import { familyOfLineOne, readLineRange } from '../../src/formats/read.js';
import { RangeMerger, rangeChunks, splitRanges } from '../../src/formats/_ranges.js';
import type { SpanRecord } from '../../src/model/span.js';
import { damage, fixture, FIXTURE_FILES, random, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const text = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

type Outcome = { spans: SpanRecord[]; stats: string } | { error: string } | { unsound: string };

async function whole(file: string, options: ReadOptions): Promise<Outcome> {
  try {
    const { spans, stats } = await readAllSpans(file, { ...options, attributes: 'analysis' });
    return { spans, stats: text(stats) };
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return { error: error.message };
  }
}

/** Reads `file` range by range in file order, as analyzer/_threaded-read.ts merges its threads' ranges. */
async function inRanges(file: string, rangeBytes: number, options: ReadOptions): Promise<Outcome> {
  const trace = await openTrace(file);
  await trace.close();
  const { bytes } = trace;
  const merger = new RangeMerger(file, options.strict === true, bytes);
  const spans: SpanRecord[] = [];
  try {
    const ranges = splitRanges(bytes, rangeBytes);
    for (const [i, r] of ranges.entries()) {
      const reader = readLineRange({ file, ...r, first: i === 0, family: trace.family!, familyOfLineOne: familyOfLineOne(trace.sniffed), prefixed: trace.sniffed.prefixed === true }, { ...options, attributes: 'analysis' });
      let stats;
      try {
        for (;;) {
          const next = await reader.next();
          if (next.done === true) {
            stats = next.value;
            break;
          }
          spans.push(...next.value);
        }
      } catch (error) {
        if (!(error instanceof TraceFormatError)) throw error;
        throw merger.error({ message: error.message, location: error.location, expected: error.expected, got: error.got });
      }
      const unsound = merger.add(stats);
      if (unsound !== undefined) return { unsound };
    }
    return { spans, stats: text(merger.finish()) };
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return { error: error.message };
  }
}

/** Checks every range size on `file`; returns how many times the ranges were unsound. */
async function expectSame(file: string, options: ReadOptions = {}, sizes = [97, 1024, 64 * 1024]): Promise<number> {
  const want = await whole(file, options);
  let unsound = 0;
  for (const size of sizes) {
    const got = await inRanges(file, size, options);
    if ('unsound' in got) {
      unsound++;
      continue;
    }
    expect(text(got), `${file}, ranges of ${size} bytes`).toBe(text(want));
  }
  return unsound;
}

const JSON_LINES = [...FIXTURE_FILES.filter((f) => f.endsWith('.jsonl')), '../../../examples/traces/inference-demo.otlp.jsonl'];

describe('byte ranges of a JSON lines file', () => {
  it('own every line exactly once, wherever the boundaries fall', async () => {
    const file = tmp.write('lines.jsonl', 'a\n\nbb\nccc\r\n\nd');
    const size = statSync(file).size;
    for (let rangeBytes = 1; rangeBytes <= size; rangeBytes++) {
      const parts: Buffer[] = [];
      for (const r of splitRanges(size, rangeBytes)) for await (const chunk of rangeChunks(file, r.start, r.end)) parts.push(chunk);
      expect(Buffer.concat(parts).toString(), `ranges of ${rangeBytes}`).toBe(readFileSync(file, 'utf8'));
    }
    // Lines appended after the ranges were cut (a file still being written) are read too, as a whole read would.
    const ranges = splitRanges(size, 4);
    appendFileSync(file, '\neee\n');
    const parts: Buffer[] = [];
    for (const r of ranges) for await (const chunk of rangeChunks(file, r.start, r.end)) parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe('a\n\nbb\nccc\r\n\nd\neee\n');
  });

  it.each(JSON_LINES)('read %s as it is read whole, with both readers', async (source) => {
    for (const reader of ['full', 'fast'] as const) {
      const file = fixture(source);
      expect(await expectSame(file, { reader }, statSync(file).size < 10_000 ? [1, 13, 97, 1024] : [997, 64 * 1024])).toBe(0);
    }
  }, 120_000);

  it('read lines in other spellings (base64 and upper-case ids, snake_case, a BOM, CRLF, log prefixes, bad lines) as they are read whole', async () => {
    const demo = readFileSync(fixture(JSON_LINES.at(-1)!), 'utf8').trim().split('\n').slice(0, 40);
    const rand = random(7);
    const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
    const lines = demo.map((line, i) => {
      switch (i % 6) {
        case 1:
          return line.replace(/"(traceId|spanId|parentSpanId)":"([0-9a-f]+)"/g, (_m, k: string, v: string) => `"${k}":"${b64(v)}"`);
        case 2:
          return line.replace(/"traceId":"([0-9a-f]+)"/g, (_m, v: string) => `"traceId":"${v.toUpperCase()}"`);
        case 3:
          return line.replace(/"startTimeUnixNano"/g, '"start_time_unix_nano"').replace(/"resourceSpans"/g, '"resource_spans"');
        case 4:
          return rand() < 0.5 ? line.slice(0, 200) : `  ${line}  `;
        default:
          return line;
      }
    });
    const plain = tmp.write('spellings.jsonl', `\uFEFF${lines.join('\r\n')}\r\n\n`);
    expect(await expectSame(plain)).toBe(0);
    expect(await expectSame(plain, { reader: 'fast' })).toBe(0);
    expect(await expectSame(plain, { strict: true })).toBe(0);
    // Java's logging exporter through java.util.logging: a log prefix before each JSON line.
    const prefixed = tmp.write('prefixed.log', demo.slice(0, 10).map((l, i) => `Nov 29, 2026 ${i}:00:00 PM io.opentelemetry.exporter.logging.otlp.OtlpJsonLoggingSpanExporter export\nINFO: ${l}`).join('\n') + '\n');
    expect(await expectSame(prefixed, {}, [64 * 1024])).toBe(0);
    // A first range of one log header line has no document to decide the family from: unsound.
    expect(await expectSame(prefixed, {}, [97])).toBe(1);
  }, 120_000);

  it('read Jaeger and Zipkin JSON lines (a trace or a span array per line) as they are read whole', async () => {
    const traces = ['jaeger-ui-child-longer-than-parent', 'jaeger-ui-genai-agent-trace', 'jaeger-ui-petclinic-31char-traceid', 'jaeger-uimodel-ui_01-edgecases'];
    const jaeger = traces.map((f) => JSON.stringify(JSON.parse(readFileSync(fixture(`jaeger-json/${f}.json`), 'utf8'))));
    const zipkinSpans = JSON.parse(readFileSync(fixture('zipkin-json/zipkin-lens-smartthings-mobile-web-install.json'), 'utf8')) as unknown[];
    const zipkin = Array.from({ length: Math.ceil(zipkinSpans.length / 20) }, (_, i) => JSON.stringify(zipkinSpans.slice(i * 20, i * 20 + 20)));
    for (const [name, lines] of [['jaeger.jsonl', [...jaeger, ...jaeger, ...jaeger]], ['zipkin.jsonl', zipkin]] as const) {
      const file = tmp.write(name, `${lines.join('\n')}\n`);
      const opened = await openTrace(file);
      await opened.close();
      expect([opened.layout, opened.family]).toEqual(['json-lines', name.startsWith('jaeger') ? 'jaeger' : 'zipkin']);
      expect(await expectSame(file, {}, [512, 4096])).toBe(0);
    }
  }, 120_000);

  it('read fuzzed inputs as they are read whole (or say why they cannot), strict and lenient', async () => {
    const rand = random(20261130);
    const sources = JSON_LINES.map((f) => readFileSync(fixture(f)));
    let unsound = 0;
    for (let i = 0; i < 60; i++) {
      const source = sources[Math.floor(rand() * sources.length)]!;
      const file = tmp.write(`fuzzed-${i}.jsonl`, damage(source.subarray(0, 40_000), rand));
      const opened = await openTrace(file).catch(() => undefined);
      await opened?.close();
      // Only multi-line JSON lines files are split (analyzer/files.ts).
      if (opened === undefined || opened.layout !== 'json-lines' || !opened.sniffed.moreLines || opened.sniffed.opened.compression !== 'none') continue;
      unsound += await expectSame(file, {}, [13, 1024]);
      unsound += await expectSame(file, { strict: true, reader: 'fast' }, [97]);
    }
    // A damaged first line leaves the first small range without a document now and then.
    expect(unsound).toBeLessThan(20);
  }, 180_000);
});

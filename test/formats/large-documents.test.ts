/**
 * Single JSON documents above `wholeDocumentBytes` (64 MiB by default) are streamed element by
 * element with stream-json. Forcing a tiny threshold makes the real fixtures take that path:
 * it must give exactly the spans of the whole-document path.
 */

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { TraceFormatError } from '../../src/formats/index.js';
import { fixture, read, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const STREAMABLE = [
  'otlp-json/otelproto-examples-trace.json',
  'otlp-json/jaeger-memstore-otel_traces_01.json',
  'otlp-json/jaeger-transform-otlp2jaeger-in.json',
  'otlp-json/jaeger-apiv3-GetTrace-result-envelope.json',
  'jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json',
  'jaeger-json/jaeger-anonymizer-span-array-inline-process.json',
  'zipkin-json/zipkin-lens-skew.json',
  'zipkin-json/zipkin-lens-smartthings-mobile-web-install.json',
  'zipkin-json/zipkin-lens-messaging2-orphans.json',
  'ml-serving/triton-docs-trace-timestamps.json',
  'hand-written/tempo-v1-batches-base64-enum-names.json',
  'hand-written/grafana-2021-legacy-ils-snake-case.json',
  'hand-written/tempo-v2-trace-envelope.json',
];

function text(spans: unknown): string {
  return JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

describe('large single documents', () => {
  it.each(STREAMABLE)('%s streamed element by element gives the same spans as parsed whole', async (path) => {
    const whole = await read(fixture(path));
    const streamed = await read(fixture(path), { wholeDocumentBytes: 200 });
    expect(streamed.stats.leniencies.join('\n')).toMatch(/streamed element by element/);
    expect(text(streamed.spans)).toBe(text(whole.spans));
    expect(streamed.stats.skipped).toBe(whole.stats.skipped);
    expect(streamed.stats.format).toBe(whole.stats.format);
  });

  it('a Zipkin array of traces (array of arrays) streams trace by trace', async () => {
    const spans = JSON.parse(readFileSync(fixture('zipkin-json/zipkin-lens-messaging2-orphans.json'), 'utf8')) as unknown[];
    const file = tmp.write('list-of-traces.json', JSON.stringify([spans.slice(0, 5), spans.slice(5)], null, 1));
    const whole = await read(file);
    const streamed = await read(file, { wholeDocumentBytes: 100 });
    expect(streamed.spans).toHaveLength(11);
    expect(text(streamed.spans)).toBe(text(whole.spans));
  });

  it('a truncated large document fails with a byte offset and says so', async () => {
    const content = readFileSync(fixture('zipkin-json/zipkin-lens-smartthings-mobile-web-install.json'), 'utf8');
    const file = tmp.write('cut-large.json', content.slice(0, 300_000));
    const error = await read(file, { wholeDocumentBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toMatch(/cut-large\.json:byte 300000: expected valid JSON, got end of file \(truncated\?\)$/);
  });

  it('a large bare Jaeger trace object is refused with a clear message', async () => {
    const file = fixture('jaeger-json/jaeger-ui-genai-agent-trace.json');
    const error = await read(file, { wholeDocumentBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toMatch(/expected a document with resourceSpans, batches, data or a top-level array/);
  });

  it('JSON lines whose first line is longer than the threshold are streamed as concatenated documents', async () => {
    const source = fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl');
    const streamed = await read(source, { wholeDocumentBytes: 100 });
    expect(streamed.stats.leniencies.join('\n')).toMatch(/streamed element by element/);
    expect(text(streamed.spans)).toBe(text((await read(source)).spans));
  });
});

describe('a Triton trace file over the whole-document threshold', () => {
  it('is read record by record, not streamed element by element (three times slower than parsing it whole, which held 13 times the file), with every request', async () => {
    // The docs' layout: `[`, one record per line, ids counting up (Triton itself writes the array on one line, src/tracer.cc).
    const records: string[] = [];
    let bytes = 0;
    let requests = 0;
    while (bytes <= 64 * 1024 * 1024) {
      const id = ++requests;
      const t = 1_000_000 * id;
      for (const record of [
        `{"id":${id},"model_name":"resnet50","model_version":1}`,
        ...['REQUEST_START', 'QUEUE_START', 'COMPUTE_START', 'COMPUTE_INPUT_END', 'COMPUTE_OUTPUT_START', 'COMPUTE_END', 'REQUEST_END'].map((name, k) => `{"id":${id},"timestamps":[{"name":"${name}","ns":${t + k * 1000}}]}`),
      ]) {
        records.push(record);
        bytes += record.length + 2;
      }
    }
    const file = tmp.write('triton-large.json', `[\n${records.join(',\n')}\n]\n`);
    const { spans, stats } = await read(file);
    expect(stats.format).toBe('triton-trace');
    expect(stats.leniencies.join('\n')).not.toMatch(/streamed element by element/);
    expect(stats.fastReader).toEqual({ lines: 1, fallbacks: 0 });
    expect(spans).toHaveLength(requests);
  }, 120_000);
});

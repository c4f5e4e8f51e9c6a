/**
 * The file exporter's serializer against the Collector file exporter's JSON (pdata marshalling):
 * exact nanosecond strings, int/double/array/bool values, events, links, status, kinds; and the
 * opt-in input hash (keyed, deterministic, never the input).
 */
import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { spansToTracesData } from '../../src/tracer/index.js';
import { hrTimeToNanoString } from '../../src/tracer/otlp-json.js';
import { createInputHasher } from '../../src/tracer/input-hash.js';

describe('OTLP JSON serialization', () => {
  it('writes times as exact decimal nanosecond strings', () => {
    expect(hrTimeToNanoString([1_711_138_246, 978_000_001])).toBe('1711138246978000001');
    expect(hrTimeToNanoString([1_711_138_246, 5])).toBe('1711138246000000005');
    expect(hrTimeToNanoString([0, 42])).toBe('42');
  });

  it('groups by resource and scope and maps every field as pdata does', () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'svc', 'host.cores': 16 }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('scope-a', '1.2.3');
    const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER, startTime: [100, 1] });
    const child = tracer.startSpan(
      'child',
      {
        kind: SpanKind.CLIENT,
        startTime: [100, 500],
        attributes: { int: 7, double: 0.25, flag: true, list: [1, 2], text: 'x' },
        links: [{ context: parent.spanContext(), attributes: { why: 'batch' } }],
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent('tick', { n: 1 }, [100, 600]);
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'bad' });
    child.end([100, 900]);
    parent.end([101, 0]);
    provider.getTracer('scope-b').startSpan('other', { startTime: [5, 0] }).end([6, 0]);

    const data = spansToTracesData(memory.getFinishedSpans());
    expect(data.resourceSpans).toHaveLength(1);
    const rs = data.resourceSpans[0] as { resource: { attributes: unknown[] }; scopeSpans: { scope: Record<string, unknown>; spans: Record<string, unknown>[] }[] };
    expect(rs.resource.attributes).toContainEqual({ key: 'host.cores', value: { intValue: '16' } });
    expect(rs.scopeSpans.map((s) => s.scope)).toEqual([{ name: 'scope-a', version: '1.2.3' }, { name: 'scope-b' }]);
    const spans = rs.scopeSpans[0]!.spans;
    const childJson = spans.find((s) => s['name'] === 'child')!;
    const parentJson = spans.find((s) => s['name'] === 'parent')!;
    expect(childJson).toEqual({
      traceId: parentJson['traceId'],
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      name: 'child',
      kind: 3,
      startTimeUnixNano: '100000000500',
      endTimeUnixNano: '100000000900',
      attributes: [
        { key: 'int', value: { intValue: '7' } },
        { key: 'double', value: { doubleValue: 0.25 } },
        { key: 'flag', value: { boolValue: true } },
        { key: 'list', value: { arrayValue: { values: [{ intValue: '1' }, { intValue: '2' }] } } },
        { key: 'text', value: { stringValue: 'x' } },
      ],
      events: [{ timeUnixNano: '100000000600', name: 'tick', attributes: [{ key: 'n', value: { intValue: '1' } }] }],
      links: [{ traceId: parentJson['traceId'], spanId: parent.spanContext().spanId, attributes: [{ key: 'why', value: { stringValue: 'batch' } }] }],
      status: { code: 2, message: 'bad' },
    });
    expect(parentJson['kind']).toBe(2);
    expect(parentJson['status']).toEqual({});
    expect(parentJson).not.toHaveProperty('parentSpanId');
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
  });
});

describe('input hash', () => {
  it('is off unless opted in', () => {
    expect(createInputHasher(undefined)('abc')).toBeUndefined();
    expect(createInputHasher(false)('abc')).toBeUndefined();
  });

  it('is a keyed, deterministic 128-bit hex digest of the bytes, never the input', () => {
    const hash = createInputHasher({ key: 'k1' });
    const floats = new Float32Array([0.5, 0.25, 1]);
    const a = hash(floats)!;
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(hash(new Float32Array([0.5, 0.25, 1]))).toBe(a);
    // Same bytes through another view hash the same; a sub-view hashes only its bytes.
    expect(hash(new Uint8Array(floats.buffer))).toBe(a);
    const big = new Float32Array([9, 0.5, 0.25, 1]);
    expect(hash(big.subarray(1))).toBe(a);
    expect(hash(new Float32Array([0.5, 0.25, 2]))).not.toBe(a);
    expect(createInputHasher({ key: 'k2' })(floats)).not.toBe(a);
    expect(hash('prompt')).toBe(hash('prompt'));
    expect(hash('prompt')).not.toContain('prompt');
  });
});

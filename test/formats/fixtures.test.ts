/**
 * Real exports from public projects (test/fixtures/traces/SOURCES.md) are read without error,
 * with span and trace counts checked by hand against each file.
 */

import { describe, expect, it } from 'vitest';
import { detectFile } from '../../src/formats/index.js';
import { fixture, read, traceCount } from './helpers.js';

// Counts taken by hand from each file (spans / distinct trace ids / spans skipped and why).
const CASES = [
  ['otlp-json/otelproto-examples-trace.json', 'otlp-json', 1, 1, 0],
  ['otlp-json/jaeger-memstore-otel_traces_01.json', 'otlp-json', 4, 2, 0],
  ['otlp-json/jaeger-transform-otlp2jaeger-in.json', 'otlp-json', 2, 1, 0],
  // The v3 snapshot's only span has no start/end times: skipped with a warning.
  ['otlp-json/jaeger-apiv3-GetTrace-result-envelope.json', 'otlp-json', 0, 0, 1],
  ['otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl', 'otlp-jsonl', 4, 1, 0],
  // The spec example's 8 spans all have empty trace and span ids: unusable, skipped.
  ['otlp-jsonl/otelspec-file-exporter-traces-example.jsonl', 'otlp-jsonl', 0, 0, 8],
  ['jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json', 'jaeger-json', 2, 1, 0],
  ['jaeger-json/jaeger-uimodel-ui_01-edgecases.json', 'jaeger-json', 5, 1, 0],
  ['jaeger-json/jaeger-anonymizer-span-array-inline-process.json', 'jaeger-json', 2, 1, 0],
  ['jaeger-json/jaeger-ui-petclinic-31char-traceid.json', 'jaeger-json', 17, 1, 0],
  ['jaeger-json/jaeger-ui-child-longer-than-parent.json', 'jaeger-json', 8, 1, 0],
  ['jaeger-json/jaeger-ui-genai-agent-trace.json', 'jaeger-json', 57, 1, 0],
  ['zipkin-json/zipkin-lens-skew.json', 'zipkin-json', 4, 1, 0],
  ['zipkin-json/zipkin-benchmarks-chinese-single-object.json', 'zipkin-json', 1, 1, 0],
  // 1041 spans, of which 175 lack timestamp (84) or duration (91): incomplete, skipped.
  ['zipkin-json/zipkin-lens-smartthings-mobile-web-install.json', 'zipkin-json', 866, 1, 175],
  ['zipkin-json/zipkin-lens-messaging2-orphans.json', 'zipkin-json', 11, 1, 0],
  ['python-console/otelio-python-console-span-concatenated.json', 'python-console', 2, 1, 0],
  // One Triton request (id 1) with 12 timestamps: one span, its timestamps as events (the
  // Triton convention in analyzer/conventions makes the phases).
  ['ml-serving/triton-docs-trace-timestamps.json', 'triton-trace', 1, 1, 0],
  ['hand-written/tempo-v1-batches-base64-enum-names.json', 'otlp-json', 3, 1, 0],
  ['hand-written/grafana-2021-legacy-ils-snake-case.json', 'otlp-json', 2, 1, 0],
  ['hand-written/tempo-v2-trace-envelope.json', 'otlp-json', 1, 1, 0],
  ['hand-written/java-logging-otlp-jul.log', 'otlp-jsonl', 3, 1, 0],
] as const;

describe('real fixtures', () => {
  it.each(CASES)('%s is read as %s with %i spans in %i traces (%i skipped)', async (path, format, spans, traces, skipped) => {
    const file = fixture(path);
    expect((await detectFile(file)).format).toBe(format);
    const result = await read(file);
    expect(result.stats.format).toBe(format);
    expect(result.spans).toHaveLength(spans);
    expect(result.stats.spans).toBe(spans);
    expect(traceCount(result.spans)).toBe(traces);
    expect(result.stats.skipped).toBe(skipped);
    for (const span of result.spans) {
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      if (span.parentSpanId !== undefined) expect(span.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span.endNs >= span.startNs).toBe(true);
    }
  });

  it('keeps OTLP nanoseconds exact, lowercases upper-case hex ids and reads scope-level spans', async () => {
    const { spans, stats } = await read(fixture('otlp-json/otelproto-examples-trace.json'));
    const [span] = spans;
    expect(span?.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(span?.spanId).toBe('eee19b7ec3c1b174');
    expect(span?.parentSpanId).toBe('eee19b7ec3c1b173');
    expect(span?.startNs).toBe(1544712660000000000n);
    expect(span?.endNs).toBe(1544712661000000000n);
    expect(span?.kind).toBe('server');
    expect(span?.service).toBe('my.service');
    expect(span?.attributes['my.span.attr']).toBe('some value');
    expect(stats.leniencies.join('\n')).toMatch(/upper-case hex ids: 3/);
  });

  it('reads all span kinds, int/double/bytes attributes and links of the Jaeger memstore document', async () => {
    const { spans } = await read(fixture('otlp-json/jaeger-memstore-otel_traces_01.json'));
    expect(spans.map((s) => s.kind).sort()).toEqual(['client', 'consumer', 'producer', 'server']);
    const first = spans.find((s) => s.spanId === '0000000000000002');
    expect(first?.attributes['peer.ipv4']).toBe(23456);
    expect(typeof first?.attributes['blob']).toBe('string');
    expect(spans.reduce((n, s) => n + (s.links?.length ?? 0), 0)).toBe(8);
  });

  it('pads 31-char Jaeger trace ids and 15-char span ids so references still match', async () => {
    const { spans } = await read(fixture('jaeger-json/jaeger-ui-petclinic-31char-traceid.json'));
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => s.parentSpanId === undefined);
    expect(roots).toHaveLength(1);
    for (const span of spans) if (span.parentSpanId !== undefined) expect(ids.has(span.parentSpanId)).toBe(true);
    expect(spans[0]?.traceId.startsWith('0')).toBe(true);
    expect(new Set(spans.map((s) => s.service)).size).toBe(2);
  });

  it('keeps Jaeger int64 tags above 2^53 exact as strings, reads typed tags, FOLLOWS_FROM and cross-trace CHILD_OF as links', async () => {
    const { spans, warnings } = await read(fixture('jaeger-json/jaeger-uimodel-ui_01-edgecases.json'));
    const values = spans.flatMap((s) => Object.values(s.attributes));
    expect(values).toContain('9223372036854775222');
    expect(spans.some((s) => s.error)).toBe(true);
    expect(spans.some((s) => (s.links?.length ?? 0) > 0)).toBe(true);
    expect(warnings.some((w) => /duplicate span id/.test(w.message) && w.count === 1)).toBe(true);
  });

  it('takes the service of anonymizer spans from their inline process', async () => {
    const { spans } = await read(fixture('jaeger-json/jaeger-anonymizer-span-array-inline-process.json'));
    expect(spans.every((s) => s.service !== '')).toBe(true);
  });

  it('reads Jaeger span.kind and error tags as kind and error, not as attributes', async () => {
    const { spans } = await read(fixture('jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json'));
    expect(spans[0]?.kind).toBe('server');
    expect(spans[0]?.attributes['span.kind']).toBeUndefined();
  });

  it('marks the server half of a shared Zipkin span and keeps both halves', async () => {
    const { spans, warnings } = await read(fixture('zipkin-json/zipkin-lens-skew.json'));
    const halves = spans.filter((s) => s.spanId === '74280ae0c10d8062');
    expect(halves.map((s) => s.kind).sort()).toEqual(['client', 'server']);
    expect(halves.find((s) => s.kind === 'server')?.shared).toBe(true);
    expect(spans.find((s) => s.spanId === '43210ae0c10d1234')?.kind).toBe('internal');
    expect(spans[0]?.traceId).toBe('00000000000000001e223ff1f80f1c69');
    expect(warnings).toEqual([]);
  });

  it('reads a single Zipkin span object with Unicode names and numeric string tags as numbers', async () => {
    const { spans } = await read(fixture('zipkin-json/zipkin-benchmarks-chinese-single-object.json'));
    expect(spans[0]?.name).toMatch(/[\u4e00-\u9fff]/);
    expect(spans[0]?.startNs).toBe(1472470996199000n * 1000n);
    expect(spans[0]?.endNs).toBe((1472470996199000n + 207000n) * 1000n);
  });

  it('reports Zipkin spans without timestamp or duration as skipped, by reason', async () => {
    const { warnings } = await read(fixture('zipkin-json/zipkin-lens-smartthings-mobile-web-install.json'));
    const counts = Object.fromEntries(warnings.map((w) => [w.message.replace(/^\d+ spans? skipped: expected (an? \w+).*$/, '$1'), w.count]));
    expect(counts).toEqual({ 'a timestamp': 84, 'a duration': 91 });
    expect(warnings[0]?.location).toMatch(/^\$\[\d+\]$/);
  });

  it('reads concatenated Python console spans with 0x ids, µs ISO times and SpanKind names', async () => {
    const { spans } = await read(fixture('python-console/otelio-python-console-span-concatenated.json'));
    const child = spans.find((s) => s.name === 'roll');
    const root = spans.find((s) => s.name === '/rolldice');
    expect(child?.traceId).toBe('6f781c83394ed2f33120370a11fced47');
    expect(child?.parentSpanId).toBe(root?.spanId);
    expect(child?.startNs).toBe(1696925908679261000n);
    expect(child?.endNs).toBe(1696925908679560000n);
    expect(child?.kind).toBe('internal');
    expect(root?.kind).toBe('server');
    expect(child?.service).toBe('dice-server');
    expect(child?.attributes['roll.value']).toBe('6');
  });

  it('merges a trace spread over JSON lines', async () => {
    const { spans } = await read(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'));
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s.parentSpanId === undefined)).toHaveLength(1);
    for (const span of spans) if (span.parentSpanId !== undefined) expect(ids.has(span.parentSpanId)).toBe(true);
  });

  it('decodes Tempo base64 ids, enum names and the batches wrapper', async () => {
    const { spans, stats } = await read(fixture('hand-written/tempo-v1-batches-base64-enum-names.json'));
    const root = spans.find((s) => s.name === 'POST /predict');
    expect(root?.traceId).toBe('6f781c83394ed2f33120370a11fced47');
    expect(root?.spanId).toBe('09abe52faf1d80d5');
    expect(root?.kind).toBe('server');
    expect(root?.error).toBe(true);
    expect(root?.startNs).toBe(1696926005694857123n);
    expect(root?.attributes['inference.request.size']).toBe(15000);
    expect(root?.attributes['inference.cache.hit']).toBe(false);
    const compute = spans.find((s) => s.name === 'compute');
    expect(compute?.parentSpanId).toBe('09abe52faf1d80d5');
    expect(compute?.error).toBe(false);
    expect(compute?.attributes['inference.batch.size']).toBe(8);
    expect(compute?.attributes['shape']).toBe('[1,3]');
    expect(stats.leniencies.join('\n')).toMatch(/base64 ids decoded: 8/);
    expect(stats.leniencies.join('\n')).toMatch(/Tempo `batches` wrapper/);
  });

  it('reads legacy instrumentationLibrarySpans with snake_case keys and int64 times as numbers', async () => {
    const { spans, stats } = await read(fixture('hand-written/grafana-2021-legacy-ils-snake-case.json'));
    expect(spans.map((s) => s.kind)).toEqual(['client', 'internal']);
    expect(spans[0]?.service).toBe('frontend');
    expect(spans[0]?.startNs).toBe(1620000000000000000n);
    expect(spans[1]?.attributes['ratio']).toBe(0.5);
    expect(stats.leniencies.join('\n')).toMatch(/legacy instrumentationLibrarySpans/);
  });

  it("gives each Triton request id one span with its timestamps as events, in time order", async () => {
    const { spans } = await read(fixture('ml-serving/triton-docs-trace-timestamps.json'));
    const [request] = spans;
    expect(request?.attributes['triton.trace_id']).toBe(1);
    expect(request?.attributes['latency_doctor.source']).toBe('triton-trace-file');
    expect(request?.startNs).toBe(2356425054587444n);
    expect(request?.endNs).toBe(2356425057712991n);
    expect(request?.events?.map((e) => e.name)).toEqual([
      'HTTP_RECV_START',
      'HTTP_RECV_END',
      'REQUEST_START',
      'QUEUE_START',
      'COMPUTE_START',
      'COMPUTE_INPUT_END',
      'COMPUTE_OUTPUT_START',
      'COMPUTE_END',
      'INFER_RESPONSE_COMPLETE',
      'REQUEST_END',
      'HTTP_SEND_START',
      'HTTP_SEND_END',
    ]);
  });

  it('reads bare ResourceSpans behind java.util.logging prefixes, ignoring the header lines', async () => {
    const { spans, stats, warnings } = await read(fixture('hand-written/java-logging-otlp-jul.log'));
    expect(warnings).toEqual([]);
    expect(spans.find((s) => s.name === 'model.infer')?.parentSpanId).toBe('53995c3f42cd8ad8');
    expect(spans.every((s) => s.service === 'checkout')).toBe(true);
    const notes = stats.leniencies.join('\n');
    expect(notes).toMatch(/log prefixes stripped \(lines\): 2/);
    expect(notes).toMatch(/log lines without JSON ignored \(lines\): 2/);
    expect(notes).toMatch(/bare ResourceSpans/);
  });
});

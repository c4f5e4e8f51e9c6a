/**
 * Id normalization and attribute decoding, case by case (truth tables).
 */

import { describe, expect, it } from 'vitest';
import { anyValue, IdDecoder, isoToNs, jaegerTagValue, zipkinTagValue } from '../../src/formats/index.js';

describe('IdDecoder', () => {
  it.each([
    ['5B8EFFF798038103D269B633813FC60C', '5b8efff798038103d269b633813fc60c'],
    ['b3gcgzlO0vMxIDcKEfztRw==', '6f781c83394ed2f33120370a11fced47'],
    ['b3gcgzlO0vMxIDcKEfztRw', '6f781c83394ed2f33120370a11fced47'],
    ['0x6f781c83394ed2f33120370a11fced47', '6f781c83394ed2f33120370a11fced47'],
    ['3a4d2b1c0e9f8a7b6c5d4e3f2a1b0c9', '03a4d2b1c0e9f8a7b6c5d4e3f2a1b0c9'],
    ['1e223ff1f80f1c69', '00000000000000001e223ff1f80f1c69'],
    ['', undefined],
    ['00000000000000000000000000000000', undefined],
    // Opaque ids (neither hex nor base64 of the size) are kept as written: they only group spans.
    ['not an id!', 'not an id!'],
    ['trace-123', 'trace-123'],
    ['6f781c83394ed2f33120370a11fced47ff', '6f781c83394ed2f33120370a11fced47ff'],
    ['x'.repeat(257), undefined],
  ])('trace id %j → %j', (raw, want) => {
    expect(new IdDecoder().traceId(raw)).toBe(want);
  });

  it.each([
    ['CavlL68dgNU=', '09abe52faf1d80d5'],
    ['9abe52faf1d80d5', '009abe52faf1d80d5'.slice(1)],
    ['0x623321c35b8fa837', '623321c35b8fa837'],
    ['span-1', 'span-1'],
    [12345, undefined],
  ])('span id %j → %j', (raw, want) => {
    expect(new IdDecoder().spanId(raw)).toBe(want);
  });

  it('reads ambiguous all-hex 22-char trace ids as unpadded base64 once the file proved to use base64', () => {
    const ids = new IdDecoder();
    // 22 hex chars: short hex by default (Jaeger drops leading zeros) …
    expect(ids.traceId('0123456789abcdef012345')).toBe('00000000000123456789abcdef012345');
    expect(ids.traceId('b3gcgzlO0vMxIDcKEfztRw==')).toBe('6f781c83394ed2f33120370a11fced47');
    // … but base64 once an id in the file proved base64.
    expect(ids.traceId('0123456789abcdef012345')).toBe(Buffer.from('0123456789abcdef012345', 'base64').toString('hex'));
    expect(ids.counts.base64).toBe(2);
  });
});

describe('attribute values', () => {
  it.each([
    [{ stringValue: 'x' }, 'x'],
    [{ intValue: '42' }, 42],
    [{ intValue: 42 }, 42],
    [{ intValue: '9223372036854775807' }, '9223372036854775807'],
    [{ doubleValue: 0.5 }, 0.5],
    [{ doubleValue: 'NaN' }, Number.NaN],
    [{ doubleValue: 'Infinity' }, Number.POSITIVE_INFINITY],
    [{ boolValue: false }, false],
    [{ bytesValue: 'AQID' }, 'AQID'],
    [{ arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }, { boolValue: true }] } }, '["a",2,true]'],
    [{ kvlistValue: { values: [{ key: 'k', value: { doubleValue: 1.5 } }, { key: 'n', value: { arrayValue: {} } }] } }, '{"k":1.5,"n":[]}'],
    [{ string_value: 'snake' }, 'snake'],
    [{ int_value: '7' }, 7],
    [{}, undefined],
  ])('OTLP AnyValue %j → %j', (value, want) => {
    expect(anyValue(value)).toEqual(want);
  });

  it.each([
    ['403', 403],
    ['-1.5', -1.5],
    ['1e3', 1000],
    ['true', true],
    ['false', false],
    ['007', '007'],
    ['+1', '+1'],
    ['12345678901234567890', '12345678901234567890'],
    ['1.2.3.4', '1.2.3.4'],
    ['', ''],
    ['NaN', 'NaN'],
  ])('Zipkin tag %j → %j', (text, want) => {
    expect(zipkinTagValue(text)).toEqual(want);
  });

  it.each([
    ['int64', '9223372036854775222', '9223372036854775222'],
    ['int64', 12, 12],
    ['float64', 72.5, 72.5],
    ['bool', 'true', true],
    ['binary', 'AAAwOQ==', 'AAAwOQ=='],
    ['string', 'x', 'x'],
  ])('Jaeger %s tag %j → %j', (type, value, want) => {
    expect(jaegerTagValue(type, value)).toEqual(want);
  });

  it('Python ISO times keep their microseconds exactly', () => {
    expect(isoToNs('2023-10-10T08:18:28.679261Z')).toBe(1696925908679261000n);
    expect(isoToNs('2023-10-10T08:18:28Z')).toBe(1696925908000000000n);
    expect(isoToNs('2023-10-10T10:18:28.1+02:00')).toBe(1696925908100000000n);
    expect(isoToNs('yesterday')).toBeUndefined();
  });
});

describe('opaque ids in a real-shaped Jaeger export', () => {
  it('"trace-123" / "span-1" ids are read, parents linked, and counted as a leniency', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readAllSpans } = await import('../../src/formats/index.js');
    const { analyzeFiles } = await import('../../src/analyzer/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'ld-opaque-'));
    try {
      const span = (id: string, parent: string | undefined, start: number, duration: number): Record<string, unknown> => ({
        traceID: 'trace-123',
        spanID: id,
        operationName: id === 'span-1' ? 'GET /' : 'db',
        references: parent === undefined ? [] : [{ refType: 'CHILD_OF', traceID: 'trace-123', spanID: parent }],
        startTime: 1_700_000_000_000_000 + start,
        duration,
        processID: 'p1',
      });
      const file = join(dir, 'opaque.json');
      writeFileSync(file, JSON.stringify({ data: [{ traceID: 'trace-123', spans: [span('span-1', undefined, 0, 1000), span('span-2', 'span-1', 100, 600)], processes: { p1: { serviceName: 'web' } } }] }));
      const { spans, stats } = await readAllSpans(file);
      expect(spans.map((s) => [s.traceId, s.spanId, s.parentSpanId])).toEqual([
        ['trace-123', 'span-1', undefined],
        ['trace-123', 'span-2', 'span-1'],
      ]);
      expect(stats.leniencies.join('\n')).toMatch(/opaque \(non-hex\) ids kept as written: \d+/);
      const result = await analyzeFiles([file]);
      expect(result.traces).toBe(1);
      expect(result.assembly.orphanSpans).toBe(0);
      const root = result.generic!.bySelfTime.find((o) => o.operation === 'GET /')!;
      // 1 ms root minus its 0.6 ms child: the parent link was followed.
      expect(root.selfMs).toBeCloseTo(0.4, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

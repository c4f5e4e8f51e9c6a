import { describe, expect, it } from 'vitest';
import { RequestTable, RequestTableBuilder, StartOrigin, asTable } from '../../src/model/request-table.js';
import type { RequestTiming } from '../../src/model/request.js';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { quantileSorted, quantilesInPlace } from '../../src/analyzer/diagnose/stats.js';
import { generate } from '../diagnose/gen.js';
import { seededRandom as rng } from '../../examples/model/seeded-random.js';

/** Rows with every optional field present on some and absent on others, and ids of every shape. */
function mixedRows(n: number): RequestTiming[] {
  const rand = rng(7);
  const ids = ['00000000000000000000000000000abc', 'ABCDEF', 'not-hex:éè', '', '0', 'f'.repeat(33), 'a1b2c'];
  return generate({ n, phases: { queue: 2, compute: 5 }, other: 0.5, batchSize: () => 1 + Math.floor(rand() * 8), duplicateShare: 0.3, requestBytes: 1200 }).map((r, i) => {
    const row: { -readonly [K in keyof RequestTiming]: RequestTiming[K] } = { ...r, phases: i % 5 === 0 ? {} : i % 3 === 0 ? { ...r.phases, decode: 0 } : r.phases };
    if (i % 11 === 0) row.traceId = ids[i % ids.length]!;
    if (i % 13 === 0) row.requestSpanId = ids[(i + 3) % ids.length]!;
    if (i % 4 === 0) row.ttftMs = rand() * 10;
    if (i % 6 === 0) row.tokensOut = Math.floor(rand() * 300);
    if (i % 7 === 0) row.cacheHit = i % 14 === 0;
    if (i % 9 === 0) row.runtime = `runtime-${i % 4}`;
    if (i % 10 === 0) row.source = 'triton';
    if (i % 17 === 0) row.model = 'other-model';
    if (i % 19 === 0) row.error = true;
    if (i % 23 === 0) row.service = '';
    return row;
  });
}

describe('RequestTable', () => {
  it('gives back every row as it was given, field for field, as its columns grow', () => {
    // 40 000 rows: columns past 128 KiB (16 384 doubles) move into a WebAssembly.Memory and grow there.
    const rows = mixedRows(40_000);
    const table = RequestTable.from(rows);
    expect(table.length).toBe(rows.length);
    const back = table.rows();
    expect(back).toEqual(rows);
    // Absent optional fields stay absent (not undefined-valued keys).
    const plain = rows.findIndex((r) => r.ttftMs === undefined);
    expect(Object.keys(back[plain]!)).not.toContain('ttftMs');
    expect([...table].length).toBe(rows.length);
    expect(table.at(-1)).toEqual(rows[rows.length - 1]);
    expect(table.at(rows.length)).toBeUndefined();
  });

  it('keeps ids exactly: leading zeros, odd lengths, uppercase, non-hex, empty and over-long ids', () => {
    const ids = ['0000000000000000000000000000000a', '00ab', 'abc', 'ABC', 'zz-top', '', 'f'.repeat(33), '0123456789abcdef', '😀'];
    const rows = ids.map((id, i) => ({ ...generate({ n: 1, phases: { compute: 1 } })[0]!, traceId: id, requestSpanId: ids[(i + 1) % ids.length]! }));
    const table = RequestTable.from(rows);
    expect(ids.map((_, i) => table.traceId(i))).toEqual(ids);
    expect(ids.map((_, i) => table.requestSpanId(i))).toEqual(ids.map((_, i) => ids[(i + 1) % ids.length]));
    // …and through selections and slices.
    expect(table.select([8, 0, 5]).rows().map((r) => r.traceId)).toEqual(['😀', ids[0], '']);
    expect(table.slice(3, 6).rows().map((r) => r.traceId)).toEqual(ids.slice(3, 6));
  });

  it('sums a start from an origin and a relative offset exactly as BigInts do: carries, negative offsets, both ends held, offsets past 2^53, origins out of range', () => {
    const max = (1n << 64n) - 1n;
    const origins = [0n, 1n, 1_764_000_000_123_456_789n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) + 12_345n, max - 5n, max, -7n, max + 3n];
    const offsets = [0, 1, -1, 4_294_967_295, 4_294_967_296, -4_294_967_296, -4_294_967_297, 123_456_789_012, -1_764_000_000_123_456_789, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 60 + 2 ** 40, -(2 ** 62), 2 ** 64];
    for (const memoryAt of [0, Infinity]) {
      const builder = new RequestTableBuilder({ memoryAt });
      const expected: bigint[] = [];
      // Enough rows that the columns grow (and the halves' view is renewed) along the way.
      for (let round = 0; round < 40; round++) {
        for (const ns of origins) {
          const origin = new StartOrigin(ns);
          for (const offset of offsets) {
            builder.appendFrom('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', origin, offset + round, 1, 1, 0, 0);
            const sum = ns + BigInt(offset + round);
            expected.push(sum < 0n ? 0n : sum > max ? max : sum);
          }
        }
      }
      expect([...builder.build().startNs]).toEqual(expected);
    }
  });

  it('gives back the same rows and ids whether its columns grow in a WebAssembly.Memory or in plain arrays', () => {
    const ids = ['0000000000000000000000000000000a', '00ab', 'abc', 'ABC', 'zz-top', '', 'f'.repeat(33), '0123456789abcdef', '😀', '123456789abcdef0123456789abcdef'];
    const rows = mixedRows(3000).map((r, i) => ({ ...r, traceId: i % 3 === 0 ? ids[i % ids.length]! : r.traceId, requestSpanId: i % 4 === 0 ? ids[(i + 1) % ids.length]! : r.requestSpanId }));
    for (const memoryAt of [0, Infinity]) {
      const builder = new RequestTableBuilder({ memoryAt });
      for (const r of rows) builder.addRow(r);
      const table = builder.build();
      expect(table.rows()).toEqual(rows);
      expect(table.e2eMs.length).toBe(rows.length);
      expect(table.sortByStartInPlace()).toBeUndefined();
      expect(table.rows()).toEqual([...rows].map((r, i) => [r, i] as const).sort(([a, i], [b, j]) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : i - j)).map(([r]) => r));
    }
  });

  it('selects, slices, filters and groups as the same operations on the rows do', () => {
    const rows = mixedRows(5000);
    const table = asTable(rows);
    expect(asTable(table)).toBe(table);
    const picked = [4999, 0, 17, 17, 2500];
    expect(table.select(picked).rows()).toEqual(picked.map((i) => rows[i]));
    expect(table.slice(1000, 3100).rows()).toEqual(rows.slice(1000, 3100));
    expect(table.slice(-10).rows()).toEqual(rows.slice(-10));
    expect(table.slice(4000, 100).length).toBe(0);
    expect(table.where((i) => table.error(i)).rows()).toEqual(rows.filter((r) => r.error));
    expect(table.where(() => true)).toBe(table);
    const groups = table.byModel();
    expect([...groups.keys()]).toEqual(['other-model', 'resnet50']);
    for (const [model, list] of groups) expect(list.rows()).toEqual(rows.filter((r) => r.model === model));
    // Columns: NaN where absent.
    const ttft = table.number('ttftMs');
    rows.forEach((r, i) => expect(Number.isNaN(ttft[i]!)).toBe(r.ttftMs === undefined));
    const decode = table.phase('decode');
    rows.forEach((r, i) => expect(Number.isNaN(decode[i]!)).toBe(r.phases.decode === undefined));
  });

  it('groups by model name when the dictionary overflows (more than 10 000 distinct texts)', () => {
    const rows = generate({ n: 12_000, phases: { compute: 1 } }).map((r, i) => ({ ...r, runtime: `rt-${i}`, model: i % 2 === 0 ? 'a' : 'b' }));
    const groups = RequestTable.from(rows).byModel();
    expect([...groups.keys()]).toEqual(['a', 'b']);
    expect(groups.get('b')!.rows()).toEqual(rows.filter((r) => r.model === 'b'));
  });

  it("holds each request's texts as one of the run's combinations of them, read back field by field through selections, slices and sorts", () => {
    // Six combinations of service, model, version and runtime, in runs and interleaved, some
    // fields absent in some; the same combination again after others must be the same set.
    const combos = [
      { service: 'api', model: 'a' },
      { service: 'api', model: 'a', modelVersion: '2', runtime: 'onnxruntime' },
      { service: 'api', model: 'b', runtime: 'onnxruntime' },
      { service: '', model: 'b', precision: 'fp16', device: 'cuda:1', source: 'triton' },
      { service: 'batch', model: 'a', modelVersion: '3' },
      // The first again with only the last field added: a set differs from another by any one field.
      { service: 'api', model: 'a', source: 'vllm' },
    ];
    const pick = (i: number): number => (i < 3000 ? Math.floor(i / 500) : (i * 7) % 6);
    const rows = generate({ n: 6000, phases: { compute: 1 } }).map((r, i) => ({ ...r, startNs: r.startNs + BigInt(((i * 389) % 6000) * 1_000_000), ...combos[pick(i)]! }));
    const table = RequestTable.from(rows);
    expect(table.rows()).toEqual(rows);
    for (const field of ['service', 'model', 'modelVersion', 'runtime', 'runtimeProvider', 'precision', 'device', 'source'] as const) {
      const indexes = table.textIndexes(field);
      for (let i = 0; i < rows.length; i += 7) {
        expect(table.textValue(indexes[i]!)).toBe(table.text(field, i));
        expect(table.textIndex(field, i)).toBe(indexes[i]);
        const given = rows[i]![field];
        expect(table.text(field, i)).toBe(given === '' && field !== 'service' ? undefined : given);
      }
    }
    const groups = table.byModel();
    expect([...groups.keys()]).toEqual(['a', 'b']);
    expect(groups.get('a')!.rows()).toEqual(rows.filter((r) => r.model === 'a'));
    expect(table.slice(2990, 3010).rows()).toEqual(rows.slice(2990, 3010));
    const sorted = RequestTable.from(rows);
    sorted.sortByStartInPlace();
    expect(sorted.rows()).toEqual([...rows].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0)));
    // A set is written once its request's texts are all in: only the last appended request's texts can be set.
    const builder = new RequestTableBuilder();
    const first = builder.append('t1', 's1', 1n, 1, 1, 0, 0);
    builder.setRequiredText(first, 1, 'a');
    builder.append('t2', 's2', 2n, 1, 1, 0, 0);
    expect(() => builder.setText(first, 3, 'onnxruntime')).toThrow(/request 0 is not the last appended/);
  });

  it('holds what the analyzer assembled: the rows of a real export equal their table columns', async () => {
    const result = await analyzeFiles(['examples/traces/inference-demo.otlp.jsonl'], { diagnose: false });
    const table = result.timings;
    expect(table.length).toBe(result.requests);
    expect(table.length).toBeGreaterThan(100);
    const rows = table.rows();
    rows.forEach((r, i) => {
      expect(r.e2eMs).toBe(table.e2eMs[i]);
      expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(r.startNs).toBe(table.startNs[i]);
    });
    expect(RequestTable.from(rows).rows()).toEqual(rows);
  });

  it('gives each start as exact ns after the earliest, across 32-bit boundaries, for sign-crossing and selected tables', () => {
    const base = generate({ n: 1, phases: { compute: 1 } })[0]!;
    const rand = rng(11);
    const check = (starts: bigint[], exact: boolean): void => {
      const table = RequestTable.from(starts.map((startNs) => ({ ...base, startNs })));
      const min = starts.reduce((a, b) => (b < a ? b : a));
      const { originNs, offsetsNs, exact: isExact } = table.startOffsets();
      expect(originNs).toBe(min);
      expect(isExact).toBe(exact);
      expect([...offsetsNs]).toEqual(starts.map((s) => Number(s - min)));
      // A slice reads its own starts (a view on the same buffer, at an offset).
      const tail = table.slice(starts.length >> 1);
      const tailMin = starts.slice(starts.length >> 1).reduce((a, b) => (b < a ? b : a));
      expect([...tail.startOffsets().offsetsNs]).toEqual(starts.slice(starts.length >> 1).map((s) => Number(s - tailMin)));
    };
    // Today's epoch ns around a low-half wrap (2^32 ns ≈ 4.3 s), in random order.
    const epoch = 1_764_000_000_000_000_000n + (1n << 32n) - 3_000_000_000n;
    check(Array.from({ length: 5000 }, () => epoch + BigInt(Math.floor(rand() * 9e9))), true);
    // Around zero (a clock that counts from boot).
    check([5n, 3n, 0n, 4294967296n, 1n << 40n], true);
    // Across 2^63 ns (2262-04-11), where a signed 64-bit column turned starts negative: OTLP's
    // times are unsigned (fixed64), up to 2^64 − 1.
    const high = 1n << 63n;
    check([high + 5n, high - 3n, high, high + 4294967296n, high - 4294967297n, high + (1n << 40n)], true);
    check([(1n << 64n) - 1n, (1n << 64n) - 4294967297n, (1n << 64n) - 2n], true);
    // Starts 2^53 ns (104 days) apart: rounded as Number(start − origin) rounds them.
    check([0n, (1n << 53n) + 1n, 7n, (1n << 60n) + 12345n], false);
    expect(RequestTable.empty().startOffsets()).toEqual({ originNs: 0n, offsetsNs: new Float64Array(0), exact: true });
  });

  it('sorts in place by start, ties in table order, every column and id shape moving with its row', () => {
    const rand = rng(5);
    // Starts in random order with ties (a few hundred distinct values), some with an input hash.
    const rows = mixedRows(20_000).map((r, i) => ({ ...r, startNs: 1_764_000_000_000_000_000n + BigInt(Math.floor(rand() * 300)) * 4_000_000_000n, ...(i % 8 === 0 ? { inputHash: `h${i % 24}` } : {}) }));
    const expected = rows.map((r, i) => ({ r, i })).sort((a, b) => (a.r.startNs < b.r.startNs ? -1 : a.r.startNs > b.r.startNs ? 1 : a.i - b.i)).map((x) => x.r);
    const table = RequestTable.from(rows);
    const before = table.startOffsets();
    table.sortByStartInPlace();
    expect(table.rows()).toEqual(expected);
    // Offsets are recomputed for the new order; a sorted table is left as it is.
    expect(table.startOffsets()).not.toBe(before);
    expect([...table.startOffsets().offsetsNs]).toEqual(expected.map((r) => Number(r.startNs - expected[0]!.startNs)));
    table.sortByStartInPlace();
    expect(table.rows()).toEqual(expected);
  });

  it('orders rows by start as a stable sort does: empty, one row, nearly sorted, reversed, all tied, shuffled with ties, an odd number of runs', () => {
    const rand = rng(9);
    const base = generate({ n: 1, phases: { compute: 1 } })[0]!;
    const shapes: Record<string, number[]> = {
      empty: [],
      one: [5],
      two: [7, 3],
      three: [3, 1, 2],
      sorted: Array.from({ length: 50 }, (_, i) => i),
      nearly: Array.from({ length: 3000 }, (_, i) => i * 10 + Math.floor(rand() * 80)),
      reversed: Array.from({ length: 1001 }, (_, i) => 1001 - i),
      tied: Array.from({ length: 500 }, () => 42),
      shuffled: Array.from({ length: 4000 }, () => Math.floor(rand() * 700)),
      runs: [1, 2, 3, 0, 5, 6, -1, 9, 4, 4, 4, 2, 8],
    };
    for (const [name, starts] of Object.entries(shapes)) {
      const table = RequestTable.from(starts.map((ms, i) => ({ ...base, traceId: i.toString(16).padStart(32, '0'), startNs: 1_764_000_000_000_000_000n + BigInt(ms) * 1_000_000n })));
      const expected = starts.map((ms, i) => ({ ms, i })).sort((a, b) => a.ms - b.ms || a.i - b.i).map((x) => x.i);
      const order = table.startOrder();
      const inOrder = expected.every((v, i) => v === i);
      expect(order === undefined ? 'in order' : [...order], name).toEqual(inOrder ? 'in order' : expected);
      table.sortByStartInPlace();
      expect(Array.from({ length: table.length }, (_, i) => Number.parseInt(table.traceId(i), 16)), name).toEqual(expected);
    }
  });

  it('holds starts from 0 to 2^64 − 1 ns as written, in start order past 2^63; a start rounded past either end is held at it', () => {
    const base = generate({ n: 1, phases: { compute: 1 } })[0]!;
    const starts = [(1n << 64n) - 1n, 1n << 63n, 1_764_000_000_000_000_000n, (1n << 63n) - 1_000_000n, 0n];
    const table = RequestTable.from(starts.map((startNs) => ({ ...base, startNs })));
    expect([...table.startNs]).toEqual(starts);
    table.sortByStartInPlace();
    expect([...table.startNs]).toEqual([0n, 1_764_000_000_000_000_000n, (1n << 63n) - 1_000_000n, 1n << 63n, (1n << 64n) - 1n]);
    // The assembler makes a start from a relative time, a double: past 2^53 ns from the input's
    // first span it is rounded, and may land past 2^64 − 1 (or below 0).
    const rounded = RequestTable.from([{ ...base, startNs: 1n << 64n }, { ...base, startNs: -1024n }]);
    expect([...rounded.startNs]).toEqual([(1n << 64n) - 1n, 0n]);
  });

  it('holds a field no request has as one shared column of absent values, through growth, selections and sorts', () => {
    // 5000 rows (the columns grow several times): tokens only in rows 3100–3199, made when the
    // first of them comes; no ttft, no cache hits, one phase set; every other optional field absent from all.
    const rows = generate({ n: 5000, phases: { compute: 5 } }).map((r, i) => ({ ...r, startNs: r.startNs + BigInt(((i * 131) % 5000) * 1_000_000), ...(i >= 3100 && i < 3200 ? { tokensOut: i } : {}) }));
    const table = RequestTable.from(rows);
    expect(table.rows()).toEqual(rows);
    const tokens = table.number('tokensOut');
    expect(tokens.filter((v) => v === v).length).toBe(100);
    expect(Number.isNaN(tokens[0]!) && Number.isNaN(tokens[4999]!)).toBe(true);
    const absent = table.number('ttftMs');
    expect(table.number('tokensIn')).toBe(absent);
    expect(table.phase('queue')).toBe(absent);
    expect(table.phase('compute')).not.toBe(absent);
    expect(absent.every((v) => Number.isNaN(v))).toBe(true);
    expect(table.textIndexes('runtime').every((k) => k === -1)).toBe(true);
    expect(table.text('precision', 4999)).toBeUndefined();
    const picked = table.select([4, 3150, 2]);
    expect(picked.number('ttftMs')).toBe(picked.phase('decode'));
    expect(picked.rows()).toEqual([rows[4], rows[3150], rows[2]]);
    table.sortByStartInPlace();
    expect(table.number('ttftMs').every((v) => Number.isNaN(v))).toBe(true);
    expect(table.rows()).toEqual([...rows].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0)));
  });

  it('gives the analysis its timings in start order, and the same summaries and diagnosis as before the sort', async () => {
    // Two models whose requests interleave, assembled out of start order (traces finalized as they go idle).
    const rows = mixedRows(3000).map((r, i) => ({ ...r, startNs: r.startNs + BigInt(((i * 7919) % 3000) * 1_000_000) }));
    const { diagnose } = await import('../../src/analyzer/diagnose/index.js');
    const { summarize } = await import('../../src/analyzer/measure.js');
    const table = RequestTable.from(rows);
    const summary = summarize('resnet50', table.byModel().get('resnet50')!);
    const unsorted = diagnose({ model: 'resnet50', requests: table.byModel().get('resnet50')!, summary });
    const sorted = table.byModel().get('resnet50')!;
    sorted.sortByStartInPlace();
    expect(diagnose({ model: 'resnet50', requests: sorted, summary })).toEqual(unsorted);
    const result = await analyzeFiles(['examples/traces/inference-demo.jaeger.json'], {});
    const starts = result.timings.startNs;
    for (let i = 1; i < starts.length; i++) expect(starts[i]! >= starts[i - 1]!).toBe(true);
  });
});

describe('quantilesInPlace (selection)', () => {
  it('equals quantileSorted of the sorted values on random, tied, sorted and adversarial inputs', () => {
    const rand = rng(11);
    const qs = [0, 0.01, 0.4, 0.5, 0.6, 0.95, 0.99, 1];
    const cases: number[][] = [[], [3], [2, 1], [5, 5, 5, 5], [0, -0, 0, -0]];
    for (let k = 0; k < 200; k++) {
      const n = 1 + Math.floor(rand() * 3000);
      const kind = k % 5;
      const values = Array.from({ length: n }, (_, i) =>
        kind === 0 ? rand() * 100 : kind === 1 ? Math.floor(rand() * 4) : kind === 2 ? i : kind === 3 ? n - i : i < n / 2 ? i : n - i,
      );
      cases.push(values);
    }
    for (const values of cases) {
      const sorted = Float64Array.from(values).sort();
      const expected = qs.map((q) => quantileSorted(sorted, q));
      const got = quantilesInPlace(Float64Array.from(values), qs);
      expect(got.map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(expected.map((v) => (Object.is(v, -0) ? 0 : v)));
    }
  });

  it('equals quantileSorted past the sorting size, where ranks are found by bucketing: heavy tails, outliers, ties, narrow and wide ranges, ±Infinity', () => {
    const rand = rng(12);
    const qs = [0, 0.01, 0.4, 0.5, 0.6, 0.95, 0.99, 1];
    const kinds: ((i: number, n: number) => number)[] = [
      () => -Math.log(1 - rand()) * 20,
      // One value a billion times the rest: every other value in the lowest bucket.
      (i) => (i === 7 ? 1e12 : rand() * 10),
      () => Math.floor(rand() * 3),
      (i) => 1 + (i % 97) * Number.EPSILON,
      () => (rand() - 0.5) * 1e300,
      (i) => (i % 2 === 0 ? 0 : -0) + (i % 5 === 0 ? rand() : 0),
      (i, n) => (i === n - 1 ? Number.POSITIVE_INFINITY : i === 0 ? Number.NEGATIVE_INFINITY : rand()),
      (i) => (i < 100 ? 1e-310 * rand() : 5),
      (i) => i,
    ];
    for (let k = 0; k < 36; k++) {
      const n = 1025 + Math.floor(rand() * 60_000);
      const kind = kinds[k % kinds.length]!;
      const values = Float64Array.from({ length: n }, (_, i) => kind(i, n));
      const sorted = Float64Array.from(values).sort();
      // On a rank exactly, the value there: quantileSorted's interpolation would make ∞ − ∞ of ±Infinity.
      const expected = qs.map((q) => (Number.isInteger((n - 1) * q) ? sorted[(n - 1) * q]! : quantileSorted(sorted, q)));
      const got = quantilesInPlace(values, qs);
      expect(got.map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(expected.map((v) => (Object.is(v, -0) ? 0 : v)));
    }
  });
});

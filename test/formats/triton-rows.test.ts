/**
 * A Triton trace file read record by record for the analyzer (`readSpanBatches` with the
 * analyzer's `tritonRows`) comes as rows of our convention, mapped as it is read
 * (analyzer/conventions/triton.ts, `TritonRowSink`), not as one SpanRecord a request with its
 * timestamps as events for the convention mapper to map. What it gives must be exactly what the
 * mapper gave: the same mapped spans in the same order (each row as its record), the same
 * conventions counted, the same reading stats and warnings, and the same analysis. Compared on
 * the Triton fixtures, on files as Triton writes them under load, and on damaged and edited ones
 * (timestamps out of order, missing, unreadable, past 2⁵³ ns, in the 1.x spelling; parents that
 * loop or are missing; records that are not Triton's; an array never closed).
 */

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/analyzer/pipeline.js';
import { CONVENTION_EVENTS, ConventionMapper, tritonRows } from '../../src/analyzer/conventions/index.js';
import { LastRecords } from '../../src/formats/_triton-release.js';
import { readSpanBatches, ScannedSpans, TraceFormatError } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import type { SpanRecord } from '../../src/model/span.js';
import { busyServer, tracesOf, tritonWrites } from '../support/triton-busy.js';
import type { TemplateRecord } from '../support/triton-busy.js';
import { damage, fixture, jsonText, random, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Every file, however small, read record by record (the path of files past 1 MiB). */
const RECORD_BY_RECORD: ReadOptions = { scanDocumentBytes: 0, events: CONVENTION_EVENTS };

/** The spans the convention mapper hands the assembler, in order (rows as their records), what it counted, and what reading said; or the reading's error. */
async function mapped(file: string, rows: boolean): Promise<{ spans?: SpanRecord[]; uses?: string; stats?: string; rowBatches?: number; error?: string }> {
  const mapper = new ConventionMapper();
  const reader = readSpanBatches(file, { ...RECORD_BY_RECORD, ...(rows ? { tritonRows } : {}) });
  const spans: SpanRecord[] = [];
  let rowBatches = 0;
  try {
    for (;;) {
      const next = await reader.next();
      if (next.done === true) {
        spans.push(...mapper.finish());
        return { spans, uses: jsonText(mapper.uses('first-use')), stats: jsonText(next.value), rowBatches };
      }
      const batch = next.value;
      if (batch instanceof ScannedSpans) rowBatches++;
      for (const entry of mapper.mapEntries(batch)) spans.push(typeof entry === 'number' ? (batch as ScannedSpans).record(entry) : entry);
    }
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return { error: error.message };
  }
}

/** The analysis of the file as read one way or the other, every figure of it. */
async function analysis(file: string, rows: boolean): Promise<string> {
  try {
    return jsonText(await analyzeSpans(readSpanBatches(file, { ...RECORD_BY_RECORD, ...(rows ? { tritonRows } : {}) })));
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return error.message;
  }
}

/** Rows and records give the same; rows were given when the file was read record by record. */
async function expectSame(file: string): Promise<void> {
  const [records, rows] = [await mapped(file, false), await mapped(file, true)];
  expect(rows).toEqual({ ...records, rowBatches: rows.rowBatches });
  expect(records.rowBatches ?? 0).toBe(0);
  expect(await analysis(file, true)).toBe(await analysis(file, false));
}

const FIXTURES = ['serving/triton_trace_v2_docs_example.json', 'serving/triton-trace-v2-grpc-ensemble.synthetic.json', 'serving/triton-trace-v2-responds-after-execute.synthetic.json', 'serving/triton-trace-v1-grpc.synthetic.json', 'traces/ml-serving/triton-docs-trace-timestamps.json'];
const fixtureFile = (name: string): string => (name.startsWith('traces/') ? fixture(name.slice('traces/'.length)) : new URL(`../fixtures/${name}`, import.meta.url).pathname);

describe('Triton trace files as rows mapped while read, against records mapped by the convention mapper', () => {
  it.each(FIXTURES)('the fixture %s: the same spans, uses, stats and analysis (and rows were given)', async (name) => {
    const file = fixtureFile(name);
    await expectSame(file);
    expect((await mapped(file, true)).rowBatches).toBeGreaterThan(0);
  });

  const templates = FIXTURES.slice(0, 3).flatMap((name) => tracesOf(JSON.parse(readFileSync(fixtureFile(name), 'utf8')) as TemplateRecord[]));
  const { records: written } = tritonWrites(templates, 400, 11);
  const busy = busyServer(800_000, 20261202);

  it.each([
    ['the fixtures’ traces written as Triton writes them', `[${written.join(',')}]`],
    ['a busy server’s file, a record per line', `[\n${busy.join(',\n')}\n]\n`],
    ['a busy server’s file never closed, cut inside a record', `[${busy.join(',')},{"id":10000000,"timestamps":[{"name":"QUEUE_ST`],
    ['a busy server’s file never closed between records', `[${busy.join(',')}`],
  ])('%s: the same', async (name, text) => {
    await expectSame(tmp.write(`${name.replace(/\W+/g, '-')}.json`, text));
  }, 60_000);

  it('compressed: the same', async () => {
    await expectSame(tmp.write('busy-rows.json.gz', gzipSync(`[\n${busy.join(',\n')}\n]\n`)));
  }, 60_000);

  /** Edits of one record each, as files edited by hand or written by a broken server have them. */
  const EDITS: readonly ((r: string) => string)[] = [
    (r) => r.replace(/"ns":(\d+)/, (_m, n: string) => `"ns":${Number(n) - 900_000_000}`),
    (r) => r.replace(/"timestamps":\[[^\]]*\]/, '"timestamps":[]'),
    (r) => r.replace(/"ns":(\d+)/, '"ns":"abc"'),
    (r) => r.replace(/"ns":(\d+)/, '"ns":-5'),
    (r) => r.replace(/"ns":(\d+)/, (_m, n: string) => `"ns":"${n}"`),
    (r) => r.replace(/"ns":(\d+)/, (_m, n: string) => `"ns":${n}.4`),
    (r) => r.replace(/"ns":(\d+)/, '"ns":1e300'),
    (r) => r.replace(/"ns":(\d+)/, '"ns":9007199254740993'),
    (r) => r.replace(/"ns":(\d+)/, '"ns":"90071992547409931234"'),
    (r) => r.replace(/"model_version":(\d+)/, '"model_version":-1'),
    (r) => r.replace(/"model_name":"[^"]*"/, '"model_name":""'),
    (r) => r.replace(/"model_version":(\d+)/, '"model_version":"7","request_id":"","extra":{"a":[1,2]}'),
    (r) => r.replace(/\{"id":(\d+)/, (_m, id: string) => `{"id":${id},"parent_id":${id}`),
    (r) => r.replace(/\{"id":(\d+)/, (_m, id: string) => `{"id":${id},"parent_id":${Number(id) + 1}`),
    (r) => r.replace(/"timestamps":\[/, '"timestamps":[{"name":"INFER_RESPONSE_COMPLETE","ns":2356425054587445},{"name":"INFER_RESPONSE_COMPLETE","ns":2356425054587444},'),
    (r) => r.replace(/"timestamps":\[/, '"timestamps":[{"name":"COMPUTE_INPUT_END","ns":2356425054597444},{"name":"COMPUTE_OUTPUT_START","ns":2356425054599444},'),
    (r) => r.replace(/"name":"([A-Z_]+)"/g, (_m, n: string) => `"name":"${n.toLowerCase().replace(/_/g, ' ').replace('request ', 'request handler ')}"`),
    (r) => r.replace(/\{"id":(\d+)/, '{"idx":3'),
    (r) => r.replace(/"timestamps":\[/, '"timestamps":[{"nam\\u0065":"x","ns":1},'),
    (r) => r.replace(/"parent_id":\d+/, '"parent_id":0'),
    (r) => r.replace(/"parent_id":\d+/, '"parent_id":999999'),
  ];

  it.each([1, 2, 3])('edited records (seed %i): the same', async (seed) => {
    const rand = random(seed);
    const edited = busy.map((r) => (rand() < 0.2 ? EDITS[Math.floor(rand() * EDITS.length)]!(r) : r));
    await expectSame(tmp.write(`edited-${seed}.json`, `[\n${edited.join(',\n')}\n]\n`));
  }, 60_000);

  it('every time past 2⁵³ ns (a string of digits): the same', async () => {
    const shifted = busy.map((r) => r.replace(/"ns":(\d+)/g, (_m, n: string) => `"ns":"${BigInt(n) + 27_021_597_764_222_979n}"`));
    await expectSame(tmp.write('past-2-53.json', `[\n${shifted.join(',\n')}\n]\n`));
  }, 60_000);

  it.each([1, 2, 3, 4, 5, 6])('damaged at random (seed %i): the same', async (seed) => {
    const text = Buffer.from(`[\n${written.join(',\n')}\n]\n`);
    await expectSame(tmp.write(`damaged-${seed}.json`, damage(text, random(seed))));
  }, 60_000);
});

describe('LastRecords (a first reading’s request id → last record, in an array for the ids Triton gives)', () => {
  it('answers as a Map does, for dense, huge, negative, fractional and deleted ids', () => {
    const rand = random(5);
    const last = new LastRecords();
    const map = new Map<number, number>();
    const ids = (): number => {
      const x = rand();
      return x < 0.7 ? Math.floor(rand() * 5_000) : x < 0.8 ? Math.floor(rand() * 1e9) : x < 0.85 ? -Math.floor(rand() * 100) : x < 0.9 ? rand() * 100 : x < 0.95 ? 2 ** 60 : Math.floor(rand() * 200_000);
    };
    for (let i = 0; i < 50_000; i++) {
      const id = ids();
      if (rand() < 0.05) {
        last.delete(id);
        map.delete(id);
      } else {
        last.set(id, i);
        map.set(id, i);
      }
      const probe = ids();
      expect(last.get(probe)).toBe(map.get(probe));
      expect(last.has(probe)).toBe(map.has(probe));
    }
    expect(last.size).toBe(map.size);
    expect([...last.keys()].sort((a, b) => a - b)).toEqual([...map.keys()].sort((a, b) => a - b));
    for (const [id, i] of map) expect(last.get(id)).toBe(i);
  });
});

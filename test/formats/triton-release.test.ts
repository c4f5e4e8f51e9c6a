/**
 * A large Triton trace file is read twice: first each request's last record, then its spans,
 * each request let go of once its last record is in, and each trace mapped (the Triton
 * convention) once its last request is out, not held to the end of input (an 84 MB file held
 * 0.6 GB). What the analysis gives must not change: it is compared, byte for byte, with the old
 * way (`reader: 'full'`, the file parsed whole) on files as Triton writes them under load:
 * requests in flight interleaved, ensembles whose steps are written before them, BLS calls one
 * level further down, decoupled streams with a response per token, requests that failed before
 * REQUEST_END, a request's records split far apart, one whose records all come late, children
 * of a parent in another file (a rotation), a request with no timestamps.
 *
 * A file never closed past 512 MiB was streamed by stream-json; the record reader reads it as
 * that did (the request written last left out), on a small file here with the size lowered
 * (ReadOptions `tritonUnclosedBytes`, internal).
 */

import { createReadStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/files.js';
import { ConventionMapper } from '../../src/analyzer/conventions/index.js';
import { closedTraces } from '../../src/formats/_closed-traces.js';
import { openFile } from '../../src/formats/_bytes.js';
import { ReadContext } from '../../src/formats/_context.js';
import { releaseTritonRecords, TritonIndex } from '../../src/formats/_triton-release.js';
import { streamTritonRecords } from '../../src/formats/_triton-stream.js';
import { readSpanBatches, TraceFormatError } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import type { SpanRecord } from '../../src/model/span.js';
import { renderJson } from '../../src/report/json.js';
import { busyServer, tracesOf, tritonWrites } from '../support/triton-busy.js';
import type { TemplateRecord } from '../support/triton-busy.js';
import { jsonText, readOutcome, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const RECORDS = busyServer(6_000_000, 20261130);

/** The analysis as the CLI's `--json` prints it. */
async function analysis(files: string[], options: { reader?: 'full'; threads?: boolean; strict?: boolean } = {}): Promise<string> {
  return renderJson(await analyzeFiles(files, { ...options }));
}

describe('a large Triton trace file, each request let go of once its last record is read', () => {
  const layouts: Record<string, string> = {
    "Triton's own: the whole array on one line": `[${RECORDS.join(',')}]`,
    'a record per line': `[\n${RECORDS.join(',\n')}\n]\n`,
    'never closed (a running server), cut inside a record': `[${RECORDS.join(',')},{"id":10000000,"timestamps":[{"name":"QUEUE_ST`,
  };

  it.each(Object.entries(layouts))('%s: the analysis is byte for byte the old way’s', async (name, text) => {
    const file = tmp.write(`busy-${name.replace(/\W+/g, '-')}.json`, text);
    const full = await analysis([file], { reader: 'full' });
    expect(JSON.parse(full).requests).toBeGreaterThan(7_000);
    expect(await analysis([file])).toBe(full);
  }, 120_000);

  it('--strict: the same analysis, or the same first skip (a request without timestamps) as the old way', async () => {
    const timed = RECORDS.filter((r) => !r.includes('"model_name":"no_timestamps"'));
    const clean = tmp.write('busy-strict.json', `[${timed.join(',')}]`);
    expect(await analysis([clean], { strict: true })).toBe(await analysis([clean], { reader: 'full', strict: true }));
    const file = tmp.write('busy-strict-untimed.json', layouts['a record per line']!);
    const error = (options: { reader?: 'full' }): Promise<unknown> => analysis([file], { ...options, strict: true }).catch((e: unknown) => e);
    const [records, full] = [await error({}), await error({ reader: 'full' })];
    expect(records).toBeInstanceOf(TraceFormatError);
    expect((records as Error).message).toMatch(/expected timestamps of a Triton request, got none/);
    expect((records as Error).message).toBe((full as Error).message);
  }, 120_000);

  it('read by a reader thread: the same analysis', async () => {
    const file = tmp.write('busy-thread.json', layouts["Triton's own: the whole array on one line"]!);
    expect(await analysis([file], { threads: true })).toBe(await analysis([file], { reader: 'full' }));
  }, 120_000);

  it('rotated into two files, an ensemble’s steps in the first, the ensemble in the second: the same analysis (the ensemble’s trace, in both files, waits until both are done with it)', async () => {
    // Each request's records in the file of its first record (the readers count a request cut in two apart), less the ensemble's.
    const idOf = (r: string): number => Number(/"id":(\d+)/.exec(r)![1]);
    const cut = RECORDS.findIndex((r, i) => i > RECORDS.length / 2 && r.includes('"model_name":"ensemble"') && RECORDS.slice(i - 200, i).some((c) => c.includes(`"parent_id":${idOf(r)}`)));
    const ensemble = idOf(RECORDS[cut]!);
    const before = new Set(RECORDS.slice(0, cut).map(idOf));
    before.delete(ensemble);
    const [older, newer] = [RECORDS.filter((r) => before.has(idOf(r))), RECORDS.filter((r) => !before.has(idOf(r)))];
    expect(older.some((r) => r.includes(`"parent_id":${ensemble}`))).toBe(true);
    const first = tmp.write('rotated.json.0', `[${older.join(',')}]`);
    const second = tmp.write('rotated.json.1', `[${newer.join(',')}]`);
    expect(await analysis([first, second])).toBe(await analysis([first, second], { reader: 'full' }));
  }, 120_000);

  it('compressed (decompressed again for the second reading): the same analysis', async () => {
    const file = tmp.write('busy.json.gz', gzipSync(layouts['a record per line']!));
    expect(await analysis([file])).toBe(await analysis([file], { reader: 'full' }));
  }, 120_000);

  it('hands each trace on once its last request is read: the convention maps nearly all of them before the end of input', async () => {
    const file = tmp.write('busy-batches.json', layouts['a record per line']!);
    const { batches, marked, before, after } = await mappedAsRead(file);
    expect(batches).toBeGreaterThan(4);
    expect(marked).toBe(batches);
    // The file ends with the steps of an ensemble not in it: their trace too is whole once they are read.
    expect(before).toBeGreaterThan(30_000);
    expect(after).toBe(0);
  }, 120_000);
});

/** Spans the Triton convention mapped as each batch of a file came (`before`) and at the end of input (`after`), and how many batches were marked with the traces they close. */
async function mappedAsRead(file: string, options: ReadOptions = {}): Promise<{ batches: number; marked: number; before: number; after: number }> {
  const mapper = new ConventionMapper();
  const reader = readSpanBatches(file, options);
  let batches = 0;
  let marked = 0;
  let before = 0;
  for (;;) {
    const next = await reader.next();
    if (next.done === true) break;
    const batch = next.value as SpanRecord[];
    batches++;
    if ((closedTraces(batch)?.length ?? 0) > 0) marked++;
    before += mapper.map(batch).length;
  }
  return { batches, marked, before, after: mapper.finish().length };
}

describe('a trace whose root request is not in the file (Triton files cut or split)', () => {
  // Copies of the traces of Triton's own example and of the ensemble and gRPC fixtures, written as Triton 2.20+ writes them.
  const fixtureRecords = (name: string): TemplateRecord[] => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/serving/${name}`, import.meta.url)), 'utf8')) as TemplateRecord[];
  const templates = ['triton_trace_v2_docs_example.json', 'triton-trace-v2-grpc-ensemble.synthetic.json', 'triton-trace-v2-responds-after-execute.synthetic.json'].flatMap((name) => tracesOf(fixtureRecords(name)));
  const { records } = tritonWrites(templates, 2_500, 16);
  /** A piece of the file cut at record `from` (a piece starts inside a trace: its first records may be the children of a request written before the cut). */
  const piece = (from: number, to: number): string => `[${records.slice(from, to).join(',')}]`;
  const idOf = (r: string): number => Number(/"id":(\d+)/.exec(r)![1]);
  const parentOf = (r: string): number | undefined => (/"parent_id":(\d+)/.exec(r) === null ? undefined : Number(/"parent_id":(\d+)/.exec(r)![1]));

  // The second piece starts with a request whose parent is in the first (the parent's records written before its children's).
  const seen = new Set<number>();
  const cut = records.findIndex((r, i) => {
    const parent = parentOf(r);
    const found = i > records.length / 3 && parent !== undefined && seen.has(parent) && idOf(records[i - 1]!) !== idOf(r);
    seen.add(idOf(r));
    return found;
  });

  it('the piece that starts with them: each trace handed on once its last request is read (none held to the end), and the analysis is the old way’s', async () => {
    expect(cut).toBeGreaterThan(0);
    const file = tmp.write('cut-piece.json.1', piece(cut, records.length));
    expect(Buffer.byteLength(readFileSync(file))).toBeGreaterThan(1 << 20);
    const { before, after } = await mappedAsRead(file);
    expect(before).toBeGreaterThan(10_000);
    expect(after).toBe(0);
    expect(await analysis([file])).toBe(await analysis([file], { reader: 'full' }));
  }, 120_000);

  it('a server killed while writing a trace whose children it had written (the array never closed, cut inside its root’s records): the same analysis as the old way, nothing held to the end', async () => {
    const parents = new Map(records.flatMap((r) => (parentOf(r) === undefined ? [] : [[idOf(r), parentOf(r)!] as const])));
    // The last trace whose root's records come after a child's.
    const root = records.findLastIndex((r, i) => i > 0 && parents.get(idOf(records[i - 1]!)) === idOf(r));
    expect(root).toBeGreaterThan(records.length / 2);
    const file = tmp.write('killed.json', `[${records.slice(0, root + 2).join(',')},${records[root + 2]!.slice(0, 20)}`);
    const { after } = await mappedAsRead(file, { scanDocumentBytes: 0 });
    expect(after).toBe(0);
    expect(await analysis([file])).toBe(await analysis([file], { reader: 'full' }));
  }, 120_000);

  it('both pieces together (two rotations of one server): the same analysis as the old way', async () => {
    const first = tmp.write('pieces.json.0', piece(0, cut));
    const second = tmp.write('pieces.json.1', piece(cut, records.length));
    expect(await analysis([first, second])).toBe(await analysis([first, second], { reader: 'full' }));
  }, 120_000);
});

describe('"parent_id": 0, which Triton’s C API defines as no parent', () => {
  const templates = ['triton-trace-v2-grpc-ensemble.synthetic.json', 'triton-trace-v2-responds-after-execute.synthetic.json'].flatMap((name) =>
    tracesOf(JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/serving/${name}`, import.meta.url)), 'utf8')) as TemplateRecord[]),
  );
  it.each([
    ['a small file (parsed whole)', 30],
    ['a large one (read record by record)', 3_000],
  ] as const)('%s: every request that says it is a root of its own, as when the field is left out', async (_name, traces) => {
    const { records } = tritonWrites(templates, traces, 16);
    const withZero = records.map((r) => (r.includes('"model_name"') && !r.includes('"parent_id"') ? r.replace(/}$/, ',"parent_id":0}') : r));
    expect(withZero).not.toEqual(records);
    // The same path (its trace ids are made from it), written one way then the other.
    const file = tmp.write('parent-zero.json', `[${records.join(',')}]`);
    const without = await analysis([file]);
    expect(JSON.parse(without).requests).toBe(records.filter((r) => r.includes('"model_name"')).length);
    tmp.write('parent-zero.json', `[${withZero.join(',')}]`);
    expect(await analysis([file])).toBe(without);
    expect(await analysis([file], { reader: 'full' })).toBe(without);
  }, 60_000);
});

describe('the two readings of one file', () => {
  it('a file that changed between them (other records than the first reading counted) is refused in one line, not read wrong', async () => {
    const first = tmp.write('changing.json', `[\n${RECORDS.slice(0, 2_000).join(',\n')}\n]\n`);
    const ctx = new ReadContext(first, false);
    const index = new TritonIndex(ctx);
    const read = await streamTritonRecords(first, createReadStream(first), index, () => false, true);
    expect(read?.records).toBe(2_000);
    // The same file rewritten with a record fewer (a rotation reusing the name): its second reading.
    const rewritten = tmp.write('changing-rewritten.json', `[\n${RECORDS.slice(1, 2_000).join(',\n')}\n]\n`);
    const spans: SpanRecord[] = [];
    const error = await (async () => {
      for await (const batch of releaseTritonRecords(rewritten, () => openFile(rewritten), 'none', index, read!, ctx, '', 2048)) spans.push(...(batch as SpanRecord[]));
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toMatch(/changing-rewritten\.json: expected the file unchanged while it is read, got it changed between two readings$/);
  });
});

describe('a Triton trace file never closed, past the size the old way parsed whole (512 MiB, lowered here)', () => {
  /** The old way past that size: the array streamed element by element. */
  const STREAMED: ReadOptions = { wholeDocumentBytes: 200 };
  const NOTE = /large document streamed element by element \(files\): 1/;

  /** Spans, skips and warnings read past the lowered size, and by the old way's stream parser. */
  async function both(text: string, name: string): Promise<[Awaited<ReturnType<typeof readOutcome>>, Awaited<ReturnType<typeof readOutcome>>]> {
    const file = tmp.write(name, text);
    return [await readOutcome(file, { scanDocumentBytes: 0, tritonUnclosedBytes: 1024 }), await readOutcome(file, STREAMED)];
  }

  /** The stats of a reading less the old way's note that it streamed the array. */
  function withoutNote(stats: string | undefined): unknown {
    const parsed = JSON.parse(stats ?? '{}') as { leniencies: string[]; format: string };
    return { ...parsed, leniencies: parsed.leniencies.filter((l) => !NOTE.test(l)) };
  }

  const records = RECORDS.slice(0, 4_000);
  const cases: Record<string, string> = {
    'a record per line, running': `[\n${records.join(',\n')}\n`,
    'a record per line, after a comma': `[\n${records.join(',\n')},\n`,
    'a record per line, killed inside a record': `[\n${records.join(',\n')},\n{"id":7,"timestamps":[{"name":"QUEUE_ST`,
    'one line, killed inside a record before its id': `[${records.join(',')},{"i`,
  };

  it.each(Object.entries(cases))('%s: the spans, skips and warnings the stream parser gave', async (name, text) => {
    const [records, streamed] = await both(text, `never-closed-${name.replace(/\W+/g, '-')}.json`);
    expect(streamed.error).toBeUndefined();
    expect(records.error).toBeUndefined();
    expect(records.fast).toEqual({ lines: 1, fallbacks: 0 });
    expect(JSON.parse(streamed.stats!).leniencies.join('\n')).toMatch(NOTE);
    expect(withoutNote(records.stats)).toEqual(withoutNote(streamed.stats));
    expect(jsonText(records.spans)).toBe(jsonText(streamed.spans));
    // The request written last is left out, and the file's end is named.
    expect(JSON.parse(records.stats!).warnings.some((w: { message: string }) => /written last and perhaps cut, left out/.test(w.message))).toBe(true);
  });

  it('below the lowered size, the whole records, as a parse of the whole file read them (not the request written last left out)', async () => {
    const text = `[\n${records.join(',\n')}\n`;
    const file = tmp.write('never-closed-small.json', text);
    const below = await readOutcome(file, { scanDocumentBytes: 0, tritonUnclosedBytes: text.length + 1 });
    expect(JSON.parse(below.stats!).warnings.some((w: { message: string }) => /its whole records were read/.test(w.message))).toBe(true);
  });
});

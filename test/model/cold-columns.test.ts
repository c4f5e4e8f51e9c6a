/**
 * A request table past its spill size keeps its cold columns in a temporary file
 * (model/_cold-columns.ts, model/_spill-file.ts): the same rows and columns as in memory, through
 * every operation, and a collection every 16 MiB read back where the host gives one.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { COLLECT_BYTES } from '../../src/model/_cold-columns.js';
import { RequestTable, TABLE_NUMBERS } from '../../src/model/request-table.js';
import type { RequestTiming } from '../../src/model/request.js';
import { PHASES } from '../../src/semconv.js';
import { generate } from '../diagnose/gen.js';
import { seededRandom as rng } from '../../examples/model/seeded-random.js';

/** Rows with optional fields present on some and absent on others, ids of every shape, starts out of order. */
function mixedRows(n: number, seed = 3): RequestTiming[] {
  const rand = rng(seed);
  const ids = ['00000000000000000000000000000abc', 'ABCDEF', 'not-hex:éè', '', '0', 'f'.repeat(33), '😀'];
  return generate({ n, phases: { queue: 2, compute: 5, transfer: 1 }, other: 0.5, batchSize: () => 1 + Math.floor(rand() * 8), requestBytes: 900 }).map((r, i) => {
    const row: { -readonly [K in keyof RequestTiming]: RequestTiming[K] } = { ...r, startNs: r.startNs + BigInt(Math.floor(rand() * 5e9)), phases: i % 5 === 0 ? {} : r.phases };
    if (i % 11 === 0) row.traceId = ids[i % ids.length]!;
    if (i % 13 === 0) row.requestSpanId = ids[(i + 3) % ids.length]!;
    if (i % 4 === 0) row.ttftMs = rand() * 10;
    if (i % 7 === 0) row.cacheHit = i % 14 === 0;
    if (i % 9 === 0) row.inputHash = `h${i % 5}`;
    if (i % 17 === 0) row.model = 'other-model';
    if (i % 19 === 0) row.error = true;
    // A field that first appears past the first blocks (its earlier rows absent in the file).
    if (i > n / 2 && i % 3 === 0) row.tokensOut = i % 300;
    return row;
  });
}

/** Every column a table gives, as plain arrays (ids by row). */
function columnsOf(t: RequestTable): unknown {
  return {
    e2e: [...t.e2eMs],
    server: [...t.serverMs],
    other: [...t.otherMs],
    phases: PHASES.map((p) => [...t.phase(p)]),
    numbers: TABLE_NUMBERS.map((f) => [...t.number(f)]),
    cache: [...t.cacheHits()],
    ids: Array.from({ length: t.length }, (_, i) => [t.traceId(i), t.requestSpanId(i), t.inputHash(i)]),
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'ld-cold-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a request table with its cold columns in a temporary file', () => {
  const rows = mixedRows(2_000);
  const memory = RequestTable.from(rows, { spillRows: Infinity });

  it('gives the rows and columns the same table in memory gives, for blocks of 1, 7 and 512 rows and one block of all', () => {
    for (const spillRows of [1, 7, 512, 2_000]) {
      const disk = RequestTable.from(rows, { spillRows });
      // One block of all rows never goes to the file: the last block is handed over in memory as before.
      expect(disk.onDisk !== undefined).toBe(spillRows < rows.length);
      expect(disk.rows()).toEqual(rows);
      expect(columnsOf(disk)).toEqual(columnsOf(memory));
    }
    expect(memory.onDisk).toBeUndefined();
  });

  it('selects, slices, filters, groups and sorts by start as the table in memory does', () => {
    const disk = RequestTable.from(rows, { spillRows: 64 });
    const picked = [1999, 0, 17, 17, 1000, 63, 64];
    expect(disk.select(picked).rows()).toEqual(picked.map((i) => rows[i]));
    expect(columnsOf(disk.select(picked))).toEqual(columnsOf(memory.select(picked)));
    expect(disk.slice(60, 1290).rows()).toEqual(rows.slice(60, 1290));
    expect(columnsOf(disk.slice(60, 1290))).toEqual(columnsOf(memory.slice(60, 1290)));
    expect(disk.where((i) => disk.error(i)).rows()).toEqual(rows.filter((r) => r.error));
    for (const [model, list] of disk.byModel()) expect(list.rows()).toEqual(rows.filter((r) => r.model === model));
    // A slice of a selection of a slice reads the right rows of the file.
    expect(disk.slice(100).select([5, 3, 900]).slice(1).rows()).toEqual([rows[103], rows[1000]]);
    const sorted = RequestTable.from(rows, { spillRows: 64 });
    const inMemory = RequestTable.from(rows, { spillRows: Infinity });
    sorted.sortByStartInPlace();
    inMemory.sortByStartInPlace();
    expect(sorted.rows()).toEqual(inMemory.rows());
    expect(columnsOf(sorted)).toEqual(columnsOf(inMemory));
    // As JSON, a table is its rows wherever it holds them.
    const json = (t: RequestTable): unknown => JSON.parse(JSON.stringify(t, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    expect(json(sorted)).toEqual(json(inMemory));
    expect(json(sorted)).toHaveLength(rows.length);
  });

  it('keeps its columns in memory where no temporary file can be made, with the same rows', () => {
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = join(tmp, 'absent', 'dir');
    try {
      const table = RequestTable.from(rows, { spillRows: 100 });
      expect(table.onDisk).toBeUndefined();
      expect(table.rows()).toEqual(rows);
      expect(columnsOf(table)).toEqual(columnsOf(memory));
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });

  it('leaves nothing in the temporary directory: the file is unlinked as soon as it is made', () => {
    const before = process.env['TMPDIR'];
    const dir = mkdtempSync(join(tmp, 'spill-'));
    process.env['TMPDIR'] = dir;
    try {
      const table = RequestTable.from(rows, { spillRows: 100 });
      // The blocks written: at least server and other time and the ids of every row but the last block's (held in memory), at most every cold column.
      const disk = table.onDisk!;
      expect(disk.directory).toBe(dir);
      expect(disk.bytes).toBeGreaterThanOrEqual((rows.length - 100) * (8 + 8 + (16 + 1) + (8 + 1)));
      expect(disk.bytes).toBeLessThanOrEqual(rows.length * (8 + 8 + 1 + (16 + 1) + (8 + 1) + 8 * PHASES.length + 8 * TABLE_NUMBERS.length));
      expect(readdirSync(dir)).toEqual([]);
      expect(table.rows()).toEqual(rows);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });

  it('goes to the file past 65,536 requests only where it can collect garbage (the CLI), unless LATENCY_DOCTOR_SPILL_ROWS says otherwise', () => {
    const many = mixedRows(65_537, 5);
    const withCollect = RequestTable.from(many, { collect: () => undefined });
    const without = RequestTable.from(many);
    if (process.env['LATENCY_DOCTOR_SPILL_ROWS'] === undefined) {
      expect(withCollect.onDisk).toBeDefined();
      // Without collections the columns read back stay until V8 collects on its own: held in memory instead.
      expect(without.onDisk).toBeUndefined();
      expect(RequestTable.from(many.slice(0, 65_536), { collect: () => undefined }).onDisk).toBeUndefined();
    }
    expect(withCollect.rows()).toEqual(without.rows());
  }, 60_000);

  it('collects garbage every COLLECT_BYTES (4 MiB) of columns read back, where a collection is given; never while it is built', () => {
    const many = mixedRows(30_000, 9);
    let collections = 0;
    const table = RequestTable.from(many, { spillRows: 4_096, collect: () => collections++ });
    expect(table.onDisk).toBeDefined();
    expect(collections).toBe(0);
    // The last columns read are kept (6 MiB): asking for one again reads nothing.
    const server = table.serverMs;
    expect(table.serverMs).toBe(server);
    expect(collections).toBe(0);
    // Each inMemory() reads every cold column back: server, other, cache hits, the ids' bytes and
    // digit counts, the phases and the optional numbers, this many bytes a request.
    const perRequest = 8 + 8 + 1 + (16 + 1) + (8 + 1) + 8 * PHASES.length + 8 * TABLE_NUMBERS.length;
    const rounds = 6;
    for (let r = 0; r < rounds; r++) expect(table.inMemory().length).toBe(many.length);
    const budgets = (rounds * perRequest * many.length) / COLLECT_BYTES;
    expect(budgets).toBeGreaterThan(6);
    // A collection once a budget is used up, the load that used it up counted in the next.
    expect(collections).toBeGreaterThanOrEqual(Math.floor(budgets) - 2);
    expect(collections).toBeLessThanOrEqual(Math.floor(budgets));
    // Without a collection to make, the same reads make none and give the same rows.
    const quiet = RequestTable.from(many, { spillRows: 4_096 });
    expect(quiet.inMemory().rows()).toEqual(table.inMemory().rows());
  });
});

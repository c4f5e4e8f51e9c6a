/**
 * A Jaeger or Zipkin document past PIECEWISE.bytes (64 MiB; lowered here, as SPLIT is in the
 * analyzer's tests) is read by the byte scanner in one pass, its spans handed on batch by batch as
 * they are read. When the scanner gives the document back part-way (something it leaves to the
 * full reader, or bad syntax), batches already handed on cannot be taken back: the full reader
 * reads the document and its first spans, those handed on, are left out. Overall the reader must
 * give exactly what the full reader gives: the same spans, stats and warnings (duplicate checks
 * and id leniencies as if only the full reader had run), or the same error; and the analysis
 * must be the same.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { readAllSpans, readSpans } from '../../src/formats/index.js';
import type { ReadOptions, ReadWarning } from '../../src/formats/index.js';
import { PIECEWISE } from '../../src/formats/read.js';
import type { SpanRecord } from '../../src/model/span.js';
import { damage, fixture, jsonText, random, readOutcome, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const WHOLE = PIECEWISE.bytes;
beforeEach(() => {
  PIECEWISE.bytes = 0;
});
afterEach(() => {
  PIECEWISE.bytes = WHOLE;
});

/** The fast reader's outcome (spans, stats and warnings, or error) is the full reader's; returns the fast reader's counts. */
async function expectAgree(file: string, options: ReadOptions = {}): Promise<{ lines: number; fallbacks: number } | undefined> {
  const { fast, ...outcome } = await readOutcome(file, { ...options, reader: 'fast' });
  expect(jsonText(outcome), file).toBe(jsonText(await readOutcome(file, { ...options, reader: 'full' })));
  return fast;
}

const DEMO = JSON.parse(readFileSync(new URL('../../examples/traces/inference-demo.jaeger.json', import.meta.url), 'utf8')) as { data: { traceID: string; spans: Record<string, unknown>[] }[] };
const ZIPKIN_DEMO = JSON.parse(readFileSync(new URL('../../examples/traces/inference-demo.zipkin.json', import.meta.url), 'utf8')) as Record<string, unknown>[];

/** The demo's traces `copies` times over, each copy under its own trace ids, its fifth trace twice (the second time, its spans duplicates). */
function jaegerTraces(copies: number): { traceID: string; spans: Record<string, unknown>[] }[] {
  const traces: { traceID: string; spans: Record<string, unknown>[] }[] = [];
  for (let c = 0; c < copies; c++) {
    for (const trace of DEMO.data) {
      const id = `${c.toString(16).padStart(2, '0')}${trace.traceID.slice(2)}`;
      traces.push(JSON.parse(JSON.stringify(trace).replaceAll(trace.traceID, id)) as (typeof traces)[number]);
    }
  }
  traces.splice(5, 0, traces[4]!);
  return traces;
}

/** The Zipkin demo's spans `copies` times over, likewise, its tenth span twice. */
function zipkinSpans(copies: number): Record<string, unknown>[] {
  const spans: Record<string, unknown>[] = [];
  for (let c = 0; c < copies; c++) {
    const text = JSON.stringify(ZIPKIN_DEMO).replace(/"traceId":"([0-9a-f]{2})/g, `"traceId":"${c.toString(16).padStart(2, '0')}`);
    spans.push(...(JSON.parse(text) as Record<string, unknown>[]));
  }
  spans.splice(10, 0, spans[9]!);
  return spans;
}

describe('a large Jaeger or Zipkin document: one pass, its spans handed on as they are read', () => {
  it('the first batch is handed on before the end of the document is read (it was read twice: whole first, then piece by piece)', async () => {
    // Bad syntax in the document's last trace: a whole first reading met it before any batch.
    const good = JSON.stringify({ data: jaegerTraces(2) });
    const at = good.lastIndexOf('"traceID"');
    const file = tmp.write('late-syntax.jaeger.json', `${good.slice(0, at)}#${good.slice(at)}`);
    const reader = readSpans(file, { batchSize: 100 });
    const first = await reader.next();
    expect(first.done).toBe(false);
    expect((first.value as SpanRecord[]).length).toBe(100);
    // Then the full reader's error, exactly: the document given back, it is parsed whole, and refused.
    const full = await readOutcome(file, { reader: 'full' });
    expect(full.error).toMatch(/late-syntax\.jaeger\.json:1:\d+: expected a JSON document on the first line, got '#'/);
    await expect(readAllSpans(file)).rejects.toThrow(full.error!);
    await expect(readAllSpans(file, { strict: true })).rejects.toThrow(full.error!);
    // Read whole (below the size), nothing is handed on before the error.
    PIECEWISE.bytes = WHOLE;
    await expect(readSpans(file, { batchSize: 100 }).next()).rejects.toThrow(full.error!);
  });

  it('given back late (a span the full reader skips, the query API errors, another document after it): the full reader\'s spans, stats and warnings, duplicates and id leniencies counted once', async () => {
    const traces = jaegerTraces(2);
    // Short (left-padded) span ids early on: a leniency the scanner counts too, before it gives the document back.
    const shortIds = (t: (typeof traces)[number]): typeof t => JSON.parse(JSON.stringify(t).replace(/"spanID":"[0-9a-f]/g, '"spanID":"')) as typeof t;
    traces[1] = shortIds(traces[1]!);
    const late = traces.length - 3;
    const skipped = JSON.parse(JSON.stringify(traces)) as typeof traces;
    delete skipped[late]!.spans[2]!['traceID'];
    const cases = {
      'a span without a trace id near the end': JSON.stringify({ data: skipped }),
      'the query API errors after the traces': JSON.stringify({ data: traces, errors: [{ code: 500, msg: 'storage timeout' }] }),
      'a second document after it': `${JSON.stringify({ data: traces })}\n${JSON.stringify({ data: traces.slice(0, 3) })}\n`,
    };
    for (const [name, body] of Object.entries(cases)) {
      const file = tmp.write(`${name}.jaeger.json`, body);
      for (const options of [{ batchSize: 64 }, { batchSize: 1 }, { batchSize: 64, strict: true }] as ReadOptions[]) {
        const counts = await expectAgree(file, options);
        // Given back: the scanner did not read it all.
        if (counts !== undefined) expect(counts, name).toEqual({ lines: 0, fallbacks: 1 });
      }
      const { stats } = await readAllSpans(file, { batchSize: 64 });
      if (name !== 'a second document after it') {
        expect(stats.duplicateSpans, name).toBe(DEMO.data[0]!.spans.length);
        expect(stats.leniencies.some((l) => l.startsWith('short ids left-padded with zeros')), name).toBe(true);
      }
    }
  });

  it('Zipkin given back late (a span without a trace id): the full reader\'s spans and warnings', async () => {
    const spans = zipkinSpans(2);
    const late = JSON.parse(JSON.stringify(spans)) as typeof spans;
    delete late[late.length - 5]!['traceId'];
    for (const [name, body] of [
      ['late', JSON.stringify(late)],
      ['late-pretty', JSON.stringify(late, null, 2)],
    ] as const) {
      const file = tmp.write(`${name}.zipkin.json`, body);
      for (const batchSize of [1, 50]) expect(await expectAgree(file, { batchSize }), name).toEqual({ lines: 0, fallbacks: 1 });
    }
  });

  it('the analysis of a document given back late is the full reader\'s, warnings and all', async () => {
    const traces = jaegerTraces(3);
    delete traces[traces.length - 4]!.spans[1]!['traceID'];
    const file = tmp.write('analysed-late.jaeger.json', JSON.stringify({ data: traces }));
    const fast = await analyzeFiles([file], { threads: 1 });
    const full = await analyzeFiles([file], { threads: 1, reader: 'full' });
    expect(fast.files[0]!.fastReader).toEqual({ lines: 0, fallbacks: 1 });
    expect(fast.spans).toBeGreaterThan(2 * 2048);
    const { files: fastFiles, ...fastRest } = fast;
    const { files: fullFiles, ...fullRest } = full;
    expect(fastFiles.map(({ fastReader: _, ...f }) => f)).toEqual(fullFiles);
    expect(jsonText(fastRest)).toBe(jsonText(fullRest));
    expect(fast.warnings.map((w) => w.message).join('\n')).toMatch(/skipped/);
  });

  it('a later part that changes how the start reads (a second "data" key, which JSON.parse takes): refused, as the spans handed on cannot be taken back', async () => {
    const traces = jaegerTraces(1);
    const other = jaegerTraces(1).map((t) => JSON.parse(JSON.stringify(t).replaceAll(t.traceID, `ff${t.traceID.slice(2)}`)) as typeof t);
    const file = tmp.write('two-data.jaeger.json', `{"data":${JSON.stringify(traces)},"data":${JSON.stringify(other)}}`);
    // The full reader reads the second array only.
    const full = await readAllSpans(file, { reader: 'full' });
    expect(full.spans[0]!.traceId.startsWith('ff')).toBe(true);
    await expect(readAllSpans(file, { batchSize: 64 })).rejects.toThrow(/two-data\.jaeger\.json: expected a document whose end does not change how its start reads/);
    // Read whole (below the size), the scanner hands it back having handed nothing on: the full reader's spans.
    PIECEWISE.bytes = WHOLE;
    expect(jsonText((await readAllSpans(file, { batchSize: 64 })).spans)).toBe(jsonText(full.spans));
  });

  it('every Jaeger and Zipkin fixture, and damaged ones, in batches of 1 to 5: the full reader\'s outcome', async () => {
    const sources: Buffer[] = [];
    for (const dir of ['jaeger-json', 'zipkin-json']) {
      for (const name of readdirSync(fixture(dir))) {
        const file = fixture(`${dir}/${name}`);
        if (!name.includes('smartthings')) sources.push(readFileSync(file));
        await expectAgree(file, { batchSize: 2 });
      }
    }
    const rand = random(20261201);
    let givenBack = 0;
    for (let i = 0; i < 120; i++) {
      const file = tmp.write(`damaged-${i}.json`, damage(sources[Math.floor(rand() * sources.length)]!, rand));
      const counts = await expectAgree(file, { batchSize: 1 + (i % 5), strict: i % 7 === 0 });
      if (counts?.fallbacks === 1) givenBack++;
    }
    expect(givenBack).toBeGreaterThan(10);
  });

  it('several documents read by turns (the analyzer merging files): each paused scan taken up where it stopped, each file read as alone', async () => {
    const jaeger = jaegerTraces(2);
    // Short ids in one file only: leniencies counted per file, whatever was scanned in between.
    jaeger[3] = JSON.parse(JSON.stringify(jaeger[3]).replace(/"spanID":"[0-9a-f]/g, '"spanID":"')) as (typeof jaeger)[number];
    const files = [
      tmp.write('turns-a.jaeger.json', JSON.stringify({ data: jaeger })),
      tmp.write('turns-b.jaeger.json', JSON.stringify({ data: jaegerTraces(1).reverse() }, null, 1)),
      tmp.write('turns-c.zipkin.json', JSON.stringify(zipkinSpans(2))),
    ];
    const alone = await Promise.all(files.map(async (f) => jsonText(await readAllSpans(f, { batchSize: 50 }))));
    const readers = files.map((f) => readSpans(f, { batchSize: 50 }));
    const got = files.map(() => ({ spans: [] as SpanRecord[], stats: undefined as unknown }));
    for (let open = readers.length; open > 0; ) {
      open = 0;
      for (const [i, reader] of readers.entries()) {
        if (got[i]!.stats !== undefined) continue;
        const next = await reader.next();
        if (next.done === true) got[i]!.stats = next.value;
        else {
          got[i]!.spans.push(...next.value);
          open++;
        }
      }
    }
    expect(got.map((g) => jsonText(g))).toEqual(alone);
    expect(got.map((g) => (g.stats as { fastReader?: unknown }).fastReader)).toEqual(files.map(() => ({ lines: 1, fallbacks: 0 })));
  });

  it('warnings are reported once per kind, as the full reader reports them', async () => {
    const traces = jaegerTraces(2);
    const file = tmp.write('duplicates.jaeger.json', JSON.stringify({ data: traces }));
    const collect = async (options: ReadOptions): Promise<ReadWarning[]> => {
      const warnings: ReadWarning[] = [];
      await readAllSpans(file, { ...options, onWarning: (w) => warnings.push(w) });
      return warnings;
    };
    const fast = await collect({ batchSize: 64 });
    expect(fast).toEqual(await collect({ batchSize: 64, reader: 'full' }));
    expect(fast.map((w) => w.count)).toEqual([DEMO.data[0]!.spans.length]);
  });
});

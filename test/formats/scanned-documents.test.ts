/**
 * Large single documents read a faster way than parsed or streamed whole, each giving exactly
 * what the old way gave. OTLP JSON documents that are pretty-printed or otherwise spread over lines (as `jq .` or a
 * pretty-printing exporter writes them), one or several concatenated (what `jq .` makes of the
 * Collector's JSON lines). Past 1 MiB they were parsed whole (48 MB: 2.8 s, 268 MB), past 64 MiB
 * streamed (118 MB: 20 s, 0.4 GB); the internal `scanDocumentBytes` option lowers that size so
 * real fixtures take the new path here. Each must give exactly what the old path gave: the
 * whole parse's spans, stats and warnings (duplicate ids included), which are also the streamed
 * reader's spans; and the analysis of its rows must be that of the same data on one line. Triton trace files past 64 MiB
 * were parsed whole (84 MB: 1.1 GB) or, past 512 MiB, streamed; they are read record by record:
 * on the same option, in every layout (Triton's own, one line; a record per line; pretty), closed
 * or never closed (a running server's), damaged, they give the old way's spans, stats and errors.
 */

import { readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/analyzer/pipeline.js';
import { openTrace, readSpanBatches } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import { renderJson } from '../../src/report/json.js';
import { damage, fixture, jsonText, otlpDocumentSources, otlpLayouts, random, readOutcome, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The new path: any size of document takes it. */
const SCANNED: ReadOptions = { scanDocumentBytes: 0 };
/** The old path for documents past 64 MiB: streamed element by element. */
const STREAMED: ReadOptions = { wholeDocumentBytes: 200 };
const STREAMED_NOTE = 'large document streamed element by element (files): 1';

const SOURCES = otlpDocumentSources();

/** The layouts of one document that are not one line (helpers.ts). */
function layouts(name: string, doc: unknown): Record<string, string> {
  return otlpLayouts(tmp, name, doc);
}

/** Stats as text, less the streamed path's note about itself. */
function stats(outcome: { stats?: string }): string | undefined {
  return outcome.stats?.replace(`"${STREAMED_NOTE}"`, '').replace('[,', '[').replace(',]', ']');
}

describe('OTLP documents spread over lines, read by the byte scanner', () => {
  const cases = Object.entries(SOURCES).flatMap(([name, doc]) => Object.entries(layouts(name.replace(/\W+/g, '-'), doc)).map(([layout, file]) => ({ name, layout, file })));

  it.each(cases)('$name, $layout: the streamed reader\'s spans, stats and warnings', async ({ name, file }) => {
    const scanned = await readOutcome(file, SCANNED);
    const streamed = await readOutcome(file, STREAMED);
    const whole = await readOutcome(file, {});
    expect(scanned.error).toBeUndefined();
    expect(jsonText(scanned.spans)).toBe(jsonText(streamed.spans));
    expect(jsonText(scanned.spans)).toBe(jsonText(whole.spans));
    expect(streamed.stats).toContain(STREAMED_NOTE);
    if (name.includes('handed back')) {
      // The full reader's own: detected again and parsed whole, as below the scanning size.
      expect(scanned.fast).toEqual({ lines: 0, fallbacks: 1 });
      expect(scanned.stats).toBe(whole.stats);
    } else {
      expect(scanned.fast).toEqual({ lines: 1, fallbacks: 0 });
      // Within the whole-parse size, its duplicate ids reported by the reader as when parsed whole; streamed, it did not check them.
      expect(scanned.stats).toBe(whole.stats);
      if (!name.includes('duplicate')) expect(stats(scanned)).toBe(stats(streamed));
      else expect(stats(scanned)).not.toBe(stats(streamed));
    }
  });

  it('is handed over in its bytes (not parsed at detection) past 1 MiB, or the scanning size given', async () => {
    const small = layouts('size-small', SOURCES['jaeger-memstore-otel_traces_01'])['jq .']!;
    const large = layouts('size-large', SOURCES['inference-demo, lines joined'])['jq .']!;
    expect(statSync(large).size).toBeGreaterThan(1024 * 1024);
    for (const [file, scanBytes, bytes] of [
      [small, 0, true],
      [small, undefined, false],
      [large, undefined, true],
      [large, 32 * 1024 * 1024, false],
    ] as const) {
      const opened = await openTrace(file, undefined, scanBytes);
      try {
        expect(opened.document !== undefined && 'bytes' in opened.document, `${file} ${scanBytes}`).toBe(bytes);
        expect(opened.format).toBe('otlp-json');
      } finally {
        await opened.close();
      }
    }
  });

  it('the analysis of its rows is that of the same data on one line', async () => {
    const doc = SOURCES['inference-demo, lines joined'];
    const oneLine = tmp.write('demo.line.json', `${JSON.stringify(doc)}\n`);
    const analysis = async (file: string, options: ReadOptions): Promise<string> => renderJson(await analyzeSpans(readSpanBatches(file, options)));
    const expected = await analysis(oneLine, {});
    expect(expected).toContain('"requests"');
    for (const [layout, file] of Object.entries(layouts('demo-analysis', doc))) expect(await analysis(file, SCANNED), layout).toBe(expected);
  });

  it('damaged or edited documents: the same spans, stats or error as before', async () => {
    const rand = random(20261130);
    const sources = Object.values(layouts('damaged', SOURCES['inference-demo, lines joined'])).map((f) => readFileSync(f));
    let read = 0;
    for (let i = 0; i < 40; i++) {
      const source = sources[i % sources.length]!;
      // Even cases: damaged (cut, bytes flipped, tokens spliced in, …); odd: a digit of a time changed, still a valid document.
      const edited = Buffer.from(source);
      const times = [...source.toString('latin1').matchAll(/UnixNano": "\d+/g)];
      const at = times[Math.floor(rand() * times.length)]!;
      edited[at.index + at[0].length - 1 - Math.floor(rand() * 9)] = 0x30 + Math.floor(rand() * 10);
      const file = tmp.write(`damaged-${i}.json`, i % 2 === 0 ? damage(source, rand) : edited);
      const scanned = await readOutcome(file, SCANNED);
      const before = await readOutcome(file, {});
      expect(scanned.error, file).toBe(before.error);
      expect(scanned.stats, file).toBe(before.stats);
      expect(jsonText(scanned.spans), file).toBe(jsonText(before.spans));
      if (scanned.fast?.lines === 1) read++;
    }
    // An edit that gives a time a leading zero is handed back (the full reader takes it); the others are read.
    expect(read).toBeGreaterThanOrEqual(15);
  });
});

describe('Triton trace files read record by record', () => {
  const records = (JSON.parse(readFileSync(fixture('ml-serving/triton-docs-trace-timestamps.json'), 'utf8')) as Record<string, unknown>[]).map((r) => JSON.stringify(r));
  /** The docs example's request as requests 1–3 (the second an ensemble child of the first, the third with no timestamps), and a record of request 4 per line of `extra`. */
  const many = [1, 2].flatMap((id) => records.map((r) => JSON.stringify({ ...(JSON.parse(r) as object), id, ...(id === 2 ? { parent_id: 1 } : {}) })));
  const requests = [...many, '{"id":3,"model_name":"no-timestamps","model_version":1}', '{"id":1,"model_name":"ensemble","model_version":"2","request_id":"r-1"}'];
  const READ = { lines: 1, fallbacks: 0 };
  const BACK = { lines: 0, fallbacks: 1 };

  async function expectSame(file: string, read: typeof READ | typeof BACK | undefined, options: ReadOptions = {}): Promise<void> {
    const scanned = await readOutcome(file, { ...SCANNED, ...options });
    const before = await readOutcome(file, options);
    expect(scanned.error, file).toBe(before.error);
    expect(scanned.stats, file).toBe(before.stats);
    expect(jsonText(scanned.spans), file).toBe(jsonText(before.spans));
    if (read !== undefined) expect(scanned.fast, file).toEqual(read);
  }

  const layouts: Record<string, (rs: readonly string[]) => string> = {
    "Triton's own: the whole array on one line": (rs) => `[${rs.join(',')}]`,
    'one line and a newline': (rs) => `[${rs.join(',')}]\n`,
    'a record per line (the docs, the bench)': (rs) => `[\n${rs.join(',\n')}\n]\n`,
    'pretty, records over several lines': (rs) => JSON.stringify(rs.map((r) => JSON.parse(r) as unknown), null, 2),
  };

  it.each(Object.entries(layouts))('%s, closed: the same spans, stats and warnings', async (name, layout) => {
    const file = tmp.write(`triton-${name.replace(/\W+/g, '-')}.json`, layout(requests));
    const opened = await openTrace(file, undefined, 0);
    try {
      expect(opened.document !== undefined && 'tritonRecords' in opened.document).toBe(true);
    } finally {
      await opened.close();
    }
    await expectSame(file, READ);
    await expectSame(file, undefined, { strict: true });
    const { stats } = await readOutcome(file, SCANNED).then((o) => ({ stats: JSON.parse(o.stats!) as { spans: number; warnings: unknown[] } }));
    expect(stats.spans).toBe(2);
    expect(stats.warnings).toHaveLength(1);
  });

  it('records that are not Triton records: the same skips (read again the old way where the locations would name the line)', async () => {
    const odd = [...requests.slice(0, 3), '5', '{"id":"x"}', ...requests.slice(3)];
    await expectSame(tmp.write('triton-odd-lines.json', layouts['a record per line (the docs, the bench)']!(odd)), READ);
    await expectSame(tmp.write('triton-odd-one-line.json', layouts["Triton's own: the whole array on one line"]!(odd)), BACK);
  });

  it('never closed (a running or killed server): the whole records, as the old way reads them', async () => {
    const cases: Record<string, [string, typeof READ | typeof BACK | undefined]> = {
      'one line, running': [`[${requests.join(',')}`, READ],
      'one line, after a comma': [`[${requests.join(',')},`, READ],
      'a record per line, running': [`[\n${requests.join(',\n')}\n`, READ],
      'killed inside a record of request 7': [`[${requests.join(',')},{"id":7,"model_name":"m"},{"id":7,"timestamps":[{"name":"QUEUE_ST`, READ],
      'killed inside a record before its id': [`[${requests.join(',')},{"i`, READ],
      'killed inside a record of request 1 (left out)': [`[${requests.join(',')},{"id":1,"timestamps":[{"name":"X","ns":12`, READ],
      // Errors (the same): no counts to compare.
      'killed inside the first record': ['[{"id":1,"timestamps":[{"na', undefined],
      'a syntax error, then the end': [`[${requests.join(',')} garbage`, undefined],
      'unicode before the end': [`[${requests.join(',')},{"id":8,"model_name":"modèle ✓ 🚀","model_version":1}, `, READ],
    };
    for (const [name, [text, read]] of Object.entries(cases)) {
      const file = tmp.write(`triton-unclosed-${name.replace(/\W+/g, '-')}.json`, text);
      await expectSame(file, read);
      await expectSame(file, undefined, { strict: true });
    }
  });

  it('records across the 1 MiB reads: a long record, and thousands of requests, on one line and a record per line', async () => {
    const long = `{"id":9,"activity":"TENSOR_QUEUE_INPUT","tensor":{"name":"x","data":"${'1,'.repeat(1_500_000)}1","shape":"3000001","dtype":"INT32"}}`;
    const lots: string[] = [];
    for (let id = 10; lots.length < 12_000; id++) for (const r of records) lots.push(r.replace('"id":1', `"id":${id}`));
    const all = [...requests, long, ...lots];
    for (const [name, layout] of Object.entries(layouts).slice(0, 3)) await expectSame(tmp.write(`triton-long-${name.replace(/\W+/g, '-')}.json`, layout(all)), READ);
    await expectSame(tmp.write('triton-long-unclosed.json', `[${all.join(',')}`), READ);
  }, 60_000);

  it('damaged files: the same spans, stats or error as before', async () => {
    const rand = random(20261130);
    const sources = Object.values(layouts).map((layout) => Buffer.from(layout(requests)));
    for (let i = 0; i < 40; i++) await expectSame(tmp.write(`triton-damaged-${i}.json`, damage(sources[i % sources.length]!, rand)), undefined);
  });

  it('compressed: read record by record when closed; never closed, read the old way', async () => {
    const { gzipSync } = await import('node:zlib');
    await expectSame(tmp.write('triton.json.gz', gzipSync(layouts["Triton's own: the whole array on one line"]!(requests))), READ);
    await expectSame(tmp.write('triton-unclosed.json.gz', gzipSync(`[${requests.join(',')}`)), BACK);
  });
});

/**
 * Large OTLP JSON documents read through a sliding window (formats/_document-window.ts,
 * `readOtlpDocumentWindowed` in _otlp-fast.ts), their spans handed on a batch at a time: read
 * whole, a 263 MB one-line document peaked at 550 MB and a 452 MB pretty-printed one at 669 MB.
 * Pretty-printed documents (one, or several concatenated: `jq .` of JSON lines) and a document on
 * one long line. Through windows from a few bytes (every span read past the window's end, then
 * again from a larger one) to a few KiB, each gives what the byte scanner gives reading it whole:
 * the same spans, stats, warnings and error, read or given back alike; the analysis of its rows
 * is the same; a document given back after batches were handed on is read by the full reader
 * from a fresh open, those spans not handed on again; two documents read by turns keep their own
 * notes; and a large one holds a window, not the document.
 */

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/analyzer/pipeline.js';
import { openTrace, readSpanBatches, readSpans } from '../../src/formats/index.js';
import type { ReadOptions } from '../../src/formats/index.js';
import type { SpanRecord } from '../../src/model/span.js';
import { WINDOWED } from '../../src/formats/_document-window.js';
import { renderJson } from '../../src/report/json.js';
import { INT64_NUMBER_NOTE, KIND_NAME_NOTE } from '../../src/formats/otlp-json.js';
import { damage, expectSameThroughWindows, jsonLines, jsonText, OTLP_DEMO, otlpDemoCopies, otlpDocumentSources, otlpOneLine, otlpLayouts, random, readOutcome, readThroughWindow, tempDir, windowTakes, WINDOWS, withWindow } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The byte scanner reading a document whole, at any size: what the window must give. */
const WHOLE: ReadOptions = { scanDocumentBytes: 0 };
const READ = { lines: 1, fallbacks: 0 };
const HANDED_BACK = { lines: 0, fallbacks: 1 };

/**
 * Expects `file` through every window to read as the byte scanner reads it whole; returns that
 * outcome. A resource's or scope's head (its attributes) is read where it lies, with the room
 * kept ahead: in the smaller windows some heads do not fit and the full reader takes the
 * document, giving the same spans (a span that runs past the window is read again).
 */
const expectSameAsWhole = (file: string, options: ReadOptions = {}): ReturnType<typeof readOutcome> => expectSameThroughWindows(file, options, WHOLE, (sizes) => sizes.aheadBytes >= 2048);

/** The rows the analyzer is given, as records. */
async function rowsOf(file: string, options: ReadOptions = {}): Promise<SpanRecord[]> {
  const out: SpanRecord[] = [];
  for await (const batch of readSpanBatches(file, options)) {
    if (Array.isArray(batch)) out.push(...batch);
    else for (let i = 0; i < batch.length; i++) out.push(batch.record(i));
  }
  return out;
}

const SOURCES = otlpDocumentSources();
const layouts = (name: string, doc: unknown): Record<string, string> => otlpLayouts(tmp, name, doc);


const DEMO_SPANS = jsonLines(OTLP_DEMO).reduce<number>((n, l) => n + (JSON.stringify(l).match(/"spanId"/g)?.length ?? 0), 0);

describe('OTLP documents through a sliding window', () => {
  const cases = Object.entries(SOURCES).flatMap(([name, doc]) => Object.entries(layouts(name.replace(/\W+/g, '-'), doc)).map(([layout, file]) => ({ name, layout, file })));

  it.each(cases)('$name, $layout: what the byte scanner gives reading it whole, through windows of 64 B to 4 KiB', async ({ name, file }) => {
    expect(await windowTakes(file)).toBe(true);
    const whole = await expectSameAsWhole(file);
    expect(whole.error).toBeUndefined();
    expect(whole.fast).toEqual(name.includes('handed back') ? HANDED_BACK : READ);
    if (name.includes('duplicate')) expect(whole.stats).toContain('duplicate span id');
    // The demo's spans are longer than the 700 B window's room ahead: each is read past the window's end, then again, and the document stays the scanner's.
    if (name.startsWith('inference-demo')) expect((await withWindow(WINDOWS[1]!, () => readOutcome(file, {}))).fast).toEqual(READ);
    // The rows the analyzer reads, likewise.
    for (const sizes of WINDOWS) expect(jsonText(await withWindow(sizes, () => rowsOf(file))), `${file} rows`).toBe(jsonText(await rowsOf(file, WHOLE)));
  });

  it('the analysis of its rows is that of the document read whole', async () => {
    const doc = { resourceSpans: otlpDemoCopies(3).flatMap((c) => JSON.parse(`[${c}]`) as unknown[]) };
    const analysis = async (file: string, options: ReadOptions = {}): Promise<string> => renderJson(await analyzeSpans(readSpanBatches(file, options)));
    for (const [layout, file] of Object.entries(layouts('analysis', doc))) {
      const expected = await analysis(file, WHOLE);
      expect(expected).toContain('"requests"');
      for (const sizes of [...WINDOWS, { windowBytes: 64 * 1024, aheadBytes: 16 * 1024 }]) expect(await withWindow(sizes, () => analysis(file)), `${layout} ${sizes.windowBytes}`).toBe(expected);
    }
  });

  it('damaged or edited documents: the same spans, stats or error', async () => {
    const rand = random(20261201);
    const sources = Object.values(SOURCES).flatMap((doc, i) => Object.values(layouts(`damaged-source-${i}`, doc)).map((f) => readFileSync(f)));
    let taken = 0;
    for (let i = 0; i < 60; i++) {
      const file = tmp.write(`damaged-${i}.json`, damage(sources[Math.floor(rand() * sources.length)]!, rand));
      const opened = await withWindow(WINDOWS[0]!, () => openTrace(file).then(async (t) => (await t.close(), t), () => undefined));
      if (opened?.document !== undefined && 'windowed' in opened.document) taken++;
      await expectSameAsWhole(file);
    }
    expect(taken).toBeGreaterThan(20);
  });

  it('given back late (a base64 span id in its last resource): read by the full reader from a fresh open, the spans handed on not handed on again', async () => {
    const copies = otlpDemoCopies(12);
    copies[copies.length - 1] = copies.at(-1)!.replace(/"spanId":"([0-9a-f]{16})"/, (_m, id: string) => `"spanId":"${Buffer.from(id, 'hex').toString('base64')}"`);
    const file = tmp.write('late-fallback.otlp.json', JSON.stringify({ resourceSpans: JSON.parse(`[${copies.join(',')}]`) as unknown }, null, 2));
    expect(await windowTakes(file)).toBe(true);
    const full = await readOutcome(file, { reader: 'full' });
    const fullRows = jsonText(await rowsOf(file, { reader: 'full' }));
    for (const sizes of WINDOWS) {
      const through = await withWindow(sizes, () => readOutcome(file, { batchSize: 7 }));
      expect(through.fast).toEqual(HANDED_BACK);
      expect(jsonText(through.spans)).toBe(jsonText(full.spans));
      expect(through.stats).toBe(full.stats);
      expect(jsonText(await withWindow(sizes, () => rowsOf(file, { batchSize: 7 })))).toBe(fullRows);
    }
  });

  it('two documents read by turns, and JSON lines between them: each keeps its own notes (int64 times as numbers, kind names, a wrapper)', async () => {
    const demo = JSON.stringify({ resourceSpans: JSON.parse(`[${otlpDemoCopies(4).join(',')}]`) as unknown }, null, 2);
    const numbers = tmp.write('numbers.otlp.json', demo.replace(/"(start|end)TimeUnixNano": "(\d+)"/g, '"$1TimeUnixNano": $2'));
    const kinds = tmp.write('kinds.otlp.json', `{"result": ${demo.replace(/"kind": 2/g, '"kind": "SPAN_KIND_SERVER"')}}`);
    const jsonl = OTLP_DEMO.pathname;
    const alone = [await withWindow(WINDOWS[1]!, () => readOutcome(numbers, { batchSize: 5 })), await withWindow(WINDOWS[1]!, () => readOutcome(kinds, { batchSize: 5 }))];
    // Through the window (spans read again past its end) as read whole: each time and kind counted once.
    expect(alone[0]!.stats).toBe((await readOutcome(numbers, { ...WHOLE, batchSize: 5 })).stats);
    expect(alone[1]!.stats).toBe((await readOutcome(kinds, { ...WHOLE, batchSize: 5 })).stats);
    expect(alone[0]!.fast).toEqual(READ);
    expect(alone[1]!.fast).toEqual(READ);
    // Counted once per time (a start and an end a span, 4 copies of the demo), not again for the spans read past the window's end.
    expect(alone[0]!.stats).toContain(`${INT64_NUMBER_NOTE}: ${2 * 4 * DEMO_SPANS}`);
    expect(alone[1]!.stats).toContain(KIND_NAME_NOTE);
    expect(alone[1]!.stats).toContain('Jaeger API v3 `result` wrapper (documents)');
    const lineAlone = await readOutcome(jsonl, { batchSize: 5 });
    await withWindow(WINDOWS[1]!, async () => {
      const readers = [readSpans(numbers, { batchSize: 5 }), readSpans(kinds, { batchSize: 5 }), readSpans(jsonl, { batchSize: 5 })];
      const spans: SpanRecord[][] = readers.map(() => []);
      const stats: (string | undefined)[] = readers.map(() => undefined);
      for (let open = readers.length; open > 0; ) {
        open = 0;
        for (const [i, reader] of readers.entries()) {
          if (stats[i] !== undefined) continue;
          const next = await reader.next();
          if (next.done === true) {
            const { fastReader: _fast, ...rest } = next.value;
            stats[i] = jsonText(rest);
          } else {
            spans[i]!.push(...next.value);
            open++;
          }
        }
      }
      expect(stats[0]).toBe(alone[0]!.stats);
      expect(stats[1]).toBe(alone[1]!.stats);
      expect(stats[2]).toBe(lineAlone.stats);
      expect(jsonText(spans[0])).toBe(jsonText(alone[0]!.spans));
      expect(jsonText(spans[1])).toBe(jsonText(alone[1]!.spans));
      expect(jsonText(spans[2])).toBe(jsonText(lineAlone.spans));
    });
  });

  it('on one long line (a first line past 4 MiB in a file past the window size): through the window, what it gives read whole; JSON lines of such lines alike', async () => {
    const { text: doc, copies } = otlpOneLine(5 * 1024 * 1024);
    expect(doc.length).toBeGreaterThan(4 * 1024 * 1024);
    for (const file of [tmp.write('long-line.otlp.json', doc), tmp.write('long-line-newline.otlp.json', `${doc}\n`)]) {
      const opened = await withWindow(WINDOWS[2]!, () => openTrace(file));
      try {
        expect(opened.document !== undefined && 'windowed' in opened.document).toBe(true);
        expect(opened.layout).toBe('json-lines');
        expect(opened.sniffed.opened.content.holdsAll()).toBe(false);
      } finally {
        await opened.close();
      }
      const whole = await readOutcome(file, {});
      const through = await withWindow({ windowBytes: 1 << 20, aheadBytes: 1 << 18 }, () => readOutcome(file, {}));
      expect(whole.fast).toEqual(READ);
      expect(through.fast).toEqual(READ);
      expect(through.stats).toBe(whole.stats);
      expect(jsonText(through.spans)).toBe(jsonText(whole.spans));
      expect(through.spans).toHaveLength(copies * DEMO_SPANS);
    }
    // JSON lines whose first line is that long: read as documents one after another, the spans and stats of the line reader.
    const second = otlpDemoCopies(copies, copies);
    const file = tmp.write('long-lines.otlp.jsonl', `${doc}\n{"resourceSpans":[${second.join(',')}]}\n`);
    const byLines = await readOutcome(file, {});
    const through = await withWindow({ windowBytes: 1 << 20, aheadBytes: 1 << 18 }, () => readOutcome(file, {}));
    expect(jsonText(through.spans)).toBe(jsonText(byLines.spans));
    expect(through.stats).toBe(byLines.stats);
  }, 120_000);

  it('on one line past 32 MiB, compressed (its size unknown until inflated): through the window once its first line passes 32 MiB, not peeked whole', async () => {
    const { text, copies } = otlpOneLine(33 * 1024 * 1024);
    const plain = tmp.write('long-line-33.otlp.json', text);
    const file = tmp.write('long-line-33.otlp.json.gz', gzipSync(Buffer.from(text), { level: 1 }));
    const { spans, stats } = await readThroughWindow(file, (f) => readSpans(f));
    expect(spans).toBe(copies * DEMO_SPANS);
    expect(stats.fastReader).toEqual(READ);
    const whole = await readOutcome(plain, {});
    expect(jsonText((await readOutcome(file, {})).spans)).toBe(jsonText(whole.spans));
  }, 120_000);

  it('a document past 64 MiB holds a window, not the document, and is handed on batch by batch', async () => {
    const copies = otlpDemoCopies(1);
    const per = copies[0]!.length;
    const pieces = otlpDemoCopies(Math.ceil((65 * 1024 * 1024) / (per * 1.6)));
    const file = tmp.write('large.otlp.json', JSON.stringify({ resourceSpans: JSON.parse(`[${pieces.join(',')}]`) as unknown }, null, 1));
    const { spans, batches, stats, most } = await readThroughWindow(file, (f) => readSpanBatches(f));
    expect(spans).toBe(pieces.length * DEMO_SPANS);
    expect(stats.fastReader).toEqual(READ);
    expect(batches).toBeGreaterThan(10);
    // Read whole, the document's 65+ MiB were held at once.
    expect(most).toBeLessThan(WINDOWED.windowBytes + 16 * 1024 * 1024);
  }, 180_000);
});

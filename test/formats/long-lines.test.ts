/**
 * Lines longer than the 1 MiB read chunk, as the Collector's file exporter writes them (a line
 * per export, a few MB with its batch processor's default batch): each is gathered across the
 * chunks it spans in one buffer kept from line to line (read.ts LineCarry), so a line's bytes
 * must be exactly its own however the chunks cut it, CRLF endings and a last line without a
 * newline included, and a line read before must not be changed by the next one gathered.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAllSpans } from '../../src/formats/index.js';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';
import { tempDir } from './helpers.js';
import type { SpanRecord } from '../../src/model/span.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const text = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
/** Spans in id order: a line groups its spans by resource, so lines of other lengths list them in another order. */
const sorted = (spans: readonly SpanRecord[]): string => text([...spans].sort((x, y) => (x.traceId + x.spanId < y.traceId + y.spanId ? -1 : 1)));

describe('lines longer than a read chunk', () => {
  const spans = simulate({ requests: 1500, seed: 11 });
  // The same spans on short lines: what each long-line file must read as.
  const short = tmp.write('short.otlp.jsonl', toOtlpJsonLines(spans, 64));

  it.each([
    ['LF, lines of ~1.3 MB, the last one without a newline', 3000, '\n', false],
    ['CRLF, lines of ~2.4 MB', 6000, '\r\n', true],
    ['LF, one line of ~6 MB then short lines', 13_000, '\n', true],
  ])('%s: the spans of the same export on short lines, with both readers', async (_name, perLine, eol, lastNewline) => {
    const lines = toOtlpJsonLines(spans, perLine).trim().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeGreaterThan(1024 * 1024);
    const body = lines.join(eol) + (lastNewline ? eol : '');
    const file = join(tmp.dir, `long-${perLine}.otlp.jsonl`);
    writeFileSync(file, body);
    const want = sorted((await readAllSpans(short, { attributes: 'analysis' })).spans);
    for (const reader of ['fast', 'full'] as const) {
      const got = await readAllSpans(file, { attributes: 'analysis', reader });
      expect(got.stats.warnings, reader).toEqual([]);
      expect(got.spans.length, reader).toBe(spans.length);
      expect(sorted(got.spans), reader).toBe(want);
    }
    // And the analysis, whose reader hands rows straight to the assembler.
    const [a, b] = await Promise.all([analyzeFiles([short], { diagnose: false }), analyzeFiles([file], { diagnose: false })]);
    expect(b.requests).toBe(1500);
    expect(text(b.timings.rows())).toBe(text(a.timings.rows()));
  });
});

/**
 * `threads: N` splits an uncompressed JSON lines file into byte ranges read by N worker threads
 * and merges their columns back in file order: the AnalysisResult is the one of reading the
 * file on one thread, to the byte, including traces whose spans straddle range boundaries and
 * arrive out of order, warnings with line numbers from late ranges, the fast reader's counts,
 * strict-mode errors, a trace-scoped source convention (read again whole) and compressed
 * files (one reader thread). Ranges are made tiny here so that small files split many times.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import type { AnalyzeFilesOptions } from '../../src/analyzer/index.js';
import { SPLIT } from '../../src/analyzer/_threaded-read.js';
import { splitRanges } from '../../src/formats/_ranges.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-ranges-'));
const saved = { ...SPLIT };
const RANGE_BYTES = 16 * 1024;
beforeAll(() => {
  SPLIT.minBytes = 0;
  SPLIT.rangeBytes = RANGE_BYTES;
});
afterAll(() => {
  Object.assign(SPLIT, saved);
  rmSync(tmp, { recursive: true, force: true });
});

const text = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

/** The result (or error message) of one thread and of three; expects them identical and returns the first. */
async function expectSameOnThreads(file: string, options: AnalyzeFilesOptions = {}): Promise<string> {
  const outcome = (threads: number): Promise<string> =>
    analyzeFiles([file], { diagnose: false, ...options, threads }).then(
      (r) => text(r),
      (e: unknown) => `error: ${(e as Error).message}`,
    );
  const one = await outcome(1);
  expect(await outcome(3)).toBe(one);
  return one;
}

/** A seeded shuffle of spans inside windows of `window` spans: traces spread over many lines. */
function shuffled<T>(items: readonly T[], window: number, seed: number): T[] {
  let state = seed;
  const rand = (): number => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const out = [...items];
  for (let start = 0; start < out.length; start += window) {
    const end = Math.min(out.length, start + window);
    for (let i = end - 1; i > start; i--) {
      const j = start + Math.floor(rand() * (i - start + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
  }
  return out;
}

describe('reader threads over line ranges', () => {
  it('give the AnalysisResult of one thread on traces straddling ranges, spans out of order, broken lines', async () => {
    const spans = shuffled(simulate({ requests: 500, seed: 21 }), 900, 5);
    const lines = toOtlpJsonLines(spans, 5).split('\n');
    lines[3] = lines[3]!.slice(0, 80);
    const late = Math.floor(lines.length * 0.8);
    lines[late] = `${lines[late]!}}`;
    lines.splice(late - 10, 0, '', '   ');
    // A kind of problem first met in a late range: its place must be the file's line number.
    const noTraceId = late + 5;
    lines[noTraceId] = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"00000000000000aa","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}';
    const file = join(tmp, 'straddling.jsonl');
    writeFileSync(file, lines.join('\n'));
    const bytes = readFileSync(file);
    const ranges = splitRanges(bytes.length, RANGE_BYTES);
    expect(ranges.length).toBeGreaterThan(20);
    // Traces with spans in more than one range: the case a per-range assembler would get wrong.
    const rangesOf = new Map<string, Set<number>>();
    let offset = 0;
    let r = 0;
    for (const line of bytes.toString('latin1').split('\n')) {
      while (r + 1 < ranges.length && offset >= ranges[r]!.end) r++;
      for (const m of line.matchAll(/"traceId":"([0-9a-f]{32})"/g)) rangesOf.set(m[1]!, (rangesOf.get(m[1]!) ?? new Set()).add(r));
      offset += line.length + 1;
    }
    expect([...rangesOf.values()].filter((s) => s.size > 1).length).toBeGreaterThan(100);

    const result = JSON.parse(await expectSameOnThreads(file)) as { requests: number; warnings: { code: string; location?: string; count: number }[] };
    expect(result.requests).toBeGreaterThan(490);
    // Both broken lines are reported, once, at the first; the count includes the one from a late range.
    expect(result.warnings.find((w) => w.code === 'read' && w.location === '4:81')).toMatchObject({ count: 2 });
    expect(result.warnings.find((w) => w.code === 'read' && w.location?.startsWith(`${noTraceId + 1}: $.resourceSpans[0]`))).toMatchObject({ count: 1 });
    await expectSameOnThreads(file, { reader: 'fast' });
    await expectSameOnThreads(file, { idleSpans: 500 });
  }, 120_000);

  it('stop at the same first error in strict mode, wherever its range is', async () => {
    const lines = toOtlpJsonLines(simulate({ requests: 300, seed: 8 }), 4).split('\n');
    lines[lines.length - 20] = '{"resourceSpans": 7}';
    lines[lines.length - 5] = '{"resourceSpans": [}';
    const file = join(tmp, 'strict.jsonl');
    writeFileSync(file, lines.join('\n'));
    const outcome = await expectSameOnThreads(file, { strict: true });
    expect(outcome).toMatch(new RegExp(`^error: ${file}:${lines.length - 19}: `));
  }, 120_000);

  it('read a file with a trace-scoped source convention (GenAI client spans) again whole, for the same result', async () => {
    const doc = JSON.parse(readFileSync(new URL('../fixtures/serving/genai-client-alone.synthetic.json', import.meta.url), 'utf8')) as { resourceSpans: unknown[] };
    const genai = JSON.stringify({ resourceSpans: doc.resourceSpans });
    const own = toOtlpJsonLines(simulate({ requests: 200, seed: 2 }), 3).trim().split('\n');
    const lines = own.map((line, i) => (i % 7 === 3 ? genai.replace(/9f3c1d2e4b5a6978/g, (i + 0x1000).toString(16).padStart(16, '0')) : line));
    const file = join(tmp, 'genai.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = JSON.parse(await expectSameOnThreads(file)) as { conventions: { id: string; requests: number }[] };
    expect(result.conventions).toEqual([expect.objectContaining({ id: 'genai-client', requests: 86 })]);
  }, 120_000);

  it('read several trace files (a gzipped GenAI client file beside a plain one) merged by time as one thread does', async () => {
    const doc = JSON.parse(readFileSync(new URL('../fixtures/serving/genai-client-alone.synthetic.json', import.meta.url), 'utf8')) as { resourceSpans: unknown[] };
    const genai = JSON.stringify({ resourceSpans: doc.resourceSpans });
    const lines = Array.from({ length: 300 }, (_, i) => genai.replace(/9f3c1d2e4b5a6978/g, (i + 0x1000).toString(16).padStart(16, '0')));
    // Compressed: one reader thread for the whole file, never split.
    const client = join(tmp, 'genai-client.jsonl.gz');
    writeFileSync(client, gzipSync(`${lines.join('\n')}\n`));
    const server = join(tmp, 'server.jsonl');
    writeFileSync(server, toOtlpJsonLines(simulate({ requests: 100, seed: 4 }), 4));
    const outcome = (threads: number): Promise<string> => analyzeFiles([client, server], { diagnose: false, threads }).then(text);
    const one = await outcome(1);
    expect(await outcome(3)).toBe(one);
    expect((JSON.parse(one) as { requests: number }).requests).toBe(400);
  }, 120_000);

  it('read a compressed file in one reader thread, for the same result', async () => {
    const file = join(tmp, 'compressed.jsonl.gz');
    writeFileSync(file, gzipSync(toOtlpJsonLines(simulate({ requests: 200, seed: 9 }), 4)));
    expect((JSON.parse(await expectSameOnThreads(file)) as { requests: number }).requests).toBe(200);
  }, 120_000);
});

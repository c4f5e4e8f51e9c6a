/**
 * @module test/formats/helpers
 * Shared helpers for the reader tests: fixture paths, a temp folder, reading a whole file.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { openTrace, readAllSpans, TraceFormatError } from '../../src/formats/index.js';
import { WINDOWED } from '../../src/formats/_document-window.js';
import type { OpenedTrace, ReadOptions, ReadStats, ReadWarning, ScannedSpans } from '../../src/formats/index.js';
import type { SpanRecord } from '../../src/model/span.js';

/** Absolute path of a file under test/fixtures/traces. */
export function fixture(path: string): string {
  return fileURLToPath(new URL(`../fixtures/traces/${path}`, import.meta.url));
}

/** A temp folder for derived files, removed by the returned `cleanup`. */
export function tempDir(): { dir: string; write(name: string, content: string | Uint8Array): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ld-formats-'));
  return {
    dir,
    write(name, content) {
      const file = join(dir, name);
      writeFileSync(file, content);
      return file;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a file whole, collecting warnings too. */
export async function read(file: string, options: ReadOptions = {}): Promise<{ spans: SpanRecord[]; stats: ReadStats; warnings: ReadWarning[] }> {
  const warnings: ReadWarning[] = [];
  const { spans, stats } = await readAllSpans(file, { ...options, onWarning: (w) => warnings.push(w) });
  return { spans, stats, warnings };
}

/** Number of distinct trace ids. */
export function traceCount(spans: readonly SpanRecord[]): number {
  return new Set(spans.map((s) => s.traceId)).size;
}

/** A seeded pseudo-random generator (failures reproduce). */
export function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

/** The JSON and JSON lines trace fixtures, relative to test/fixtures/traces (the 585 KB smartthings trace left out). */
export const FIXTURE_FILES: readonly string[] = readdirSync(fixture(''), { recursive: true })
  .map(String)
  .filter((f) => /\.(json|jsonl)$/.test(f))
  // The 585 KB smartthings trace would dominate the run time; its shape is covered by the others.
  .filter((f) => !f.includes('smartthings'))
  .sort();

/** `data` damaged at random: truncated, bytes flipped, tokens spliced in, gzip cut short, values of the wrong type. */
export function damage(data: Buffer, rand: () => number): Buffer {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  switch (Math.floor(rand() * 5)) {
    case 0:
      return data.subarray(0, Math.floor(rand() * data.length));
    case 1: {
      const copy = Buffer.from(data);
      for (let k = 0; k < 3; k++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
      return copy;
    }
    case 2: {
      const text = data.toString('utf8');
      const at = Math.floor(rand() * text.length);
      return Buffer.from(text.slice(0, at) + pick(['"x"', '1', 'null', '[]', '{}', ',', '"', 'true']) + text.slice(at + Math.floor(rand() * 20)));
    }
    case 3: {
      const gz = gzipSync(data);
      return gz.subarray(0, Math.floor(rand() * gz.length));
    }
    default:
      return Buffer.from(
        data
          .toString('utf8')
          .replace(/"(\d+)"/g, (m) => (rand() < 0.2 ? '{"a":1}' : m))
          .replace(/: "([^"]*)"/g, (m) => (rand() < 0.1 ? ': 12' : m)),
      );
  }
}

/** Any value as JSON text, BigInts as `123n` (to compare spans exactly, key order included). */
export const jsonText = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

/** What reading gave: spans and stats (less the fast reader's own counts), or the error message. */
export async function readOutcome(
  file: string | OpenedTrace,
  options: ReadOptions,
): Promise<{ spans?: SpanRecord[]; stats?: string; error?: string; fast?: { lines: number; fallbacks: number } }> {
  try {
    const { spans, stats } = await readAllSpans(file, options);
    const { fastReader, ...rest } = stats;
    return { spans, stats: jsonText(rest), ...(fastReader ? { fast: fastReader } : {}) };
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    return { error: error.message };
  }
}

/** Window sizes from a few bytes (every element read past the window's end, then again from a larger one) to a few KiB. */
export const WINDOWS: readonly { readonly windowBytes: number; readonly aheadBytes: number }[] = [
  { windowBytes: 64, aheadBytes: 16 },
  { windowBytes: 700, aheadBytes: 200 },
  { windowBytes: 4096, aheadBytes: 2048 },
];

/** Runs `body` with every document the sliding window takes, of any size, read through a window of `sizes`. */
export async function withWindow<T>(sizes: { windowBytes: number; aheadBytes: number }, body: () => Promise<T>): Promise<T> {
  const saved = { ...WINDOWED };
  Object.assign(WINDOWED, { documentBytes: 0, ...sizes });
  try {
    return await body();
  } finally {
    Object.assign(WINDOWED, saved);
  }
}

/** True when detection leaves `file` to the sliding window (with every size taken); false for a file it refuses. */
export async function windowTakes(file: string): Promise<boolean> {
  return withWindow(WINDOWS[0]!, async () => {
    const opened = await openTrace(file).catch((error: unknown) => {
      if (error instanceof TraceFormatError) return undefined;
      throw error;
    });
    if (opened === undefined) return false;
    try {
      return opened.document !== undefined && 'windowed' in opened.document;
    } finally {
      await opened.close();
    }
  });
}

/** The parsed lines of a JSON lines file. */
export function jsonLines(path: string | URL): unknown[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

/** One OTLP document holding every document's resourceSpans. */
function mergedOtlp(docs: readonly unknown[]): { resourceSpans: unknown[] } {
  return { resourceSpans: docs.flatMap((d) => (d as { resourceSpans: unknown[] }).resourceSpans) };
}

/** The demo's OTLP JSON lines export. */
export const OTLP_DEMO = new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url);

/** Real OTLP documents: the single-document fixtures, and the JSON lines fixtures and the demo export joined into one; "handed back" in a name: the byte scanner gives it to the full reader. */
export function otlpDocumentSources(): Record<string, unknown> {
  const json = (path: string): unknown => JSON.parse(readFileSync(fixture(path), 'utf8'));
  return {
    'otelproto-examples-trace (upper-case ids: handed back)': json('otlp-json/otelproto-examples-trace.json'),
    'jaeger-memstore-otel_traces_01': json('otlp-json/jaeger-memstore-otel_traces_01.json'),
    'jaeger-transform-otlp2jaeger-in (a duplicate span)': json('otlp-json/jaeger-transform-otlp2jaeger-in.json'),
    'jaeger-apiv3-GetTrace-result-envelope (a wrapper: handed back)': json('otlp-json/jaeger-apiv3-GetTrace-result-envelope.json'),
    'tempo-v1-batches-base64-enum-names (handed back)': json('hand-written/tempo-v1-batches-base64-enum-names.json'),
    'grafana-2021-legacy-ils-snake-case (handed back)': json('hand-written/grafana-2021-legacy-ils-snake-case.json'),
    'jaeger-ui-otlp2jaeger-multi-in, lines joined': mergedOtlp(jsonLines(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'))),
    'otelspec-file-exporter-traces-example, lines joined (empty ids: handed back)': mergedOtlp(jsonLines(fixture('otlp-jsonl/otelspec-file-exporter-traces-example.jsonl'))),
    'inference-demo, lines joined': mergedOtlp(jsonLines(OTLP_DEMO)),
  };
}

/** The layouts of one OTLP document that are not one line, written into `dir`: `jq .`, one-space indents, tabs with CRLF, and its resourceSpans split into documents written one after another. */
export function otlpLayouts(dir: { write(name: string, content: string): string }, name: string, doc: unknown): Record<string, string> {
  const spans = (doc as { resourceSpans?: unknown[] }).resourceSpans;
  const out: Record<string, string> = {
    'jq .': dir.write(`${name}.jq.json`, `${JSON.stringify(doc, null, 2)}\n`),
    'one-space indent': dir.write(`${name}.indent1.json`, JSON.stringify(doc, null, 1)),
    'tabs, CRLF': dir.write(`${name}.crlf.json`, `${JSON.stringify(doc, null, '\t').replace(/\n/g, '\r\n')}\r\n`),
  };
  if (Array.isArray(spans) && spans.length > 1) {
    const half = Math.ceil(spans.length / 2);
    const docs = [{ resourceSpans: spans.slice(0, half) }, { resourceSpans: spans.slice(half) }];
    out['concatenated (jq . of JSON lines)'] = dir.write(`${name}.concat.json`, docs.map((d) => `${JSON.stringify(d, null, 2)}\n`).join(''));
  }
  return out;
}

/**
 * Reads `file` by `reader`, having checked that detection leaves it to the sliding window and
 * holds none of it: the spans and batches read, the stats, and the most ArrayBuffer memory held
 * meanwhile beyond what was held before (a window and the stream's chunks, not the document).
 */
export async function readThroughWindow(file: string, reader: (file: string) => AsyncGenerator<SpanRecord[] | ScannedSpans, ReadStats>): Promise<{ spans: number; batches: number; stats: ReadStats; most: number }> {
  const opened = await openTrace(file);
  try {
    if (opened.document === undefined || !('windowed' in opened.document)) throw new Error(`${file}: not left to the sliding window`);
    if (opened.sniffed.opened.content.holdsAll()) throw new Error(`${file}: held whole at detection`);
  } finally {
    await opened.close();
  }
  const before = process.memoryUsage().arrayBuffers;
  let most = 0;
  let spans = 0;
  let batches = 0;
  const reading = reader(file);
  let next = await reading.next();
  for (; next.done !== true; next = await reading.next()) {
    spans += next.value.length;
    batches++;
    most = Math.max(most, process.memoryUsage().arrayBuffers - before);
  }
  return { spans, batches, stats: next.value, most };
}

/** The demo's resourceSpans `copies` times over, as JSON list elements, each copy with its own trace ids (from copy number `from`). */
export function otlpDemoCopies(copies: number, from = 0): string[] {
  const elements = jsonLines(OTLP_DEMO)
    .map((l) => JSON.stringify((l as { resourceSpans: unknown[] }).resourceSpans).slice(1, -1))
    .join(',');
  return Array.from({ length: copies }, (_, k) => elements.replace(/"traceId":"([0-9a-f]{24})[0-9a-f]{8}"/g, (_m, head: string) => `"traceId":"${head}${(from + k).toString(16).padStart(8, '0')}"`));
}

/** One OTLP document on one line of at least `bytes`, of demo copies (otlpDemoCopies), and how many copies it holds. */
export function otlpOneLine(bytes: number): { text: string; copies: number } {
  const per = otlpDemoCopies(1)[0]!.length + 1;
  const copies = otlpDemoCopies(Math.ceil(bytes / per));
  return { text: `{"resourceSpans":[${copies.join(',')}]}`, copies: copies.length };
}

/**
 * Reads `file` whole (`whole` added to `options`) and through each of WINDOWS, and expects the same
 * error, stats and spans, and the same fast-reader counts where `sameCounts(sizes)` (a window too
 * small for a head it must hold gives the document to the full reader, with the same spans).
 * Returns the whole reading.
 */
export async function expectSameThroughWindows(
  file: string,
  options: ReadOptions = {},
  whole: ReadOptions = {},
  sameCounts: (sizes: (typeof WINDOWS)[number]) => boolean = () => true,
): ReturnType<typeof readOutcome> {
  const read = await readOutcome(file, { ...whole, ...options });
  for (const sizes of WINDOWS) {
    const through = await withWindow(sizes, () => readOutcome(file, options));
    const where = `${file} through ${sizes.windowBytes} B`;
    expect(through.error, where).toBe(read.error);
    expect(through.stats, where).toBe(read.stats);
    expect(jsonText(through.spans), where).toBe(jsonText(read.spans));
    if (sameCounts(sizes)) expect(through.fast, where).toEqual(read.fast);
  }
  return read;
}

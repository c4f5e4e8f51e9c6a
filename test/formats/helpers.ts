/**
 * @module test/formats/helpers
 * Shared helpers for the reader tests: fixture paths, a temp folder, reading a whole file.
 */

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { readAllSpans, TraceFormatError } from '../../src/formats/index.js';
import type { OpenedTrace, ReadOptions, ReadStats, ReadWarning } from '../../src/formats/index.js';
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

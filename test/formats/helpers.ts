/**
 * @module test/formats/helpers
 * Shared helpers for the reader tests: fixture paths, a temp folder, reading a whole file.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAllSpans } from '../../src/formats/index.js';
import type { ReadOptions, ReadStats, ReadWarning } from '../../src/formats/index.js';
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

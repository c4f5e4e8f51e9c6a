/**
 * Never a stack trace: real fixtures damaged at random (seeded, so failures reproduce) —
 * truncated, bytes flipped, tokens spliced in, gzip cut short, values of the wrong type — are
 * either read or refused with a one-line TraceFormatError, on both the whole-document and the
 * streaming path. Nothing else may escape.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, readAllSpans, TraceFormatError } from '../../src/formats/index.js';
import { fixture, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

const FILES = readdirSync(fixture(''), { recursive: true })
  .map(String)
  .filter((f) => /\.(json|jsonl)$/.test(f))
  // The 585 KB smartthings trace would dominate the run time; its shape is covered by the others.
  .filter((f) => !f.includes('smartthings'))
  .sort();

function damage(data: Buffer, rand: () => number): Buffer {
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

describe('damaged fixtures', () => {
  it('are read or refused with a one-line TraceFormatError, never anything else', async () => {
    const rand = random(20261128);
    let read = 0;
    let refused = 0;
    for (let i = 0; i < 120; i++) {
      const source = FILES[Math.floor(rand() * FILES.length)] as string;
      const file = tmp.write(`damaged-${i}.bin`, damage(readFileSync(fixture(source)), rand));
      for (const options of [{}, { wholeDocumentBytes: 300 }]) {
        try {
          await readAllSpans(file, options);
          await detectFile(file);
          read++;
        } catch (error) {
          if (!(error instanceof TraceFormatError)) throw new Error(`${source} (damaged-${i}.bin): ${(error as Error).stack ?? String(error)}`);
          expect(error.message).not.toMatch(/\n/);
          expect(error.message.startsWith(file)).toBe(true);
          refused++;
        }
      }
    }
    expect(read).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

/**
 * Never a stack trace: real fixtures damaged at random (seeded, so failures reproduce) —
 * truncated, bytes flipped, tokens spliced in, gzip cut short, values of the wrong type — are
 * either read or refused with a one-line TraceFormatError, on both the whole-document and the
 * streaming path. Nothing else may escape.
 */

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, readAllSpans, TraceFormatError } from '../../src/formats/index.js';
import { damage, fixture, FIXTURE_FILES as FILES, random, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('damaged fixtures', () => {
  it('are read or refused with a one-line TraceFormatError, never anything else', async () => {
    const rand = random(20261128);
    let read = 0;
    let refused = 0;
    for (let i = 0; i < 120; i++) {
      const source = FILES[Math.floor(rand() * FILES.length)] as string;
      const file = tmp.write(`damaged-${i}.bin`, damage(readFileSync(fixture(source)), rand));
      // Both JSON lines readers (the fast path and JSON.parse per line); fast-reader.test.ts checks they agree.
      for (const options of [{}, { wholeDocumentBytes: 300 }, { reader: 'full' as const }]) {
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

/**
 * A file that is one OTLP document on one line, damaged (cut short, a comma lost, a second
 * document run onto it), is refused with the place of the damage at every size and by both
 * readers: parsed at detection (under 1 MiB), read by the line reader's byte scanner (1-4 MiB),
 * and through the sliding window (past it), where its first spans were handed on before the
 * damage was met. Its duplicate span ids are reported at every size as the line reader reports
 * them; blank lines before the content are skipped, however many.
 */
import { afterAll, describe, expect, it } from 'vitest';

import type { ReadOptions } from '../../src/formats/index.js';
import { otlpDemoCopies, otlpOneLine, readOutcome, tempDir, withWindow, WINDOWS } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Sizes of the one-line document: parsed at detection, scanned as a line, through the window (a window of 4 KiB, past its 4 MiB line limit). */
const SIZES = [
  { name: 'under 1 MiB', bytes: 200 * 1024 },
  { name: '1-4 MiB', bytes: 2 * 1024 * 1024 },
  { name: 'through the window', bytes: 5 * 1024 * 1024, window: true },
] as const;

const READERS: readonly [string, ReadOptions][] = [
  ['fast', {}],
  ['full', { reader: 'full' }],
];

/** `read` with the window of the size's kind. */
function outcome(size: (typeof SIZES)[number], file: string, options: ReadOptions): ReturnType<typeof readOutcome> {
  return 'window' in size ? withWindow(WINDOWS[2]!, () => readOutcome(file, options)) : readOutcome(file, options);
}

describe('a one-line OTLP document', () => {
  it('cut short: refused at its end, "truncated?", by both readers at every size', async () => {
    for (const size of SIZES) {
      const { text } = otlpOneLine(size.bytes);
      const cut = text.slice(0, text.length - 3);
      const file = tmp.write(`cut-${size.bytes}.otlp.json`, cut);
      for (const [reader, options] of READERS) {
        const { error } = await outcome(size, file, options);
        expect(error, `${size.name}, ${reader}`).toMatch(new RegExp(`^${file}:1:${cut.length + 1}: expected a JSON document.*, got end of (file|line) \\(truncated\\?\\)`));
      }
    }
  }, 120_000);

  it('a comma lost near its end: refused where it is missing, by both readers at every size', async () => {
    for (const size of SIZES) {
      const { text } = otlpOneLine(size.bytes);
      const at = text.lastIndexOf('},{');
      const file = tmp.write(`comma-${size.bytes}.otlp.json`, `${text.slice(0, at + 1)}${text.slice(at + 2)}`);
      for (const [reader, options] of READERS) {
        const { error } = await outcome(size, file, options);
        expect(error, `${size.name}, ${reader}`).toMatch(new RegExp(`^${file}:1:${at + 2}: expected `));
      }
    }
  }, 120_000);

  it('with a second document run onto it (no newline between): refused where the second starts, by both readers at every size, none of its spans read', async () => {
    for (const size of SIZES) {
      const { text } = otlpOneLine(size.bytes / 2);
      const file = tmp.write(`two-${size.bytes}.otlp.json`, `${text}${text}`);
      for (const [reader, options] of READERS) {
        const { error, spans } = await outcome(size, file, options);
        expect(spans, `${size.name}, ${reader}`).toBeUndefined();
        expect(error, `${size.name}, ${reader}`).toMatch(new RegExp(`^${file}:1:${text.length + 1}: expected a JSON document.*, got more text after the JSON value: "\\{\\\\"resourceSpans`));
      }
    }
  }, 120_000);

  it('as the long first line of JSON lines, damaged: the line reader skips it and reads on; through the window its spans were handed on, so it is refused with its damage and what to do', async () => {
    const { text } = otlpOneLine(5 * 1024 * 1024);
    const cut = text.slice(0, text.length - 3);
    const file = tmp.write('long-first-line-cut.otlp.jsonl', `${cut}\n{"resourceSpans":[${otlpDemoCopies(1, 7)[0]!}]}\n`);
    const full = await readOutcome(file, { reader: 'full' });
    expect(full.spans!.length).toBeGreaterThan(0);
    expect(full.stats).toContain(`"location":"1:${cut.length + 1}"`);
    const { error } = await withWindow(WINDOWS[2]!, () => readOutcome(file, {}));
    expect(error).toBe(
      `${file}:1:${cut.length + 1}: expected a JSON document on every line, got end of line (truncated?) (a line this long is read as it streams, its spans handed on before the damage, so it cannot be skipped as a shorter one is: repair or remove it)`,
    );
  }, 120_000);

  it('with duplicate span ids: reported at its line, as the line reader reports them, at every size', async () => {
    for (const size of SIZES) {
      // Each copy twice in a row: each span id twice in its trace (ReadContext keys its check by span id, so a repeat is met next to its first).
      const copies = otlpDemoCopies(Math.max(1, Math.ceil(size.bytes / 2 / (otlpDemoCopies(1)[0]!.length + 1))));
      const file = tmp.write(`dups-${size.bytes}.otlp.json`, `{"resourceSpans":[${copies.flatMap((c) => [c, c]).join(',')}]}`);
      const fast = await outcome(size, file, {});
      const full = await outcome(size, file, { reader: 'full' });
      expect(fast.stats, size.name).toBe(full.stats);
      expect(fast.stats, size.name).toMatch(/"duplicateSpans":[1-9]/);
      expect(fast.stats, size.name).toContain('"location":"1","message":"');
    }
  }, 120_000);
});

describe('blank lines before the content', () => {
  const demo = `{"resourceSpans":[${otlpDemoCopies(2)[0]!}]}\n{"resourceSpans":[${otlpDemoCopies(2)[1]!}]}\n`;

  it('are skipped, however many: 5,000 newlines, 1.5 MiB of them, spaces and CRLFs', async () => {
    const plain = await readOutcome(tmp.write('plain.otlp.jsonl', demo), {});
    for (const [name, blank] of [
      ['5,000 newlines', '\n'.repeat(5_000)],
      ['1.5 MiB of newlines', '\n'.repeat(1.5 * 1024 * 1024)],
      ['spaces and CRLFs', ' \r\n\t'.repeat(300_000)],
    ] as const) {
      const read = await readOutcome(tmp.write('blank-first.otlp.jsonl', `${blank}${demo}`), {});
      expect(read.error, name).toBeUndefined();
      expect(read.spans, name).toEqual(plain.spans);
    }
  }, 60_000);

  it('with nothing after them: "only whitespace", past 4 KiB too (not read as protobuf); past 16 MiB, said so', async () => {
    for (const blank of ['\n'.repeat(5_000), ' '.repeat(5_000), '\r\n'.repeat(3_000_000)]) {
      const file = tmp.write('blank.json', blank);
      expect((await readOutcome(file, {})).error).toBe(`${file}: expected a trace export, got a file with only whitespace`);
    }
    const file = tmp.write('blank-17.json', '\n'.repeat(17 * 1024 * 1024));
    expect((await readOutcome(file, {})).error).toBe(`${file}: expected a trace export, got only whitespace in its first 16 MiB`);
  }, 60_000);
});

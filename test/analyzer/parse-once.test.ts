/**
 * Each input is opened, detected and parsed once: detection hands its parse to the reader. A
 * single JSON document (whole, or as the only line of a file) is given to JSON.parse once, for
 * every JSON family; in OTLP JSON lines only the first line goes through JSON.parse, once
 * (detection's, to tell the family), and the byte-scanning reader reads every line.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { fixture, tempDir } from '../formats/helpers.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';
import { WINDOWED } from '../../src/formats/_document-window.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());

/** How often JSON.parse saw a text at least `minLength` long during `run`. */
async function bigParses(minLength: number, run: () => Promise<unknown>): Promise<number> {
  const parse = vi.spyOn(JSON, 'parse');
  // A spy made earlier in the same test is handed back: count this run's calls only.
  parse.mockClear();
  await run();
  return parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= minLength).length;
}

describe('parse once', () => {
  it('a pretty-printed Jaeger document is read from its bytes (no JSON.parse of it), and parsed once by the full reader', async () => {
    const text = readFileSync(fixture('jaeger-json/jaeger-ui-petclinic-31char-traceid.json'), 'utf8');
    const file = tmp.write('petclinic.json', text);
    let fast: Awaited<ReturnType<typeof analyzeFiles>> | undefined;
    expect(
      await bigParses(text.length / 2, async () => {
        fast = await analyzeFiles([file]);
      }),
    ).toBe(0);
    expect(fast!.files[0]!.fastReader).toEqual({ lines: 1, fallbacks: 0 });
    expect(await bigParses(text.length / 2, () => analyzeFiles([file], { reader: 'full' }))).toBe(1);
  });

  it('a Jaeger document the byte scanner hands back is parsed once (detection looked at its first bytes only)', async () => {
    // An array of traces: a shape the byte scanner leaves to the full reader.
    const text = JSON.stringify([JSON.parse(readFileSync(fixture('jaeger-json/jaeger-ui-petclinic-31char-traceid.json'), 'utf8'))]);
    const file = tmp.write('trace-array.json', text);
    let result: Awaited<ReturnType<typeof analyzeFiles>> | undefined;
    expect(
      await bigParses(text.length / 2, async () => {
        result = await analyzeFiles([file]);
      }),
    ).toBe(1);
    expect(result!.files[0]!.fastReader).toEqual({ lines: 0, fallbacks: 1 });
  });

  it('a minified document on one line is parsed once', async () => {
    const text = JSON.stringify(JSON.parse(readFileSync(fixture('otlp-json/jaeger-memstore-otel_traces_01.json'), 'utf8')));
    const file = tmp.write('minified.json', text);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file]))).toBe(1);
  });

  it.each([
    ['jaeger-json/jaeger-ui-genai-agent-trace.json', 0],
    ['zipkin-json/zipkin-lens-messaging2-orphans.json', 0],
  ])('%s, minified with a trailing newline (a one-line file), is parsed %i times (read from its bytes)', async (source, parses) => {
    const text = JSON.stringify(JSON.parse(readFileSync(fixture(source), 'utf8')));
    const file = tmp.write(`one-line-${source.replace('/', '-')}`, `${text}\n`);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file]))).toBe(parses);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file], { reader: 'full' }))).toBe(1);
  });

  it('a pretty-printed Zipkin document is read from its bytes, and parsed once by the full reader', async () => {
    const text = readFileSync(fixture('zipkin-json/zipkin-lens-messaging2-orphans.json'), 'utf8');
    const file = tmp.write('zipkin.json', text);
    expect(text.split('\n').length).toBeGreaterThan(10);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file]))).toBe(0);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file], { reader: 'full' }))).toBe(1);
  });

  it('OTLP JSON lines: JSON.parse sees the first line only, once (detection); the fast reader reads every line from its bytes', async () => {
    const text = toOtlpJsonLines(simulate({ requests: 40, seed: 3 }), 16);
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(10);
    const file = tmp.write('lines.otlp.jsonl', text);
    const shortest = Math.min(...lines.map((l) => l.length));
    let fast: Awaited<ReturnType<typeof analyzeFiles>> | undefined;
    expect(
      await bigParses(shortest, async () => {
        fast = await analyzeFiles([file]);
      }),
    ).toBe(1);
    expect(fast!.files[0]!.fastReader).toEqual({ lines: lines.length, fallbacks: 0 });
    // With the full reader every line is parsed once: detection's first, then the others.
    expect(await bigParses(shortest, () => analyzeFiles([file], { reader: 'full' }))).toBe(lines.length);
  });

  it('OTLP JSON lines past the size a document is windowed at: the first line is still parsed once', async () => {
    // Detection first asks whether a file that large is a document to read through a window; its
    // parse of the first line (a whole value: JSON lines) is the one detection hands on.
    const text = toOtlpJsonLines(simulate({ requests: 40, seed: 4 }), 16);
    const lines = text.split('\n').filter((l) => l !== '');
    const file = tmp.write('windowed-size.otlp.jsonl', text);
    const saved = { ...WINDOWED };
    Object.assign(WINDOWED, { documentBytes: 1024 });
    try {
      let fast: Awaited<ReturnType<typeof analyzeFiles>> | undefined;
      expect(await bigParses(Math.min(...lines.map((l) => l.length)), async () => (fast = await analyzeFiles([file])))).toBe(1);
      expect(fast!.files[0]!.fastReader).toEqual({ lines: lines.length, fallbacks: 0 });
      expect(fast!.requests).toBe(40);
    } finally {
      Object.assign(WINDOWED, saved);
    }
  });
});

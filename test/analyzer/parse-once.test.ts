/**
 * Each input is opened, detected and parsed once: detection hands its parse to the reader. A
 * single JSON document (whole, or as the only line of a file) is given to JSON.parse once.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { fixture, tempDir } from '../formats/helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());

/** How often JSON.parse saw a text at least `minLength` long during `run`. */
async function bigParses(minLength: number, run: () => Promise<unknown>): Promise<number> {
  const parse = vi.spyOn(JSON, 'parse');
  await run();
  return parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= minLength).length;
}

describe('parse once', () => {
  it('a pretty-printed JSON document is parsed once by detection and reading together', async () => {
    const text = readFileSync(fixture('jaeger-json/jaeger-ui-petclinic-31char-traceid.json'), 'utf8');
    const file = tmp.write('petclinic.json', text);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file]))).toBe(1);
  });

  it('a minified document on one line is parsed once', async () => {
    const text = JSON.stringify(JSON.parse(readFileSync(fixture('otlp-json/jaeger-memstore-otel_traces_01.json'), 'utf8')));
    const file = tmp.write('minified.json', text);
    expect(await bigParses(text.length / 2, () => analyzeFiles([file]))).toBe(1);
  });
});

/**
 * JSON lines are streamed: spans come out in bounded batches while the file is still being
 * read, so memory does not grow with the file size.
 */

import { statSync, truncateSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, readSpans } from '../../src/formats/index.js';
import { ids, toOtlpJsonLines } from '../support/synth.js';
import type { SynthSpan } from '../support/synth.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function manySpans(n: number): SynthSpan[] {
  const id = ids(3);
  return Array.from({ length: n }, (_, i) => ({
    traceId: id.traceId(Math.floor(i / 5)),
    spanId: id.spanId(i),
    ...(i % 5 === 0 ? {} : { parentSpanId: id.spanId(i - (i % 5)) }),
    name: i % 5 === 0 ? 'predict' : 'compute',
    service: 'model-server',
    kind: i % 5 === 0 ? ('server' as const) : ('internal' as const),
    startNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n,
    endNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n + 900n,
    attributes: { 'inference.phase': 'compute', 'inference.batch.size': 4, padding: 'x'.repeat(200) },
  }));
}

describe('streaming JSON lines', () => {
  it('yields bounded batches before the end of the file has been read', async () => {
    const total = 40_000;
    const file = tmp.write('stream.jsonl', toOtlpJsonLines(manySpans(total), 20));
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(16 * 1024 * 1024);
    const reader = readSpans(file, { batchSize: 500 });
    const first = await reader.next();
    expect(first.done).toBe(false);
    expect((first.value as unknown[]).length).toBeLessThanOrEqual(520);
    // Cut the file while the reader is in its first megabytes: a reader that had loaded the
    // whole file would still return every span.
    truncateSync(file, 4 * 1024 * 1024);
    let spans = (first.value as unknown[]).length;
    let batches = 1;
    for (;;) {
      const next = await reader.next();
      if (next.done === true) {
        expect(next.value.spans).toBe(spans);
        break;
      }
      expect(next.value.length).toBeLessThanOrEqual(520);
      spans += next.value.length;
      batches++;
    }
    expect(batches).toBeGreaterThan(3);
    expect(spans).toBeLessThan(total / 2);
  });

  it('detects and reads JSON lines whose lines are megabytes long (large Collector batches)', async () => {
    const file = tmp.write('long-lines.jsonl', toOtlpJsonLines(manySpans(30_000), 10_000));
    const detected = await detectFile(file);
    expect(detected).toMatchObject({ format: 'otlp-jsonl', layout: 'json-lines' });
    let spans = 0;
    for await (const batch of readSpans(file)) spans += batch.length;
    expect(spans).toBe(30_000);
  });

  it('reads every byte right when lines cross the reused read buffers (lines of a few bytes to several MiB)', async () => {
    // Read buffers are reused from chunk to chunk: a line spanning two, three or more reads
    // must keep its bytes from each, and short lines around it must not see later bytes.
    const spans = manySpans(36_000);
    const sizes = [1, 9_000, 3, 17_000, 1, 1, 5_000, 2, 1];
    const lines: string[] = [];
    let at = 0;
    for (let i = 0; at < spans.length; i++) {
      const n = sizes[i % sizes.length]!;
      lines.push(toOtlpJsonLines(spans.slice(at, at + n), n));
      at += n;
    }
    const file = tmp.write('mixed-lines.jsonl', lines.join(''));
    expect(Math.max(...lines.map((l) => l.length))).toBeGreaterThan(3 * 1024 * 1024);
    for (const reader of ['fast', 'full'] as const) {
      const read = [];
      for await (const batch of readSpans(file, { reader })) read.push(...batch);
      expect(read.map((s) => s.spanId)).toEqual(spans.map((s) => s.spanId));
      expect(read.map((s) => s.startNs)).toEqual(spans.map((s) => s.startNs));
      expect(read.every((s) => s.attributes['padding'] === 'x'.repeat(200))).toBe(true);
    }
  });
});

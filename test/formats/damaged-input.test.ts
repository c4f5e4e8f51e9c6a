/**
 * Damage that real files carry — a JSON lines file cut at the front, a compressed export cut
 * short by a killed writer — is analysed for what parses, with a counted warning (strict: an
 * error), exactly like the same damage in a plain file. And a zstd "bomb" (1 GiB of zeros in
 * 33 KB) is inflated in bounded pieces, not all at once.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync, inflateRawSync } from 'node:zlib';
import { decompress } from 'fzstd';
import { afterAll, describe, expect, it } from 'vitest';
import { openFile } from '../../src/formats/_bytes.js';
import { detectFile, TraceFormatError } from '../../src/formats/index.js';
import { fixture, read, tempDir } from './helpers.js';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { exposedGc } from '../support/gc.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const demoLines = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8').trim().split('\n');
const spansIn = (lines: readonly string[]): number => lines.reduce((n, l) => n + (l.match(/"spanId"/g) ?? []).length, 0);

function zstd(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c'], { input: data, maxBuffer: 1 << 30 });
}

describe('JSON lines whose first line is broken', () => {
  it('a file cut in the middle of its first record: the other lines are read, the first is a warning', async () => {
    const cut = [demoLines[0]!.slice(700), ...demoLines.slice(1)].join('\n') + '\n';
    const file = tmp.write('cut-front.jsonl', cut);
    expect((await detectFile(file)).format).toBe('otlp-jsonl');
    const { spans, warnings } = await read(file);
    expect(spans).toHaveLength(spansIn(demoLines.slice(1)));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ location: expect.stringMatching(/^1:\d+$/), count: 1 });
    await expect(read(file, { strict: true })).rejects.toThrow(/cut-front\.jsonl:1:\d+: expected a JSON document on every line/);
  });

  it('a first record cut short: the same', async () => {
    const cut = [demoLines[0]!.slice(0, 900), ...demoLines.slice(1)].join('\n') + '\n';
    const { spans, warnings } = await read(tmp.write('cut-first.jsonl', cut));
    expect(spans).toHaveLength(spansIn(demoLines.slice(1)));
    expect(warnings.map((w) => w.location)).toEqual(['1:901']);
  });

  it('a pretty-printed document is still a document, not JSON lines', async () => {
    const pretty = JSON.stringify(JSON.parse(demoLines[0]!), null, 2);
    const file = tmp.write('pretty.json', pretty);
    expect(await detectFile(file)).toMatchObject({ format: 'otlp-json', layout: 'json-document' });
    expect((await read(file)).spans).toHaveLength(spansIn(demoLines.slice(0, 1)));
  });
});

describe('a Triton trace file that was never closed', () => {
  // Triton writes '[', then ',' before each next trace, and ']' only at shutdown (src/tracer.cc):
  // the file of a running or killed server, written here the same way from the real docs example.
  const records = (JSON.parse(readFileSync(fixture('ml-serving/triton-docs-trace-timestamps.json'), 'utf8')) as unknown[]).map((r) => JSON.stringify(r));
  const live = '[' + records.join(',');

  it('while the server runs: every record is read, with a warning that the array is not closed', async () => {
    const file = tmp.write('trace-live.json', live);
    expect((await detectFile(file)).format).toBe('triton-trace');
    const { spans, warnings } = await read(file, { strict: true });
    expect(spans).toHaveLength(1);
    expect(spans[0]!.events).toHaveLength(12);
    expect(Number(spans[0]!.endNs - spans[0]!.startNs)).toBe(3_125_547);
    expect(warnings).toEqual([expect.objectContaining({ location: `1:${live.length + 1}`, message: expect.stringMatching(/Triton trace array not closed: expected the closing '\]'/) })]);
  });

  it('killed in the middle of a record: the request it belongs to is left out, never read as ending early', async () => {
    const whole = live + ',{"id":2,"model_name":"m","model_version":1},{"id":2,"timestamps":[{"name":"HTTP_RECV_START","ns":2356425058000000}]}';
    const cut = whole + ',{"id":2,"timestamps":[{"name":"HTTP_RE';
    const file = tmp.write('trace-killed.json', cut);
    const { spans, warnings } = await read(file);
    expect(spans.map((s) => s.attributes['triton.trace_id'])).toEqual([1]);
    expect(warnings).toEqual([expect.objectContaining({ location: `1:${whole.length + 1}`, message: expect.stringMatching(/1 record skipped: .*request id 2 \(that request left out\) cut short/) })]);
    await expect(read(file, { strict: true })).rejects.toThrow(/trace-killed\.json:1:\d+: expected the closing '\]' of the Triton trace array/);
  });

  it('too large to read whole (streamed): read up to the end, the request written last left out', async () => {
    // The docs example's request five times (ids 1–5), streamed as a document over 256 bytes is.
    const five = '[' + [1, 2, 3, 4, 5].flatMap((id) => records.map((r) => JSON.stringify({ ...(JSON.parse(r) as object), id }))).join(',');
    const { spans, warnings } = await read(tmp.write('trace-live-large.json', five), { wholeDocumentBytes: 256 });
    expect(spans.map((s) => s.attributes['triton.trace_id'])).toEqual([1, 2, 3, 4]);
    expect(spans.every((s) => s.events?.length === 12)).toBe(true);
    expect(warnings).toEqual([expect.objectContaining({ message: expect.stringMatching(/1 record skipped: expected the closing '\]' .*request id 5, written last and perhaps cut, left out/) })]);
  });

  it("a timestamp whose 'ns' is not a time is a warning naming its record, read whole or streamed, not a silently lower coverage", async () => {
    // The docs example with COMPUTE_START's ns quoted and changed (a hand-edited or converted file): the queue and input phases it bounds go.
    const edited = '[' + records.map((r) => r.replace('"ns":2356425054887198', '"ns":"2356425054887198us"')).join(',') + ']';
    expect(edited).toContain('2356425054887198us');
    for (const options of [{}, { wholeDocumentBytes: 256 }]) {
      const { spans, warnings } = await read(tmp.write('trace-bad-ns.json', edited), options);
      expect(spans[0]!.events).toHaveLength(11);
      expect(warnings).toEqual([expect.objectContaining({ location: expect.stringMatching(/\$\[5\]\.timestamps$/), count: 1, message: expect.stringMatching(/Triton timestamp left out: expected its 'ns' as steady-clock nanoseconds/) })]);
    }
  });

  it('timestamps that contradict their order on the steady clock (an edited file, two runs under one id) are a warning naming the pair, read whole or streamed; the real example has none', async () => {
    // HTTP_SEND_END moved 10 ms back, before HTTP_SEND_START (and before the request began).
    const moved = '[' + records.map((r) => r.replace('"ns":2356425057712991', '"ns":2356425047712991')).join(',') + ']';
    expect(moved).toContain('2356425047712991');
    for (const options of [{}, { wholeDocumentBytes: 256 }]) {
      const { spans, warnings } = await read(tmp.write('trace-disorder.json', moved), options);
      expect(spans).toHaveLength(1);
      expect(warnings).toEqual([expect.objectContaining({ location: expect.stringMatching(/\(request id 1\)$/), count: 1, message: expect.stringMatching(/Triton timestamps out of order on one steady clock \(HTTP_SEND_END before HTTP_SEND_START\)/) })]);
    }
    const { warnings } = await read(fixture('ml-serving/triton-docs-trace-timestamps.json'));
    expect(warnings).toEqual([]);
  });

  it('a request missing its response send or its compute timestamps is a counted warning naming the request and the timestamps, read whole or streamed; the real example has none', async () => {
    // The real docs example without HTTP_SEND_START/END (its last two records), and without COMPUTE_START/END.
    const without = (names: readonly string[]): string => '[' + records.filter((r) => !names.some((n) => r.includes(`"${n}"`))).join(',') + ']';
    const sendless = without(['HTTP_SEND_START', 'HTTP_SEND_END']);
    const computeless = without(['COMPUTE_START', 'COMPUTE_END']);
    expect([sendless, computeless].map((t) => (JSON.parse(t) as unknown[]).length)).toEqual([10, 10]);
    for (const options of [{}, { wholeDocumentBytes: 256 }]) {
      const send = await read(tmp.write('trace-no-send.json', sendless), options);
      expect(send.spans).toHaveLength(1);
      expect(send.warnings).toEqual([
        expect.objectContaining({ location: expect.stringMatching(/\(request id 1\)$/), count: 1, message: expect.stringMatching(/^1× Triton request received without its HTTP_SEND_START and HTTP_SEND_END timestamps: /) }),
      ]);
      const compute = await read(tmp.write('trace-no-compute.json', computeless), options);
      expect(compute.warnings).toEqual([
        expect.objectContaining({ location: expect.stringMatching(/\(request id 1\)$/), count: 1, message: expect.stringMatching(/^1× Triton request queued without its COMPUTE_START and COMPUTE_END timestamps: /) }),
      ]);
    }
    // Counted per request: the example's request three times (ids 1-3), two of them without HTTP_SEND_END.
    const three = '[' + [1, 2, 3].flatMap((id) => records.filter((r) => id === 1 || !r.includes('"HTTP_SEND_END"')).map((r) => JSON.stringify({ ...(JSON.parse(r) as object), id }))).join(',') + ']';
    const { warnings } = await read(tmp.write('trace-two-no-send-end.json', three));
    expect(warnings).toEqual([expect.objectContaining({ location: expect.stringMatching(/\(request id 2\)$/), count: 2, message: expect.stringMatching(/^2× Triton request received without its HTTP_SEND_END timestamp: /) })]);
    // Through the analysis: the warning reaches the result, and the request still counts.
    const result = await analyzeFiles([tmp.write('trace-no-send-analysed.json', sendless)], { diagnose: false });
    expect(result.requests).toBe(1);
    expect(result.warnings.map((w) => [w.code, w.count])).toEqual([['read', 1]]);
    // Whole, and as Triton's ensemble (its parent has no queue or compute of its own) and 1.x layouts: nothing missing.
    for (const name of ['ml-serving/triton-docs-trace-timestamps.json']) expect((await read(fixture(name))).warnings).toEqual([]);
    for (const name of ['triton-trace-v2-grpc-ensemble.synthetic.json', 'triton-trace-v1-grpc.synthetic.json', 'triton-trace-v2-responds-after-execute.synthetic.json']) {
      expect((await read(new URL(`../fixtures/serving/${name}`, import.meta.url).pathname)).warnings, name).toEqual([]);
    }
  });

  it('a syntax error that is not the end of the file is still the error it was', async () => {
    await expect(read(tmp.write('trace-broken.json', live + ' garbage'))).rejects.toThrow(/trace-broken\.json:1:\d+: expected a JSON document on the first line, got 'g'/);
  });
});

describe('compressed exports cut short', () => {
  const whole = demoLines.join('\n') + '\n';
  for (const [name, compress] of [
    ['gzip', (b: Buffer) => gzipSync(b)],
    ['zstd', zstd],
  ] as const) {
    it(`a truncated ${name} file of JSON lines is read up to the cut, with a warning naming the byte`, async () => {
      const packed = compress(Buffer.from(whole));
      const file = tmp.write(`cut.jsonl.${name}`, packed.subarray(0, Math.floor(packed.length * 0.6)));
      const { spans, warnings } = await read(file);
      expect(spans.length).toBeGreaterThan(0);
      expect(spans.length).toBeLessThan(spansIn(demoLines));
      const messages = warnings.map((w) => w.message).join('\n');
      expect(messages).toMatch(new RegExp(`1 record skipped: expected a complete ${name} stream`));
      // The line the cut went through is skipped, never half-read.
      expect(messages).toMatch(/1 line skipped: expected a JSON document on every line/);
      const error = await read(file, { strict: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TraceFormatError);
    });
  }
});

describe("zstd frames' content checksums", () => {
  const whole = Buffer.from(demoLines.join('\n') + '\n');
  /** `packed` with one byte changed where the frame still inflates, to other bytes: only the checksum can tell. */
  function corrupted(packed: Buffer, from: number): { bytes: Buffer; at: number } {
    for (let at = from; at < packed.length - 4; at++) {
      const bytes = Buffer.from(packed);
      bytes[at] = bytes[at]! ^ 0x01;
      let inflated: Uint8Array;
      try {
        inflated = decompress(bytes);
      } catch {
        continue;
      }
      if (!Buffer.from(inflated).equals(decompress(packed))) return { bytes, at };
    }
    throw new Error('no silent corruption found');
  }

  it('a byte changed inside a frame (the file still inflates) is a warning naming the frame\'s checksum, not a silent wrong number', async () => {
    const packed = zstd(whole);
    const { bytes } = corrupted(packed, Math.floor(packed.length / 2));
    const file = tmp.write('flipped.jsonl.zst', bytes);
    const { warnings } = await read(file);
    expect(warnings.map((w) => `${w.location}: ${w.message}`)).toContain(
      `byte ${packed.length - 4}: 1 record skipped: expected zstd frame content that matches its checksum (first: got a checksum mismatch: the inflated content is corrupt, and what was read from it may be wrong)`,
    );
    await expect(read(file, { strict: true })).rejects.toThrow(/flipped\.jsonl\.zst:byte \d+: expected zstd frame content that matches its checksum/);
  });

  it('several frames (and skippable, empty and tiny ones) are each checked: intact, no warning and every span; the last changed, its checksum named', async () => {
    const half = whole.indexOf('\n', Math.floor(whole.length / 2)) + 1;
    // An empty frame and a one-newline frame (shorter than the 18 bytes fzstd waits for) between two halves.
    const first = Buffer.concat([zstd(whole.subarray(0, half)), zstd(Buffer.alloc(0)), zstd(Buffer.from('\n'))]);
    const second = zstd(whole.subarray(half));
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
    const intact = tmp.write('frames.jsonl.zst', Buffer.concat([first, skippable, second]));
    const plain = await read(tmp.write('frames.jsonl', whole));
    const read2 = await read(intact);
    expect(read2.warnings).toEqual([]);
    expect(read2.spans).toHaveLength(plain.spans.length);
    const { bytes } = corrupted(second, Math.floor(second.length / 2));
    const { warnings } = await read(tmp.write('frames-flipped.jsonl.zst', Buffer.concat([first, skippable, bytes])));
    expect(warnings.map((w) => w.location)).toContain(`byte ${first.length + skippable.length + second.length - 4}`);
  });

  it('a gzip file whose content fails its CRC-32 (a changed byte that still inflates) is named the same way, not as a skipped record', async () => {
    const packed = gzipSync(whole);
    // Node's gzip header is 10 bytes, its trailer CRC-32 and length (8): the deflate stream between.
    const body = packed.subarray(10, packed.length - 8);
    let at = Math.floor(packed.length / 2);
    let bytes = Buffer.from(packed);
    for (; at < packed.length - 8; at++) {
      bytes = Buffer.from(packed);
      bytes[at] = bytes[at]! ^ 0x01;
      try {
        if (!inflateRawSync(bytes.subarray(10, bytes.length - 8)).equals(inflateRawSync(body))) break;
      } catch {
        // This byte breaks the stream: not a silent change.
      }
    }
    const { warnings } = await read(tmp.write('flipped.jsonl.gz', bytes));
    expect(warnings.map((w) => `${w.location}: ${w.message}`)).toContain(
      `byte ${packed.length}: 1 record skipped: expected gzip content that matches its CRC-32 (first: got a checksum mismatch: the inflated content is corrupt, and what was read from it may be wrong)`,
    );
  });

  it('a legacy Collector zstd record with a changed byte is named the same way', async () => {
    const records = demoLines.slice(0, 3).map((line) => zstd(Buffer.from(line)));
    const { bytes, at } = corrupted(records[1]!, 20);
    expect(at).toBeGreaterThan(0);
    const framed = [records[0]!, bytes, records[2]!].map((r) => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (r.length >>> (8 * (3 - i))) & 0xff)), r]));
    const { spans, warnings } = await read(tmp.write('records.zst', Buffer.concat(framed)));
    expect(spans.length).toBeGreaterThan(0);
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/expected zstd frame content that matches its checksum/);
  });
});

describe('zstd decompression is bounded', () => {
  it('256 MiB of zeros in a few KB of zstd are inflated in pieces, never held whole', async () => {
    const file = `${tmp.dir}/zeros.zst`;
    execFileSync('bash', ['-c', `head -c ${256 * 1024 * 1024} /dev/zero | zstd -q -c > '${file}'`]);
    // What is held, not what waits for the collector: a collection every 8 MiB of output. Without
    // them the peak is V8's choice of when to collect (the same run: 31.5 MiB of dead chunks on
    // Node 20, 71.5 MiB on Node 24), not the reader's.
    const gc = exposedGc();
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const opened = await openFile(file);
    let total = 0;
    let peak = 0;
    let largest = 0;
    let chunks = 0;
    for await (const chunk of opened.content.chunks()) {
      total += chunk.length;
      largest = Math.max(largest, chunk.length);
      if (++chunks % 64 === 0) gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(total).toBe(256 * 1024 * 1024);
    // Before: one push inflated everything, so ≥ 256 MiB of output was held at once.
    expect(peak).toBeLessThan(32 * 1024 * 1024);
    expect(largest).toBeLessThanOrEqual(128 * 1024);
  }, 120_000);
});

/**
 * Standard input and pipes held in a temporary file (formats/_spool.ts): a large Jaeger or
 * Zipkin document, or a large Triton trace file, arriving through a pipe is read as a regular
 * file is (through the sliding window, record by record in two readings), with what reading the
 * stream whole gives. Real FIFOs, written by a `sh` child as a shell pipeline writes them; the
 * stream read whole is the same pipe with no temporary directory to hold it in.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { WINDOWED } from '../../src/formats/_document-window.js';
import { openTrace, TraceFormatError } from '../../src/formats/index.js';
import type { ReadOptions, Spooled } from '../../src/formats/index.js';
import { busyServer } from '../support/triton-busy.js';
import { damage, fixture, jsonText, otlpOneLine, random, readOutcome, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

/**
 * A FIFO that a `sh` child fills with `file`'s bytes, opened by the child before this returns (a
 * FIFO with no writer reads as empty), as a shell's `cat file > fifo &` is waiting when the
 * reader comes. A reader held open here meanwhile (`keeper`, never read from) lets the child open
 * it without waiting for one; the child writes once this process holds a second descriptor of it
 * (the reader's), and holds its own until it has written all: a reader that opens a FIFO after
 * its last writer left is never told of the end by Linux (no EPOLLHUP), so it would wait for ever.
 * Always of one name: a Triton trace file's trace ids are made from its name.
 */
async function piped(file: string): Promise<{ path: string; done(): Promise<void> }> {
  const path = join(dir.dir, 'pipe');
  rmSync(path, { force: true });
  execFileSync('mkfifo', [path]);
  const keeper = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const script = 'exec 3>"$1"; echo ready; while [ "$(ls -l /proc/$PPID/fd 2>/dev/null | grep -c -F "$1")" -lt 2 ]; do sleep 0.01; done; cat "$0" >&3';
  const writer = spawn('sh', ['-c', script, file, path], { stdio: ['ignore', 'pipe', 'ignore'] });
  const closed = new Promise<void>((resolve) => writer.on('close', () => resolve()));
  await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
  return {
    path,
    // A reader that stopped early (an error) leaves the writer waiting for room in the pipe: it is stopped.
    async done() {
      writer.kill('SIGKILL');
      await closed;
      closeSync(keeper);
    },
  };
}

/** Runs `body` with TMPDIR set to `tmp` (os.tmpdir() reads it on each call) and the window's sizes lowered, so that small documents take it. */
async function withTmp<T>(tmp: string, body: () => Promise<T>, window: Partial<typeof WINDOWED> = { documentBytes: 0, windowBytes: 700, aheadBytes: 200 }): Promise<T> {
  const saved = { tmp: process.env['TMPDIR'], window: { ...WINDOWED } };
  process.env['TMPDIR'] = tmp;
  Object.assign(WINDOWED, window);
  try {
    return await body();
  } finally {
    if (saved.tmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved.tmp;
    Object.assign(WINDOWED, saved.window);
  }
}

/** A temporary directory to spool into, and one that cannot be made (so the stream is read whole, as before). */
const SPOOL_DIR = join(dir.dir, 'spool');
mkdirSync(SPOOL_DIR);
const NO_TMP = join(dir.dir, 'missing', 'tmp');

/** What reading `file` through a pipe gives, spooled (`tmp` SPOOL_DIR) or read whole (NO_TMP): spans, stats and error with the pipe's name in them made `PIPE`. */
async function throughPipe(file: string, tmp: string, options: ReadOptions = {}, window?: Partial<typeof WINDOWED>): Promise<Awaited<ReturnType<typeof readOutcome>> & { spooled: boolean; held?: Spooled }> {
  const pipe = await piped(file);
  const out = await withTmp(
    tmp,
    async () => {
      const trace = await openTrace(pipe.path).catch((error: unknown) => {
        if (error instanceof TraceFormatError) return error;
        throw error;
      });
      if (trace instanceof TraceFormatError) return { spooled: false, error: trace.message };
      return { spooled: trace.sniffed.spool !== undefined, ...(await readOutcome(trace, options)) };
    },
    window,
  );
  await pipe.done();
  const named = (s: string): string => s.replaceAll(pipe.path, 'PIPE');
  // Where the stream was held (ReadStats.spooled) apart: the rest of the stats are compared.
  const { spooled: held, ...stats } = out.stats === undefined ? { spooled: undefined } : (JSON.parse(out.stats) as { spooled?: Spooled });
  return {
    ...out,
    ...(out.error !== undefined ? { error: named(out.error) } : {}),
    ...(out.stats !== undefined ? { stats: named(jsonText(stats)) } : {}),
    ...(held !== undefined ? { held } : {}),
  };
}

/** True when detection leaves the regular file `file` to the sliding window (with the window's sizes lowered as here). */
async function windowTakes(file: string): Promise<boolean> {
  return withTmp(SPOOL_DIR, async () => {
    const trace = await openTrace(file);
    await trace.close();
    return trace.document !== undefined && 'windowed' in trace.document;
  });
}

/** Expects `file` through a pipe to read the same spooled as read whole, and says whether it was spooled. */
async function expectSameSpooled(file: string, options: ReadOptions = {}, window?: Partial<typeof WINDOWED>): Promise<boolean> {
  const whole = await throughPipe(file, NO_TMP, options, window);
  expect(whole.spooled, file).toBe(false);
  const spooled = await throughPipe(file, SPOOL_DIR, options, window);
  expect(spooled.error, file).toBe(whole.error);
  expect(spooled.stats, file).toBe(whole.stats);
  expect(jsonText(spooled.spans), file).toBe(jsonText(whole.spans));
  // The stats say where it was held, and how much of it (the file's size, inflated where it is compressed).
  expect(whole.held, file).toBeUndefined();
  if (spooled.spooled && spooled.error === undefined) expect(spooled.held, file).toEqual({ bytes: inflated(file), directory: SPOOL_DIR });
  // Nothing is left in the temporary directory: the file was unlinked once opened.
  expect(readdirSync(SPOOL_DIR), file).toEqual([]);
  return spooled.spooled;
}

describe('standard input and pipes held in a temporary file (formats/_spool.ts)', { timeout: 180_000 }, () => {
  it('Jaeger and Zipkin documents through a pipe: spooled and read through the window, the same spans, stats and errors as the stream read whole', async () => {
    let taken = 0;
    const files = ['jaeger-json', 'zipkin-json'].flatMap((family) => readdirSync(fixture(family)).map((name) => fixture(`${family}/${name}`)));
    files.push(fileUrl('../../examples/traces/inference-demo.jaeger.json'), fileUrl('../../examples/traces/inference-demo.zipkin.json'));
    {
      for (const path of files) {
        const name = basename(path);
        const doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
        for (const [spelling, text] of [
          ['pretty', JSON.stringify(doc, null, 2)],
          ['minified', JSON.stringify(doc)],
        ] as const) {
          const file = dir.write(`${spelling}-${name}`, text);
          const spooled = await expectSameSpooled(file);
          // Exactly the documents the window takes from a file: Zipkin arrays and Jaeger envelopes whose first key is `data`.
          expect(spooled, file).toBe(await windowTakes(file));
          if (spooled) taken++;
        }
      }
    }
    expect(taken).toBeGreaterThanOrEqual(8);
  });

  it('OTLP documents through a pipe, pretty-printed: spooled and read through the window, the same spans, stats (duplicate ids) and errors as the stream read whole', async () => {
    const files = readdirSync(fixture('otlp-json')).map((name) => fixture(`otlp-json/${name}`));
    const demo = readFileSync(fileUrl('../../examples/traces/inference-demo.otlp.jsonl'), 'utf8').trim().split('\n');
    let taken = 0;
    for (const [name, doc] of [
      ...files.map((f) => [basename(f), JSON.parse(readFileSync(f, 'utf8')) as unknown] as const),
      ['demo', { resourceSpans: demo.flatMap((l) => (JSON.parse(l) as { resourceSpans: unknown[] }).resourceSpans) }] as const,
    ]) {
      const file = dir.write(`pretty-otlp-${name}`, JSON.stringify(doc, null, 2));
      if (await expectSameSpooled(file)) taken++;
      expect(await windowTakes(file), file).toBe(true);
    }
    expect(taken).toBe(files.length + 1);
  });

  it('an OTLP document on one line past 32 MiB through a pipe: spooled once its first line passes 32 MiB and read through the window, not held whole', async () => {
    const file = dir.write('one-line-33.otlp.json', otlpOneLine(33 * 1024 * 1024).text);
    expect(await expectSameSpooled(file, {}, {})).toBe(true);
  });

  it('damaged documents through a pipe: the same spans or the same error, spooled or not', async () => {
    const rand = random(20261201);
    const sources = ['jaeger-json', 'zipkin-json'].flatMap((family) => readdirSync(fixture(family)).map((n) => Buffer.from(JSON.stringify(JSON.parse(readFileSync(fixture(`${family}/${n}`), 'utf8')), null, 1))));
    let spooled = 0;
    for (let i = 0; i < 30; i++) {
      if (await expectSameSpooled(dir.write(`damaged-${i}.json`, damage(sources[Math.floor(rand() * sources.length)]!, rand)))) spooled++;
    }
    expect(spooled).toBeGreaterThan(5);
  });

  it('a document the scanner gives back late: read again from the temporary file by the full reader (a pipe cannot be read twice)', async () => {
    const source = JSON.parse(readFileSync(new URL('../../examples/traces/inference-demo.jaeger.json', import.meta.url), 'utf8')) as { data: { spans: { spanID: string }[] }[] };
    const traces = Array.from({ length: 40 }, (_, i) => JSON.parse(JSON.stringify(source.data[0]).replaceAll(/"traceID":"[0-9a-f]{24}/g, `"traceID":"${i.toString(16).padStart(24, '0')}`)) as { spans: { spanID: string }[] });
    traces.at(-1)!.spans[0]!.spanID = Buffer.from(traces.at(-1)!.spans[0]!.spanID, 'hex').toString('base64');
    const file = dir.write('late-fallback.jaeger.json', JSON.stringify({ data: traces }));
    const full = await throughPipe(file, NO_TMP, { reader: 'full' });
    const spooled = await throughPipe(file, SPOOL_DIR, { batchSize: 7 });
    expect(spooled.spooled).toBe(true);
    expect(spooled.fast).toEqual({ lines: 0, fallbacks: 1 });
    expect(jsonText(spooled.spans)).toBe(jsonText(full.spans));
    expect(spooled.stats).toBe(full.stats);
    expect(readdirSync(SPOOL_DIR)).toEqual([]);
  });

  it('gzip through a pipe: the inflated document is spooled', async () => {
    const file = join(dir.dir, 'demo.jaeger.json.gz');
    execFileSync('sh', ['-c', 'gzip -c "$0" > "$1"', fileUrl('../../examples/traces/inference-demo.jaeger.json'), file]);
    expect(await expectSameSpooled(file)).toBe(true);
  });

  it('a Triton trace file past 1 MiB through a pipe: its two readings both from the temporary file, the same spans as the stream parsed whole', async () => {
    const file = dir.write('busy.triton.json', `[\n${busyServer(1_500_000, 20261201).join(',\n')}\n]\n`);
    const spans = (await throughPipe(file, SPOOL_DIR)).spans?.length ?? 0;
    expect(spans).toBeGreaterThan(1000);
    expect(await expectSameSpooled(file, {}, {})).toBe(true);
    expect(await expectSameSpooled(file, { strict: true }, {})).toBe(true);
  });

  it('JSON lines and small documents through a pipe are not spooled', async () => {
    const lines = fileUrl('../../examples/traces/inference-demo.otlp.jsonl');
    expect(await expectSameSpooled(lines)).toBe(false);
    // Past the limit only: the demo's Jaeger export (230 KB) is under the default 16 MiB.
    const jaeger = fileUrl('../../examples/traces/inference-demo.jaeger.json');
    expect(await expectSameSpooled(jaeger, {}, {})).toBe(false);
  });

  it('the temporary file is gone from its directory while it is read', async () => {
    const file = fileUrl('../../examples/traces/inference-demo.jaeger.json');
    const pipe = await piped(file);
    await withTmp(SPOOL_DIR, async () => {
      const trace = await openTrace(pipe.path);
      try {
        expect(trace.sniffed.spool?.size).toBe(readFileSync(file).length);
        expect(readdirSync(SPOOL_DIR)).toEqual([]);
      } finally {
        await trace.close();
      }
    });
    await pipe.done();
  });
});

describe('through the CLI: a 17 MiB Jaeger document on standard input (past the window\'s 16 MiB)', () => {
  it('the --json of the document spooled and read through the window is that of the stream read whole; nothing left in TMPDIR; --verbose says where it was held', () => {
    const source = JSON.parse(readFileSync(fileUrl('../../examples/traces/inference-demo.jaeger.json'), 'utf8')) as { data: { traceID: string }[] };
    const trace = JSON.stringify(source.data[0]);
    const pieces: string[] = [];
    for (let i = 1, bytes = 0; bytes < 17 * 1024 * 1024; i++) {
      pieces.push(trace.replaceAll(source.data[0]!.traceID, i.toString(16).padStart(32, '0')));
      bytes += pieces.at(-1)!.length + 1;
    }
    const file = dir.write('stdin.jaeger.json', `{"data":[\n${pieces.join(',\n')}\n]}\n`);
    const bin = fileUrl('../../bin/latency-doctor.js');
    // A shell pipeline, as users give it (Node would give the child a socket).
    const run = (tmp: string): string => execFileSync('bash', ['-c', 'cat "$0" | "$1" "$2" analyze - --json', file, process.execPath, bin], { env: { ...process.env, TMPDIR: tmp }, timeout: 120_000, maxBuffer: 64 << 20 }).toString();
    const spooled = run(SPOOL_DIR);
    expect(readdirSync(SPOOL_DIR)).toEqual([]);
    expect(JSON.parse(spooled).requests).toBe(pieces.length);
    expect(spooled).toBe(run(NO_TMP));
    // --verbose says where it went, and how much room it took there.
    const verbose = execFileSync('bash', ['-c', 'cat "$0" | "$1" "$2" analyze - --verbose', file, process.execPath, bin], { env: { ...process.env, TMPDIR: SPOOL_DIR, NO_COLOR: '1' }, timeout: 120_000 }).toString();
    expect(verbose).toContain(`    held in a temporary file in ${SPOOL_DIR} (${(statSync(file).size / (1 << 20)).toFixed(1)} MiB, removed once read) to be read in bounded memory\n`);
    expect(execFileSync('bash', ['-c', 'cat "$0" | "$1" "$2" analyze - --verbose', file, process.execPath, bin], { env: { ...process.env, TMPDIR: NO_TMP, NO_COLOR: '1' }, timeout: 120_000 }).toString()).not.toContain('temporary file');
    // No room to write it (a file size limit of 1 MiB, its signal ignored so that the write fails instead): one line, exit 2.
    const limited = spawnSync('bash', ['-c', 'trap "" XFSZ; ulimit -f 1024; cat "$0" | "$1" "$2" analyze -', file, process.execPath, bin], { env: { ...process.env, TMPDIR: SPOOL_DIR, NO_COLOR: '1' }, timeout: 120_000 });
    expect(limited.status).toBe(2);
    expect(limited.stderr.toString()).toBe(
      `latency-doctor: -:byte 1048576: expected room in ${SPOOL_DIR} for standard input's large document, held there to be read in bounded memory (set TMPDIR to a directory with room, or give the file by name), got the file size limit reached (ulimit -f)\n`,
    );
    expect(readdirSync(SPOOL_DIR)).toEqual([]);
  }, 180_000);
});

/** `file`'s size, inflated where it is gzip. */
function inflated(file: string): number {
  const bytes = readFileSync(file);
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).length : bytes.length;
}

function fileUrl(relative: string): string {
  return new URL(relative, import.meta.url).pathname;
}

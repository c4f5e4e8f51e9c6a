/**
 * @module analyzer/_threaded-read
 * Internal: reads a trace file in a worker thread, so parsing (JSON.parse and format conversion)
 * runs on one core while the assembler runs on another. Yields span columns; returns the
 * file's ReadStats; rethrows the worker's TraceFormatError as one.
 */
import { Worker } from 'node:worker_threads';
import type { ReadStats } from '../formats/index.js';
import { TraceFormatError } from '../formats/index.js';
import { RangeMerger, splitRanges } from '../formats/_ranges.js';
import type { LineRange, RangeError, RangeStats } from '../formats/_ranges.js';
import type { JsonFamily } from '../formats/index.js';
import type { SpanColumns } from './_span-columns.js';
import type { ConventionUse } from './conventions/index.js';

/** What the main thread asks the worker for. */
export interface ReadRequest {
  readonly file: string;
  readonly strict: boolean;
  readonly reader: 'fast' | 'full';
  /** Batches the worker may send ahead of the consumer. */
  readonly credits: number;
}

/** What the worker posts back. */
export type ReadMessage =
  | { readonly type: 'batch'; readonly columns: SpanColumns }
  | { readonly type: 'done'; readonly stats: ReadStats; readonly conventions: readonly ConventionUse[] }
  | { readonly type: 'format-error'; readonly message: string; readonly file: string; readonly location: string; readonly expected: string; readonly got: string | undefined }
  | { readonly type: 'error'; readonly message: string; readonly stack: string };

/** Four batches of 2048 spans ahead: enough to keep both threads busy, small in memory. */
const CREDITS = 4;

/** What a reader thread returns: the file's ReadStats and the source conventions it mapped. */
export type ThreadedReadStats = ReadStats & { readonly conventions: readonly ConventionUse[] };

/** Reads `file` in a worker thread (source conventions mapped there too), yielding span columns. */
export async function* readColumnsThreaded(file: string, strict: boolean, reader: 'fast' | 'full' = 'fast'): AsyncGenerator<SpanColumns, ThreadedReadStats> {
  const workerData: ReadRequest = { file, strict, reader, credits: CREDITS };
  const worker = startWorker('_read-worker', workerData);
  const queue: ReadMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let exited = false;
  worker.on('message', (message: ReadMessage) => {
    queue.push(message);
    wake?.();
  });
  worker.on('error', (error) => {
    failure = error;
    wake?.();
  });
  worker.on('exit', () => {
    exited = true;
    wake?.();
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure) throw failure;
        if (exited) throw new Error(`reader thread for ${file} stopped without a result`);
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      const message = queue.shift()!;
      switch (message.type) {
        case 'batch':
          worker.postMessage(1);
          yield message.columns;
          break;
        case 'done':
          return { ...message.stats, conventions: message.conventions };
        case 'format-error': {
          const error = new TraceFormatError(message.file, message.location, message.expected, message.got);
          error.message = message.message;
          throw error;
        }
        case 'error': {
          const error = new Error(message.message);
          error.stack = message.stack;
          throw error;
        }
      }
    }
  } finally {
    if (!exited) await worker.terminate();
  }
}

/** Starts the worker entry `name` of this folder, from source (tsx, vitest) or from dist/. */
function startWorker(name: '_read-worker' | '_range-worker', workerData: ReadRequest | RangeWorkerData): Worker {
  // From source the worker is a .ts file: register tsx's loader in the thread first (Node 20
  // workers do not take `--import` in execArgv).
  if (import.meta.url.endsWith('.ts')) {
    const entry = JSON.stringify(new URL(`../analyzer/${name}.ts`, import.meta.url).href);
    return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`, { eval: true, workerData });
  }
  // Through analyzer/ rather than `./`: this module also runs inside the CLI's bundle
  // (dist/cli/main.bundle.js, scripts/bundle-cli.mjs), one folder beside this one.
  return new Worker(new URL(`../analyzer/${name}.js`, import.meta.url), { workerData });
}

/**
 * What every range worker of a file is told. The workers take ranges themselves, in file order,
 * from `schedule` (Int32 [next range to take, ranges the main thread has consumed]): a worker
 * that finished a range starts the next one at once, however busy the main thread is, but never
 * more than `ahead` ranges past the one the main thread is consuming, so memory stays bounded.
 */
export interface RangeWorkerData {
  readonly strict: boolean;
  readonly reader: 'fast' | 'full';
  readonly ranges: readonly LineRange[];
  readonly ahead: number;
  readonly schedule: SharedArrayBuffer;
}

/** What a range worker posts back, each message naming its range. */
export type RangeMessage =
  | { readonly type: 'batch'; readonly index: number; readonly columns: SpanColumns }
  | { readonly type: 'done'; readonly index: number; readonly stats: RangeStats; readonly conventions: readonly ConventionUse[] }
  | { readonly type: 'unsplittable'; readonly index: number; readonly reason: string }
  | { readonly type: 'format-error'; readonly index: number; readonly error: RangeError }
  | { readonly type: 'error'; readonly index: number; readonly message: string; readonly stack: string };

/** Indexes into RangeWorkerData.schedule. */
export const SCHEDULE = { NEXT: 0, CONSUMED: 1 } as const;

/** Why a file with a trace-scoped source convention is not split. */
export const TRACE_SCOPED = 'spans of a trace-scoped source convention (held until the end of input)';

/**
 * Reading `file` in threads would not give what reading it in the main thread gives (see
 * RangeMerger.add and ConventionMapper.holdsTraces); `analyzeFiles` reads it again there.
 */
export class ThreadedReadUnsound extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: read again in the main thread: ${reason}`);
  }
}

/**
 * When a file is read by threads: above `minBytes` (below, a thread costs more to start than it
 * saves), in ranges of `rangeBytes` (small enough that the threads share the work evenly and a
 * few ranges' columns in memory stay small, large enough that starting a range costs nothing).
 * Tests lower them to split small files.
 */
export const SPLIT = { minBytes: 4 * 1024 * 1024, rangeBytes: 8 * 1024 * 1024 };

/** What splitting a file needs to know about it (from detection). */
export interface SplitInput {
  readonly file: string;
  readonly bytes: number;
  readonly family: JsonFamily;
  readonly familyOfLineOne: boolean;
  readonly prefixed: boolean;
}

/** Options of `readColumnsInRanges`. */
export interface SplitOptions {
  readonly threads: number;
  readonly strict: boolean;
  readonly reader: 'fast' | 'full';
  /** Bytes per range. */
  readonly rangeBytes: number;
}

/**
 * Ranges the threads may take ahead of the one being consumed, per thread: each thread has the
 * next range to start on while the main thread catches up, and at most this many ranges'
 * columns wait in memory.
 */
const RANGES_AHEAD_PER_THREAD = 2;

/**
 * Reads an uncompressed JSON lines file in byte ranges on `threads` worker threads and yields
 * their span columns in file order, so the assembler sees the spans exactly as one reader gives
 * them; returns the file's ReadStats as one reader reports them. Throws ThreadedReadUnsound when
 * the ranges cannot stand for one read (the caller then reads the file whole).
 */
export async function* readColumnsInRanges(input: SplitInput, options: SplitOptions): AsyncGenerator<SpanColumns, ThreadedReadStats> {
  const { file } = input;
  const ranges: LineRange[] = splitRanges(input.bytes, options.rangeBytes).map((r, i) => ({ ...r, file, first: i === 0, family: input.family, familyOfLineOne: input.familyOfLineOne, prefixed: input.prefixed }));
  const count = Math.max(1, Math.min(options.threads, ranges.length));
  const schedule = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(schedule);
  const workerData: RangeWorkerData = { strict: options.strict, reader: options.reader, ranges, ahead: count * RANGES_AHEAD_PER_THREAD, schedule };
  const pending: RangeMessage[][] = ranges.map(() => []);
  const workers: Worker[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let current = 0;
  let stopping = false;
  for (let i = 0; i < count; i++) {
    const worker = startWorker('_range-worker', workerData);
    workers.push(worker);
    worker.on('message', (message: RangeMessage) => {
      pending[message.index]!.push(message);
      if (message.type === 'unsplittable') failure ??= new ThreadedReadUnsound(file, message.reason);
      wake?.();
    });
    worker.on('error', (error) => {
      failure ??= error;
      wake?.();
    });
    // A worker ends on its own (code 0) once no range is left to take.
    worker.on('exit', (code) => {
      if (!stopping && code !== 0) failure ??= new Error(`reader thread for ${file} stopped (exit code ${code}) without a result`);
      wake?.();
    });
  }
  const merger = new RangeMerger(file, options.strict, input.bytes);
  const conventions: ConventionUse[] = [];
  try {
    while (current < ranges.length) {
      const queue = pending[current]!;
      while (queue.length === 0) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      // Any range that cannot be split stops the whole file at once.
      if (failure instanceof ThreadedReadUnsound) throw failure;
      const message = queue.shift()!;
      switch (message.type) {
        case 'batch':
          yield message.columns;
          break;
        case 'done': {
          const unsound = merger.add(message.stats);
          if (unsound !== undefined) throw new ThreadedReadUnsound(file, unsound);
          conventions.push(...message.conventions);
          pending[current] = [];
          current++;
          Atomics.store(state, SCHEDULE.CONSUMED, current);
          Atomics.notify(state, SCHEDULE.CONSUMED);
          break;
        }
        case 'unsplittable':
          throw new ThreadedReadUnsound(file, message.reason);
        case 'format-error':
          throw merger.error(message.error);
        case 'error': {
          const error = new Error(message.message);
          error.stack = message.stack;
          throw error;
        }
      }
    }
    return { ...merger.finish(), conventions };
  } finally {
    stopping = true;
    // Workers waiting for the main thread to catch up wake to find nothing left to take.
    Atomics.store(state, SCHEDULE.NEXT, ranges.length);
    Atomics.store(state, SCHEDULE.CONSUMED, ranges.length);
    Atomics.notify(state, SCHEDULE.CONSUMED);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

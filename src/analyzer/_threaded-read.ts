/**
 * @module analyzer/_threaded-read
 * Internal: reads a trace file in a worker thread, so parsing (JSON.parse and format conversion)
 * runs on one core while the assembler runs on another. Yields span columns; returns the
 * file's ReadStats; rethrows the worker's TraceFormatError as one.
 */
import { Worker } from 'node:worker_threads';
import type { ReadStats } from '../formats/index.js';
import { TraceFormatError } from '../formats/index.js';
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
  // From source (tsx, vitest) the worker is a .ts file: register tsx's loader in the thread first
  // (Node 20 workers do not take `--import` in execArgv).
  const fromSource = import.meta.url.endsWith('.ts');
  const worker = fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./_read-worker.ts', import.meta.url).href)}); });`, { eval: true, workerData })
    : new Worker(new URL('./_read-worker.js', import.meta.url), { workerData });
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

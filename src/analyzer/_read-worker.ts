/**
 * @module analyzer/_read-worker
 * Internal: worker-thread entry that reads one trace file with `readSpanBatches` and posts its spans
 * as columns, at most a few batches ahead of the assembler (credit-based flow control keeps
 * memory flat). Errors are posted as data and rethrown by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readSpanBatches, ScannedSpans, TraceFormatError } from '../formats/index.js';
import { toColumns } from './_span-columns.js';
import type { ReadMessage, ReadRequest } from './_threaded-read.js';
import { CONVENTION_EVENTS, ConventionMapper, tritonRows } from './conventions/index.js';
import type { SpanRecord } from '../model/span.js';

const port = parentPort!;
const request = workerData as ReadRequest;
let credits = request.credits;
let wake: (() => void) | undefined;
port.on('message', () => {
  credits++;
  wake?.();
});

function post(message: ReadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

try {
  const reader = readSpanBatches(request.file, { strict: request.strict, reader: request.reader, events: CONVENTION_EVENTS, tritonRows });
  // Source conventions are mapped here, where the spans still carry every attribute and event.
  const mapper = new ConventionMapper();
  let origin: bigint | undefined;
  /** Sends records and rows of `scanned` (numbers) as one batch of columns, done with `scanned` before the reader's next batch (it reuses the rows). */
  const send = async (batch: readonly (SpanRecord | number)[], scanned?: ScannedSpans): Promise<void> => {
    if (batch.length === 0) return;
    const first = batch[0]!;
    origin ??= typeof first === 'number' ? scanned!.startNs(first) : first.startNs;
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    const { columns, transfer } = toColumns(batch, origin, scanned);
    post({ type: 'batch', columns }, transfer);
  };
  for (;;) {
    const next = await reader.next();
    if (next.done === true) {
      await send(mapper.finish());
      post({ type: 'done', stats: next.value, conventions: mapper.uses() });
      break;
    }
    const batch = next.value;
    await send(mapper.mapEntries(batch), batch instanceof ScannedSpans ? batch : undefined);
  }
} catch (error) {
  if (error instanceof TraceFormatError) {
    post({ type: 'format-error', message: error.message, file: error.file, location: error.location, expected: error.expected, got: error.got });
  } else {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? (error.stack ?? '') : '' });
  }
}
port.close();

/**
 * @module analyzer/_range-worker
 * Internal: worker-thread entry that reads byte ranges of one JSON lines file, taking the next
 * one in file order from the schedule it shares with the other workers (analyzer/_threaded-read.ts):
 * each range's spans (our convention's straight from the scanner's rows, the others as records)
 * are mapped to the span convention and posted as columns, then the range's
 * stats. Errors are posted as data; the main thread rethrows them when it reaches that range.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TraceFormatError } from '../formats/index.js';
import { readLineRangeBatches } from '../formats/read.js';
import { ScannedSpans } from '../formats/_scanned-spans.js';
import { toColumns } from './_span-columns.js';
import { SCHEDULE, TRACE_SCOPED } from './_threaded-read.js';
import type { RangeMessage, RangeWorkerData } from './_threaded-read.js';
import type { LineRange } from '../formats/_ranges.js';
import { ConventionMapper } from './conventions/index.js';
import type { SpanRecord } from '../model/span.js';

const port = parentPort!;
const options = workerData as RangeWorkerData;

async function read(index: number, range: LineRange): Promise<void> {
  const reader = readLineRangeBatches(range, { strict: options.strict, reader: options.reader });
  const mapper = new ConventionMapper();
  let origin: bigint | undefined;
  /** Sends records and rows of `scanned` (numbers) as one batch of columns. */
  const send = (batch: readonly (SpanRecord | number)[], scanned?: ScannedSpans): void => {
    if (batch.length === 0) return;
    const first = batch[0]!;
    origin ??= typeof first === 'number' ? scanned!.startNs(first) : first.startNs;
    const { columns, transfer } = toColumns(batch, origin, scanned);
    port.postMessage({ type: 'batch', index, columns } satisfies RangeMessage, transfer);
  };
  for (;;) {
    const next = await reader.next();
    if (next.done === true) {
      send(mapper.finish());
      port.postMessage({ type: 'done', index, stats: next.value, conventions: mapper.uses('first-use') } satisfies RangeMessage);
      return;
    }
    const batch = next.value;
    const entries = mapper.mapEntries(batch);
    if (mapper.holdsTraces) {
      await reader.return(undefined as never);
      port.postMessage({ type: 'unsplittable', index, reason: TRACE_SCOPED } satisfies RangeMessage);
      return;
    }
    // Before the reader's next batch: it reuses the rows.
    send(entries, batch instanceof ScannedSpans ? batch : undefined);
  }
}

const state = new Int32Array(options.schedule);
for (;;) {
  const index = Atomics.add(state, SCHEDULE.NEXT, 1);
  if (index >= options.ranges.length) break;
  // Not too far ahead of the main thread: wait (this thread has nothing else to do) until it catches up.
  for (let consumed = Atomics.load(state, SCHEDULE.CONSUMED); index >= consumed + options.ahead; consumed = Atomics.load(state, SCHEDULE.CONSUMED)) {
    Atomics.wait(state, SCHEDULE.CONSUMED, consumed);
  }
  try {
    await read(index, options.ranges[index]!);
  } catch (error) {
    const message: RangeMessage =
      error instanceof TraceFormatError
        ? { type: 'format-error', index, error: { message: error.message, location: error.location, expected: error.expected, got: error.got } }
        : { type: 'error', index, message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? (error.stack ?? '') : '' };
    port.postMessage(message);
  }
}
port.close();

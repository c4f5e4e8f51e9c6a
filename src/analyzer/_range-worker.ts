/**
 * @module analyzer/_range-worker
 * Internal: worker-thread entry that reads byte ranges of one JSON lines file, as the main
 * thread hands them out (analyzer/_threaded-read.ts), one at a time: each range's spans are
 * mapped to the span convention and posted as columns, then the range's stats. Errors are posted
 * as data; the main thread rethrows them when it reaches that range in file order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TraceFormatError } from '../formats/index.js';
import { readLineRange } from '../formats/read.js';
import { toColumns } from './_span-columns.js';
import type { RangeMessage, RangeTask, RangeWorkerData } from './_threaded-read.js';
import { ConventionMapper } from './conventions/index.js';
import type { SpanRecord } from '../model/span.js';

const port = parentPort!;
const options = workerData as RangeWorkerData;

async function read(task: RangeTask): Promise<void> {
  const { index } = task;
  const reader = readLineRange(task.range, { strict: options.strict, attributes: 'analysis', reader: options.reader });
  const mapper = new ConventionMapper();
  let origin: bigint | undefined;
  const send = (batch: readonly SpanRecord[]): void => {
    if (batch.length === 0) return;
    origin ??= batch[0]!.startNs;
    const { columns, transfer } = toColumns(batch, origin);
    port.postMessage({ type: 'batch', index, columns } satisfies RangeMessage, transfer);
  };
  for (;;) {
    const next = await reader.next();
    if (next.done === true) {
      send(mapper.finish());
      port.postMessage({ type: 'done', index, stats: next.value, conventions: mapper.uses('first-use') } satisfies RangeMessage);
      return;
    }
    const mapped = mapper.map(next.value);
    if (mapper.holdsTraces) {
      await reader.return(undefined as never);
      port.postMessage({ type: 'unsplittable', index, reason: 'spans of a trace-scoped source convention (held until the end of input)' } satisfies RangeMessage);
      return;
    }
    send(mapped);
  }
}

let queue = Promise.resolve();
port.on('message', (task: RangeTask | 'stop') => {
  if (task === 'stop') {
    port.close();
    return;
  }
  queue = queue.then(() =>
    read(task).catch((error: unknown) => {
      const message: RangeMessage =
        error instanceof TraceFormatError
          ? { type: 'format-error', index: task.index, error: { message: error.message, location: error.location, expected: error.expected, got: error.got } }
          : { type: 'error', index: task.index, message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? (error.stack ?? '') : '' };
      port.postMessage(message);
    }),
  );
});

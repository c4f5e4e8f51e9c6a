/**
 * @module formats/_closed-traces
 * Internal. A reader that knows when a trace's last span was read says so on the batch that
 * holds it: the convention mapper (analyzer/conventions) then maps such a trace at once, in the
 * order it would have, instead of holding it to the end of input. A batch is marked once, by the
 * reader that made it; a copy of it (merged with other files) is not marked: analyzeFiles marks
 * its merged chunks itself (analyzer/_merged-closings.ts), asking each reader which traces its
 * input holds (`setTraceHolder`). A reader vouches for its own input only: the batches of several
 * inputs handed to one mapper one after another (not merged by analyzeFiles) would map apart a
 * trace whose later spans are in the next input (for Triton, a file split by hand inside a trace).
 */
import type { SpanRecord } from '../model/span.js';

const closed = new WeakMap<readonly SpanRecord[], readonly string[]>();

/** Marks `batch` as holding the last spans of the traces `traceIds`. */
export function markClosedTraces(batch: readonly SpanRecord[], traceIds: readonly string[]): void {
  if (traceIds.length > 0) closed.set(batch, traceIds);
}

/** The traces whose last span is in `batch` (by the end of it), where its reader said so. */
export function closedTraces(batch: readonly SpanRecord[]): readonly string[] | undefined {
  return closed.get(batch);
}

/** Whether a reader's input holds spans of a trace (its whole input, read or not). */
export type TraceHolder = (traceId: string) => boolean;

const holders = new WeakMap<readonly SpanRecord[], TraceHolder>();

/**
 * Says which traces the input `batch` comes from holds spans of, where its reader knows it
 * before its last span is read (a Triton trace file, from its first reading): analyzeFiles,
 * merging several inputs, passes a trace's closing on only once no other input holds more of it.
 */
export function setTraceHolder(batch: readonly SpanRecord[], holds: TraceHolder): void {
  holders.set(batch, holds);
}

/** What `setTraceHolder` said of the input of `batch`, if its reader said it. */
export function traceHolder(batch: readonly SpanRecord[]): TraceHolder | undefined {
  return holders.get(batch);
}

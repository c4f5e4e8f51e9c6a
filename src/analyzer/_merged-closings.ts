/**
 * @module analyzer/_merged-closings
 * Internal. Several trace files merged by time (analyzeFiles' mergeByTime) hand the convention
 * mapper copies of their readers' batches, which carry no closing (formats/_closed-traces.ts):
 * every Triton trace was held to the end of input or the 50 000-trace bound (a server's
 * `log-frequency` rotations: all of them). This passes a reader's closing of a trace on, on the
 * merged chunk that ends the reader's batch, once no other input holds more of that trace (as
 * its reader tells, or, not told, any input of the same Triton server might). Only when every
 * input is a Triton trace file, so that every span waits in the mapper in the order it came:
 * handing a trace on earlier then changes no figure; beside inputs whose spans pass at once it
 * would change which spans the assembler sees together.
 */
import type { SpanRecord } from '../model/span.js';
import { closedTraces, traceHolder } from '../formats/_closed-traces.js';
import type { TraceHolder } from '../formats/_closed-traces.js';
import { tritonNamespace } from '../formats/triton-trace.js';

interface Input {
  /** Said by its reader with its batches; undefined until then, or if never said. */
  holds: TraceHolder | undefined;
  readonly namespace: string;
  ended: boolean;
  /** The closings of its batch being merged, passed on once its last span is. */
  closing: readonly string[] | undefined;
}

/** Closings of several inputs' batches, passed on to the merged chunks (see the module). */
export class MergedClosings {
  private readonly inputs: Input[];
  /** Trace id → the inputs that closed it, for the traces not yet passed on. */
  private readonly closedBy = new Map<string, Set<number>>();
  /** Passed on, to mark the next merged chunk with. */
  private ready: string[] = [];

  /** `files`: the inputs, in the merge's order; `tritonOnly`: every input is a Triton trace file (else nothing is passed on). */
  constructor(
    files: readonly string[],
    private readonly tritonOnly: boolean,
  ) {
    this.inputs = files.map((file) => ({ holds: undefined, namespace: tritonNamespace(file), ended: false, closing: undefined }));
  }

  /** Input `i` gave `batch`, to be merged. */
  batch(i: number, batch: readonly SpanRecord[]): void {
    if (!this.tritonOnly) return;
    const input = this.inputs[i]!;
    input.holds ??= traceHolder(batch);
    input.closing = closedTraces(batch);
  }

  /** Input `i` ended. */
  ended(i: number): void {
    if (!this.tritonOnly) return;
    this.inputs[i]!.ended = true;
    for (const traceId of [...this.closedBy.keys()]) this.settle(traceId);
  }

  /** The chunk of input `i` about to be handed on, the last of its batch when `last`: marked with the traces whole by its end. */
  chunk(i: number, last: boolean): readonly string[] {
    if (!this.tritonOnly) return [];
    const input = this.inputs[i]!;
    if (last && input.closing !== undefined) {
      for (const traceId of input.closing) {
        let by = this.closedBy.get(traceId);
        if (by === undefined) this.closedBy.set(traceId, (by = new Set()));
        by.add(i);
        this.settle(traceId);
      }
      input.closing = undefined;
    }
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** Passes `traceId` on once every input that may hold more of it closed it or ended. */
  private settle(traceId: string): void {
    const by = this.closedBy.get(traceId)!;
    for (let j = 0; j < this.inputs.length; j++) {
      const input = this.inputs[j]!;
      if (input.ended || by.has(j)) continue;
      if (input.holds === undefined ? traceId.startsWith(input.namespace) : input.holds(traceId)) return;
    }
    this.closedBy.delete(traceId);
    this.ready.push(traceId);
  }
}

/**
 * @module analyzer/_merged-closings
 * Internal. Several trace files merged by time (analyzeFiles' mergeByTime) hand the convention
 * mapper copies of their readers' batches, which carry no closing (formats/_closed-traces.ts):
 * every Triton trace was held to the end of input or the 50 000-trace bound (a server's
 * `log-frequency` rotations: all of them). This passes a reader's closing of a trace on, on the
 * merged chunk that hands on that input's last span of the trace, once no other input holds more
 * of it (as its reader tells, or, not told, any input of the same Triton server might). The
 * merge sorts each input's spans in units of a fixed count (MERGE in files.ts), which cut across
 * the reader's batches: a batch's closings count from the unit that holds its last span, each
 * from where that unit, sorted, holds the trace's last span. Only when every input is a Triton
 * trace file, so that every span waits in the mapper in the order it came: handing a trace on
 * earlier then changes no figure; beside inputs whose spans pass at once it would change which
 * spans the assembler sees together.
 */
import type { SpanRecord } from '../model/span.js';
import { closedTraces, traceHolder } from '../formats/_closed-traces.js';
import type { TraceHolder } from '../formats/_closed-traces.js';
import { tritonNamespace } from '../formats/triton-trace.js';

const NONE: readonly string[] = [];

/** A closing of a trace, due once the span at `at` of its input's unit is handed on (−1: at once). */
interface Due {
  readonly at: number;
  readonly traceId: string;
}

interface Input {
  /** Said by its reader with its batches; undefined until then, or if never said. */
  holds: TraceHolder | undefined;
  readonly namespace: string;
  ended: boolean;
  /** The closings of the batches whose last span is in its unit being filled. */
  closing: string[] | undefined;
  /** The closings of its unit being handed on, by `at`, from `next` on. */
  due: Due[];
  next: number;
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
    this.inputs = files.map((file) => ({ holds: undefined, namespace: tritonNamespace(file), ended: false, closing: undefined, due: [], next: 0 }));
  }

  /**
   * Input `i`'s reader gave `batch`: learns which traces the input holds (its reader says so with
   * its first batch), then passes on the traces that were waiting only for that, and returns the
   * traces the batch closed, to give `closed` once its last span is in a unit. Read from the
   * batch as it comes, so a unit keeps those ids, not the batch's spans.
   */
  read(i: number, batch: readonly SpanRecord[]): readonly string[] {
    if (!this.tritonOnly) return NONE;
    const input = this.inputs[i]!;
    if (input.holds === undefined) {
      input.holds = traceHolder(batch);
      // Until now it might have held any trace of its server: the closings waiting on it may be due.
      if (input.holds !== undefined) for (const traceId of [...this.closedBy.keys()]) this.settle(traceId);
    }
    return closedTraces(batch) ?? NONE;
  }

  /** The traces a batch of input `i` closed (`read`), its last span in the unit of input `i` being filled. */
  closed(i: number, traceIds: readonly string[]): void {
    if (!this.tritonOnly || traceIds.length === 0) return;
    const input = this.inputs[i]!;
    // A unit may end several batches, each with its closings.
    input.closing ??= [];
    for (const traceId of traceIds) input.closing.push(traceId);
  }

  /** Input `i`'s unit, sorted, about to be handed on (its previous one was, whole): its batches' closings fall due where it holds their traces' last spans. */
  unit(i: number, spans: readonly SpanRecord[]): void {
    if (!this.tritonOnly) return;
    const input = this.inputs[i]!;
    const closing = input.closing;
    input.closing = undefined;
    input.due = [];
    input.next = 0;
    if (closing === undefined) return;
    // Not at the unit's end: a unit holds several batches' traces, which the mapper would hold meanwhile.
    const last = new Map<string, number>();
    for (const traceId of closing) last.set(traceId, -1);
    for (let k = 0; k < spans.length; k++) {
      const traceId = spans[k]!.traceId;
      if (last.has(traceId)) last.set(traceId, k);
    }
    for (const [traceId, at] of last) input.due.push({ at, traceId });
    input.due.sort((x, y) => x.at - y.at);
  }

  /** Input `i` ended, its last unit handed on. */
  ended(i: number): void {
    if (!this.tritonOnly) return;
    const input = this.inputs[i]!;
    // Closings of batches that came with no span after the last unit (an empty last batch).
    if (input.closing !== undefined) this.unit(i, []);
    this.closeDue(i, Number.POSITIVE_INFINITY);
    input.ended = true;
    for (const traceId of [...this.closedBy.keys()]) this.settle(traceId);
  }

  /** The chunk of input `i` about to be handed on, up to `end` of its unit: marked with the traces whole by its end. */
  chunk(i: number, end: number): readonly string[] {
    if (!this.tritonOnly) return [];
    this.closeDue(i, end);
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** Input `i` closed the traces due before `end` of its unit. */
  private closeDue(i: number, end: number): void {
    const input = this.inputs[i]!;
    while (input.next < input.due.length && input.due[input.next]!.at < end) {
      const { traceId } = input.due[input.next++]!;
      let by = this.closedBy.get(traceId);
      if (by === undefined) this.closedBy.set(traceId, (by = new Set()));
      by.add(i);
      this.settle(traceId);
    }
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

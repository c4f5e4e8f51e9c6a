/**
 * @module analyzer/_span-store
 * Internal: where the assembler keeps the spans of open traces, as columns indexed by slot
 * instead of one TraceSpan object per span. Each span read used to become an object of 16
 * fields (and boxed doubles), about half of all the memory a large run allocated, all of it
 * garbage once its trace was finalized; slots are reused instead, so holding a span allocates
 * nothing once the store has grown to the window's size. A trace's spans are chained through
 * `next` in arrival order; freed slots are chained the same way. The rare paths that still
 * want objects (big traces, traces without a request span) ask `view` for them.
 */
import type { AttributeValue } from '../model/span.js';
import { PHASES } from '../semconv.js';
import type { TraceSpan } from './_trace-span.js';
import { SPAN_KINDS } from './_span-columns.js';

/** Bits of SpanStore.bits. */
export const SPAN_BIT = { REQUEST: 1, CLIENT: 2, SHARED: 4, ERROR: 8 } as const;

/** SPAN_KINDS' code of `client`. */
export const CLIENT_KIND = SPAN_KINDS.indexOf('client');

/** Span columns by slot; a slot's fields are valid between `alloc` and the release of its chain. */
export class SpanStore {
  readonly ids: string[] = [];
  readonly parents: (string | undefined)[] = [];
  readonly names: string[] = [];
  readonly services: string[] = [];
  /** Kept only for request and client spans. */
  readonly attributes: (Readonly<Record<string, AttributeValue>> | undefined)[] = [];
  /** Index into SPAN_KINDS. */
  kinds: Uint8Array;
  /** Index into PHASES; −1 none. */
  phases: Int8Array;
  /** SPAN_BIT bits. */
  bits: Uint8Array;
  /** ns relative to the assembler's origin. */
  starts: Float64Array;
  ends: Float64Array;
  /** `inference.batch.size` of a compute or decode span; NaN none. */
  batchSizes: Float64Array;
  /** First-token event, relative ns; NaN none. */
  firstTokens: Float64Array;
  /** The next span of the same trace (or the next free slot); −1 none. */
  next: Int32Array;
  /** idKey of each span's id, and of its parent id (0 without one): set by `keyIds`. */
  idKeys: Int32Array;
  parentKeys: Int32Array;
  /**
   * Free slots, chained through `next`: every slot not in use, so `alloc` takes one path (a
   * first reuse of a freed slot in the middle of a run used to throw away the optimized code of
   * the assembler's hot loop).
   */
  private free: number;

  constructor(capacity = 1024) {
    this.kinds = new Uint8Array(capacity);
    this.phases = new Int8Array(capacity);
    this.bits = new Uint8Array(capacity);
    this.starts = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
    this.batchSizes = new Float64Array(capacity);
    this.firstTokens = new Float64Array(capacity);
    this.next = new Int32Array(capacity);
    this.idKeys = new Int32Array(capacity);
    this.parentKeys = new Int32Array(capacity);
    this.free = chainFree(this.next, 0, capacity, -1);
  }

  /** A slot for one span; the caller fills every column. */
  alloc(): number {
    if (this.free < 0) this.grow();
    const slot = this.free;
    this.free = this.next[slot]!;
    return slot;
  }

  /** Sets the slot's idKeys from its id and parent id (filled by the caller): the trace's walks compare keys before strings. */
  keyIds(slot: number): void {
    const parent = this.parents[slot];
    this.idKeys[slot] = idKey(this.ids[slot]!);
    this.parentKeys[slot] = parent === undefined ? 0 : idKey(parent);
  }

  /** Frees a chain of slots, `first` … `last` linked through `next`. */
  releaseChain(first: number, last: number): void {
    this.next[last] = this.free;
    this.free = first;
  }

  /** Slot `slot` as a TraceSpan object, for the paths that walk objects. */
  view(slot: number): TraceSpan {
    const bits = this.bits[slot]!;
    const phase = this.phases[slot]!;
    const batchSize = this.batchSizes[slot]!;
    const firstToken = this.firstTokens[slot]!;
    return {
      id: this.ids[slot]!,
      parent: this.parents[slot],
      name: this.names[slot]!,
      service: this.services[slot]!,
      kind: SPAN_KINDS[this.kinds[slot]!]!,
      start: this.starts[slot]!,
      end: this.ends[slot]!,
      phase: phase < 0 ? undefined : PHASES[phase],
      request: (bits & SPAN_BIT.REQUEST) !== 0,
      client: (bits & SPAN_BIT.CLIENT) !== 0,
      shared: (bits & SPAN_BIT.SHARED) !== 0,
      error: (bits & SPAN_BIT.ERROR) !== 0,
      attributes: this.attributes[slot],
      batchSize: Number.isNaN(batchSize) ? undefined : batchSize,
      firstToken: Number.isNaN(firstToken) ? undefined : firstToken,
    };
  }

  private grow(): void {
    const used = this.next.length;
    const size = used * 2;
    this.kinds = widen(this.kinds, size);
    this.phases = widen(this.phases, size);
    this.bits = widen(this.bits, size);
    this.starts = widen(this.starts, size);
    this.ends = widen(this.ends, size);
    this.batchSizes = widen(this.batchSizes, size);
    this.firstTokens = widen(this.firstTokens, size);
    this.next = widen(this.next, size);
    this.idKeys = widen(this.idKeys, size);
    this.parentKeys = widen(this.parentKeys, size);
    this.free = chainFree(this.next, used, size, this.free);
  }
}

/**
 * A number from an id's length and last two characters: ids that differ mostly differ in it
 * (their last digits are random), so comparing keys first leaves few pairs of ids to compare as
 * strings, which costs a call each time.
 */
export function idKey(id: string): number {
  const n = id.length;
  return n < 2 ? n : (n << 16) ^ (id.charCodeAt(n - 1) << 8) ^ id.charCodeAt(n - 2);
}

/** Chains slots `from` … `to − 1` in order ahead of `then`; returns the first. */
function chainFree(next: Int32Array, from: number, to: number, then: number): number {
  for (let slot = from; slot < to - 1; slot++) next[slot] = slot + 1;
  next[to - 1] = then;
  return from;
}

/** A copy of a typed array with room for `size` elements. */
export function widen<T extends Uint8Array | Int8Array | Int32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

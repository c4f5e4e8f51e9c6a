/**
 * @module analyzer/_trace-window
 * Internal: the assembler's window over streamed spans. Spans are buffered by trace; a trace is
 * finalized once `idleSpans` spans have been read without touching it (a complete-looking trace,
 * root in and every parent present, after the shorter `completeIdleSpans`), and at the end of
 * input. A span that arrives for a trace already finalized is counted as late and dropped, never
 * silently merged into a wrong request. Memory stays flat: only open traces are held.
 */
import type { AssemblyStats } from '../model/analysis.js';
import { SPAN_BIT, widen } from './_span-store.js';
import type { SpanStore } from './_span-store.js';
import { FinalizedIds } from './_finalized-ids.js';
import { SlotTable, hashKey } from './_slot-table.js';

/** Options of the trace window (see AssembleOptions). */
export interface TraceWindowOptions {
  readonly idleSpans?: number;
  readonly completeIdleSpans?: number;
  readonly rememberFinalized?: number;
}

/**
 * Receives a trace leaving the window: its spans are the `count` store slots chained from
 * `head` through SpanStore.next, in arrival order; they are freed when it returns.
 */
export type FinalizeTrace = (traceId: string, head: number, count: number) => void;

const DEFAULT_IDLE_SPANS = 100_000;
const DEFAULT_REMEMBER = 100_000;
const DEFAULT_COMPLETE_IDLE_SPANS = 2_000;

/**
 * The complete-looking traces' window for an idle window of `idleSpans`: 2 000 at the default
 * 100 000 and below, the same fiftieth of it above. Raising `--idle-spans` is what the late-span
 * warning advises for traces spread far apart; with a fixed 2 000 it kept every trace that looked
 * complete (its root in, every parent present) to 2 000 spans however high it was raised, and
 * the spans of it that came later (another file's, past a merge's reach) stayed late.
 */
export function completeIdleSpansFor(idleSpans: number): number {
  // No idle bound at all (a library caller's Infinity): complete-looking traces still leave after 2 000.
  if (!Number.isFinite(idleSpans)) return DEFAULT_COMPLETE_IDLE_SPANS;
  return Math.min(idleSpans, Math.max(DEFAULT_COMPLETE_IDLE_SPANS, Math.ceil((idleSpans * DEFAULT_COMPLETE_IDLE_SPANS) / DEFAULT_IDLE_SPANS)));
}
/** Completeness is checked only for traces this small (the check is quadratic in the trace's spans). */
const COMPLETE_CHECK_MAX_SPANS = 64;

/** The generations a trace waits in (see TraceWindow); a list of traces each. */
const CURRENT = 0;
const OLDER = 1;
const COMPLETE_CURRENT = 2;
const COMPLETE_OLDER = 3;

/**
 * Open traces by handle, in columns: a handle is a small integer, found by trace id through a
 * SlotTable, which holds no object per trace. Each trace is on one of four generation lists
 * (doubly linked through `before`/`after`, in the order traces joined it: the order a Map of
 * that generation would iterate). Freed handles are chained through `after`.
 */
class OpenTraces {
  /** The trace id of each open trace (the string of its first span); undefined once closed. */
  readonly traceIds: (string | undefined)[] = [];
  /** hashKey of each open trace's id. */
  hashes = new Int32Array(256);
  /** Open handles by trace id; rebuilt as the handles grow. */
  private index = new SlotTable(256);
  heads = new Int32Array(256);
  tails = new Int32Array(256);
  counts = new Int32Array(256);
  /** 1 once a span without a parent (a root) arrived. */
  rooted = new Uint8Array(256);
  /** The generation list the trace is on. */
  lists = new Uint8Array(256);
  before = new Int32Array(256);
  after = new Int32Array(256);
  /** First and last trace of each generation list; −1 empty. */
  readonly first = new Int32Array([-1, -1, -1, -1]);
  readonly last = new Int32Array([-1, -1, -1, -1]);
  /** Traces open. */
  size = 0;
  private top = 0;
  private free = -1;

  /** The handle of the open trace `traceId` (whose hashKey is `h`); −1 none. */
  find(traceId: string, h: number): number {
    const { entries, mask } = this.index;
    for (let at = this.index.before(h); ; ) {
      at = (at + 1) & mask;
      const entry = entries[at]!;
      if (entry === 0) return -1;
      const handle = entry - 1;
      if (this.hashes[handle] === h && this.traceIds[handle] === traceId) return handle;
    }
  }

  /** A handle for a new trace `traceId` (not open; its hashKey is `h`) holding the one span in `slot`, at the end of `list`. */
  open(traceId: string, h: number, slot: number, root: boolean, list: number): number {
    let handle = this.free;
    if (handle >= 0) {
      this.free = this.after[handle]!;
    } else {
      handle = this.top++;
      if (handle === this.heads.length) this.grow();
    }
    this.traceIds[handle] = traceId;
    this.hashes[handle] = h;
    this.index.insert(handle, h);
    this.heads[handle] = slot;
    this.tails[handle] = slot;
    this.counts[handle] = 1;
    this.rooted[handle] = root ? 1 : 0;
    this.size++;
    this.append(handle, list);
    return handle;
  }

  /** Frees a handle already taken off its list. */
  close(handle: number): void {
    this.index.remove(handle, this.hashes);
    // Also what tells a stale TraceWindow cache entry from a live one.
    this.traceIds[handle] = undefined;
    this.after[handle] = this.free;
    this.free = handle;
    this.size--;
  }

  append(handle: number, list: number): void {
    const last = this.last[list]!;
    this.lists[handle] = list;
    this.before[handle] = last;
    this.after[handle] = -1;
    if (last < 0) this.first[list] = handle;
    else this.after[last] = handle;
    this.last[list] = handle;
  }

  unlink(handle: number): void {
    const list = this.lists[handle]!;
    const before = this.before[handle]!;
    const after = this.after[handle]!;
    if (before < 0) this.first[list] = after;
    else this.after[before] = after;
    if (after < 0) this.last[list] = before;
    else this.before[after] = before;
  }

  /** Takes the trace off its list and appends it to `list`. */
  move(handle: number, list: number): void {
    this.unlink(handle);
    this.append(handle, list);
  }

  /** Moves a whole list to the (empty) list `to`. */
  moveList(from: number, to: number): void {
    this.first[to] = this.first[from]!;
    this.last[to] = this.last[from]!;
    this.first[from] = -1;
    this.last[from] = -1;
    for (let h = this.first[to]!; h >= 0; h = this.after[h]!) this.lists[h] = to;
  }

  private grow(): void {
    const size = this.heads.length * 2;
    this.heads = widen(this.heads, size);
    this.tails = widen(this.tails, size);
    this.counts = widen(this.counts, size);
    this.rooted = widen(this.rooted, size);
    this.lists = widen(this.lists, size);
    this.before = widen(this.before, size);
    this.after = widen(this.after, size);
    this.hashes = widen(this.hashes, size);
    // Every handle open now, in an index with room for the new size.
    this.index = new SlotTable(size);
    for (let handle = 0; handle < this.top; handle++) if (this.traceIds[handle] !== undefined) this.index.insert(handle, this.hashes[handle]!);
  }
}

/** Buffers spans by trace and hands each trace to `finalize` once it is idle (or at `flush`). */
export class TraceWindow {
  private readonly idleSpans: number;
  /**
   * Open traces wait in two generations: every idleSpans/2 spans the older generation is
   * finalized and the current one becomes older. A trace touched while in the older generation
   * moves to the current one, so a trace is finalized after idleSpans/2 to idleSpans untouched
   * spans (no re-insertion on every touch, unlike an LRU).
   */
  private readonly traces = new OpenTraces();
  private generationStart = 0;
  /**
   * Complete-looking traces (root arrived, every parent present) wait in their own two
   * generations with the shorter `completeIdleSpans` window, so memory holds few of them.
   */
  private completeGenerationStart = 0;
  private readonly completeIdleSpans: number;
  /** The span count at which a generation (either kind) is next due: one comparison per span. */
  private nextBoundary: number;
  /**
   * Recently finalized trace ids, bounded by `rememberFinalized` (100k traces reach far past the
   * idle window), packed: looked up only for a span whose trace is not open (a new trace's first
   * span, or a late span).
   */
  private readonly finalized: FinalizedIds;
  /**
   * Recently placed traces, direct-mapped by the last characters of the trace id: looking a
   * trace id up in the open traces' index hashes all of it; comparing it with the cached id of
   * an open trace does not (the reader hands a trace's spans the same string).
   * An entry is only a hint: it counts when the handle is still open for that same id.
   */
  private readonly cachedIds: (string | undefined)[] = new Array<string | undefined>(CACHE_SIZE).fill(undefined);
  private readonly cachedHandles = new Int32Array(CACHE_SIZE);

  /**
   * @param stats counts `spans` and `lateSpans` into the assembler's stats
   * @param store holds the spans `place` is given
   * @param finalize receives each trace once, when it leaves the window
   */
  constructor(
    options: TraceWindowOptions,
    private readonly stats: Pick<AssemblyStats, 'spans' | 'lateSpans'>,
    private readonly store: SpanStore,
    private readonly finalize: FinalizeTrace,
  ) {
    this.idleSpans = options.idleSpans ?? DEFAULT_IDLE_SPANS;
    // A count of ids: below 1, none (as the map of strings took it); a fraction, rounded up.
    this.finalized = new FinalizedIds(Math.max(0, Math.ceil(options.rememberFinalized ?? DEFAULT_REMEMBER)));
    this.completeIdleSpans = Math.min(this.idleSpans, options.completeIdleSpans ?? completeIdleSpansFor(this.idleSpans));
    this.nextBoundary = Math.min(this.idleSpans, this.completeIdleSpans) / 2;
  }

  /** Adds the span in store slot `slot` to its trace (counted as late and its slot freed when the trace was already finalized). */
  place(traceId: string, slot: number): void {
    const stats = this.stats;
    const store = this.store;
    const traces = this.traces;
    stats.spans++;
    store.keyIds(slot);
    const isRoot = store.parents[slot] === undefined;
    const at = cacheSlot(traceId);
    const cachedId = this.cachedIds[at];
    const cached = this.cachedHandles[at]!;
    let handle: number;
    // hashKey(traceId), made only when the cache misses (which a new trace always does).
    let h = 0;
    if (cachedId === traceId && traces.traceIds[cached] === cachedId) {
      handle = cached;
    } else {
      h = hashKey(traceId);
      handle = traces.find(traceId, h);
      if (handle >= 0) {
        this.cachedIds[at] = traces.traceIds[handle];
        this.cachedHandles[at] = handle;
      }
    }
    if (handle < 0 && this.finalized.has(traceId, h)) {
      stats.lateSpans++;
      store.releaseChain(slot, slot);
      return;
    }
    // The list the trace is on, and its spans, before the check below.
    let list: number;
    let count: number;
    if (handle < 0) {
      handle = traces.open(traceId, h, slot, isRoot, CURRENT);
      this.cachedIds[at] = traceId;
      this.cachedHandles[at] = handle;
      list = CURRENT;
      count = 1;
    } else {
      list = traces.lists[handle]!;
      store.next[traces.tails[handle]!] = slot;
      traces.tails[handle] = slot;
      count = ++traces.counts[handle]!;
      if (isRoot) traces.rooted[handle] = 1;
    }
    // A touched trace goes to the end of the current generation (the complete one when it looks
    // complete); one that stays current keeps its place. One call site for every move: a move
    // first needed late in the input (a trace touched once it is older) still finds feedback.
    const to = this.looksComplete(handle, list, count, slot) ? COMPLETE_CURRENT : CURRENT;
    if (to !== CURRENT || list !== CURRENT) traces.move(handle, to);
    if (stats.spans >= this.nextBoundary) this.changeGenerations();
  }

  /** True when the trace, on `list` before it took its `count`th span `slot`, looks complete now. */
  private looksComplete(handle: number, list: number, count: number, slot: number): boolean {
    // Size first: the checks scan the trace, and scanning on every span of a big trace is quadratic.
    if (count > COMPLETE_CHECK_MAX_SPANS) return false;
    const traces = this.traces;
    // A complete trace taking one more span: only that span can make it incomplete.
    if (list === COMPLETE_CURRENT || list === COMPLETE_OLDER) return hasParent(this.store, traces.heads[handle]!, count, slot);
    // Once the root is in, every new span may be the last missing one.
    return traces.rooted[handle] === 1 && isComplete(this.store, traces.heads[handle]!, count);
  }

  /**
   * Starts the generations that are due (see `nextBoundary`), then sets the next boundary.
   * A method of its own, called once per completeIdleSpans/2 spans (1 000 by default): TurboFan
   * does not inline so rare a call into `place`, so `place`'s optimized code never reaches `nextGeneration` (first due
   * after idleSpans/2 spans, long after `place` is optimized) without feedback, where it used
   * to throw that code away and compile `place` again.
   */
  private changeGenerations(): void {
    const spans = this.stats.spans;
    if (spans - this.generationStart >= this.idleSpans / 2) this.nextGeneration();
    if (spans - this.completeGenerationStart >= this.completeIdleSpans / 2) this.nextCompleteGeneration();
    this.nextBoundary = Math.min(this.generationStart + this.idleSpans / 2, this.completeGenerationStart + this.completeIdleSpans / 2);
  }

  /** Traces currently held in memory. */
  get openTraces(): number {
    return this.traces.size;
  }

  /** Finalizes every open trace (end of input). */
  flush(): void {
    for (const list of [OLDER, CURRENT, COMPLETE_OLDER, COMPLETE_CURRENT]) this.leaveAll(list);
  }

  private nextGeneration(): void {
    this.generationStart = this.stats.spans;
    this.leaveAll(OLDER);
    this.traces.moveList(CURRENT, OLDER);
  }

  private nextCompleteGeneration(): void {
    this.completeGenerationStart = this.stats.spans;
    this.leaveAll(COMPLETE_OLDER);
    this.traces.moveList(COMPLETE_CURRENT, COMPLETE_OLDER);
  }

  /** Finalizes every trace of a list, in list order. */
  private leaveAll(list: number): void {
    const traces = this.traces;
    let handle = traces.first[list]!;
    traces.first[list] = -1;
    traces.last[list] = -1;
    while (handle >= 0) {
      const after = traces.after[handle]!;
      this.leave(handle);
      handle = after;
    }
  }

  private leave(handle: number): void {
    const traces = this.traces;
    const traceId = traces.traceIds[handle]!;
    this.finalized.add(traceId, traces.hashes[handle]!);
    const head = traces.heads[handle]!;
    this.finalize(traceId, head, traces.counts[handle]!);
    this.store.releaseChain(head, traces.tails[handle]!);
    traces.close(handle);
  }

}

/** Entries of TraceWindow's cache of recent traces (a power of two). */
const CACHE_SIZE = 1024;

/**
 * The cache entry of a trace id, from its last three characters: 5 bits each keep the 16 hex
 * digits apart (most ids are hex, their last digits random), and reading three characters is
 * cheaper than hashing the id.
 */
function cacheSlot(traceId: string): number {
  const n = traceId.length;
  if (n < 3) return 0;
  return (((traceId.charCodeAt(n - 1) & 31) << 5) | (traceId.charCodeAt(n - 2) & 31)) ^ ((traceId.charCodeAt(n - 3) & 31) << 2);
}

/** True when the parent of the span in `slot` is among the trace's `count` spans from `head` (or it has none). */
function hasParent(store: SpanStore, head: number, count: number, slot: number): boolean {
  const parent = store.parents[slot];
  if (parent === undefined) return true;
  const key = store.parentKeys[slot]!;
  const ids = store.ids;
  const idKeys = store.idKeys;
  const next = store.next;
  for (let k = 0, other = head; k < count; k++, other = next[other]!) if (idKeys[other] === key && ids[other] === parent) return true;
  return false;
}

/**
 * True when every span's parent is in the trace (a root has none), and a client span's request
 * span too: under the convention a client span wraps the server's request span, which the
 * server exports on its own, often far from it (the Collector writes each export as a line,
 * its resources one after the other: with 6 000 spans a line, a third of the requests lost
 * their server spans as late when a client span alone passed for a complete trace). A trace
 * that never gets one waits the idle window like any incomplete trace.
 */
function isComplete(store: SpanStore, head: number, count: number): boolean {
  const ids = store.ids;
  const idKeys = store.idKeys;
  const parents = store.parents;
  const next = store.next;
  const bits = store.bits;
  let roles = 0;
  // The last parent found: siblings come together and carry the same parent id (see assemble.ts, parentIndices).
  let lastParent: string | undefined;
  for (let k = 0, span = head; k < count; k++, span = next[span]!) {
    roles |= bits[span]!;
    const parent = parents[span];
    if (parent === undefined || parent === lastParent) continue;
    const key = store.parentKeys[span]!;
    let found = false;
    for (let j = 0, other = head; j < count; j++, other = next[other]!) {
      if (idKeys[other] === key && ids[other] === parent) {
        found = true;
        break;
      }
    }
    if (!found) return false;
    lastParent = parent;
  }
  return (roles & (SPAN_BIT.CLIENT | SPAN_BIT.REQUEST)) !== SPAN_BIT.CLIENT;
}

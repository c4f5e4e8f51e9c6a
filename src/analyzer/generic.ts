/**
 * @module analyzer/generic
 * For traces that do not follow the span convention: where the time goes per (service,
 * operation), as self time and as time on the critical path, summed over all traces.
 *
 * Self time is Jaeger UI's Trace Statistics "ST": a span's duration minus the union of its
 * children's intervals (clipped to the span). The critical path follows Jaeger UI's algorithm
 * (`TracePage/CriticalPath`, PR #1582): start at the root, descend into the last-finishing
 * child, and on the way back pick the child that finished before the previous one started.
 * Two deliberate differences. Asynchronous work is followed, not clipped away: a child that
 * outlives its parent (a message handed to a queue, fire-and-forget, a CONSUMER under a
 * PRODUCER) extends the path to where the work really ends, so a 26 µs root of a 650 ms trace
 * is not "100% of the critical path"; time on the path after a span ended and before its child
 * took over is `(async gap)`. And a child that ends exactly when the next one starts is still
 * picked (Jaeger requires strictly earlier, which loses back-to-back sequential children).
 * A trace whose spans do not all connect (parents missing from the input) is measured piece by
 * piece, each root on its own, and the pieces are counted.
 */
import type { Interval, TraceSpan } from './_trace-span.js';
import { SpanIndex, unionLength } from './_trace-span.js';
import type { GenericReport, OperationTime, TimeRange } from '../model/analysis.js';
import { ASYNC_GAP, startsInRange } from '../model/analysis.js';

export type { GenericReport, OperationTime } from '../model/analysis.js';

interface Accumulator {
  service: string;
  operation: string;
  spans: number;
  errors: number;
  totalNs: number;
  selfNs: number;
  criticalNs: number;
}

interface Node {
  readonly span: TraceSpan;
  /** The span's start, not before its parent's (clock skew). */
  start: number;
  /** The span's own end. */
  end: number;
  /** Where its work ends: its end, or the latest reach of its children (asynchronous work). */
  reach: number;
  parent: Node | undefined;
  /** Children, sorted by reach, latest first. */
  children: Node[];
  /** Next index in `children` the critical-path walk may pick. */
  cursor: number;
}


/**
 * The trace with each server span that lies partly outside its client parent (clock skew between
 * their hosts: the Zipkin Lens `skew.json` server starts 65 ms before the client that called it)
 * moved, with everything under it, to the middle of the client span, as Zipkin's own skew
 * correction does (zipkin `ClockSkew`/Lens `SpanNode` correction, https://github.com/openzipkin/zipkin);
 * left outside, the client's wait read as its own work on the critical path and in self time.
 * A server longer than its client is left as it is (no position fits it). `spans` itself when
 * nothing moved.
 */
function deskewed(spans: readonly TraceSpan[], roots: readonly TraceSpan[], children: ReadonlyMap<TraceSpan, TraceSpan[]>): readonly TraceSpan[] {
  // Most traces have no server span under a client one: no walk, no map.
  if (!spans.some((s) => s.kind === 'server') || !spans.some((s) => s.kind === 'client')) return spans;
  const shift = new Map<TraceSpan, number>();
  const stack: [TraceSpan, number][] = roots.map((r) => [r, 0]);
  let moved = false;
  while (stack.length > 0) {
    const [span, by] = stack.pop()!;
    if (shift.has(span)) continue;
    shift.set(span, by);
    for (const child of children.get(span) ?? []) {
      let childBy = by;
      if (child.kind === 'server' && span.kind === 'client') {
        const start = child.start + by;
        const end = child.end + by;
        const parentStart = span.start + by;
        const parentEnd = span.end + by;
        if ((start < parentStart || end > parentEnd) && end - start <= parentEnd - parentStart) {
          childBy = by + (parentStart + (parentEnd - parentStart - (end - start)) / 2 - start);
          moved = true;
        }
      }
      stack.push([child, childBy]);
    }
  }
  if (!moved) return spans;
  return spans.map((s) => {
    const by = shift.get(s) ?? 0;
    return by === 0 ? s : { ...s, start: s.start + by, end: s.end + by };
  });
}

/**
 * Accumulates self time and critical-path time of non-convention traces; with a time range
 * (`--start`/`--end`), of those whose first span starts in it, as requests are kept by their start.
 */
export class GenericAccumulator {
  /** Traces the range left out. */
  private outCount = 0;
  /** Earliest and latest trace start seen under a range, ns since the epoch: where the traces lie, when none is in it. */
  private firstNs: bigint | undefined;
  private lastNs: bigint | undefined;

  constructor(private readonly range?: TimeRange) {}

  /** True when traces are kept by their start: ask `keeps` before `addTrace`. */
  get cutsByTime(): boolean {
    return this.range !== undefined;
  }

  /** Traces kept (all those given, without a range). */
  get traces(): number {
    return this.traceCount;
  }

  /** Traces given, kept or not. */
  get inputTraces(): number {
    return this.traceCount + this.outCount;
  }

  /** Earliest and latest first-span start of the traces given, under a range; undefined without one or without traces. */
  get extent(): { readonly firstNs: bigint; readonly lastNs: bigint } | undefined {
    return this.firstNs === undefined || this.lastNs === undefined ? undefined : { firstNs: this.firstNs, lastNs: this.lastNs };
  }

  private readonly ops = new Map<string, Accumulator>();
  private traceCount = 0;
  private spanCount = 0;
  private rootNs = 0;
  private pieceCount = 0;
  private fragmentedCount = 0;
  private asyncCount = 0;
  private skewedCount = 0;

  /**
   * Under a range, whether a trace whose first span starts at `startNs` (ns since the epoch) is
   * kept, counting it either way; asked before the trace's spans are made into the views
   * `addTrace` takes, so a trace left out costs none.
   */
  keeps(startNs: bigint): boolean {
    if (this.range === undefined) return true;
    if (this.firstNs === undefined || startNs < this.firstNs) this.firstNs = startNs;
    if (this.lastNs === undefined || startNs > this.lastNs) this.lastNs = startNs;
    if (startsInRange(this.range, startNs)) return true;
    this.outCount++;
    return false;
  }

  /** Adds one complete trace (deduplicated spans); under a range, one `keeps` kept. */
  addTrace(input: readonly TraceSpan[]): void {
    this.traceCount++;
    this.spanCount += input.length;
    let index = new SpanIndex(input).tree();
    const spans = deskewed(input, index.roots, index.children);
    if (spans !== input) {
      this.skewedCount++;
      index = new SpanIndex(spans).tree();
    }
    const { roots, children: allChildren } = index;
    for (const span of spans) {
      const children = allChildren.get(span) ?? [];
      const clipped: Interval[] = [];
      for (const c of children) {
        const s = Math.max(c.start, span.start);
        const e = Math.min(c.end, span.end);
        if (e > s) clipped.push([s, e]);
      }
      const acc = this.op(span);
      acc.spans++;
      if (span.error) acc.errors++;
      acc.totalNs += span.end - span.start;
      acc.selfNs += span.end - span.start - unionLength(clipped);
    }
    this.pieceCount += roots.length;
    if (roots.length > 1) this.fragmentedCount++;
    let asynchronous = false;
    for (const root of roots) {
      const tree = this.buildTree(root, allChildren);
      asynchronous ||= tree.async;
      this.rootNs += tree.root.reach - tree.root.start;
      this.walkCriticalPath(tree.root);
    }
    if (asynchronous) this.asyncCount++;
  }

  /** The report: the `top` operations by self time and by critical-path time. */
  report(top = 10): GenericReport {
    const all: OperationTime[] = [...this.ops.values()].map((a) => ({
      service: a.service,
      operation: a.operation,
      spans: a.spans,
      errors: a.errors,
      totalMs: a.totalNs / 1e6,
      selfMs: a.selfNs / 1e6,
      criticalPathMs: a.criticalNs / 1e6,
      criticalPathShare: this.rootNs > 0 ? a.criticalNs / this.rootNs : 0,
    }));
    const bySelf = all.filter((o) => o.spans > 0).sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
    // A zero-length row says nothing about the critical path.
    const byCritical = all.filter((o) => o.criticalPathMs > 0).sort((a, b) => b.criticalPathMs - a.criticalPathMs).slice(0, top);
    return {
      traces: this.traceCount,
      spans: this.spanCount,
      rootMs: this.rootNs / 1e6,
      pieces: this.pieceCount,
      fragmentedTraces: this.fragmentedCount,
      asyncTraces: this.asyncCount,
      skewedTraces: this.skewedCount,
      bySelfTime: bySelf,
      byCriticalPath: byCritical,
    };
  }

  private op(span: TraceSpan): Accumulator {
    return this.opNamed(span.service, span.name);
  }

  private opNamed(service: string, operation: string): Accumulator {
    const key = `${service}\u0000${operation}`;
    let acc = this.ops.get(key);
    if (!acc) {
      acc = { service, operation, spans: 0, errors: 0, totalNs: 0, selfNs: 0, criticalNs: 0 };
      this.ops.set(key, acc);
    }
    return acc;
  }

  /**
   * The tree under `root`, each span starting no earlier than its parent, with each node's
   * reach (its own end or its latest descendant's); `async` when some work outlives its parent.
   */
  private buildTree(root: TraceSpan, allChildren: ReadonlyMap<TraceSpan, TraceSpan[]>): { root: Node; async: boolean } {
    const top: Node = { span: root, start: root.start, end: root.end, reach: root.end, parent: undefined, children: [], cursor: 0 };
    const stack: Node[] = [top];
    const order: Node[] = [];
    const seen = new Set<TraceSpan>([root]);
    while (stack.length > 0) {
      const node = stack.pop()!;
      order.push(node);
      for (const child of allChildren.get(node.span) ?? []) {
        if (seen.has(child)) continue;
        seen.add(child);
        const start = Math.max(child.start, node.start);
        if (child.end < start || (child.end === start && child.end > child.start)) continue;
        const childNode: Node = { span: child, start, end: child.end, reach: child.end, parent: node, children: [], cursor: 0 };
        node.children.push(childNode);
        stack.push(childNode);
      }
    }
    // Children come after their parent in `order`: in reverse, every reach is final before its parent reads it.
    let async = false;
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const parent = node.parent;
      if (parent !== undefined && node.reach > parent.reach) {
        if (node.reach > parent.end) async = true;
        parent.reach = node.reach;
      }
      node.children.sort((a, b) => b.reach - a.reach);
    }
    return { root: top, async };
  }

  /** Credits [from, to) of the path to `node`: its own part while it ran, the rest as an async gap. */
  private credit(node: Node, from: number, to: number): void {
    if (to <= from) return;
    const own = Math.max(0, Math.min(to, node.end) - Math.max(from, node.start));
    if (own > 0) this.op(node.span).criticalNs += own;
    if (to - from - own > 0) this.opNamed(node.span.service, ASYNC_GAP).criticalNs += to - from - own;
  }

  private walkCriticalPath(root: Node): void {
    let current: Node = root;
    let returning: number | undefined;
    for (;;) {
      const sectionEnd = returning ?? current.reach;
      let next: Node | undefined;
      while (current.cursor < current.children.length) {
        const candidate = current.children[current.cursor++]!;
        if (candidate.reach <= sectionEnd) {
          next = candidate;
          break;
        }
      }
      if (next) {
        this.credit(current, next.reach, sectionEnd);
        current = next;
        returning = undefined;
        continue;
      }
      this.credit(current, current.start, sectionEnd);
      if (current.parent === undefined) return;
      returning = current.start;
      current = current.parent;
    }
  }
}

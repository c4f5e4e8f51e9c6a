/**
 * @module analyzer/generic
 * For traces that do not follow the span convention: where the time goes per (service,
 * operation), as self time and as time on the critical path, summed over all traces.
 *
 * Self time is Jaeger UI's Trace Statistics "ST": a span's duration minus the union of its
 * children's intervals (clipped to the span). The critical path follows Jaeger UI's algorithm
 * (`TracePage/CriticalPath`, PR #1582): start at the root, descend into the last-finishing
 * child, and on the way back pick the child that finished before the previous one started.
 * Children that overflow their parent (async work, clock skew) are clipped to it first and
 * dropped when wholly outside (`sanitizeOverFlowingChildren`); a CONSUMER child of a PRODUCER
 * is non-blocking and kept off the path. One deliberate difference: a child that ends exactly
 * when the next one starts is still picked (Jaeger requires strictly earlier, which loses
 * back-to-back sequential children).
 */
import type { Interval, TraceSpan } from './_trace-span.js';
import { SpanIndex, unionLength } from './_trace-span.js';
import type { GenericReport, OperationTime } from '../model/analysis.js';

export type { GenericReport, OperationTime } from '../model/analysis.js';

interface Accumulator {
  service: string;
  operation: string;
  spans: number;
  totalNs: number;
  selfNs: number;
  criticalNs: number;
}

interface Node {
  readonly span: TraceSpan;
  /** The span's interval clipped to its (clipped) parent. */
  start: number;
  end: number;
  parent: Node | undefined;
  /** Blocking children, sorted by end time, latest first. */
  children: Node[];
  /** Next index in `children` the critical-path walk may pick. */
  cursor: number;
}

/** Accumulates self time and critical-path time of non-convention traces. */
export class GenericAccumulator {
  private readonly ops = new Map<string, Accumulator>();
  private traceCount = 0;
  private spanCount = 0;
  private rootNs = 0;

  /** Adds one complete trace (deduplicated spans). */
  addTrace(spans: readonly TraceSpan[]): void {
    this.traceCount++;
    this.spanCount += spans.length;
    const index = new SpanIndex(spans);
    const allChildren = new Map<TraceSpan, TraceSpan[]>();
    const roots: TraceSpan[] = [];
    for (const span of spans) {
      const parent = index.parentOf(span);
      if (parent === undefined) {
        roots.push(span);
        continue;
      }
      const list = allChildren.get(parent);
      if (list) list.push(span);
      else allChildren.set(parent, [span]);
    }
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
      acc.totalNs += span.end - span.start;
      acc.selfNs += span.end - span.start - unionLength(clipped);
    }
    for (const root of roots) {
      this.rootNs += root.end - root.start;
      this.walkCriticalPath(this.buildTree(root, allChildren));
    }
  }

  /** The report: the `top` operations by self time and by critical-path time. */
  report(top = 10): GenericReport {
    const all = [...this.ops.values()].map((a) => ({
      service: a.service,
      operation: a.operation,
      spans: a.spans,
      totalMs: a.totalNs / 1e6,
      selfMs: a.selfNs / 1e6,
      criticalPathMs: a.criticalNs / 1e6,
      criticalPathShare: this.rootNs > 0 ? a.criticalNs / this.rootNs : 0,
    }));
    const bySelf = [...all].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
    const byCritical = [...all].sort((a, b) => b.criticalPathMs - a.criticalPathMs).slice(0, top);
    return { traces: this.traceCount, spans: this.spanCount, rootMs: this.rootNs / 1e6, bySelfTime: bySelf, byCriticalPath: byCritical };
  }

  private op(span: TraceSpan): Accumulator {
    const key = `${span.service}\u0000${span.name}`;
    let acc = this.ops.get(key);
    if (!acc) {
      acc = { service: span.service, operation: span.name, spans: 0, totalNs: 0, selfNs: 0, criticalNs: 0 };
      this.ops.set(key, acc);
    }
    return acc;
  }

  /** Clips every span to its parent top-down; spans wholly outside their parent are dropped. */
  private buildTree(root: TraceSpan, allChildren: ReadonlyMap<TraceSpan, TraceSpan[]>): Node {
    const top: Node = { span: root, start: root.start, end: root.end, parent: undefined, children: [], cursor: 0 };
    const stack: Node[] = [top];
    const seen = new Set<TraceSpan>([root]);
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const child of allChildren.get(node.span) ?? []) {
        if (seen.has(child)) continue;
        seen.add(child);
        if (node.span.kind === 'producer' && child.kind === 'consumer') continue;
        const start = Math.max(child.start, node.start);
        const end = Math.min(child.end, node.end);
        if (end < start || (end === start && child.end > child.start)) continue;
        const childNode: Node = { span: child, start, end, parent: node, children: [], cursor: 0 };
        node.children.push(childNode);
        stack.push(childNode);
      }
      node.children.sort((a, b) => b.end - a.end);
    }
    return top;
  }

  private walkCriticalPath(root: Node): void {
    let current: Node = root;
    let returning: number | undefined;
    for (;;) {
      const sectionEnd = returning ?? current.end;
      let next: Node | undefined;
      while (current.cursor < current.children.length) {
        const candidate = current.children[current.cursor++]!;
        if (candidate.end <= sectionEnd) {
          next = candidate;
          break;
        }
      }
      if (next) {
        this.op(current.span).criticalNs += sectionEnd - next.end;
        current = next;
        returning = undefined;
        continue;
      }
      this.op(current.span).criticalNs += sectionEnd - current.start;
      if (current.parent === undefined) return;
      returning = current.start;
      current = current.parent;
    }
  }
}

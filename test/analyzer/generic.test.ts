import { describe, expect, it } from 'vitest';
import { assembleRequests } from '../../src/analyzer/assemble.js';
import type { SpanRecord } from '../../src/model/span.js';
import type { OperationTime } from '../../src/analyzer/generic.js';
import { span, traceId } from './_spans.js';

async function report(spans: SpanRecord[]) {
  const { generic } = await assembleRequests([spans]);
  return generic.report();
}

function byOp(list: readonly OperationTime[], operation: string): OperationTime {
  return list.find((o) => o.operation === operation)!;
}

describe('generic report (traces outside the convention)', () => {
  it('computes self time as duration minus the union of children', async () => {
    const t = traceId(1);
    const root = span({ trace: t, start: 0, end: 100, name: 'GET /', service: 'web' });
    const a = span({ trace: t, parent: root.spanId, start: 10, end: 50, name: 'db', service: 'db' });
    const b = span({ trace: t, parent: root.spanId, start: 30, end: 60, name: 'cache', service: 'cache' });
    const r = await report([root, a, b]);
    // children cover [10,60] → root self = 50
    expect(byOp(r.bySelfTime, 'GET /').selfMs).toBeCloseTo(50, 9);
    expect(byOp(r.bySelfTime, 'db').selfMs).toBeCloseTo(40, 9);
    expect(r.traces).toBe(1);
    expect(r.rootMs).toBeCloseTo(100, 9);
  });

  it('follows the last-finishing child back through sequential children (critical path)', async () => {
    const t = traceId(2);
    const root = span({ trace: t, start: 0, end: 100, name: 'root' });
    const first = span({ trace: t, parent: root.spanId, start: 10, end: 40, name: 'first' });
    // back-to-back with `first`: Jaeger's strict comparison would lose `first`
    const second = span({ trace: t, parent: root.spanId, start: 40, end: 90, name: 'second' });
    // overlaps `second` but finishes earlier: not on the path
    const parallel = span({ trace: t, parent: root.spanId, start: 45, end: 60, name: 'parallel' });
    const inner = span({ trace: t, parent: second.spanId, start: 50, end: 70, name: 'inner' });
    const r = await report([root, first, second, parallel, inner]);
    const cp = (op: string) => byOp(r.byCriticalPath, op).criticalPathMs;
    expect(cp('root')).toBeCloseTo(10 + 10, 9); // [0,10] + [90,100]
    expect(cp('first')).toBeCloseTo(30, 9);
    expect(cp('second')).toBeCloseTo(50 - 20, 9);
    expect(cp('inner')).toBeCloseTo(20, 9);
    expect(cp('parallel')).toBe(0);
    const total = r.byCriticalPath.reduce((sum, o) => sum + o.criticalPathMs, 0);
    expect(total).toBeCloseTo(100, 9);
    expect(r.byCriticalPath[0]!.operation).toBe('first');
  });

  it('clips a child that outlives its parent to the parent on the critical path', async () => {
    const t = traceId(3);
    const root = span({ trace: t, start: 0, end: 50, name: 'root' });
    const late = span({ trace: t, parent: root.spanId, start: 20, end: 80, name: 'async' });
    const r = await report([root, late]);
    expect(byOp(r.byCriticalPath, 'async').criticalPathMs).toBeCloseTo(30, 9);
    expect(byOp(r.byCriticalPath, 'root').criticalPathMs).toBeCloseTo(20, 9);
  });

  it('keeps a consumer under a producer off the critical path', async () => {
    const t = traceId(4);
    const root = span({ trace: t, start: 0, end: 50, name: 'publish', kind: 'producer' });
    const consumer = span({ trace: t, parent: root.spanId, start: 10, end: 40, name: 'consume', kind: 'consumer' });
    const r = await report([root, consumer]);
    expect(byOp(r.byCriticalPath, 'publish').criticalPathMs).toBeCloseTo(50, 9);
    expect(byOp(r.byCriticalPath, 'consume').criticalPathMs).toBe(0);
  });

  it('aggregates across traces and ranks by time', async () => {
    const spans: SpanRecord[] = [];
    for (let i = 0; i < 3; i++) {
      const t = traceId(10 + i);
      const root = span({ trace: t, start: 0, end: 10, name: 'root' });
      spans.push(root, span({ trace: t, parent: root.spanId, start: 1, end: 9, name: 'work' }));
    }
    const r = await report(spans);
    expect(r.traces).toBe(3);
    expect(r.bySelfTime[0]).toMatchObject({ operation: 'work', spans: 3 });
    expect(r.bySelfTime[0]!.selfMs).toBeCloseTo(24, 9);
    expect(r.byCriticalPath[0]!.criticalPathShare).toBeCloseTo(0.8, 9);
  });
});

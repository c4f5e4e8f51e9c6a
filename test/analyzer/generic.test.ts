import { describe, expect, it } from 'vitest';
import { assembleRequests } from '../../src/analyzer/assemble.js';
import type { SpanRecord } from '../../src/model/span.js';
import type { OperationTime } from '../../src/analyzer/generic.js';
import { span, traceId } from './_spans.js';
import { analyzeFiles } from '../../src/analyzer/index.js';

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
    // Off the path: no zero-length row on the critical-path list.
    expect(r.byCriticalPath.map((o) => o.operation)).not.toContain('parallel');
    const total = r.byCriticalPath.reduce((sum, o) => sum + o.criticalPathMs, 0);
    expect(total).toBeCloseTo(100, 9);
    expect(r.byCriticalPath[0]!.operation).toBe('first');
  });

  it('follows a child that outlives its parent to its end (asynchronous work) instead of clipping it', async () => {
    const t = traceId(3);
    const root = span({ trace: t, start: 0, end: 50, name: 'root' });
    const late = span({ trace: t, parent: root.spanId, start: 20, end: 80, name: 'async' });
    const r = await report([root, late]);
    expect(byOp(r.byCriticalPath, 'async').criticalPathMs).toBeCloseTo(60, 9);
    expect(byOp(r.byCriticalPath, 'root').criticalPathMs).toBeCloseTo(20, 9);
    expect(r.rootMs).toBeCloseTo(80, 9);
    expect(r.asyncTraces).toBe(1);
  });

  it('a 26 µs root whose queue consumer runs 650 ms later: never 100% for the root (issue 10, Kafka shape)', async () => {
    const t = traceId(4);
    const root = span({ trace: t, start: 0, end: 0.026, name: 'send', kind: 'producer', service: 'api' });
    const consumer = span({ trace: t, parent: root.spanId, start: 5, end: 650, name: 'consume', kind: 'consumer', service: 'worker' });
    const db = span({ trace: t, parent: consumer.spanId, start: 100, end: 600, name: 'db', service: 'worker' });
    const r = await report([root, consumer, db]);
    const cp = (op: string): number => byOp(r.byCriticalPath, op).criticalPathMs;
    expect(cp('send')).toBeCloseTo(0.026, 9);
    expect(cp('db')).toBeCloseTo(500, 9);
    expect(cp('consume')).toBeCloseTo(645 - 500, 9);
    // In the queue: the producer had ended, the consumer not yet begun.
    expect(cp('(async gap)')).toBeCloseTo(5 - 0.026, 9);
    expect(r.rootMs).toBeCloseTo(650, 9);
    expect(r.byCriticalPath[0]!.operation).toBe('db');
    expect(byOp(r.byCriticalPath, 'send').criticalPathShare).toBeLessThan(0.001);
    const total = r.byCriticalPath.reduce((sum, o) => sum + o.criticalPathMs, 0);
    expect(total).toBeCloseTo(650, 9);
  });

  it('counts the disconnected pieces of a trace whose parents are missing, each piece measured on its own', async () => {
    const t = traceId(5);
    const spans: SpanRecord[] = [];
    for (let i = 0; i < 23; i++) spans.push(span({ trace: t, parent: `missing${String(i).padStart(9, '0')}`, start: i * 10, end: i * 10 + 4, name: `piece-${i}` }));
    const { generic, stats } = await assembleRequests([spans]);
    const r = generic.report(50);
    expect(r.traces).toBe(1);
    expect(r.pieces).toBe(23);
    expect(r.fragmentedTraces).toBe(1);
    expect(stats.orphanSpans).toBe(23);
    expect(stats).toMatchObject({ fragmentedTraces: 1, fragmentPieces: 23 });
    // Each piece is its own root: 4 ms of path each, shares of the pieces' total.
    expect(r.rootMs).toBeCloseTo(23 * 4, 9);
    for (const o of r.byCriticalPath) expect(o.criticalPathShare).toBeCloseTo(1 / 23, 9);
  });

  it('counts error spans per operation', async () => {
    const t = traceId(6);
    const root = span({ trace: t, start: 0, end: 10, name: 'GET /' });
    const spans = [root, ...[1, 2, 3].map((i) => span({ trace: t, parent: root.spanId, start: i, end: i + 1, name: 'db', error: i !== 2 }))];
    const r = await report(spans);
    expect(byOp(r.bySelfTime, 'db').errors).toBe(2);
    expect(byOp(r.bySelfTime, 'GET /').errors).toBe(0);
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

  it("moves a server span that clock skew put outside its client span to the client's middle (real: Zipkin Lens skew.json), so the client's wait is not its own work", async () => {
    // serviceb's server span (93.577 ms) starts 65.4 ms before servicea's client span (94.539 ms) that called it.
    const { generic } = await analyzeFiles(['test/fixtures/traces/zipkin-json/zipkin-lens-skew.json']);
    expect(generic!.skewedTraces).toBe(1);
    const path = generic!.byCriticalPath;
    // Inside the client: serviceb's async child (65 ms) and the rest of its post (28.6 ms) are on the path; the client keeps 94.539 − 93.577 ms.
    expect(path[0]).toMatchObject({ service: 'serviceb', operation: 'async' });
    expect(path[0]!.criticalPathMs).toBeCloseTo(65, 6);
    expect(path.find((o) => o.service === 'servicea' && o.operation === 'post')!.criticalPathMs).toBeCloseTo(0.962, 6);
    expect(byOp(generic!.bySelfTime, 'post').service).toBe('serviceb');
    expect(generic!.rootMs).toBeCloseTo(99.411, 6);
  });
});

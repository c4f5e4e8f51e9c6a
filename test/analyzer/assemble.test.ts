import { describe, expect, it } from 'vitest';
import { RequestAssembler, assembleRequests } from '../../src/analyzer/assemble.js';
import { ATTR } from '../../src/semconv.js';
import type { SpanRecord } from '../../src/model/span.js';
import { EPOCH_NS, clientSpan, phaseSpan, requestSpan, span, traceId } from './_spans.js';

/** A fixed 16-hex span id. */
function spanIdOf(n: number): string {
  return n.toString(16).padStart(16, 'f');
}

async function assemble(spans: SpanRecord[], idleSpans?: number) {
  const result = await assembleRequests([spans], idleSpans === undefined ? {} : { idleSpans });
  return { ...result, requests: result.requests.rows() };
}

function only<T>(list: readonly T[]): T {
  expect(list).toHaveLength(1);
  return list[0]!;
}

describe('assembleRequests: phase timings', () => {
  it('times a server-only request: phases from its spans, the uncovered rest as other', async () => {
    const t = traceId(1);
    const req = requestSpan(t, 0, 100, { attributes: { [ATTR.RUNTIME]: 'onnxruntime', [ATTR.PRECISION]: 'fp32', [ATTR.DEVICE]: 'cuda:0', [ATTR.REQUEST_SIZE]: 1200 } });
    const spans = [
      req,
      phaseSpan(t, req.spanId, 'preprocess', 0, 10),
      phaseSpan(t, req.spanId, 'queue', 10, 40),
      phaseSpan(t, req.spanId, 'compute', 40, 90, { [ATTR.BATCH_SIZE]: 4 }),
      phaseSpan(t, req.spanId, 'postprocess', 90, 95),
    ];
    const { requests, stats } = await assemble(spans);
    const r = only(requests);
    expect(r.traceId).toBe(t);
    expect(r.model).toBe('resnet50');
    expect(r.e2eMs).toBeCloseTo(100, 9);
    expect(r.serverMs).toBeCloseTo(100, 9);
    expect(r.phases).toEqual({ preprocess: 10, queue: 30, compute: 50, postprocess: 5 });
    expect(r.otherMs).toBeCloseTo(5, 9);
    expect(r.hasClient).toBe(false);
    expect(r.networkDerived).toBe(false);
    expect(r.batchSize).toBe(4);
    expect(r.runtime).toBe('onnxruntime');
    expect(r.precision).toBe('fp32');
    expect(r.device).toBe('cuda:0');
    expect(r.requestBytes).toBe(1200);
    expect(r.startNs).toBe(EPOCH_NS);
    expect(stats.requestTraces).toBe(1);
  });

  it('unions dozens of spans of one phase, in any order (the sorted-index path)', async () => {
    const t = traceId(20);
    const req = requestSpan(t, 0, 200);
    // 40 serialize spans of 3 ms every 4 ms from 0, given in reverse: union = 40 × 3 ms.
    const serialize = Array.from({ length: 40 }, (_, i) => phaseSpan(t, req.spanId, 'serialize', 4 * (39 - i), 4 * (39 - i) + 3));
    // 20 overlapping compute spans inside [160, 190]: union = 30 ms.
    const compute = Array.from({ length: 20 }, (_, i) => phaseSpan(t, req.spanId, 'compute', 160 + (i % 10), 180 + (i % 11)));
    const { requests } = await assemble([req, ...serialize, ...compute]);
    const r = only(requests);
    expect(r.phases.serialize).toBeCloseTo(120, 9);
    expect(r.phases.compute).toBeCloseTo(30, 9);
    // covered: 40 × 3 ms in [0, 159] plus [160, 190]; 200 − 120 − 30 = 50 ms uncovered
    expect(r.otherMs).toBeCloseTo(50, 9);
  });

  it('counts overlapping spans of one phase once (union of intervals), and a phase outside the request as 0 ms', async () => {
    const t = traceId(2);
    const req = requestSpan(t, 0, 50);
    const { requests } = await assemble([
      req,
      phaseSpan(t, req.spanId, 'postprocess', 60, 70),
      phaseSpan(t, req.spanId, 'serialize', 0, 10),
      phaseSpan(t, req.spanId, 'serialize', 5, 15),
      phaseSpan(t, req.spanId, 'serialize', 30, 35),
      phaseSpan(t, req.spanId, 'compute', 12, 30),
    ]);
    const r = only(requests);
    expect(r.phases.serialize).toBeCloseTo(20, 9);
    expect(r.phases.compute).toBeCloseTo(18, 9);
    expect(r.phases.postprocess).toBe(0);
    // covered: [0,35] → other = 15
    expect(r.otherMs).toBeCloseTo(15, 9);
  });

  it('derives network as client duration minus server duration when no network spans exist', async () => {
    const t = traceId(3);
    const client = clientSpan(t, 0, 120);
    const req = requestSpan(t, 10, 110, { parent: client.spanId });
    const { requests } = await assemble([client, req, phaseSpan(t, req.spanId, 'compute', 10, 110)]);
    const r = only(requests);
    expect(r.hasClient).toBe(true);
    expect(r.networkDerived).toBe(true);
    expect(r.clockSkew).toBe(false);
    expect(r.e2eMs).toBeCloseTo(120, 9);
    expect(r.serverMs).toBeCloseTo(100, 9);
    expect(r.phases.network).toBeCloseTo(20, 9);
    expect(r.otherMs).toBeCloseTo(0, 9);
  });

  it('uses explicit network spans instead of deriving network time', async () => {
    const t = traceId(4);
    const client = clientSpan(t, 0, 120);
    const net = phaseSpan(t, client.spanId, 'network', 0, 4);
    const req = requestSpan(t, 10, 110, { parent: client.spanId });
    // The network span hangs under the request here so that it belongs to it.
    const netUnderRequest = phaseSpan(t, req.spanId, 'network', 0, 4);
    const { requests, stats } = await assemble([client, req, netUnderRequest, net]);
    const r = only(requests);
    expect(r.networkDerived).toBe(false);
    expect(r.phases.network).toBeCloseTo(4, 9);
    expect(r.otherMs).toBeCloseTo(116, 9);
    expect(stats.unattachedPhaseSpans).toBe(1);
  });

  it('network spans inside the server span (a server timing its own socket reads and writes) still leave client − server to derive', async () => {
    const t = traceId(40);
    const client = clientSpan(t, 0, 120);
    const req = requestSpan(t, 10, 110, { parent: client.spanId });
    const spans = [client, req, phaseSpan(t, req.spanId, 'network', 10, 12), phaseSpan(t, req.spanId, 'compute', 12, 108), phaseSpan(t, req.spanId, 'network', 108, 110)];
    const r = only((await assemble(spans)).requests);
    expect(r.networkDerived).toBe(true);
    expect(r.phases.network).toBeCloseTo(24, 9); // 2 + 2 inside the server, 10 + 10 outside it
    expect(r.otherMs).toBeCloseTo(0, 9);
  });

  it('centres a skewed server inside its client, marks clockSkew and keeps phases inside e2e', async () => {
    const t = traceId(5);
    const client = clientSpan(t, 100, 200);
    // The server clock runs 50 ms behind: its span starts before the client's.
    const req = requestSpan(t, 50, 130, { parent: client.spanId });
    const { requests, stats } = await assemble([client, req, phaseSpan(t, req.spanId, 'compute', 60, 120)]);
    const r = only(requests);
    expect(r.clockSkew).toBe(true);
    expect(r.e2eMs).toBeCloseTo(100, 9);
    expect(r.phases.network).toBeCloseTo(20, 9);
    expect(r.phases.compute).toBeCloseTo(60, 9);
    expect(r.otherMs).toBeCloseTo(20, 9);
    expect(stats.clockSkewRequests).toBe(1);
  });

  it('clamps derived network at 0 when the server span is longer than its client span', async () => {
    const t = traceId(6);
    const client = clientSpan(t, 0, 50);
    const req = requestSpan(t, 0, 80, { parent: client.spanId });
    const { requests } = await assemble([client, req, phaseSpan(t, req.spanId, 'compute', 0, 80)]);
    const r = only(requests);
    expect(r.clockSkew).toBe(true);
    expect(r.phases.network).toBe(0);
    expect(r.e2eMs).toBeCloseTo(50, 9);
    expect(r.phases.compute).toBeCloseTo(50, 9);
    expect(r.otherMs).toBe(0);
  });

  it('attaches phase spans nested under plain spans, and a compute span naming the model stays a phase', async () => {
    const t = traceId(7);
    const req = requestSpan(t, 0, 40);
    const handler = span({ trace: t, parent: req.spanId, start: 0, end: 40, name: 'handler' });
    const compute = phaseSpan(t, handler.spanId, 'compute', 5, 35, { [ATTR.MODEL_NAME]: 'resnet50' });
    const { requests } = await assemble([compute, handler, req]);
    const r = only(requests);
    expect(r.phases.compute).toBeCloseTo(30, 9);
    expect(r.otherMs).toBeCloseTo(10, 9);
  });

  it('gives each of two request spans in one trace its own phases and client', async () => {
    const t = traceId(8);
    const c1 = clientSpan(t, 0, 30);
    const r1 = requestSpan(t, 5, 25, { parent: c1.spanId, model: 'detector' });
    const c2 = clientSpan(t, 30, 80);
    const r2 = requestSpan(t, 35, 75, { parent: c2.spanId, model: 'classifier' });
    const { requests } = await assemble([c1, r1, c2, r2, phaseSpan(t, r1.spanId, 'compute', 5, 25), phaseSpan(t, r2.spanId, 'queue', 35, 55)]);
    expect(requests).toHaveLength(2);
    const det = requests.find((r) => r.model === 'detector')!;
    const cls = requests.find((r) => r.model === 'classifier')!;
    expect(det.e2eMs).toBeCloseTo(30, 9);
    expect(det.phases).toEqual({ compute: 20, network: 10 });
    expect(cls.e2eMs).toBeCloseTo(50, 9);
    expect(cls.phases.queue).toBeCloseTo(20, 9);
    expect(cls.phases.compute).toBeUndefined();
  });


  it('gives phase spans under two requests, interleaved, each to the request they name', async () => {
    const t = traceId(21);
    const r1 = requestSpan(t, 0, 40, { model: 'detector' });
    const r2 = requestSpan(t, 50, 90, { model: 'classifier' });
    // Siblings usually come together; here the parent changes at every span, and back.
    const { requests } = await assemble([
      phaseSpan(t, r1.spanId, 'queue', 0, 10),
      phaseSpan(t, r2.spanId, 'queue', 50, 55),
      phaseSpan(t, r1.spanId, 'compute', 10, 30),
      phaseSpan(t, r2.spanId, 'compute', 55, 85),
      phaseSpan(t, r1.spanId, 'queue', 30, 32),
      r1,
      r2,
    ]);
    expect(requests).toHaveLength(2);
    expect(requests.find((r) => r.model === 'detector')!.phases).toEqual({ queue: 12, compute: 20 });
    expect(requests.find((r) => r.model === 'classifier')!.phases).toEqual({ queue: 5, compute: 30 });
  });

  it('gives a client span retried against the server to its last attempt only: an earlier attempt is timed by its own span', async () => {
    // One client call (an SDK retrying after a 503): the first attempt fails at 20 ms, the second answers.
    const t = traceId(9);
    const client = { ...clientSpan(t, 0, 150), firstTokenNs: EPOCH_NS + 60_000_000n };
    const failed = requestSpan(t, 5, 20, { parent: client.spanId, error: true, attributes: { [ATTR.TOKENS_OUTPUT]: 0 } });
    const answered = requestSpan(t, 30, 140, { parent: client.spanId, attributes: { [ATTR.TOKENS_OUTPUT]: 9 } });
    const { requests } = await assemble([client, failed, answered, phaseSpan(t, failed.spanId, 'queue', 5, 20), phaseSpan(t, answered.spanId, 'prefill', 30, 55)]);
    expect(requests).toHaveLength(2);
    const first = requests.find((r) => r.requestSpanId === failed.spanId)!;
    const last = requests.find((r) => r.requestSpanId === answered.spanId)!;
    // The client's 150 ms and its first token belong to the call that answered, not to both attempts.
    expect(last).toMatchObject({ hasClient: true });
    expect(last.e2eMs).toBeCloseTo(150, 9);
    expect(last.ttftMs).toBeCloseTo(60, 9);
    expect(last.phases.network).toBeCloseTo(40, 9);
    expect(first).toMatchObject({ hasClient: false, error: true });
    expect(first.e2eMs).toBeCloseTo(15, 9);
    expect(first.ttftMs).toBeUndefined();
    expect(first.phases.network).toBeUndefined();
  });
  it('reads numeric and boolean attributes written as strings (Zipkin tags)', async () => {
    const t = traceId(9);
    const req = requestSpan(t, 0, 10, { attributes: { [ATTR.CACHE_HIT]: 'true', [ATTR.REQUEST_SIZE]: '2048', [ATTR.INPUT_HASH]: 'ab12' } });
    const { requests } = await assemble([req, phaseSpan(t, req.spanId, 'compute', 0, 10, { [ATTR.BATCH_SIZE]: '8' })]);
    const r = only(requests);
    expect(r.cacheHit).toBe(true);
    expect(r.requestBytes).toBe(2048);
    expect(r.batchSize).toBe(8);
    expect(r.inputHash).toBe('ab12');
  });
});

describe('assembleRequests: broken and awkward input', () => {
  it('counts orphan spans and phase spans with no request above them, and still times the request', async () => {
    const t = traceId(10);
    const req = requestSpan(t, 0, 20);
    const orphanPhase = phaseSpan(t, 'ffffffffffffffff', 'compute', 0, 5);
    const { requests, stats } = await assemble([req, orphanPhase, phaseSpan(t, req.spanId, 'compute', 0, 10)]);
    const r = only(requests);
    expect(r.phases.compute).toBeCloseTo(10, 9);
    expect(stats.orphanSpans).toBe(1);
    expect(stats.unattachedPhaseSpans).toBe(1);
  });

  it('counts a duplicated span once', async () => {
    const t = traceId(11);
    const req = requestSpan(t, 0, 20);
    const compute = phaseSpan(t, req.spanId, 'compute', 0, 10);
    const { requests, stats } = await assemble([req, compute, { ...compute }, { ...req }]);
    const r = only(requests);
    expect(r.phases.compute).toBeCloseTo(10, 9);
    expect(stats.duplicateSpans).toBe(2);
  });

  it('keeps spans whose ids differ only before their last two characters (not duplicates)', async () => {
    const t = traceId(23);
    const req = requestSpan(t, 0, 40);
    const first = phaseSpan(t, req.spanId, 'compute', 0, 10);
    const second = phaseSpan(t, req.spanId, 'compute', 20, 30);
    const { requests, stats } = await assemble([req, { ...first, spanId: '1aaaaaaaaaaaaa01' }, { ...second, spanId: '2aaaaaaaaaaaaa01' }]);
    expect(stats.duplicateSpans).toBe(0);
    expect(only(requests).phases.compute).toBeCloseTo(20, 9);
  });

  it('takes a span naming itself as its parent for a root, also right after a sibling that names it', async () => {
    const t = traceId(24);
    const req = requestSpan(t, 0, 40);
    const self = span({ trace: t, id: 'abcabcabcabc0001', parent: 'abcabcabcabc0001', start: 0, end: 10 });
    const under = phaseSpan(t, self.spanId, 'compute', 0, 10);
    const { requests, stats } = await assemble([req, under, self]);
    only(requests);
    // Two roots (the request span and the self-named span, no orphan): a trace in two pieces,
    // the phase span under the one without a request.
    expect(stats.orphanSpans).toBe(0);
    expect(stats.fragmentedTraces).toBe(1);
    expect(stats.fragmentPieces).toBe(2);
    expect(stats.unattachedPhaseSpans).toBe(1);
  });

  it('keeps Zipkin shared client/server halves (same id, different kind) as two spans', async () => {
    const t = traceId(12);
    const root = span({ trace: t, start: 0, end: 200, name: 'frontend' });
    const id = 'abcdefabcdef0001';
    const client = clientSpan(t, 10, 110, { id, parent: root.spanId });
    // The server half repeats the client's id and parent, marked shared.
    const server = requestSpan(t, 20, 100, { id, parent: root.spanId, shared: true });
    const compute = phaseSpan(t, id, 'compute', 20, 100);
    const { requests, stats } = await assemble([root, client, server, compute]);
    const r = only(requests);
    expect(stats.duplicateSpans).toBe(0);
    expect(r.hasClient).toBe(true);
    expect(r.e2eMs).toBeCloseTo(100, 9);
    expect(r.phases.network).toBeCloseTo(20, 9);
    expect(r.phases.compute).toBeCloseTo(80, 9);
  });

  it('drops spans that end before they start', async () => {
    const t = traceId(13);
    const req = requestSpan(t, 0, 20);
    const { requests, stats } = await assemble([req, phaseSpan(t, req.spanId, 'compute', 10, 5)]);
    expect(only(requests).phases.compute).toBeUndefined();
    expect(stats.invalidSpans).toBe(1);
  });

  it('merges one trace split across batches from different files (client side and server side)', async () => {
    const t = traceId(14);
    const client = clientSpan(t, 0, 60);
    const req = requestSpan(t, 5, 55, { parent: client.spanId });
    const assembler = new RequestAssembler();
    assembler.add([req, phaseSpan(t, req.spanId, 'compute', 5, 55)]);
    assembler.add([client]);
    const r = only(assembler.finish().requests.rows());
    expect(r.hasClient).toBe(true);
    expect(r.phases.network).toBeCloseTo(10, 9);
  });

  it('a trace without request spans goes to the generic report, not to requests', async () => {
    const t = traceId(15);
    const root = span({ trace: t, start: 0, end: 10, name: 'GET /' });
    const { requests, generic, stats } = await assemble([root, span({ trace: t, parent: root.spanId, start: 2, end: 6, name: 'db' })]);
    expect(requests).toHaveLength(0);
    expect(stats.traces).toBe(1);
    expect(generic.report().spans).toBe(2);
  });
});

describe('RequestAssembler: bounded memory', () => {
  it('closes complete traces (root in, every parent present) after the short window; more spans before that reopen them', () => {
    const assembler = new RequestAssembler({ idleSpans: 10_000, completeIdleSpans: 20 });
    const t = traceId(500);
    const client = clientSpan(t, 0, 30);
    const req = requestSpan(t, 2, 28, { parent: client.spanId });
    // Children first, root last: as exporters write spans when they end.
    assembler.add([phaseSpan(t, req.spanId, 'compute', 5, 25), req, client]);
    // A straggler inside the short window is still taken.
    assembler.add([phaseSpan(t, req.spanId, 'postprocess', 25, 27)]);
    // An incomplete trace (its parent is elsewhere) stays in the long window.
    const partial = traceId(501);
    const orphan = phaseSpan(partial, 'abababababababab', 'compute', 0, 5);
    assembler.add([orphan]);
    for (let i = 0; i < 60; i++) assembler.add([span({ trace: traceId(600 + i), start: i, end: i + 1 })]);
    // Past the short window: the complete trace is closed, a later span for it is late;
    // the partial trace is still open and takes its late-coming parent.
    assembler.add([phaseSpan(t, req.spanId, 'serialize', 27, 28)]);
    assembler.add([requestSpan(partial, 0, 10, { id: 'abababababababab' })]);
    const { stats, ...finished } = assembler.finish();
    const requests = finished.requests.rows();
    expect(stats.lateSpans).toBe(1);
    const first = requests.find((r) => r.traceId === t)!;
    expect(first.phases).toMatchObject({ compute: 20, postprocess: 2 });
    expect(first.phases.serialize).toBeUndefined();
    expect(requests.find((r) => r.traceId === partial)!.phases.compute).toBeCloseTo(5, 9);
  });

  it('keeps a parent-first trace complete as its children come, and reopens it when a span names a parent not yet in', () => {
    const assembler = new RequestAssembler({ idleSpans: 10_000, completeIdleSpans: 20 });
    // Parents first (as sorted documents list them): complete after every span.
    const done = traceId(510);
    const doneReq = requestSpan(done, 0, 30);
    assembler.add([doneReq, phaseSpan(done, doneReq.spanId, 'compute', 5, 25), phaseSpan(done, doneReq.spanId, 'postprocess', 25, 27)]);
    // Complete, then a span whose parent comes much later: incomplete again, so it waits in the long window.
    const waiting = traceId(511);
    const waitingReq = requestSpan(waiting, 0, 30);
    const middle = spanIdOf(9);
    assembler.add([waitingReq, phaseSpan(waiting, waitingReq.spanId, 'compute', 5, 25), span({ trace: waiting, id: spanIdOf(10), parent: middle, start: 26, end: 27 })]);
    for (let i = 0; i < 60; i++) assembler.add([span({ trace: traceId(900 + i), start: i, end: i + 1 })]);
    // Past the short window: the complete trace is closed (its straggler is late), the other still takes spans.
    assembler.add([phaseSpan(done, doneReq.spanId, 'serialize', 27, 28)]);
    assembler.add([span({ trace: waiting, id: middle, parent: waitingReq.spanId, start: 25, end: 28, attributes: { [ATTR.PHASE]: 'postprocess' } })]);
    const { stats, ...finished } = assembler.finish();
    const requests = finished.requests.rows();
    expect(stats.lateSpans).toBe(1);
    expect(requests.find((r) => r.traceId === done)!.phases).toEqual({ compute: 20, postprocess: 2 });
    expect(requests.find((r) => r.traceId === waiting)!.phases).toMatchObject({ compute: 20, postprocess: 3 });
    expect(stats.orphanSpans).toBe(0);
  });

  it('finalizes idle traces while reading, and counts a span arriving after its trace was finalized', () => {
    const assembler = new RequestAssembler({ idleSpans: 40 });
    const first = traceId(100);
    const firstReq = requestSpan(first, 0, 10);
    assembler.add([firstReq]);
    for (let i = 0; i < 200; i++) {
      const t = traceId(1000 + i);
      const req = requestSpan(t, i, i + 5);
      assembler.add([req, phaseSpan(t, req.spanId, 'compute', i, i + 5)]);
      // Open traces stay bounded by the idle window, whatever the input size.
      expect(assembler.openTraces).toBeLessThanOrEqual(40 / 2 + 40 / 16 + 2);
    }
    assembler.add([phaseSpan(first, firstReq.spanId, 'compute', 0, 5)]);
    const { stats, ...finished } = assembler.finish();
    const requests = finished.requests.rows();
    expect(requests).toHaveLength(201);
    expect(stats.lateSpans).toBe(1);
    expect(requests.find((r) => r.traceId === first)!.phases.compute).toBeUndefined();
  });

  it('remembers the last rememberFinalized trace ids, forgetting the oldest first', () => {
    // Each trace is one root span: complete at once, and finalized when the next span comes.
    const assembler = new RequestAssembler({ idleSpans: 1_000, completeIdleSpans: 2, rememberFinalized: 3 });
    const roots = Array.from({ length: 8 }, (_, i) => requestSpan(traceId(700 + i), i, i + 1));
    for (const root of roots) assembler.add([root]);
    const late = (i: number): SpanRecord => phaseSpan(traceId(700 + i), roots[i]!.spanId, 'compute', i, i + 1);
    // Traces 0 … 6 are finalized; 4, 5 and 6 are remembered: their spans are late.
    assembler.add([late(6), late(5), late(4)]);
    // 3 was forgotten: its span opens a new trace, and that span finalizes 7, which pushes out 4.
    assembler.add([late(3), late(4)]);
    const { stats, ...finished } = assembler.finish();
    const requests = finished.requests.rows();
    expect(stats.lateSpans).toBe(3);
    // The spans of 3 and 4 in their new traces: no request span above them.
    expect(stats.unattachedPhaseSpans).toBe(2);
    expect(requests).toHaveLength(8);
  });

  it('takes a rememberFinalized below 1 as none and a fraction rounded up, as it always did', () => {
    const late = (remember: number): number => {
      const assembler = new RequestAssembler({ idleSpans: 1_000, completeIdleSpans: 2, rememberFinalized: remember });
      const roots = Array.from({ length: 4 }, (_, i) => requestSpan(traceId(800 + i), i, i + 1));
      for (const root of roots) assembler.add([root]);
      // Traces 0 … 2 are finalized; a span of 2 is late when 2 is remembered.
      assembler.add([phaseSpan(traceId(802), roots[2]!.spanId, 'compute', 2, 3)]);
      return assembler.finish().stats.lateSpans;
    };
    expect(late(-1)).toBe(0);
    expect(late(0)).toBe(0);
    expect(late(0.5)).toBe(1);
    expect(late(1.5)).toBe(1);
  });
});

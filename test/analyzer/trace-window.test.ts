/**
 * The trace window over the span store: each trace reaches `finalize` once, with its spans in
 * arrival order; slots of finalized traces and late spans are reused, so streaming many traces
 * keeps the store at the size of the window, not of the input; and trace ids that share their
 * last characters (one entry of the window's lookup cache) stay apart.
 */
import { describe, expect, it } from 'vitest';
import { SPAN_BIT, SpanStore } from '../../src/analyzer/_span-store.js';
import { TraceWindow } from '../../src/analyzer/_trace-window.js';

interface Finalized {
  readonly traceId: string;
  readonly ids: string[];
}

function harness(options: { idleSpans?: number; completeIdleSpans?: number; rememberFinalized?: number } = {}) {
  const store = new SpanStore(16);
  const stats = { spans: 0, lateSpans: 0 };
  const finalized: Finalized[] = [];
  const window = new TraceWindow(options, stats, store, (traceId, head, count) => {
    const ids: string[] = [];
    for (let k = 0, slot = head; k < count; k++, slot = store.next[slot]!) ids.push(store.ids[slot]!);
    finalized.push({ traceId, ids });
  });
  const place = (traceId: string, id: string, parent?: string, bits = 0): void => {
    const slot = store.alloc();
    store.ids[slot] = id;
    store.parents[slot] = parent;
    store.names[slot] = 'op';
    store.services[slot] = 'svc';
    store.attributes[slot] = undefined;
    store.kinds[slot] = 1;
    store.phases[slot] = -1;
    store.bits[slot] = bits;
    store.starts[slot] = 0;
    store.ends[slot] = 1;
    store.batchSizes[slot] = NaN;
    store.firstTokens[slot] = NaN;
    // A fresh string per span, as a reader makes it.
    window.place((' ' + traceId).slice(1), slot);
  };
  return { store, stats, finalized, window, place };
}

describe('TraceWindow over a SpanStore', () => {
  it('hands each trace its spans in arrival order and reuses the slots of finalized traces', () => {
    const { store, finalized, window, place } = harness({ idleSpans: 1_000, completeIdleSpans: 40 });
    const traces = 20_000;
    // Two traces interleaved at a time, children first and the root last (as exporters write them).
    for (let t = 0; t < traces; t += 2) {
      for (const u of [t, t + 1]) place(`trace-${u}`, `${u}-c1`, `${u}-root`);
      for (const u of [t, t + 1]) place(`trace-${u}`, `${u}-c2`, `${u}-root`);
      for (const u of [t, t + 1]) place(`trace-${u}`, `${u}-root`);
    }
    window.flush();
    expect(finalized).toHaveLength(traces);
    expect(finalized[0]).toEqual({ traceId: 'trace-0', ids: ['0-c1', '0-c2', '0-root'] });
    expect(finalized.every((f) => f.ids.length === 3 && f.ids[2] === `${f.traceId.slice(6)}-root`)).toBe(true);
    // 60 000 spans went through; the store only ever held the complete window's worth (≤ 40 + a trace).
    expect(store.next.length).toBeLessThanOrEqual(64);
  });

  it('drops a late span and frees its slot; a forgotten trace id opens a new trace', () => {
    const { store, stats, finalized, window, place } = harness({ idleSpans: 4, completeIdleSpans: 2, rememberFinalized: 2 });
    // Ids of three characters or more, each its own cache entry, so a stale entry would be found.
    place('aaa', 'a-root');
    place('bbb', 'b-root');
    place('ccc', 'c-root');
    place('aaa', 'a-late', 'a-root');
    expect(stats.lateSpans).toBe(1);
    place('ddd', 'd-root');
    place('eee', 'e-root');
    // 'aaa' is no longer remembered (two later traces were finalized): its span opens a new trace.
    place('aaa', 'a-again');
    window.flush();
    expect(finalized.map((f) => f.traceId)).toEqual(['aaa', 'bbb', 'ccc', 'ddd', 'eee', 'aaa']);
    expect(finalized.map((f) => f.ids.join())).toEqual(['a-root', 'b-root', 'c-root', 'd-root', 'e-root', 'a-again']);
    expect(store.next.length).toBe(16);
  });

  it('finds every open trace among thousands (its index grown, handles reused) and each remembered one as late', () => {
    const { stats, finalized, window, place } = harness({ idleSpans: 20_000, completeIdleSpans: 20_000, rememberFinalized: 100_000 });
    const open = 3_000;
    const id = (t: number): string => (t * 2654435761).toString(16).padStart(32, '0').slice(-32);
    // 3 000 traces open at once, touched round-robin (most lookups miss the small cache), then
    // the window moves on and the same ids come back late; then a second 3 000 reuse the handles.
    for (let round = 0; round < 3; round++) for (let t = 0; t < open; t++) place(id(t), `${t}-${round}`, round === 0 ? undefined : `${t}-0`);
    for (let t = 0; t < 12_000; t++) place(id(open + t), `${open + t}-0`);
    for (let t = 0; t < open; t++) place(id(t), `${t}-late`, `${t}-0`);
    const second = 100_000;
    for (let round = 0; round < 2; round++) for (let t = second; t < second + open; t++) place(id(t), `${t}-${round}`, round === 0 ? undefined : `${t}-0`);
    window.flush();
    expect(stats.lateSpans).toBe(open);
    const byTrace = new Map(finalized.map((f) => [f.traceId, f.ids]));
    expect(byTrace.size).toBe(finalized.length);
    for (let t = 0; t < open; t++) expect(byTrace.get(id(t))).toEqual([`${t}-0`, `${t}-1`, `${t}-2`]);
    for (let t = second; t < second + open; t++) expect(byTrace.get(id(t))).toEqual([`${t}-0`, `${t}-1`]);
  });

  it("holds a client span's trace open until its request span is in: the server's spans come far later", () => {
    const { stats, finalized, window, place } = harness({ idleSpans: 1_000, completeIdleSpans: 4 });
    // A client span alone (the client's export), then many complete traces, then the server's
    // spans of it (its export, far later): not late.
    place('trace-c', 'c-client', undefined, SPAN_BIT.CLIENT);
    for (let k = 0; k < 100; k++) place(`filler-${k}`, `f-${k}`);
    expect(finalized.map((f) => f.traceId)).not.toContain('trace-c');
    place('trace-c', 'c-request', 'c-client', SPAN_BIT.REQUEST);
    place('trace-c', 'c-compute', 'c-request');
    // Complete now: the short window closes it.
    for (let k = 100; k < 110; k++) place(`filler-${k}`, `f-${k}`);
    expect(finalized.find((f) => f.traceId === 'trace-c')?.ids).toEqual(['c-client', 'c-request', 'c-compute']);
    // A client span whose request span never comes still leaves after the idle window.
    place('trace-d', 'd-client', undefined, SPAN_BIT.CLIENT);
    for (let k = 0; k < 1_100; k++) place(`more-${k}`, `m-${k}`);
    expect(finalized.find((f) => f.traceId === 'trace-d')?.ids).toEqual(['d-client']);
    expect(stats.lateSpans).toBe(0);
  });

  it('keeps traces apart whose ids end alike (one cache entry)', () => {
    const { finalized, window, place } = harness();
    const ids = ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'.slice(0, 29) + 'def', 'ffffffffffffffffffffffffffffcdef'];
    for (let round = 0; round < 3; round++) for (const t of ids) place(t, `${t.slice(0, 4)}-${round}`);
    window.flush();
    expect(finalized.map((f) => f.ids)).toEqual(ids.map((t) => [0, 1, 2].map((round) => `${t.slice(0, 4)}-${round}`)));
  });

  it('holds a trace open while a parent id matches a span id only in its length and last characters', () => {
    const { finalized, window, place } = harness({ idleSpans: 1_000, completeIdleSpans: 4 });
    // Rooted, but its child names a parent ('1…01') that is not the root ('2…01'): incomplete.
    place('trace-x', 'x-child', '1aaaaaaaaaaaaa01');
    place('trace-x', '2aaaaaaaaaaaaa01');
    // Complete (a lone root), then a span whose parent is missing in the same way: incomplete again.
    place('trace-y', '2bbbbbbbbbbbbb01');
    place('trace-y', 'y-child', '1bbbbbbbbbbbbb01');
    // Complete one-span traces: the short window closes them while both traces above stay open.
    for (let k = 0; k < 12; k++) place(`filler-${k}`, `f-${k}`);
    expect(finalized.map((f) => f.traceId)).not.toContain('trace-x');
    expect(finalized.map((f) => f.traceId)).not.toContain('trace-y');
    window.flush();
    expect(finalized.map((f) => f.traceId)).toContain('trace-x');
  });
});

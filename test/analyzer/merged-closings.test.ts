/**
 * Several Triton trace files analysed together (a server's log-frequency rotations, several
 * servers): each reader's closing of a trace is passed on through the merge by time, so the
 * Triton convention maps each trace once no input holds more of it, not all of them at the end
 * of input (or at the 50 000-trace bound). The analysis stays the full reader's, every figure
 * (also test/formats/equivalence.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/files.js';
import { MergedClosings } from '../../src/analyzer/_merged-closings.js';
import { ConventionMapper } from '../../src/analyzer/conventions/index.js';
import { closedTraces, markClosedTraces, setTraceHolder } from '../../src/formats/_closed-traces.js';
import { tritonNamespace } from '../../src/formats/triton-trace.js';
import type { SpanRecord } from '../../src/model/span.js';
import { renderJson } from '../../src/report/json.js';
import { tempDir } from '../formats/helpers.js';
import { span } from './_spans.js';
import { tracesOf, tritonWrites } from '../support/triton-busy.js';
import type { TemplateRecord } from '../support/triton-busy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => {
  vi.restoreAllMocks();
});

const serving = (name: string): TemplateRecord[] => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/serving/${name}`, import.meta.url)), 'utf8')) as TemplateRecord[];

describe('a server’s log-frequency rotations analysed together', () => {
  // Short traces (Triton's example, the ensemble fixture) written as Triton writes them, a file per 2 000 traces.
  const templates = ['triton_trace_v2_docs_example.json', 'triton-trace-v2-grpc-ensemble.synthetic.json'].flatMap((name) => tracesOf(serving(name)));
  const { records, starts } = tritonWrites(templates, 8_000, 21);
  const files = [0, 1, 2, 3].map((k) => {
    const from = starts[k * 2_000]!;
    const to = k === 3 ? records.length : starts[(k + 1) * 2_000]!;
    return tmp.write(`trace.json.${k}`, `[${records.slice(from, to).join(',')}]`);
  });

  it('maps each trace before the end of input, holding about a reader batch’s traces at most, and gives the full reader’s analysis', async () => {
    let held = 0;
    let marked = 0;
    const map = ConventionMapper.prototype.map;
    vi.spyOn(ConventionMapper.prototype, 'map').mockImplementation(function (this: ConventionMapper, batch: readonly SpanRecord[]) {
      if ((closedTraces(batch)?.length ?? 0) > 0) marked++;
      const out = map.call(this, batch);
      // The traces the mapper waits on: those it was given less those it handed on (a request span each).
      held = Math.max(held, (this as unknown as { held: Map<string, unknown> }).held.size);
      return out;
    });
    const fast = renderJson(await analyzeFiles(files, { diagnose: false }));
    const [fastHeld, fastMarked] = [held, marked];
    held = 0;
    const full = renderJson(await analyzeFiles(files, { reader: 'full', diagnose: false }));
    expect(JSON.parse(fast).traces).toBe(8_000);
    expect(fast).toBe(full);
    // Closings come with the readers' batches (2 048 spans, about 1 000 of these traces) and pass on with each trace's last span: one batch's traces held at most (a few, in fact).
    expect(fastMarked).toBeGreaterThanOrEqual(files.length);
    expect(fastHeld).toBeLessThan(1_500);
    // The full reader's batches carry no closing: every trace waited to the end.
    expect(held).toBe(8_000);
  }, 120_000);
});

describe('MergedClosings', () => {
  const a = '/srv/a/trace.json.0';
  const b = '/srv/a/trace.json.1';
  const other = '/srv/b/trace.json';
  const trace = (file: string, root: number): string => tritonNamespace(file) + (root + 1).toString(16).padStart(16, '0');
  const batch = (closes: readonly string[], holds?: (t: string) => boolean): SpanRecord[] => {
    const out: SpanRecord[] = [];
    markClosedTraces(out, closes);
    if (holds !== undefined) setTraceHolder(out, holds);
    return out;
  };

  /** Input `i`'s reader gives `b`, whose last span goes into the unit being filled. */
  const give = (closings: MergedClosings, i: number, b: readonly SpanRecord[]): void => closings.closed(i, closings.read(i, b));

  /** Hands input `i`'s whole unit of `spans` on in one chunk. */
  const handOn = (closings: MergedClosings, i: number, spans: readonly SpanRecord[] = []): readonly string[] => {
    closings.unit(i, spans);
    return closings.chunk(i, spans.length);
  };

  it('passes a trace on with the chunk that hands on its last span, when no other input holds it', () => {
    const closings = new MergedClosings([a, b, other], true);
    give(closings, 0, batch([trace(a, 1)], (t) => t === trace(a, 1)));
    give(closings, 1, batch([], (t) => t === trace(b, 9)));
    give(closings, 2, batch([], () => false));
    closings.unit(0, [span({ trace: trace(a, 1), start: 0, end: 1 }), span({ trace: trace(a, 1), start: 1, end: 2 })]);
    expect(closings.chunk(0, 1)).toEqual([]);
    expect(closings.chunk(0, 2)).toEqual([trace(a, 1)]);
  });

  it('a unit that ends several batches passes on each closing where the unit, sorted, holds its trace’s last span; a trace it holds none of, at once', () => {
    const closings = new MergedClosings([a, b], true);
    const [early, late, gone] = [trace(a, 1), trace(a, 2), trace(a, 3)];
    give(closings, 1, batch([], () => false));
    give(closings, 0, batch([late], () => true));
    give(closings, 0, batch([early, gone], () => true));
    closings.unit(0, [span({ trace: early, start: 0, end: 1 }), span({ trace: late, start: 1, end: 2 }), span({ trace: early, start: 2, end: 3 }), span({ trace: late, start: 3, end: 4 })]);
    expect(closings.chunk(0, 1)).toEqual([gone]);
    expect(closings.chunk(0, 3)).toEqual([early]);
    expect(closings.chunk(0, 4)).toEqual([late]);
  });

  it('a trace two inputs hold waits for both to close it, or for the other to end', () => {
    const closings = new MergedClosings([a, b], true);
    const shared = trace(a, 1);
    give(closings, 0, batch([shared], () => true));
    give(closings, 1, batch([], () => true));
    expect(handOn(closings, 0)).toEqual([]);
    give(closings, 1, batch([shared], () => true));
    expect(handOn(closings, 1)).toEqual([shared]);
    give(closings, 0, batch([trace(a, 2)], () => true));
    expect(handOn(closings, 0)).toEqual([]);
    closings.ended(1);
    expect(closings.chunk(0, 0)).toEqual([trace(a, 2)]);
  });

  it('an input whose reader says nothing (parsed whole) may hold any trace of its server, none of another’s', () => {
    const closings = new MergedClosings([a, b, other], true);
    give(closings, 0, batch([trace(a, 1)], () => true));
    give(closings, 1, batch([]));
    give(closings, 2, batch([]));
    expect(handOn(closings, 0)).toEqual([]);
    closings.ended(1);
    expect(closings.chunk(2, 0)).toEqual([trace(a, 1)]);
  });

  it('a closing waiting on an input that said nothing yet is passed on once that input’s reader says it holds none of the trace', () => {
    const closings = new MergedClosings([a, b], true);
    give(closings, 0, batch([trace(a, 1)], () => true));
    // Input 1 (the same server's rotation) has given nothing: it might hold the trace.
    expect(handOn(closings, 0)).toEqual([]);
    // Its first batch comes with what it holds; the closing is passed on with the next chunk.
    closings.read(1, batch([], (t) => t === trace(b, 9)));
    expect(closings.chunk(1, 0)).toEqual([trace(a, 1)]);
  });

  it('passes nothing on unless every input is a Triton trace file (others’ spans pass the mapper at once)', () => {
    const closings = new MergedClosings([a, '/srv/client.jsonl'], false);
    give(closings, 0, batch([trace(a, 1)], () => true));
    expect(handOn(closings, 0)).toEqual([]);
  });
});

/**
 * @module formats/_triton-release
 * Internal. A large Triton trace file read twice, so that each request is let go of
 * once its last record is read rather than at the end of the file (an 84 MB file held every
 * request, 0.6 GB at its peak): a first pass (`streamTritonRecords` into a TritonIndex) keeps
 * only each request's last record and parent; the second (`releaseTritonRecords`) gathers each
 * request's records as TritonRequests does and makes its span once its last record is in and
 * every request whose first record came before it is out, so the spans and their batches are
 * exactly those of one reading. Knowing each request's last record, it also knows when a trace's
 * last request is out, and says so on the batch (`markClosedTraces`): the Triton convention then
 * maps that trace at once instead of holding it to the end of input. Given the analyzer's mapping
 * (`TritonRows`), the batches go to it instead, and come out as the rows it wrote (`MappedBatches`).
 */

import type { SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import type { Compression, OpenedFile } from './_bytes.js';
import { markClosedTraces, setTraceHolder } from './_closed-traces.js';
import { ScannedSpans } from './_scanned-spans.js';
import type { TraceHolder } from './_closed-traces.js';
import { rec, RecordScan } from './_triton-stream.js';
import type { RecordSink, TritonStreamEnd } from './_triton-stream.js';
import { TraceFormatError } from './errors.js';
import { noteTritonClock, nsOf, readParsedRecord, rootOf, skipRecord, TritonRequests, tritonNamespace, tritonRecord, tritonTraceId } from './triton-trace.js';
import type { TritonRecord, TritonRequest, TritonRows, TritonSpanSink } from './triton-trace.js';

/** The record `add` reads a parse into (read and taken at once). */
const parsed = tritonRecord();

/**
 * Request id → the index of its last record, with a Map's methods (those the readings use): in an
 * array for the ids Triton gives (whole numbers counted from 1 by each server), so that a record
 * costs a store and not a Map entry; other ids (negative, fractional, or far past the others) in
 * a Map. Its keys come in no particular order.
 */
export class LastRecords {
  /** Index + 1 of the last record of id k at k; 0 for none. */
  private dense = new Int32Array(1024);
  private denseCount = 0;
  private readonly sparse = new Map<number, number>();

  get size(): number {
    return this.denseCount + this.sparse.size;
  }

  get(id: number): number | undefined {
    if (Number.isInteger(id) && id >= 0 && id < this.dense.length) {
      const at = this.dense[id]!;
      if (at !== 0) return at - 1;
    }
    return this.sparse.size === 0 ? undefined : this.sparse.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, index: number): void {
    if (this.sparse.size > 0 && this.sparse.has(id)) {
      this.sparse.set(id, index);
      return;
    }
    if (Number.isInteger(id) && id >= 0 && index < 0x7fff_ffff) {
      // Grown as far as the ids counted so far make plausible (a lone huge id stays in the Map).
      if (id >= this.dense.length && id < Math.max(1 << 16, 8 * (this.size + 1))) {
        const wider = new Int32Array(Math.max(id + 1, 2 * this.dense.length));
        wider.set(this.dense);
        this.dense = wider;
      }
      if (id < this.dense.length) {
        if (this.dense[id] === 0) this.denseCount++;
        this.dense[id] = index + 1;
        return;
      }
    }
    this.sparse.set(id, index);
  }

  delete(id: number): void {
    if (Number.isInteger(id) && id >= 0 && id < this.dense.length && this.dense[id] !== 0) {
      this.dense[id] = 0;
      this.denseCount--;
      return;
    }
    this.sparse.delete(id);
  }

  *keys(): Generator<number> {
    const dense = this.dense;
    for (let id = 0; id < dense.length; id++) if (dense[id] !== 0) yield id;
    yield* this.sparse.keys();
  }
}

/**
 * A first pass over a Triton trace file: for each request id, the index of its last record and
 * its parent (what the second pass needs to let go of each request once its last record is read,
 * and to name its trace); the records that are not Triton's are skipped here, once.
 */
export class TritonIndex implements RecordSink {
  /** Request id → index of its last record. */
  readonly last = new LastRecords();
  /** Request id → its parent id (the last a record gave). */
  readonly parents = new Map<number, number>();
  /** With `strict`: the requests with a timestamp kept (the others are skipped when made spans). */
  private readonly timed: Set<number> | undefined;
  skippedRecords = 0;

  constructor(
    private readonly ctx: ReadContext,
    /** Count the requests that will have no timestamps (`untimed`): `--strict` fails on the first. */
    strict = false,
  ) {
    noteTritonClock(ctx);
    this.timed = strict ? new Set() : undefined;
  }

  get size(): number {
    return this.last.size;
  }

  /** Whether it reads the records' timestamps (with `strict`): else the scanner need not make them (`RecordScan`). */
  get readsStamps(): boolean {
    return this.timed !== undefined;
  }

  /** With `strict`, the requests that have no timestamp kept (each skipped when the spans are made); else 0. */
  get untimed(): number {
    return this.timed === undefined ? 0 : this.last.size - this.timed.size;
  }

  add(record: unknown, i: number): void {
    if (readParsedRecord(record, parsed)) return this.take(parsed, i);
    this.skippedRecords++;
    skipRecord(this.ctx, '', record, i);
  }

  commit(i: number): void {
    this.take(rec, i);
  }

  /** Notes record `i`: its request's last record so far, its parent, and (strict) whether it kept a timestamp, as TritonRequests.stamp keeps them. */
  private take(r: TritonRecord, i: number): void {
    this.last.set(r.id, i);
    if (r.parent !== undefined) this.parents.set(r.id, r.parent);
    if (this.timed === undefined) return;
    for (let k = 0; k < r.stamps; k++) {
      if (nsOf(r.values[k]) !== undefined) {
        this.timed.add(r.id);
        return;
      }
    }
  }

  drop(id: number): void {
    this.last.delete(id);
    this.parents.delete(id);
    this.timed?.delete(id);
  }

  /** The root of request `id`'s trace, as `TritonRequests.spans` finds it. */
  root(id: number): number {
    return rootOf(
      id,
      (r) => this.parents.get(r),
      (r) => this.last.has(r),
    );
  }
}

/**
 * The second pass: requests gathered as TritonRequests gathers them, each made a span once its
 * last record is read and every request whose first record came before it is out (so the spans
 * come in the order `spans` gives them). A trace whose requests are all out, root included, is
 * listed as closed at the span that ended it (`markClosedTraces`).
 */
class ReleasedRequests extends TritonRequests implements RecordSink {
  /** Request ids in the order of their first records, from `head` on not yet out. */
  private order: number[] = [];
  private head = 0;
  /** Requests whose last record was read, not yet out. */
  private readonly done = new Set<number>();
  /** Root id → its trace's requests not yet out. */
  private readonly remaining = new Map<number, number>();
  private readonly namespace: string;
  /** Spans made, not yet handed on, and how many were handed on before them. */
  private out: SpanRecord[] = [];
  private handed = 0;
  /** Traces closed: the count of spans made when each closed, and its trace id. */
  private closings: [number, string][] = [];
  /** Whether this file holds spans of a trace, told from the first reading (`setTraceHolder`). */
  private readonly holds: TraceHolder;

  constructor(
    ctx: ReadContext,
    where: string,
    private readonly index: TritonIndex,
  ) {
    super(ctx, where, false);
    this.namespace = tritonNamespace(ctx.file);
    for (const id of index.last.keys()) {
      const root = index.root(id);
      this.remaining.set(root, (this.remaining.get(root) ?? 0) + 1);
    }
    const namespace = this.namespace;
    // Roots with no records here (see `rootOf`); the others are roots of their own.
    const missing = new Set([...this.remaining.keys()].filter((root) => !index.last.has(root)));
    this.holds = (traceId) => {
      if (!traceId.startsWith(namespace) || traceId.length !== namespace.length + 16) return false;
      const root = Number.parseInt(traceId.slice(namespace.length), 16) - 1;
      return index.last.has(root) ? index.root(root) === root : missing.has(root);
    };
  }

  override request(id: number): TritonRequest {
    let request = this.requests.get(id);
    if (request === undefined) {
      request = { events: [] };
      this.requests.set(id, request);
      this.order.push(id);
    }
    return request;
  }

  override add(record: unknown, i: number): void {
    // Skipped once, by the first pass.
    if (readParsedRecord(record, parsed)) this.take(parsed, i);
  }

  commit(i: number): void {
    this.take(rec, i);
  }

  override take(r: TritonRecord, i: number): void {
    // A request left out (cut by the end of the file).
    if (!this.index.last.has(r.id)) return;
    super.take(r, i);
    this.recorded(r.id, i);
  }

  private recorded(id: number, i: number): void {
    if (this.index.last.get(id) !== i) return;
    this.done.add(id);
    if (this.order[this.head] === id) this.release(false);
  }

  /** Makes the spans of the requests done at the front of `order` (all of them at the end: `all`). */
  release(all: boolean): void {
    const { order, done, requests, index } = this;
    while (this.head < order.length && (all || done.has(order[this.head]!))) {
      const id = order[this.head++]!;
      done.delete(id);
      const request = requests.get(id)!;
      requests.delete(id);
      const root = index.root(id);
      this.span(id, request, this.namespace, root, this.out);
      const left = this.remaining.get(root)! - 1;
      if (left > 0) {
        this.remaining.set(root, left);
        continue;
      }
      this.remaining.delete(root);
      // Closed too when its root has no records here (see `rootOf`): held, it would hold every trace after it.
      this.closings.push([this.handed + this.out.length, tritonTraceId(this.namespace, root)]);
    }
    if (this.head > 4096 && this.head * 2 > order.length) {
      this.order = order.slice(this.head);
      this.head = 0;
    }
  }

  /** Takes batches of `batchSize` spans made so far (the rest too at the end: `last`), each marked with the traces closed by its end. */
  *batches(batchSize: number, last: boolean): Generator<SpanRecord[]> {
    for (const [batch, closed] of this.cut(batchSize, last)) {
      if (closed.length > 0) markClosedTraces(batch, closed);
      setTraceHolder(batch, this.holds);
      yield batch;
    }
  }

  /** Takes batches of `batchSize` spans made so far (the rest too at the end: `last`), each with the traces closed by its end. */
  *cut(batchSize: number, last: boolean): Generator<[SpanRecord[], string[]]> {
    while (this.out.length >= batchSize || (last && this.out.length > 0)) {
      const batch = this.out.length > batchSize ? this.out.splice(0, batchSize) : this.out;
      if (batch === this.out) this.out = [];
      this.handed += batch.length;
      let n = 0;
      while (n < this.closings.length && this.closings[n]![0] <= this.handed) n++;
      yield [batch, n > 0 ? this.closings.splice(0, n).map(([, traceId]) => traceId) : []];
    }
  }
}

/**
 * The spans of a Triton trace file (opened again by `open`, and decompressed again, if it is: `compression`) whose first pass (`streamTritonRecords` into
 * `index`) gave `read`, in batches of `batchSize`: the second pass over its records, each request
 * made a span as soon as its last record is read (and the requests before it are out), so what is
 * held is the requests still open, not all of them. The spans and batches are exactly those of
 * `TritonRequests.spans` cut by `inBatches`; a batch is marked with the traces it closes. The
 * records skipped and requests without timestamps are said in `ctx`, as one reading says them.
 */
export async function* releaseTritonRecords(
  file: string,
  open: () => Promise<OpenedFile>,
  compression: Compression,
  index: TritonIndex,
  read: Pick<TritonStreamEnd, 'records' | 'recordsEnd'>,
  ctx: ReadContext,
  where: string,
  batchSize: number,
  rows?: TritonRows,
): AsyncGenerator<SpanRecord[] | ScannedSpans> {
  const requests = new ReleasedRequests(ctx, where, index);
  const scan = new RecordScan(requests);
  const mapped = rows === undefined ? undefined : new MappedBatches(rows);
  for await (const chunk of contentChunks(file, open, compression, read.recordsEnd)) {
    if (!scan.chunk(chunk)) break;
    yield* mapped === undefined ? requests.batches(batchSize, false) : mapped.of(requests.cut(batchSize, false));
  }
  // A file rewritten between the two readings (a running server's is only appended to, past what was read).
  if (!scan.end() || scan.index !== read.records) throw changed(file);
  requests.release(true);
  if (mapped === undefined) {
    yield* requests.batches(batchSize, true);
    return;
  }
  yield* mapped.of(requests.cut(batchSize, true));
  yield* mapped.end();
}

/**
 * The spans' batches handed to a TritonSpanSink (the analyzer's mapping) and given on as the
 * rows it wrote, one ScannedSpans reused: each stands for its batch's spans (`inputSpans`), the
 * rows being those of the traces the sink mapped by its end.
 */
class MappedBatches {
  private readonly rows = new ScannedSpans();
  private readonly sink: TritonSpanSink;

  constructor(rows: TritonRows) {
    this.sink = rows(this.rows);
  }

  *of(batches: Iterable<[SpanRecord[], string[]]>): Generator<ScannedSpans> {
    for (const [batch, closed] of batches) {
      for (const span of batch) this.sink.add(span);
      if (closed.length > 0) this.sink.close(closed);
      yield* this.handed(batch.length);
    }
  }

  /** The rows of the traces still held at the end. */
  *end(): Generator<ScannedSpans> {
    this.sink.end();
    yield* this.handed(0);
  }

  private *handed(spans: number): Generator<ScannedSpans> {
    const rows = this.rows;
    if (rows.length === 0 && spans === 0 && rows.uses.length === 0) return;
    rows.inputSpans = spans;
    yield rows;
    rows.clear();
  }
}

/**
 * The first `bytes` bytes of a file's content, opened again (`open`; decompressed as the first
 * reading decompressed it: `compression`), in chunks each valid until the next is asked for.
 */
async function* contentChunks(file: string, open: () => Promise<OpenedFile>, compression: Compression, bytes: number): AsyncGenerator<Buffer> {
  const opened = await open();
  try {
    if (opened.compression !== compression) throw changed(file);
    let position = 0;
    for await (const chunk of opened.content.transientChunks()) {
      if (position >= bytes) return;
      const take = Math.min(chunk.length, bytes - position);
      position += take;
      yield take === chunk.length ? chunk : chunk.subarray(0, take);
    }
  } finally {
    await opened.content.close();
  }
}

function changed(file: string): TraceFormatError {
  return new TraceFormatError(file, '', 'the file unchanged while it is read', 'it changed between two readings');
}

/**
 * @module analyzer/_span-columns
 * Internal: span batches in columns, so a reader thread can hand spans to the assembler with
 * little copying (typed arrays are transferred, strings cloned). Also the one place that decides
 * what a span is under the convention (request, client, phase), for both paths.
 */
import type { AttributeValue, SpanKind, SpanRecord } from '../model/span.js';
import { ATTR, PHASES, isClientSpan } from '../semconv.js';
import type { Phase } from '../semconv.js';
import { NanosFrom } from './_trace-span.js';
import { SCANNED } from '../formats/_scanned-spans.js';
import type { ScannedSpans } from '../formats/_scanned-spans.js';

/** Span kinds by their column code. */
export const SPAN_KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const KIND_CODE = new Map<SpanKind, number>(SPAN_KINDS.map((k, i) => [k, i]));
const PHASE_BY_NAME = new Map<AttributeValue, Phase>(PHASES.map((p) => [p, p]));
const PHASE_CODE = new Map<Phase, number>(PHASES.map((p, i) => [p, i]));

/** Bits of SpanColumns.flags. */
export const FLAG = { REQUEST: 1, CLIENT: 2, SHARED: 4, ERROR: 8, INVALID: 16 } as const;

/** What the convention makes of one span. */
export interface SpanRole {
  readonly phase: Phase | undefined;
  readonly request: boolean;
  readonly client: boolean;
  readonly batchSize: number | undefined;
}

/** Phases whose spans carry `inference.batch.size`: compute, and decode (the steps a continuous batcher shares). */
export function carriesBatchSize(phase: Phase | undefined): boolean {
  return phase === 'compute' || phase === 'decode';
}

/** Where `batchSizeOf` counts the batch sizes it refused (AssemblyStats, or a batch of columns). */
export interface BatchSizeCounts {
  invalidBatchSizes: number;
}

/**
 * The batch size of a span of `phase` whose `inference.batch.size` is `value`; NaN for none. A
 * batch size counts requests: a positive integer, as a number or (Zipkin tags are strings) in
 * decimal digits. Anything else (0.5, 0, −3, "0x10", "1e3") is no batch size: the span counts as
 * carrying none, and `counts` says how many did (an analysis warning), instead of a mean batch of
 * 0.5 or 16 reaching the diagnosis. The one place both readers' spans are judged.
 */
export function batchSizeOf(phase: Phase | undefined, value: AttributeValue | undefined, counts: BatchSizeCounts): number {
  if (value === undefined || !carriesBatchSize(phase)) return NaN;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(n) && n >= 1) return n;
  counts.invalidBatchSizes++;
  return NaN;
}

/**
 * batchSizeOf for a span whose phase is given as its code (index into PHASES; −1 none), as the
 * byte scanner gives it. A span without a phase carries no batch size, and PHASES[−1] is no
 * array element: V8 looks "-1" up as a property name, along the prototype chain, each time
 * (about 90 ns, where an element costs a few).
 */
export function batchSizeOfCode(code: number, value: AttributeValue | undefined, counts: BatchSizeCounts): number {
  return code < 0 ? NaN : batchSizeOf(PHASES[code], value, counts);
}

/** A span kind's code (index into SPAN_KINDS). */
export function kindCode(kind: SpanKind): number {
  return KIND_CODE.get(kind) ?? 0;
}

/** A phase's code (index into PHASES). */
export function phaseCode(phase: Phase): number {
  return PHASE_CODE.get(phase)!;
}

/** The phase an `inference.phase` value names, if any. */
export function phaseByName(value: AttributeValue): Phase | undefined {
  return PHASE_BY_NAME.get(value);
}

/** Classifies a span under the span convention (docs/conventions.md), counting a refused batch size in `counts` (if given); `RequestAssembler.add` inlines the same rules. */
export function classify(record: SpanRecord, counts: BatchSizeCounts = { invalidBatchSizes: 0 }): SpanRole {
  const attributes = record.attributes;
  const phaseValue = attributes[ATTR.PHASE];
  const phase = phaseValue === undefined ? undefined : PHASE_BY_NAME.get(phaseValue);
  const client = isClientSpan(record.kind, attributes[ATTR.ROLE]);
  // A phase span that also names the model is still a phase span, not a nested request.
  const request = !client && phase === undefined && attributes[ATTR.MODEL_NAME] !== undefined;
  const batchSize = batchSizeOf(phase, attributes[ATTR.BATCH_SIZE], counts);
  return { phase, request, client, batchSize: Number.isNaN(batchSize) ? undefined : batchSize };
}

/**
 * A batch of spans as columns; times are ns relative to `originNs`. Repeated strings (trace ids,
 * names, services, parents outside the batch) are sent once per batch in `strings` and
 * referenced by index: receiving a batch from a thread costs per string, and the receiver then
 * holds one copy of each.
 */
export interface SpanColumns {
  readonly length: number;
  /** Decimal ns since epoch that `starts`/`ends` are relative to. */
  readonly originNs: string;
  /** The batch's distinct trace ids, names, services and outside parents. */
  readonly strings: string[];
  /** Index into `strings`. */
  readonly traceIds: Uint32Array;
  readonly ids: string[];
  /** The parent: ≥ 0 the span of that index in this batch, −1 none, ≤ −2 `strings[−2 − p]`. */
  readonly parents: Int32Array;
  /** Index into `strings`. */
  readonly names: Uint32Array;
  /** Index into `strings`. */
  readonly services: Uint32Array;
  /** Index into SPAN_KINDS. */
  readonly kinds: Uint8Array;
  readonly flags: Uint8Array;
  /** Index into PHASES, −1 for none. */
  readonly phases: Int8Array;
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  /** NaN for none. */
  readonly batchSizes: Float64Array;
  /** Spans of the batch whose batch size was refused (see `batchSizeOf`), for AssemblyStats. */
  invalidBatchSizes: number;
  /** Attributes of request and client spans; null elsewhere. */
  readonly attributes: (Readonly<Record<string, AttributeValue>> | null)[];
  /** First-token event time of request and client spans, relative ns; NaN for none. */
  readonly firstTokens: Float64Array;
}

/** The parent span id a SpanColumns row names, if any. */
export function parentOfRow(c: SpanColumns, i: number): string | undefined {
  const p = c.parents[i]!;
  return p >= 0 ? c.ids[p] : p === -1 ? undefined : c.strings[-2 - p];
}

/**
 * Turns a batch into columns relative to `origin`; returns them with the buffers to transfer.
 * An entry that is a number is that row of `scanned` (a span in our convention read straight
 * from the bytes: formats/_scanned-spans.ts), taken as its record would be.
 */
export function toColumns(records: readonly (SpanRecord | number)[], origin: bigint, scanned?: ScannedSpans): { columns: SpanColumns; transfer: ArrayBuffer[] } {
  const n = records.length;
  const columns: SpanColumns = {
    length: n,
    originNs: origin.toString(),
    strings: [],
    traceIds: new Uint32Array(n),
    ids: new Array<string>(n),
    parents: new Int32Array(n),
    names: new Uint32Array(n),
    services: new Uint32Array(n),
    kinds: new Uint8Array(n),
    flags: new Uint8Array(n),
    phases: new Int8Array(n),
    starts: new Float64Array(n),
    ends: new Float64Array(n),
    batchSizes: new Float64Array(n),
    invalidBatchSizes: 0,
    attributes: new Array<Readonly<Record<string, AttributeValue>> | null>(n),
    firstTokens: new Float64Array(n),
  };
  const table = new Map<string, number>();
  const intern = (text: string): number => {
    let k = table.get(text);
    if (k === undefined) {
      k = columns.strings.length;
      columns.strings.push(text);
      table.set(text, k);
    }
    return k;
  };
  const relative = new NanosFrom(origin);
  const rowOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const id = typeof r === 'number' ? scanned!.ids[r]! : r.spanId;
    columns.ids[i] = id;
    if (!rowOf.has(id)) rowOf.set(id, i);
  }
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    if (typeof r === 'number') {
      const s = scanned!;
      const parent = s.parents[r];
      const flags = s.flags[r]!;
      const request = (flags & SCANNED.REQUEST) !== 0;
      const client = (flags & SCANNED.CLIENT) !== 0;
      const phase = s.phases[r]!;
      columns.traceIds[i] = intern(s.traceIds[r]!);
      columns.parents[i] = parent === undefined || parent === '' ? -1 : (rowOf.get(parent) ?? -2 - intern(parent));
      columns.names[i] = intern(s.names[r]!);
      columns.services[i] = intern(s.services[r]!);
      columns.kinds[i] = s.kinds[r]!;
      columns.flags[i] = (request ? FLAG.REQUEST : 0) | (client ? FLAG.CLIENT : 0) | ((flags & SCANNED.ERROR) !== 0 ? FLAG.ERROR : 0);
      columns.phases[i] = phase;
      columns.starts[i] = relative.ofHalves(s.startHi[r]!, s.startLo[r]!);
      columns.ends[i] = relative.ofHalves(s.endHi[r]!, s.endLo[r]!);
      columns.batchSizes[i] = batchSizeOfCode(phase, s.batchValues[r], columns);
      columns.attributes[i] = request || client ? s.attributes[r]! : null;
      columns.firstTokens[i] = (flags & SCANNED.FIRST_TOKEN) !== 0 && (request || client) ? relative.ofHalves(s.firstHi[r]!, s.firstLo[r]!) : NaN;
      continue;
    }
    // A span ending before it starts is counted invalid and dropped, as `add` drops it before
    // reading a batch size: its batch size is not judged.
    const invalid = r.endNs < r.startNs;
    const role = classify(r, invalid ? undefined : columns);
    const parent = r.parentSpanId;
    columns.traceIds[i] = intern(r.traceId);
    columns.parents[i] = parent === undefined || parent === '' ? -1 : (rowOf.get(parent) ?? -2 - intern(parent));
    columns.names[i] = intern(r.name);
    columns.services[i] = intern(r.service);
    columns.kinds[i] = kindCode(r.kind);
    columns.flags[i] =
      (role.request ? FLAG.REQUEST : 0) | (role.client ? FLAG.CLIENT : 0) | (r.shared === true ? FLAG.SHARED : 0) | (r.error ? FLAG.ERROR : 0) | (invalid ? FLAG.INVALID : 0);
    columns.phases[i] = role.phase === undefined ? -1 : phaseCode(role.phase);
    columns.starts[i] = relative.of(r.startNs);
    columns.ends[i] = relative.of(r.endNs);
    columns.batchSizes[i] = role.batchSize ?? NaN;
    columns.attributes[i] = role.request || role.client ? r.attributes : null;
    columns.firstTokens[i] = (role.request || role.client) && r.firstTokenNs !== undefined ? relative.of(r.firstTokenNs) : NaN;
  }
  const transfer = [columns.traceIds, columns.parents, columns.names, columns.services, columns.kinds, columns.flags, columns.phases, columns.starts, columns.ends, columns.batchSizes, columns.firstTokens].map(
    (a) => a.buffer as ArrayBuffer,
  );
  return { columns, transfer };
}

/** Zipkin tags are strings: numeric attributes may arrive as "8". */
export function numeric(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * @module formats/_scanned-spans
 * Internal. A batch of spans as the byte-scanning OTLP reader (_otlp-fast.ts) hands them to the
 * analyzer when asked for it (`readSpanBatches`): spans in our own convention (phase, request and
 * client spans, which source conventions never touch) as rows of columns, read straight from the
 * bytes with no SpanRecord, no attributes object on phase spans and no BigInt per time; every
 * other span as its SpanRecord, in the same row order. Times are split in two exact doubles
 * (ns = hi·10⁹ + lo), so a difference from an origin is exact without BigInt while it stays
 * under 2⁵³ ns. `record(i)` gives a row back as the SpanRecord the reader would have made, for
 * the rare span the analyzer must still map (a trace a trace-scoped convention holds).
 */

import type { ConventionUse } from '../model/analysis.js';
import type { AttributeValue, SpanKind, SpanRecord } from '../model/span.js';
import { ATTR, PHASES } from '../semconv.js';
import type { SpanDraft } from './_shared.js';

/** Bits of ScannedSpans.flags (FIRST_TOKEN: the row has a first-token time, `firstHi`/`firstLo`). */
export const SCANNED = { REQUEST: 1, CLIENT: 2, ERROR: 4, FIRST_TOKEN: 8 } as const;

/** Span kinds by code (OTLP's enum order). */
export const SCANNED_KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/** The attributes a phase row keeps (besides its phase), in the order PHASE_SPAN_ATTRIBUTES lists them. */
const PHASE_ROW_KEYS = [ATTR.PHASE, ATTR.ROLE, ATTR.MODEL_NAME, ATTR.BATCH_SIZE] as const;

const NS = 1_000_000_000n;

/** ns as a BigInt from its two exact halves. */
export function nanosOf(hi: number, lo: number): bigint {
  return BigInt(hi) * NS + BigInt(lo);
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Writes `ns` (0 … MAX_TIME_NS) into `hi[i]` and `lo[i]` as two exact halves, ns = hi·10⁹ + lo, as the scanner reads a time's digits. */
export function setHalves(hi: Float64Array, lo: Float64Array, i: number, ns: bigint): void {
  if (ns > SAFE) {
    hi[i] = Number(ns / NS);
    lo[i] = Number(ns % NS);
    return;
  }
  // Exact: the integer below 2⁵³, its quotient floored and corrected for the division's rounding.
  const n = Number(ns);
  let h = Math.floor(n / 1e9);
  let l = n - h * 1e9;
  if (l < 0) {
    h--;
    l += 1e9;
  } else if (l >= 1e9) {
    h++;
    l -= 1e9;
  }
  hi[i] = h;
  lo[i] = l;
}

/** Rows of one batch; columns grow as rows are added. */
export class ScannedSpans {
  length = 0;
  /** Rows that are not SpanRecords. */
  direct = 0;
  /** The row's SpanRecord (a span outside our convention), or undefined for a row in columns. */
  readonly records: (SpanRecord | undefined)[] = [];
  readonly traceIds: string[] = [];
  readonly ids: string[] = [];
  readonly parents: (string | undefined)[] = [];
  readonly names: string[] = [];
  readonly services: string[] = [];
  /** Attributes of request and client rows; null on phase rows. */
  readonly attributes: (Readonly<Record<string, AttributeValue>> | null)[] = [];
  /** `inference.batch.size` as read, if any (the assembler applies its rules). */
  readonly batchValues: (AttributeValue | undefined)[] = [];
  /** Phase rows without an attributes object: `inference.role` and `inference.model.name`, for `record`. */
  readonly roles: (AttributeValue | undefined)[] = [];
  readonly models: (AttributeValue | undefined)[] = [];
  /** Index into SCANNED_KINDS. */
  kinds: Uint8Array;
  /** SCANNED bits. */
  flags: Uint8Array;
  /** Index into PHASES; −1 none. */
  phases: Int8Array;
  /** Phase rows: the order their attributes were set in, base-5 digits of PHASE_ROW_KEYS indices + 1 (most significant first). */
  orders: Uint16Array;
  startHi: Float64Array;
  startLo: Float64Array;
  endHi: Float64Array;
  endLo: Float64Array;
  /** A request row's first-token time (SpanRecord.firstTokenNs) in the same halves, where SCANNED.FIRST_TOKEN is set. */
  firstHi: Float64Array;
  firstLo: Float64Array;
  /**
   * Requests a source convention made these rows from (a Triton trace file's, mapped as it is
   * read: formats/_triton-release.ts), for the mapper to count as if it had mapped them itself.
   */
  readonly uses: ConventionUse[] = [];
  /** Spans of the input the batch stands for, where its rows are not those spans (a Triton trace file's requests); undefined: `length`. */
  inputSpans: number | undefined;

  constructor(capacity = 2048) {
    this.kinds = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.phases = new Int8Array(capacity);
    this.orders = new Uint16Array(capacity);
    this.startHi = new Float64Array(capacity);
    this.startLo = new Float64Array(capacity);
    this.endHi = new Float64Array(capacity);
    this.endLo = new Float64Array(capacity);
    this.firstHi = new Float64Array(capacity);
    this.firstLo = new Float64Array(capacity);
  }

  /** Makes room for one more row; returns its index. */
  next(): number {
    const i = this.length;
    if (i === this.kinds.length) this.grow();
    return i;
  }

  /** Appends a SpanRecord row. */
  pushRecord(record: SpanRecord): void {
    const i = this.next();
    this.records[i] = record;
    this.length = i + 1;
  }

  /** Empties the batch for reuse (its consumer is done with it). */
  clear(): void {
    this.length = 0;
    this.direct = 0;
    this.uses.length = 0;
    this.inputSpans = undefined;
  }

  /** Drops rows past `length` (a line the reader gave up on). */
  truncate(length: number): void {
    for (let i = length; i < this.length; i++) if (this.records[i] === undefined) this.direct--;
    this.length = length;
  }

  /** The records of a batch with no column rows. */
  allRecords(): SpanRecord[] {
    return this.records.slice(0, this.length) as SpanRecord[];
  }

  /** Start of row `i`, ns since epoch. */
  startNs(i: number): bigint {
    return nanosOf(this.startHi[i]!, this.startLo[i]!);
  }

  /** Row `i` as the SpanRecord the reader makes of it when asked for records. */
  record(i: number): SpanRecord {
    const known = this.records[i];
    if (known !== undefined) return known;
    let attributes = this.attributes[i] ?? null;
    if (attributes === null) {
      const phaseAttributes: Record<string, AttributeValue> = {};
      const values = [PHASES[this.phases[i]!]!, this.roles[i], this.models[i], this.batchValues[i]];
      const digits: number[] = [];
      for (let order = this.orders[i]!; order > 0; order = Math.floor(order / 5)) digits.unshift((order % 5) - 1);
      for (const k of digits) phaseAttributes[PHASE_ROW_KEYS[k]!] = values[k]!;
      attributes = phaseAttributes;
    }
    const record: SpanDraft = {
      traceId: this.traceIds[i]!,
      spanId: this.ids[i]!,
      name: this.names[i]!,
      service: this.services[i]!,
      kind: SCANNED_KINDS[this.kinds[i]!]!,
      startNs: nanosOf(this.startHi[i]!, this.startLo[i]!),
      endNs: nanosOf(this.endHi[i]!, this.endLo[i]!),
      attributes: attributes as Record<string, AttributeValue>,
      error: (this.flags[i]! & SCANNED.ERROR) !== 0,
    };
    const parent = this.parents[i];
    if (parent !== undefined) record.parentSpanId = parent;
    if ((this.flags[i]! & SCANNED.FIRST_TOKEN) !== 0) record.firstTokenNs = nanosOf(this.firstHi[i]!, this.firstLo[i]!);
    return record;
  }

  private grow(): void {
    const size = this.kinds.length * 2;
    const wider = <T extends Uint8Array | Int8Array | Uint16Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.kinds = wider(this.kinds, (n) => new Uint8Array(n));
    this.flags = wider(this.flags, (n) => new Uint8Array(n));
    this.phases = wider(this.phases, (n) => new Int8Array(n));
    this.orders = wider(this.orders, (n) => new Uint16Array(n));
    this.startHi = wider(this.startHi, (n) => new Float64Array(n));
    this.startLo = wider(this.startLo, (n) => new Float64Array(n));
    this.endHi = wider(this.endHi, (n) => new Float64Array(n));
    this.endLo = wider(this.endLo, (n) => new Float64Array(n));
    this.firstHi = wider(this.firstHi, (n) => new Float64Array(n));
    this.firstLo = wider(this.firstLo, (n) => new Float64Array(n));
  }
}

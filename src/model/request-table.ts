/**
 * @module model/request-table
 * The per-request timings of a run held as columns: one typed array per numeric field, the text
 * fields as one index per request into the run's combinations of them (of indexes into one
 * dictionary), a flag byte per request. A run keeps every request until its summaries,
 * diagnosis and report are made; as one object per request (with its phase
 * object, its boxed numbers and its BigInt start) those rows were about 540 bytes each, and the
 * garbage collector walked every one of them on each collection while the file streamed. As
 * columns a request costs about 160 bytes on the bench's export and no object, and the stages
 * that read every request (measure, diagnose, timeline, device evidence) loop over typed arrays.
 * The builder's columns grow in place (model/_growing-column.ts) and the table takes them over
 * without a copy, so a run's requests are held once. Past SPILL_ROWS requests the cold columns
 * (all but starts, end-to-end times, text sets and flags: 21 of those bytes stay) go to a
 * temporary file a block at a time (model/_cold-columns.ts) and come back a column at a time
 * when the stages ask for one, so the table grows with the input by those 21 bytes a request.
 *
 * `row(i)` (and iterating the table) makes the RequestTiming object of one request when code
 * wants it whole; it is made on each call, so hot loops read the columns instead.
 */
import { PHASES } from '../semconv.js';
import type { Phase } from '../semconv.js';
import type { RequestTiming } from './request.js';
import { MAX_TIME_NS } from './span.js';
import { GrowingColumn } from './_growing-column.js';
import { HEX_CODES, HEX_VALUE } from './_hex-digits.js';
import { HIGH, LOW } from './_word-halves.js';
import type { ColumnArray, ColumnType, GrowingColumnOptions } from './_growing-column.js';
import { ColdColumns, ColdColumnsWriter } from './_cold-columns.js';
import type { ColdArray, ColdSpec } from './_cold-columns.js';
import { SpillFile } from './_spill-file.js';

/** Options of a RequestTableBuilder (see its constructor). */
export interface RequestTableBuilderOptions extends GrowingColumnOptions {
  readonly spillRows?: number;
  readonly collect?: () => void;
}

/** Text fields held as dictionary indexes (−1: absent). */
export const TABLE_TEXTS = ['service', 'model', 'modelVersion', 'runtime', 'runtimeProvider', 'precision', 'device', 'source'] as const;
/** A text field of the table. */
export type TableText = (typeof TABLE_TEXTS)[number];
/** Optional numeric fields (NaN: absent). */
export const TABLE_NUMBERS = ['batchSize', 'requestBytes', 'responseBytes', 'ttftMs', 'tokensIn', 'tokensOut', 'tokensCached'] as const;
/** An optional numeric field of the table. */
export type TableNumber = (typeof TABLE_NUMBERS)[number];

/** A module constant: read in startOffsetsOf without a property access that needs type feedback. */
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

const TEXT_INDEX = Object.fromEntries(TABLE_TEXTS.map((f, i) => [f, i])) as Record<TableText, number>;
/** Entries of one text set (Columns.textSets). */
const TEXT_FIELDS = TABLE_TEXTS.length;
const NUMBER_INDEX = Object.fromEntries(TABLE_NUMBERS.map((f, i) => [f, i])) as Record<TableNumber, number>;
const PHASE_INDEX = Object.fromEntries(PHASES.map((p, i) => [p, i])) as Record<Phase, number>;

/** Bits of `RequestTable.flags`. */
export const REQUEST_FLAG = { CLIENT: 1, NETWORK_DERIVED: 2, CLOCK_SKEW: 4, ERROR: 8 } as const;

/** `cacheHit` column values. */
const CACHE_ABSENT = -1;

/** Bytes of a packed trace id (128 bits, 32 hex digits) and span id (64 bits, 16). */
const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

/** Dictionary entries kept before values are stored without looking for an equal one (high-cardinality fields). */
const DICTIONARY_LIMIT = 10_000;

/**
 * Requests a builder holds in memory before its cold columns go to a temporary file, a block at a
 * time (model/_cold-columns.ts): about 9 MB of them on the bench's export. Smaller inputs (every
 * test, most runs) never touch the disk. Only a builder given a way to collect garbage (the CLI's
 * analysis child) does: without one, the columns read back stay until V8 collects on its own,
 * and the 1 GB export's analysis peaked higher than with the table in memory (147 against 128 MB
 * after assembly). LATENCY_DOCTOR_SPILL_ROWS sets another number, with or without (tests run the
 * whole analysis through the file with a few rows a block); 0 keeps every table in memory.
 */
const SPILL_ROWS = 65_536;
const SPILL_ROWS_SET = spillRowsOf(process.env['LATENCY_DOCTOR_SPILL_ROWS']);

/** LATENCY_DOCTOR_SPILL_ROWS as a block size (0: Infinity, never); undefined when unset or not a count. */
function spillRowsOf(value: string | undefined): number | undefined {
  const n = value === undefined || value === '' ? Number.NaN : Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : n === 0 ? Infinity : undefined;
}

// The cold columns, by index: server and other time, cache hits, the ids' bytes and digit
// counts, then the phases and the optional numbers (the hot ones, read on every pass, stay in
// memory: starts, end-to-end times, flags, text sets).
const COLD_SERVER = 0;
const COLD_OTHER = 1;
const COLD_CACHE = 2;
const COLD_TRACE_BYTES = 3;
const COLD_TRACE_DIGITS = 4;
const COLD_SPAN_BYTES = 5;
const COLD_SPAN_DIGITS = 6;
const COLD_PHASE = 7;
const COLD_NUMBER = COLD_PHASE + PHASES.length;
const COLD_SPECS: readonly ColdSpec[] = [
  { type: Float64Array, perRow: 1, absent: 0 },
  { type: Float64Array, perRow: 1, absent: 0 },
  { type: Int8Array, perRow: 1, absent: CACHE_ABSENT },
  { type: Uint8Array, perRow: TRACE_ID_BYTES, absent: 0 },
  { type: Uint8Array, perRow: 1, absent: 0 },
  { type: Uint8Array, perRow: SPAN_ID_BYTES, absent: 0 },
  { type: Uint8Array, perRow: 1, absent: 0 },
  ...PHASES.map(() => ({ type: Float64Array, perRow: 1, absent: NaN })),
  ...TABLE_NUMBERS.map(() => ({ type: Float64Array, perRow: 1, absent: NaN })),
];

/**
 * Ids (trace, span) packed as hex digits, two to a byte, `width` bytes per request, with the
 * digit count (so leading zeros come back as written); an id that is not lowercase hex of at
 * most 2 × width digits is kept as a string on the side (its digit count 0). Ids kept as strings
 * were two more objects per request for the collector to carry through the whole run.
 */
class IdColumn {
  constructor(
    private readonly width: number,
    private readonly bytes: Uint8Array,
    private readonly digits: Uint8Array,
    private readonly others: ReadonlyMap<number, string>,
  ) {}

  /** Request `i`'s id. */
  get(i: number): string {
    const n = this.digits[i]!;
    if (n === 0) return this.others.get(i) ?? '';
    const at = i * this.width;
    let out = '';
    for (let k = 0; k < n; k++) {
      const byte = this.bytes[at + (k >> 1)]!;
      out += HEX[(k & 1) === 0 ? byte >> 4 : byte & 15];
    }
    return out;
  }

  /** Requests `from` … `to` − 1, as views where they can be. */
  view(from: number, to: number): IdColumn {
    const others = new Map<number, string>();
    for (const [i, id] of this.others) if (i >= from && i < to) others.set(i - from, id);
    return new IdColumn(this.width, this.bytes.subarray(from * this.width, to * this.width), this.digits.subarray(from, to), others);
  }

  /**
   * The same ids with request `order[j]`'s moved to `j` for every `j`, in place (this column's
   * storage is rewritten) through `scratch` of 8 bytes per request: a table sorted in place
   * holds its ids once, where `pick` made a second copy of them (26 bytes a request). The ids'
   * widths (16 and 8 bytes) are whole pairs of 4-byte words, and a column's bytes start at a
   * multiple of the width.
   */
  permute(order: Uint32Array, scratch: ArrayBuffer): IdColumn {
    const n = order.length;
    const per = this.width / 4;
    const words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, n * per);
    const moved = new Uint32Array(scratch, 0, 2 * n);
    // Two words of each id at a time: the scratch holds two per request.
    for (let lane = 0; lane < per; lane += 2) {
      for (let j = 0; j < n; j++) {
        const from = order[j]! * per + lane;
        moved[2 * j] = words[from]!;
        moved[2 * j + 1] = words[from + 1]!;
      }
      for (let j = 0; j < n; j++) {
        const to = j * per + lane;
        words[to] = moved[2 * j]!;
        words[to + 1] = moved[2 * j + 1]!;
      }
    }
    permuteColumn(this.digits, order, new Uint8Array(scratch, 0, n));
    return new IdColumn(this.width, this.bytes, this.digits, pickSparse(this.others, order));
  }

  /** The requests at `indices`, in that order. */
  pick(indices: ArrayLike<number>): IdColumn {
    const w = this.width;
    const bytes = new Uint8Array(indices.length * w);
    const digits = new Uint8Array(indices.length);
    const others = new Map<number, string>();
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      digits[j] = this.digits[i]!;
      bytes.set(this.bytes.subarray(i * w, i * w + w), j * w);
      if (this.digits[i] === 0) {
        const id = this.others.get(i);
        if (id !== undefined) others.set(j, id);
      }
    }
    return new IdColumn(w, bytes, digits, others);
  }
}

/** Packs ids into the columns of an IdColumn as requests are appended (see IdColumn). */
class IdColumnBuilder {
  private readonly bytes: GrowingColumn<Uint8Array>;
  private readonly digits: GrowingColumn<Uint8Array>;
  /** Ids kept as strings, by request index (of the whole table, not of the block). */
  readonly others = new Map<number, string>();
  /** The request the columns' first row holds: past the first block of a table that goes to a temporary file, the block's first. */
  private base = 0;

  constructor(
    private readonly width: number,
    capacity: number,
    options: GrowingColumnOptions,
  ) {
    this.bytes = new GrowingColumn(Uint8Array, capacity * width, 0, options);
    this.digits = new GrowingColumn(Uint8Array, capacity, 0, options);
  }

  /** Makes room for `capacity` requests. */
  reserve(capacity: number): void {
    this.bytes.reserve(capacity * this.width);
    this.digits.reserve(capacity);
  }

  /** Stores `id` as request `i`'s (room for it reserved). */
  set(i: number, id: string): void {
    const n = id.length;
    const bytes = this.bytes.array;
    const at = (i - this.base) * this.width;
    if (n > 2 * this.width || n === 0) return this.keepAside(i, id);
    // Two digits a byte, the first in the high nibble.
    let k = 0;
    for (; k + 1 < n; k += 2) {
      const hi = id.charCodeAt(k);
      const lo = id.charCodeAt(k + 1);
      const v = (hi < HEX_CODES ? HEX_VALUE[hi]! : -1) | (lo < HEX_CODES ? HEX_VALUE[lo]! : -1);
      // Negative when either is no digit (−1). Bytes already written stay: a digit count of 0
      // says to read the id from `others`.
      if (v < 0) return this.keepAside(i, id);
      bytes[at + (k >> 1)] = (HEX_VALUE[hi]! << 4) | HEX_VALUE[lo]!;
    }
    if (k < n) {
      const c = id.charCodeAt(k);
      const v = c < HEX_CODES ? HEX_VALUE[c]! : -1;
      if (v < 0) return this.keepAside(i, id);
      bytes[at + (k >> 1)] = v << 4;
    }
    this.digits.array[i - this.base] = n;
  }

  /** Keeps request `i`'s id as a string: it does not pack (its digit count stays 0). */
  private keepAside(i: number, id: string): void {
    this.others.set(i, id);
  }

  /** The first `length` requests' ids; the builder is done with after. */
  finish(length: number): IdColumn {
    return new IdColumn(this.width, this.bytes.finish(length * this.width), this.digits.finish(length), this.others);
  }

  /** The block's first `rows` ids as packed bytes and digit counts (valid until `restart`). */
  block(rows: number): [Uint8Array, Uint8Array] {
    return [this.bytes.finish(rows * this.width), this.digits.finish(rows)];
  }

  /** Empties the columns for the next block, which starts at request `base`. */
  restart(rows: number, base: number): void {
    this.bytes.restart(rows * this.width);
    this.digits.restart(rows);
    this.base = base;
  }
}

const HEX = '0123456789abcdef';

/** Sparse text per request (most runs carry none): request index → value. */
function pickSparse(source: ReadonlyMap<number, string>, indices: ArrayLike<number>): Map<number, string> {
  const out = new Map<number, string>();
  if (source.size === 0) return out;
  for (let j = 0; j < indices.length; j++) {
    const v = source.get(indices[j]!);
    if (v !== undefined) out.set(j, v);
  }
  return out;
}

function viewSparse(source: ReadonlyMap<number, string>, from: number, to: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const [i, v] of source) if (i >= from && i < to) out.set(i - from, v);
  return out;
}

/** Request starts as numbers: see RequestTable.startOffsets. */
export interface StartOffsets {
  /** The earliest start, ns since epoch; 0n for an empty table. */
  readonly originNs: bigint;
  /** Each request's start minus `originNs`, ns. */
  readonly offsetsNs: Float64Array;
  /** False when the starts span 2^53 ns or more (the offsets are rounded). */
  readonly exact: boolean;
}

/**
 * StartOffsets of `starts`, read as two 32-bit halves each (in the platform's byte order: LOW,
 * HIGH): a difference of halves is an exact double below 2^53, and no BigInt is made per request.
 */
function startOffsetsOf(starts: BigUint64Array): StartOffsets {
  const n = starts.length;
  if (n === 0) return { originNs: 0n, offsetsNs: new Float64Array(0), exact: true };
  const halves = new Uint32Array(starts.buffer, starts.byteOffset, 2 * n);
  const minAt = earliestOf(halves, n);
  const originNs = starts[minAt]!;
  const offsetsNs = new Float64Array(n);
  const max = offsetsFrom(halves, halves[2 * minAt + HIGH]!, halves[2 * minAt + LOW]! >>> 0, offsetsNs);
  if (max < MAX_SAFE_INTEGER) return { originNs, offsetsNs, exact: true };
  // Rounded as Number(start − origin) rounds (the sum of halves above could be off by more).
  for (let i = 0; i < n; i++) offsetsNs[i] = Number(starts[i]! - originNs);
  return { originNs, offsetsNs, exact: false };
}

// The two loops of startOffsetsOf are functions of their own: V8 compiles a loop on stack
// replacement while it runs, and the code after it (with no type feedback yet) used to throw
// that code away and have startOffsetsOf compiled again (issue #16).

/** The index of the earliest of `n` starts given as halves. */
function earliestOf(halves: Uint32Array, n: number): number {
  let minHi = halves[HIGH]!;
  let minLo = halves[LOW]! >>> 0;
  let minAt = 0;
  for (let i = 1; i < n; i++) {
    const hi = halves[2 * i + HIGH]!;
    const lo = halves[2 * i + LOW]! >>> 0;
    if (hi < minHi || (hi === minHi && lo < minLo)) {
      minHi = hi;
      minLo = lo;
      minAt = i;
    }
  }
  return minAt;
}

/** Fills `offsetsNs` with each start minus the earliest (as halves); returns the largest. */
function offsetsFrom(halves: Uint32Array, minHi: number, minLo: number, offsetsNs: Float64Array): number {
  let max = 0;
  for (let i = 0; i < offsetsNs.length; i++) {
    const offset = (halves[2 * i + HIGH]! - minHi) * 4294967296 + ((halves[2 * i + LOW]! >>> 0) - minLo);
    offsetsNs[i] = offset;
    if (offset > max) max = offset;
  }
  return max;
}

/** The columns of a table (all of length `capacity` in a builder, `length` in a table). */
interface Columns {
  traceIds: IdColumn;
  requestSpanIds: IdColumn;
  /** Request index → inference.input.hash (opt-in, so usually empty). */
  inputHashes: Map<number, string>;
  startNs: BigUint64Array;
  e2eMs: Float64Array;
  serverMs: Float64Array;
  otherMs: Float64Array;
  /**
   * By PHASES index; NaN where the request has no span of that phase. The columns of the phases
   * and fields no request has are one shared column (read-only, as every column of a table).
   */
  phases: Float64Array[];
  /** By TABLE_NUMBERS index. */
  numbers: Float64Array[];
  /**
   * Each request's text set: the index of its TABLE_TEXTS values in `textSets` (see below). A
   * run's requests mostly share a handful of combinations of service, model, version, runtime,
   * provider, precision, device and source (the bench's export: one), so a request holds one
   * index, not one per field: 4 bytes where the fields' own columns took 28-32.
   */
  textSet: Int32Array;
  /** The text sets, TEXT_FIELDS entries each (by TABLE_TEXTS index): dictionary indexes, −1 for absent. Shared by every table selected from one. */
  textSets: Int32Array;
  flags: Uint8Array;
  cacheHit: Int8Array;
}

/**
 * Rows `from` … `to` − 1: typed columns as views on the same buffers (tables are read-only, so
 * sharing is safe and nothing is copied).
 */
function viewRange(c: Columns, from: number, to: number, spilled: boolean): Columns {
  if (spilled) return { ...c, inputHashes: viewSparse(c.inputHashes, from, to), startNs: c.startNs.subarray(from, to), e2eMs: c.e2eMs.subarray(from, to), textSet: c.textSet.subarray(from, to), flags: c.flags.subarray(from, to) };
  return {
    traceIds: c.traceIds.view(from, to),
    requestSpanIds: c.requestSpanIds.view(from, to),
    inputHashes: viewSparse(c.inputHashes, from, to),
    startNs: c.startNs.subarray(from, to),
    e2eMs: c.e2eMs.subarray(from, to),
    serverMs: c.serverMs.subarray(from, to),
    otherMs: c.otherMs.subarray(from, to),
    phases: c.phases.map((a) => a.subarray(from, to)),
    numbers: c.numbers.map((a) => a.subarray(from, to)),
    textSet: c.textSet.subarray(from, to),
    textSets: c.textSets,
    flags: c.flags.subarray(from, to),
    cacheHit: c.cacheHit.subarray(from, to),
  };
}

/** Moves `column[order[j]]` to `column[j]` for every `j`, through `into` (a scratch view of the column's length and type). */
function permuteColumn<T extends Float64Array | BigUint64Array | Int32Array | Uint8Array | Int8Array>(column: T, order: Uint32Array, into: T): void {
  for (let j = 0; j < order.length; j++) into[j] = column[order[j]!]!;
  column.set(into as never);
}

function pick<T extends { length: number; [i: number]: number | bigint }>(make: new (n: number) => T, source: T, indices: ArrayLike<number>): T {
  const out = new make(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = source[indices[i]!]!;
  return out;
}

/**
 * The cold columns of a table past SPILL_ROWS requests, in a temporary file, with the ids that
 * are kept as strings (by request index). Such a table's Columns hold its hot columns only (the
 * cold ones there are empty).
 */
interface Spilled {
  readonly cold: ColdColumns;
  readonly traceOthers: ReadonlyMap<number, string>;
  readonly spanOthers: ReadonlyMap<number, string>;
}

/** An empty column, where a table's cold columns are in a temporary file (Spilled). */
const NO_F64 = new Float64Array(0);
const NO_IDS = (width: number): IdColumn => new IdColumn(width, new Uint8Array(0), new Uint8Array(0), new Map());

/** Per-request timings as columns (see the module comment). Read-only: nothing writes a table once built. */
export class RequestTable implements Iterable<RequestTiming> {
  /** Requests in the table. */
  readonly length: number;
  /** Start of each request's end-to-end interval, ns since epoch. */
  readonly startNs: BigUint64Array;
  readonly e2eMs: Float64Array;
  /** REQUEST_FLAG bits of each request. */
  readonly flags: Uint8Array;
  private readonly columns: Columns;
  /** Shared by every table selected from this one. */
  private readonly dictionary: readonly string[];
  /** Where the cold columns are, for a table past SPILL_ROWS requests. */
  private spilled: Spilled | undefined;

  /** @internal Tables are made by RequestTableBuilder, `RequestTable.from`, `select` and `slice`. */
  constructor(columns: Columns, dictionary: readonly string[], length: number, spilled?: Spilled) {
    this.columns = columns;
    this.dictionary = dictionary;
    this.length = length;
    this.startNs = columns.startNs;
    this.e2eMs = columns.e2eMs;
    this.flags = columns.flags;
    this.spilled = spilled;
  }

  /** Server time of each request, ms. */
  get serverMs(): Float64Array {
    return this.spilled === undefined ? this.columns.serverMs : (this.spilled.cold.column(COLD_SERVER) as Float64Array);
  }

  /** Time of each request outside its phases, ms. */
  get otherMs(): Float64Array {
    return this.spilled === undefined ? this.columns.otherMs : (this.spilled.cold.column(COLD_OTHER) as Float64Array);
  }

  /** Where the table's cold columns are held when they are in a temporary file (past SPILL_ROWS requests): its directory and size; undefined when in memory. */
  get onDisk(): { readonly directory: string; readonly bytes: number } | undefined {
    return this.spilled?.cold.held;
  }

  /** A table of these rows (in this order); `options` as RequestTableBuilder's (tests). */
  static from(rows: Iterable<RequestTiming>, options?: RequestTableBuilderOptions): RequestTable {
    const builder = new RequestTableBuilder(options);
    for (const r of rows) builder.addRow(r);
    return builder.build();
  }

  /** An empty table. */
  static empty(): RequestTable {
    return new RequestTableBuilder().build();
  }

  /** Time of `phase` in each request, ms; NaN where the request has no span of that phase. */
  phase(phase: Phase): Float64Array {
    return this.phaseAt(PHASE_INDEX[phase]);
  }

  /** Time of the phase at PHASES index `p` in each request (NaN: absent). */
  phaseAt(p: number): Float64Array {
    return this.spilled === undefined ? this.columns.phases[p]! : (this.spilled.cold.column(COLD_PHASE + p) as Float64Array);
  }

  /** An optional numeric field of each request; NaN where absent. */
  number(field: TableNumber): Float64Array {
    const k = NUMBER_INDEX[field];
    return this.spilled === undefined ? this.columns.numbers[k]! : (this.spilled.cold.column(COLD_NUMBER + k) as Float64Array);
  }

  /** A text field of request `i`; undefined where absent. */
  text(field: TableText, i: number): string | undefined {
    return this.textValue(this.textIndex(field, i));
  }

  /** A text field of request `i` as a dictionary index (−1: absent), for loops over every request; `textValue` reads it. */
  textIndex(field: TableText, i: number): number {
    const c = this.columns;
    return c.textSets[c.textSet[i]! * TEXT_FIELDS + TEXT_INDEX[field]]!;
  }

  /** A text field of each request as dictionary indexes (−1: absent), made on each call (`textIndex` reads one without an array). */
  textIndexes(field: TableText): Int32Array {
    const { textSet, textSets } = this.columns;
    const f = TEXT_INDEX[field];
    const out = new Int32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = textSets[textSet[i]! * TEXT_FIELDS + f]!;
    return out;
  }

  /** The text at dictionary index `k` (from `textIndexes`); undefined for −1. */
  textValue(k: number): string | undefined {
    return k < 0 ? undefined : this.dictionary[k];
  }

  /** Model name of request `i`. */
  model(i: number): string {
    const c = this.columns;
    return this.dictionary[c.textSets[c.textSet[i]! * TEXT_FIELDS + TEXT_INDEX.model]!]!;
  }

  /** Trace id of request `i`. */
  traceId(i: number): string {
    const s = this.spilled;
    return s === undefined ? this.columns.traceIds.get(i) : storedId(s.cold, COLD_TRACE_BYTES, COLD_TRACE_DIGITS, s.traceOthers, i);
  }

  /** Span id of request `i`'s server span. */
  requestSpanId(i: number): string {
    const s = this.spilled;
    return s === undefined ? this.columns.requestSpanIds.get(i) : storedId(s.cold, COLD_SPAN_BYTES, COLD_SPAN_DIGITS, s.spanOthers, i);
  }

  /** Input hash of request `i` (inference.input.hash, opt-in), undefined where absent. */
  inputHash(i: number): string | undefined {
    return this.columns.inputHashes.get(i);
  }

  /** True when some request carries an input hash. */
  get hasInputHashes(): boolean {
    return this.columns.inputHashes.size > 0;
  }

  /** Cache hit of each request as 1 (hit), 0 (miss) or −1 (not recorded), for loops over every request; `cacheHit` reads one. */
  cacheHits(): Int8Array {
    return this.spilled === undefined ? this.columns.cacheHit : (this.spilled.cold.column(COLD_CACHE) as Int8Array);
  }

  /** Cache hit of request `i` (inference.cache.hit), undefined where not recorded. */
  cacheHit(i: number): boolean | undefined {
    const v = this.cacheHits()[i]!;
    return v === CACHE_ABSENT ? undefined : v === 1;
  }

  /** True when request `i` failed (its server or client span is an error). */
  error(i: number): boolean {
    return (this.flags[i]! & REQUEST_FLAG.ERROR) !== 0;
  }

  /**
   * Each request's start as ns after the earliest start (`originNs`), as numbers: loops over
   * every request compare and subtract these instead of reading `startNs`, where each read makes
   * a BigInt. `exact` is false when the starts span 2^53 ns (104 days) or more; the offsets are
   * then rounded, as Number(start − origin) rounds them. Computed once per table.
   */
  startOffsets(): StartOffsets {
    this.offsets ??= startOffsetsOf(this.startNs);
    return this.offsets;
  }

  private offsets: StartOffsets | undefined;

  /**
   * Each request's start in whole ms since the epoch, rounded down, as Number(startNs / 10⁶n)
   * gives it, from the start offsets: no BigInt is made per request (at 291,000 requests the
   * BigInt division was ~10-15 ms a pass). Made on each call.
   */
  startsMs(): Float64Array {
    const n = this.length;
    const out = new Float64Array(n);
    const { originNs, offsetsNs, exact } = this.startOffsets();
    const originMs = Number(originNs / 1_000_000n);
    const rest = Number(originNs % 1_000_000n);
    let i = 0;
    // An integer below 2^53 divided by 10^6 is at least 10^-6 from any integer it does not
    // equal, more than half the spacing of doubles below 2^34, so Math.floor of the quotient is
    // the exact floor (checked against BigInt division on 6.8 million values, the worst cases
    // k·10^6 − 1 among them).
    if (exact) {
      for (; i < n; i++) {
        const ns = rest + offsetsNs[i]!;
        if (ns > MAX_SAFE_INTEGER) break;
        out[i] = originMs + Math.floor(ns / 1e6);
      }
    }
    if (i === n) return out;
    // Starts 2^53 ns (104 days) or more apart: by BigInt.
    for (let j = 0; j < n; j++) out[j] = Number(this.startNs[j]! / 1_000_000n);
    return out;
  }

  /** The row indexes in start order (ties in table order); undefined when the table already is in that order. */
  startOrder(): Uint32Array | undefined {
    const keys = this.startOffsets().offsetsNs;
    const n = this.length;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (keys[i]! < keys[i - 1]!) sorted = false;
    if (sorted) return undefined;
    return ascendingOrder(keys);
  }

  /**
   * @internal Puts the rows in start order (ties in table order) in place, one column at a time
   * through one scratch buffer. The diagnosis reads requests in start order, and `select` of
   * that order copies the whole table: on a large run as much memory again as the table (about
   * 35 MB for 177 000 requests). Only for a table no other code holds and no other table shares
   * columns with: the pipeline's own, once its summaries are made.
   */
  sortByStartInPlace(): void {
    const order = this.startOrder();
    if (order === undefined) return;
    const n = this.length;
    const c = this.columns;
    const scratch = new ArrayBuffer(n * 8);
    const f64 = new Float64Array(scratch);
    const s = this.spilled;
    // Each column once: a field no request has is one column shared by several fields.
    for (const column of new Set(s === undefined ? [c.e2eMs, c.serverMs, c.otherMs, ...c.phases, ...c.numbers] : [c.e2eMs])) permuteColumn(column, order, f64);
    permuteColumn(c.startNs, order, new BigUint64Array(scratch));
    permuteColumn(c.textSet, order, new Int32Array(scratch, 0, n));
    permuteColumn(c.flags, order, new Uint8Array(scratch, 0, n));
    c.inputHashes = pickSparse(c.inputHashes, order);
    this.offsets = undefined;
    if (s !== undefined) {
      s.cold.permute(order);
      this.spilled = { cold: s.cold, traceOthers: pickSparse(s.traceOthers, order), spanOthers: pickSparse(s.spanOthers, order) };
      return;
    }
    permuteColumn(c.cacheHit, order, new Int8Array(scratch, 0, n));
    c.traceIds = c.traceIds.permute(order, scratch);
    c.requestSpanIds = c.requestSpanIds.permute(order, scratch);
  }

  /** Request `i` as one object (made on each call). */
  row(i: number): RequestTiming {
    return this.spilled === undefined ? rowOf(this, i) : rowOf(this.slice(i, i + 1).inMemory(), 0);
  }

  /** Request `i` as one object, counting from the end when negative (as Array.prototype.at); undefined out of range. */
  at(i: number): RequestTiming | undefined {
    const at = i < 0 ? this.length + i : i;
    return at >= 0 && at < this.length ? this.row(at) : undefined;
  }

  /** Every request as an object, in table order. */
  rows(): RequestTiming[] {
    const table = this.inMemory();
    return Array.from({ length: this.length }, (_, i) => rowOf(table, i));
  }

  *[Symbol.iterator](): Iterator<RequestTiming> {
    const table = this.inMemory();
    for (let i = 0; i < this.length; i++) yield rowOf(table, i);
  }

  /** The rows, for JSON.stringify: a table's content, not where it holds it (memory or a temporary file). */
  toJSON(): RequestTiming[] {
    return this.rows();
  }

  /**
   * This table with every column in memory (itself when it is): for code that reads whole rows
   * (`rows`, the HTML report, diff), which make an object of each request anyway.
   */
  inMemory(): RequestTable {
    const s = this.spilled;
    if (s === undefined) return this;
    const { cold } = s;
    const ids = (bytes: number, digits: number, others: ReadonlyMap<number, string>): IdColumn => new IdColumn(COLD_SPECS[bytes]!.perRow, cold.load(bytes) as Uint8Array, cold.load(digits) as Uint8Array, others);
    const columns: Columns = {
      ...this.columns,
      traceIds: ids(COLD_TRACE_BYTES, COLD_TRACE_DIGITS, s.traceOthers),
      requestSpanIds: ids(COLD_SPAN_BYTES, COLD_SPAN_DIGITS, s.spanOthers),
      serverMs: cold.load(COLD_SERVER) as Float64Array,
      otherMs: cold.load(COLD_OTHER) as Float64Array,
      phases: PHASES.map((_, p) => cold.load(COLD_PHASE + p) as Float64Array),
      numbers: TABLE_NUMBERS.map((_, k) => cold.load(COLD_NUMBER + k) as Float64Array),
      cacheHit: cold.load(COLD_CACHE) as Int8Array,
    };
    return new RequestTable(columns, this.dictionary, this.length);
  }

  /** The requests at `indices`, in that order. */
  select(indices: ArrayLike<number>): RequestTable {
    const c = this.columns;
    const s = this.spilled;
    if (s !== undefined) {
      const hot: Columns = {
        ...spilledColumns(),
        inputHashes: pickSparse(c.inputHashes, indices),
        startNs: pick(BigUint64Array, c.startNs, indices),
        e2eMs: pick(Float64Array, c.e2eMs, indices),
        textSet: pick(Int32Array, c.textSet, indices),
        textSets: c.textSets,
        flags: pick(Uint8Array, c.flags, indices),
      };
      return new RequestTable(hot, this.dictionary, indices.length, { cold: s.cold.pick(indices), traceOthers: pickSparse(s.traceOthers, indices), spanOthers: pickSparse(s.spanOthers, indices) });
    }
    // Columns shared within the table (a field no request has) stay shared in the selection.
    const picked = new Map<Float64Array, Float64Array>();
    const pickOnce = (source: Float64Array): Float64Array => {
      let out = picked.get(source);
      if (out === undefined) picked.set(source, (out = pick(Float64Array, source, indices)));
      return out;
    };
    const columns: Columns = {
      traceIds: c.traceIds.pick(indices),
      requestSpanIds: c.requestSpanIds.pick(indices),
      inputHashes: pickSparse(c.inputHashes, indices),
      startNs: pick(BigUint64Array, c.startNs, indices),
      e2eMs: pick(Float64Array, c.e2eMs, indices),
      serverMs: pick(Float64Array, c.serverMs, indices),
      otherMs: pick(Float64Array, c.otherMs, indices),
      phases: c.phases.map(pickOnce),
      numbers: c.numbers.map(pickOnce),
      textSet: pick(Int32Array, c.textSet, indices),
      textSets: c.textSets,
      flags: pick(Uint8Array, c.flags, indices),
      cacheHit: pick(Int8Array, c.cacheHit, indices),
    };
    return new RequestTable(columns, this.dictionary, indices.length);
  }

  /** The requests for which `keep(i)` is true, in table order (the table itself when all are). */
  where(keep: (i: number) => boolean): RequestTable {
    const indices: number[] = [];
    for (let i = 0; i < this.length; i++) if (keep(i)) indices.push(i);
    return indices.length === this.length ? this : this.select(indices);
  }

  /** Requests `from` … `to` − 1 (clamped as Array.prototype.slice clamps). */
  slice(from = 0, to = this.length): RequestTable {
    const start = Math.max(0, Math.min(this.length, from < 0 ? this.length + from : from));
    const end = Math.max(start, Math.min(this.length, to < 0 ? this.length + to : to));
    if (start === 0 && end === this.length) return this;
    const s = this.spilled;
    const spilled = s === undefined ? undefined : { cold: s.cold.view(start, end), traceOthers: viewSparse(s.traceOthers, start, end), spanOthers: viewSparse(s.spanOthers, start, end) };
    return new RequestTable(viewRange(this.columns, start, end, s !== undefined), this.dictionary, end - start, spilled);
  }

  /** Requests grouped by model name, in first-seen order (the table itself when it holds one model). */
  byModel(): Map<string, RequestTable> {
    return new Map([...this.modelGroups()].map(([model, take]) => [model, take()]));
  }

  /**
   * Model names in first-seen order, each with a function that selects its requests: a caller
   * that handles one model at a time holds one model's copy at a time, not all of them.
   */
  modelGroups(): Map<string, () => RequestTable> {
    const { textSet: column, textSets } = this.columns;
    // Keyed by text set; several sets (and dictionary entries, past DICTIONARY_LIMIT) may hold one name: merged by name.
    const groupOf = new Map<number, number>();
    const names = new Map<string, number>();
    const counts: number[] = [];
    const group = (k: number): number => {
      let g = groupOf.get(k);
      if (g === undefined) {
        const name = this.dictionary[textSets[k * TEXT_FIELDS + TEXT_INDEX.model]!]!;
        g = names.get(name);
        if (g === undefined) names.set(name, (g = counts.push(0) - 1));
        groupOf.set(k, g);
      }
      return g;
    };
    // Counted first, so one model costs nothing per request and several one index array each of its exact size.
    let last = -2;
    let g = 0;
    for (let i = 0; i < this.length; i++) {
      const k = column[i]!;
      if (k !== last) {
        g = group(k);
        last = k;
      }
      counts[g]!++;
    }
    const out = new Map<string, () => RequestTable>();
    if (names.size === 1) {
      for (const name of names.keys()) out.set(name, () => this);
      return out;
    }
    const indices = counts.map((n) => new Uint32Array(n));
    const filled = new Int32Array(counts.length);
    last = -2;
    for (let i = 0; i < this.length; i++) {
      const k = column[i]!;
      if (k !== last) {
        g = groupOf.get(k)!;
        last = k;
      }
      indices[g]![filled[g]!++] = i;
    }
    for (const [name, at] of names) out.set(name, () => this.select(indices[at]!));
    return out;
  }
}

/** The cold columns of a Columns whose table keeps them in a temporary file: empty. */
function spilledColumns(): Pick<Columns, 'traceIds' | 'requestSpanIds' | 'serverMs' | 'otherMs' | 'phases' | 'numbers' | 'cacheHit'> {
  return {
    traceIds: NO_IDS(TRACE_ID_BYTES),
    requestSpanIds: NO_IDS(SPAN_ID_BYTES),
    serverMs: NO_F64,
    otherMs: NO_F64,
    phases: PHASES.map(() => NO_F64),
    numbers: TABLE_NUMBERS.map(() => NO_F64),
    cacheHit: new Int8Array(0),
  };
}

/** Request `i`'s id from a temporary file's columns (`bytes` and `digits`, its packed bytes and digit counts), or from `others`. */
function storedId(cold: ColdColumns, bytes: number, digits: number, others: ReadonlyMap<number, string>, i: number): string {
  const count = cold.values(digits, i) as Uint8Array;
  if (count[0] === 0) return others.get(i) ?? '';
  return new IdColumn(COLD_SPECS[bytes]!.perRow, cold.values(bytes, i) as Uint8Array, count, new Map()).get(0);
}

/**
 * Request `i` of a table as a RequestTiming: the required fields, then the optional ones only
 * when present (as `exactOptionalPropertyTypes` means them), in the order rows always had.
 */
function rowOf(t: RequestTable, i: number): RequestTiming {
  const flags = t.flags[i]!;
  const phases: Partial<Record<Phase, number>> = {};
  for (let p = 0; p < PHASES.length; p++) {
    const ms = t.phaseAt(p)[i]!;
    if (ms === ms) phases[PHASES[p]!] = ms;
  }
  const row: { -readonly [K in keyof RequestTiming]: RequestTiming[K] } = {
    traceId: t.traceId(i),
    requestSpanId: t.requestSpanId(i),
    service: t.text('service', i) ?? '',
    model: t.model(i),
    startNs: t.startNs[i]!,
    e2eMs: t.e2eMs[i]!,
    serverMs: t.serverMs[i]!,
    phases,
    otherMs: t.otherMs[i]!,
    hasClient: (flags & REQUEST_FLAG.CLIENT) !== 0,
    networkDerived: (flags & REQUEST_FLAG.NETWORK_DERIVED) !== 0,
    clockSkew: (flags & REQUEST_FLAG.CLOCK_SKEW) !== 0,
    error: (flags & REQUEST_FLAG.ERROR) !== 0,
  };
  for (const field of TABLE_TEXTS) {
    if (field === 'service' || field === 'model') continue;
    const value = t.text(field, i);
    if (value !== undefined) row[field] = value;
  }
  const inputHash = t.inputHash(i);
  if (inputHash !== undefined) row.inputHash = inputHash;
  const cacheHit = t.cacheHit(i);
  for (const field of TABLE_NUMBERS) {
    const value = t.number(field)[i]!;
    if (value === value) row[field] = value;
    // cacheHit comes between the byte counts and the generation fields, as rows always had it.
    if (field === 'responseBytes' && cacheHit !== undefined) row.cacheHit = cacheHit;
  }
  return row;
}

/** Appends requests to columns that grow as they fill; `build` hands them over as a RequestTable. */
export class RequestTableBuilder {
  /** Requests appended. */
  length = 0;
  /**
   * Requests the columns have room for. Each column grows in place once large (GrowingColumn),
   * and `build` hands over its first `length` rows as they are: a run's requests are never held
   * twice (joining chunks into one column of the exact size held both until the collector ran,
   * 48 MB more at the peak for the bench's 1 GB export).
   */
  private capacity = FIRST_ROWS;
  private readonly traceIds: IdColumnBuilder;
  private readonly requestSpanIds: IdColumnBuilder;
  private readonly startNs: GrowingColumn<BigUint64Array>;
  /** The start column's storage as 32-bit halves (LOW, HIGH), renewed whenever it grows. */
  private startHalves: Uint32Array;
  private readonly e2eMs: GrowingColumn<Float64Array>;
  private readonly serverMs: GrowingColumn<Float64Array>;
  private readonly otherMs: GrowingColumn<Float64Array>;
  private readonly flags: GrowingColumn<Uint8Array>;
  /**
   * The optional fields' columns, made when the first request with a value of that field comes
   * (rows before it read as absent): many runs never have most of them (a server that records no
   * tokens, no batch size, three phases out of nine).
   */
  private cacheHit: GrowingColumn<Int8Array> | undefined;
  private readonly phases: (GrowingColumn<Float64Array> | undefined)[] = PHASES.map(() => undefined);
  private readonly numbers: (GrowingColumn<Float64Array> | undefined)[] = TABLE_NUMBERS.map(() => undefined);
  /** Each request's text set (Columns.textSet); the last request's is written when the next is appended, or at `build`. */
  private readonly textSet: GrowingColumn<Int32Array>;
  /** The text sets, TEXT_FIELDS entries each. */
  private readonly textSets: GrowingColumn<Int32Array>;
  private setCount = 0;
  /** Text sets by their entries joined with commas, up to DICTIONARY_LIMIT of them (past it sets are added without looking for an equal one). */
  private readonly setIndex = new Map<string, number>();
  /** The set the last request had: consecutive requests mostly repeat it. */
  private lastSet = -1;
  /** The last appended request's text fields as dictionary indexes, until its set is written; `textsOf` is that request. */
  private readonly rowTexts = new Int32Array(TEXT_FIELDS).fill(-1);
  private textsOf = -1;
  private readonly inputHashes = new Map<number, string>();
  private built = false;
  private readonly dictionary: string[] = [];
  private readonly entries = new Map<string, number>();
  /** Each text field's last value and its index: consecutive requests mostly repeat them. */
  private readonly lastText: (string | undefined)[] = TABLE_TEXTS.map(() => undefined);
  private readonly lastIndex = new Int32Array(TABLE_TEXTS.length);
  /** Requests whose cold columns are held in memory at once before they go to a temporary file (SPILL_ROWS); Infinity once no file can be made. */
  private spillRows: number;
  /** The request the cold columns' first row holds: 0 until a block has gone to the file. */
  private base = 0;
  /** The temporary file's columns, once a block has gone there. */
  private cold: ColdColumnsWriter | undefined;

  /**
   * @param options where the columns keep their values (tests; see GrowingColumn), after how many
   * requests the cold ones go to a temporary file (tests; SPILL_ROWS), and a full garbage
   * collection to make as they are read back from it (ColdColumnsWriter)
   */
  constructor(private readonly options: RequestTableBuilderOptions = {}) {
    this.spillRows = options.spillRows ?? SPILL_ROWS_SET ?? (options.collect === undefined ? Infinity : SPILL_ROWS);
    this.traceIds = new IdColumnBuilder(TRACE_ID_BYTES, this.capacity, options);
    this.requestSpanIds = new IdColumnBuilder(SPAN_ID_BYTES, this.capacity, options);
    this.startNs = this.column(BigUint64Array, 0n);
    this.startHalves = halvesOf(this.startNs.array);
    this.e2eMs = this.column(Float64Array, 0);
    this.serverMs = this.coldColumn(Float64Array, 0);
    this.otherMs = this.coldColumn(Float64Array, 0);
    this.flags = this.column(Uint8Array, 0);
    this.textSet = this.column(Int32Array, 0);
    this.textSets = new GrowingColumn(Int32Array, TEXT_FIELDS, 0, options);
  }

  /**
   * Appends a request with its required fields and returns its index; the optional fields start
   * absent and are set with the setters below, before the next `append`.
   */
  append(traceId: string, requestSpanId: string, startNs: bigint, e2eMs: number, serverMs: number, otherMs: number, flags: number): number {
    const i = this.appendRow(traceId, requestSpanId, e2eMs, serverMs, otherMs, flags);
    this.startNs.array[i] = clampTime(startNs);
    return i;
  }

  /**
   * `append` with the start given as `origin` + `offsetNs` (an integer number of ns, as the
   * assembler holds times): the sum is written as two 32-bit halves, where `append` is handed
   * two BigInts per request (the offset's and the sum), the most costly step of timing one.
   */
  appendFrom(traceId: string, requestSpanId: string, origin: StartOrigin, offsetNs: number, e2eMs: number, serverMs: number, otherMs: number, flags: number): number {
    const i = this.appendRow(traceId, requestSpanId, e2eMs, serverMs, otherMs, flags);
    if (!origin.split || !(offsetNs > -TWO_53 && offsetNs < TWO_53)) {
      // Outside what the halves below hold exactly (a start beyond OTLP's range, a relative time past 2⁵³).
      this.startNs.array[i] = clampTime(origin.ns + BigInt(offsetNs));
      return i;
    }
    // offsetNs = offsetHi·2³² + (offsetNs − offsetHi·2³²), every term an exact double.
    const offsetHi = Math.floor(offsetNs / TWO_32);
    let lo = origin.lo + (offsetNs - offsetHi * TWO_32);
    let hi = origin.hi + offsetHi;
    if (lo >= TWO_32) {
      lo -= TWO_32;
      hi++;
    }
    // Held at either end of the column's range, as clampTime holds a BigInt.
    const halves = this.startHalves;
    if (hi < 0) {
      halves[2 * i] = 0;
      halves[2 * i + 1] = 0;
    } else if (hi >= TWO_32) {
      halves[2 * i] = 0xffffffff;
      halves[2 * i + 1] = 0xffffffff;
    } else {
      halves[2 * i + LOW] = lo;
      halves[2 * i + HIGH] = hi;
    }
    return i;
  }

  /** Appends a row of every required field but the start; returns its index. */
  private appendRow(traceId: string, requestSpanId: string, e2eMs: number, serverMs: number, otherMs: number, flags: number): number {
    this.endTexts();
    const i = this.length++;
    if (i === this.capacity) this.grow();
    // A full block of cold columns (the previous requests' optional fields are all set by now) goes to the file.
    if (i - this.base === this.spillRows) this.spill(i);
    this.textsOf = i;
    this.traceIds.set(i, traceId);
    this.requestSpanIds.set(i, requestSpanId);
    this.e2eMs.array[i] = e2eMs;
    this.serverMs.array[i - this.base] = serverMs;
    this.otherMs.array[i - this.base] = otherMs;
    this.flags.array[i] = flags;
    return i;
  }

  /** Sets the time of the phase at PHASES index `p` of request `i`, ms. */
  setPhase(i: number, p: number, ms: number): void {
    (this.phases[p] ??= this.coldColumn(Float64Array, NaN)).put(i - this.base, ms);
  }

  /** Sets an optional numeric field (TABLE_NUMBERS index `field`) of request `i`; undefined leaves it absent. */
  setNumber(i: number, field: number, value: number | undefined): void {
    if (value !== undefined) (this.numbers[field] ??= this.coldColumn(Float64Array, NaN)).put(i - this.base, value);
  }

  /** Sets a text field (TABLE_TEXTS index `field`) of request `i`, the last appended; undefined or empty leaves it absent. */
  setText(i: number, field: number, value: string | undefined): void {
    if (value === undefined || value === '') return;
    this.setRequiredText(i, field, value);
  }

  /** Sets a required text field (service, model) of request `i`, the last appended (its texts are stored as one combination once the next is appended): kept even when empty. */
  setRequiredText(i: number, field: number, value: string): void {
    // The set is written once the request's texts are all in: only the last request's can change.
    if (i !== this.textsOf) throw new Error(`RequestTableBuilder.setText: request ${i} is not the last appended (${this.textsOf})`);
    this.rowTexts[field] = this.intern(value, field);
  }

  /** Writes the last appended request's text set: the last request's when equal, else the one with the same entries, else a new one. */
  private endTexts(): void {
    const i = this.textsOf;
    if (i < 0) return;
    const row = this.rowTexts;
    let set = this.lastSet;
    if (set < 0 || !sameEntries(this.textSets.array, set * TEXT_FIELDS, row)) {
      const key = row.join(',');
      const known = this.setIndex.get(key);
      if (known !== undefined) set = known;
      else {
        set = this.setCount++;
        this.textSets.reserve(this.setCount * TEXT_FIELDS);
        this.textSets.array.set(row, set * TEXT_FIELDS);
        if (this.setIndex.size < DICTIONARY_LIMIT) this.setIndex.set(key, set);
      }
      this.lastSet = set;
    }
    this.textSet.array[i] = set;
    row.fill(-1);
    this.textsOf = -1;
  }

  /** Sets the input hash of request `i`. */
  setInputHash(i: number, value: string): void {
    this.inputHashes.set(i, value);
  }

  /** Sets whether request `i` was served from a cache. */
  setCacheHit(i: number, hit: boolean): void {
    (this.cacheHit ??= this.coldColumn(Int8Array, CACHE_ABSENT)).put(i - this.base, hit ? 1 : 0);
  }

  /** Appends a request given as an object (tests, `RequestTable.from`). */
  addRow(r: RequestTiming): void {
    const flags =
      (r.hasClient ? REQUEST_FLAG.CLIENT : 0) | (r.networkDerived ? REQUEST_FLAG.NETWORK_DERIVED : 0) | (r.clockSkew ? REQUEST_FLAG.CLOCK_SKEW : 0) | (r.error ? REQUEST_FLAG.ERROR : 0);
    const i = this.append(r.traceId, r.requestSpanId, r.startNs, r.e2eMs, r.serverMs, r.otherMs, flags);
    PHASES.forEach((phase, p) => {
      const ms = r.phases[phase];
      if (ms !== undefined) this.setPhase(i, p, ms);
    });
    TABLE_NUMBERS.forEach((field, k) => this.setNumber(i, k, r[field]));
    this.setRequiredText(i, TEXT_INDEX.service, r.service);
    this.setRequiredText(i, TEXT_INDEX.model, r.model);
    TABLE_TEXTS.forEach((field, k) => {
      if (field !== 'service' && field !== 'model') this.setText(i, k, r[field]);
    });
    if (r.inputHash !== undefined) this.setInputHash(i, r.inputHash);
    if (r.cacheHit !== undefined) this.setCacheHit(i, r.cacheHit);
  }

  /** The requests appended so far, as a table (columns of exactly that length, not copied where they are large); the builder is done with after. */
  build(): RequestTable {
    // The table takes the builder's storage: a second build would hand out the same columns.
    if (this.built) throw new Error('RequestTableBuilder.build: called twice');
    this.built = true;
    this.endTexts();
    const n = this.length;
    if (this.cold !== undefined) return this.buildSpilled(n);
    // A field no request has is one shared column of absent values, not a column of its own.
    let noNumbers: Float64Array | undefined;
    const columns: Columns = {
      traceIds: this.traceIds.finish(n),
      requestSpanIds: this.requestSpanIds.finish(n),
      inputHashes: this.inputHashes,
      startNs: this.startNs.finish(n),
      e2eMs: this.e2eMs.finish(n),
      serverMs: this.serverMs.finish(n),
      otherMs: this.otherMs.finish(n),
      phases: this.phases.map((c) => c?.finish(n) ?? (noNumbers ??= new Float64Array(n).fill(NaN))),
      numbers: this.numbers.map((c) => c?.finish(n) ?? (noNumbers ??= new Float64Array(n).fill(NaN))),
      textSet: this.textSet.finish(n),
      textSets: this.textSets.finish(this.setCount * TEXT_FIELDS),
      flags: this.flags.finish(n),
      cacheHit: this.cacheHit?.finish(n) ?? new Int8Array(n).fill(CACHE_ABSENT),
    };
    return new RequestTable(columns, this.dictionary, n);
  }

  /** The table of a builder whose earlier blocks went to the temporary file: the last block joins them, the hot columns are handed over as in `build`. */
  private buildSpilled(n: number): RequestTable {
    const cold = this.cold!;
    if (n > this.base) cold.append(n - this.base, this.coldBlock(n - this.base));
    const columns: Columns = {
      ...spilledColumns(),
      inputHashes: this.inputHashes,
      startNs: this.startNs.finish(n),
      e2eMs: this.e2eMs.finish(n),
      textSet: this.textSet.finish(n),
      textSets: this.textSets.finish(this.setCount * TEXT_FIELDS),
      flags: this.flags.finish(n),
    };
    return new RequestTable(columns, this.dictionary, n, { cold: cold.finish(), traceOthers: this.traceIds.others, spanOthers: this.requestSpanIds.others });
  }

  /**
   * Hands the cold columns' rows before request `i` (a full block) to the temporary file, made
   * with the first, and empties them for the next block; where no file can be made, the columns
   * stay and go on growing in memory.
   */
  private spill(i: number): void {
    const rows = i - this.base;
    if (this.cold === undefined) {
      const file = SpillFile.create();
      if (file === undefined) {
        this.spillRows = Infinity;
        this.reserveCold(this.capacity);
        return;
      }
      this.cold = new ColdColumnsWriter(file, COLD_SPECS, this.options.collect);
    }
    this.cold.append(rows, this.coldBlock(rows));
    for (const c of [this.serverMs, this.otherMs, this.cacheHit, ...this.phases, ...this.numbers]) c?.restart(rows);
    this.traceIds.restart(rows, i);
    this.requestSpanIds.restart(rows, i);
    this.base = i;
  }

  /** The cold columns' first `rows` rows, by cold index (undefined: a field with no value yet). */
  private coldBlock(rows: number): (ColdArray | undefined)[] {
    const [traceBytes, traceDigits] = this.traceIds.block(rows);
    const [spanBytes, spanDigits] = this.requestSpanIds.block(rows);
    const finish = <T extends ColdArray>(c: GrowingColumn<T> | undefined): T | undefined => c?.finish(rows);
    return [finish(this.serverMs), finish(this.otherMs), finish(this.cacheHit), traceBytes, traceDigits, spanBytes, spanDigits, ...this.phases.map(finish), ...this.numbers.map(finish)];
  }

  /** A column with room for the rows the others have room for. */
  private column<T extends ColumnArray>(type: ColumnType<T>, absent: T[number]): GrowingColumn<T> {
    return new GrowingColumn(type, this.capacity, absent, this.options);
  }

  /** A cold column: room for the rows of a block (see `spill`). */
  private coldColumn<T extends ColumnArray>(type: ColumnType<T>, absent: T[number]): GrowingColumn<T> {
    return new GrowingColumn(type, Math.min(this.capacity, this.spillRows), absent, this.options);
  }

  /**
   * More room in every column (the optional ones' too, so each store is a plain index): an
   * eighth more, as large columns grow in place (GrowingColumn.reserve); small ones double.
   * The cold ones hold a block at most.
   */
  private grow(): void {
    const capacity = this.capacity + Math.max(FIRST_ROWS, this.capacity >> 3);
    this.capacity = capacity;
    for (const c of [this.startNs, this.e2eMs, this.flags, this.textSet]) c.reserve(capacity);
    this.reserveCold(Math.min(capacity, this.spillRows));
    this.startHalves = halvesOf(this.startNs.array);
  }

  /** Room for `rows` rows in the cold columns. */
  private reserveCold(rows: number): void {
    this.traceIds.reserve(rows);
    this.requestSpanIds.reserve(rows);
    for (const c of [this.serverMs, this.otherMs, this.cacheHit, ...this.phases, ...this.numbers]) c?.reserve(rows);
  }

  private intern(value: string, field: number): number {
    if (this.lastText[field] === value) return this.lastIndex[field]!;
    let k = this.entries.get(value);
    if (k === undefined) {
      k = this.dictionary.length;
      this.dictionary.push(value);
      if (this.entries.size < DICTIONARY_LIMIT) this.entries.set(value, k);
    }
    this.lastText[field] = value;
    this.lastIndex[field] = k;
    return k;
  }
}

/**
 * Times run from 0 to MAX_TIME_NS (OTLP's fixed64). A start made from a relative time rounded
 * past either end is held there: the unsigned column would wrap it round to the other end.
 */
function clampTime(ns: bigint): bigint {
  return ns < 0n ? 0n : ns > MAX_TIME_NS ? MAX_TIME_NS : ns;
}

/**
 * The indexes of `keys` in ascending order of their keys, ties in index order: a merge sort of the
 * runs the keys are already in order in. A run's requests are mostly in start order with some out
 * of place (a request is assembled once its trace is done, so a long one comes after shorter ones
 * that started later): few runs, few passes. A typed array's sort with a comparator took 58 ms for
 * 291,000 nearly sorted keys and 114 ms for shuffled ones, calling the comparator every time.
 */
function ascendingOrder(keys: Float64Array): Uint32Array {
  const n = keys.length;
  let from = new Uint32Array(n);
  let to = new Uint32Array(n);
  for (let i = 0; i < n; i++) from[i] = i;
  // Where each run starts, and n: the runs of one pass merged pairwise into the next pass's.
  let bounds = [0];
  for (let i = 1; i < n; i++) if (keys[i]! < keys[i - 1]!) bounds.push(i);
  bounds.push(n);
  while (bounds.length > 2) {
    const next = [0];
    for (let r = 0; r + 1 < bounds.length; r += 2) {
      const high = r + 2 < bounds.length ? bounds[r + 2]! : bounds[r + 1]!;
      mergeRuns(from, to, keys, bounds[r]!, bounds[r + 1]!, high);
      next.push(high);
    }
    [from, to] = [to, from];
    bounds = next;
  }
  return from;
}

/** Merges the runs `from[low…middle)` and `from[middle…high)` (indexes in ascending key order) into `to`, the first run's first on equal keys. */
function mergeRuns(from: Uint32Array, to: Uint32Array, keys: Float64Array, low: number, middle: number, high: number): void {
  let i = low;
  let j = middle;
  let k = low;
  while (i < middle && j < high) {
    const a = from[i]!;
    const b = from[j]!;
    if (keys[b]! < keys[a]!) {
      to[k++] = b;
      j++;
    } else {
      to[k++] = a;
      i++;
    }
  }
  while (i < middle) to[k++] = from[i++]!;
  while (j < high) to[k++] = from[j++]!;
}

/** True when `sets` from `at` holds the entries of `row`. */
function sameEntries(sets: Int32Array, at: number, row: Int32Array): boolean {
  for (let f = 0; f < row.length; f++) if (sets[at + f] !== row[f]) return false;
  return true;
}

/** A BigUint64Array's storage as 32-bit words. */
function halvesOf(a: BigUint64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, 2 * a.length);
}

const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;

/** A time origin (ns since the epoch) for RequestTableBuilder.appendFrom, split once into 32-bit halves. */
export class StartOrigin {
  /** False when the origin is outside OTLP's range [0, 2⁶⁴): starts are then summed as BigInts. */
  readonly split: boolean;
  readonly hi: number;
  readonly lo: number;

  constructor(readonly ns: bigint) {
    this.split = ns >= 0n && ns <= MAX_TIME_NS;
    this.hi = this.split ? Number(ns >> 32n) : 0;
    this.lo = this.split ? Number(ns & 0xffffffffn) : 0;
  }
}

/** Rows the builder's columns have room for at first, and the least they grow by. */
const FIRST_ROWS = 1024;

/** Requests as a table, or as rows (converted with `RequestTable.from`). */
export type Requests = RequestTable | readonly RequestTiming[];

/** The requests as a table (the table itself when they already are one). */
export function asTable(requests: Requests): RequestTable {
  return requests instanceof RequestTable ? requests : RequestTable.from(requests);
}

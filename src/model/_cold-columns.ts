/**
 * @module model/_cold-columns
 * Internal: the columns of a large request table that the analysis reads a few times, not on
 * every pass (ids, the phases, the optional numbers, server and other time, cache hits), held in a
 * temporary file (model/_spill-file.ts) instead of memory, so that a table's memory grows with the
 * input's requests by its hot columns only (issue #16: "flat as the file grows"). A column is read back whole, as a typed
 * array of the table's length, when code asks for it, and is garbage once that code is done with
 * it; the last few read are kept (a loop that asks for one value at a time reads the file once).
 *
 * A column is a list of extents, each some rows long, held at an offset of the file, or in
 * memory where a write failed (no room), or nowhere when every value in it is absent (a field that
 * came late, or never). Views share their table's extents; a selection writes its columns anew.
 */
import type { SpillFile } from './_spill-file.js';

/** The typed arrays a cold column may be. */
export type ColdArray = Float64Array | Uint8Array | Int8Array;

/** What a cold column holds: its array type, values per row, and the value of a row with none. */
export interface ColdSpec {
  readonly type: {
    new (length: number): ColdArray;
    readonly BYTES_PER_ELEMENT: number;
    readonly name: string;
  };
  readonly perRow: number;
  readonly absent: number;
}

/** Rows of a column held in one place (see the module comment). */
export interface Extent {
  readonly rows: number;
  /** Byte offset in the file. */
  readonly at?: number;
  /** The values, where writing them failed. */
  readonly data?: ColdArray;
}

/**
 * Bytes of columns read back that a table and its views keep (the most recently asked for):
 * a table's few present phases and numbers at 100,000 requests, half of them at 300,000. A
 * constant, so that what the analysis holds of a large table does not grow with it; code that
 * goes through more columns than that reads some twice.
 */
const KEPT_BYTES = 6 * 1024 * 1024;

/**
 * Bytes of columns read back between two collections (Kept.loaded): a constant, as KEPT_BYTES.
 * Each collection costs ~9 ms on the 1 GB export; its peak RSS was 107–110 MB at 16 MiB (4
 * collections), 106–110 at 8, 101–102 at 4 (22), where assembly's own peak is.
 */
export const COLLECT_BYTES = 4 * 1024 * 1024;

/** The columns of one set of extents read back, shared by the table and its views. */
class Kept {
  /** Whole columns (all the extents' rows) by index, least recently asked for first. */
  readonly columns = new Map<number, ColdArray>();
  bytes = 0;
  /** A column of absent values of each kind asked for (by type and value): a field no request has (most of the nine phases) costs one, not one each. */
  readonly absent = new Map<string, ColdArray>();
  /** Bytes read back since the last collection (see `loaded`). */
  private sinceCollection = 0;

  /** @param collect a full garbage collection, where the host offers one (ColdColumnsWriter) */
  constructor(readonly collect?: () => void) {}

  /**
   * Counts `bytes` about to be read back, collecting first once COLLECT_BYTES have been since the
   * last collection: a column read back is garbage as soon as the code that asked for it is done,
   * but its memory is outside V8's heap, which V8 collects only once much more of it has been
   * made, so without this the analysis of a large table held most of its columns again.
   */
  loaded(bytes: number): void {
    this.sinceCollection += bytes;
    if (this.collect === undefined || this.sinceCollection < COLLECT_BYTES) return;
    this.sinceCollection = bytes;
    this.collect();
  }

  /** Column `c` if kept, now the most recently asked for. */
  get(c: number): ColdArray | undefined {
    const values = this.columns.get(c);
    if (values !== undefined) {
      this.columns.delete(c);
      this.columns.set(c, values);
    }
    return values;
  }

  /** Keeps column `c`, forgetting the least recently asked for past KEPT_BYTES (the newest is kept whatever its size). */
  set(c: number, values: ColdArray): void {
    this.columns.set(c, values);
    this.bytes += values.byteLength;
    for (const [old, v] of this.columns) {
      if (this.bytes <= KEPT_BYTES || old === c) break;
      this.columns.delete(old);
      this.bytes -= v.byteLength;
    }
  }

  clear(): void {
    this.columns.clear();
    this.absent.clear();
    this.bytes = 0;
  }
}

/** The bytes of a typed array. */
function bytesOf(a: ColdArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The parts of `extents` that hold rows `a` … `b` − 1, an extent cut where a bound falls inside it. */
function cut(extents: readonly Extent[], a: number, b: number, spec: ColdSpec): Extent[] {
  const out: Extent[] = [];
  let row = 0;
  for (const e of extents) {
    const from = Math.max(row, a);
    const to = Math.min(row + e.rows, b);
    if (from < to) {
      const skip = (from - row) * spec.perRow;
      const rows = to - from;
      if (e.data !== undefined) out.push({ rows, data: e.data.subarray(skip, skip + rows * spec.perRow) });
      else if (e.at !== undefined) out.push({ rows, at: e.at + skip * spec.type.BYTES_PER_ELEMENT });
      else out.push({ rows });
    }
    row += e.rows;
  }
  return out;
}

/** Columns in a temporary file (see the module comment); rows `from` … `from + length` − 1 of its extents. */
export class ColdColumns {
  constructor(
    private readonly file: SpillFile,
    private readonly specs: readonly ColdSpec[],
    private readonly extents: Extent[][],
    private readonly from: number,
    readonly length: number,
    /** Shared with the views of the same extents. */
    private readonly kept = new Kept(),
  ) {}

  /** Where the columns are held: the temporary directory, and the bytes written to the file so far (the table's views and selections share it). */
  get held(): { readonly directory: string; readonly bytes: number } {
    return { directory: this.file.directory, bytes: this.file.bytes };
  }

  /** Column `c`: read from the file, or one of the last read. Read-only, as every column of a table. */
  column(c: number): ColdArray {
    const spec = this.specs[c]!;
    const whole = this.wholeColumn(c, spec);
    const per = spec.perRow;
    return this.from === 0 && whole.length === this.length * per ? whole : whole.subarray(this.from * per, (this.from + this.length) * per);
  }

  /** Column `c` over every row of the extents, kept (Kept), so that a view reads its rows from it. */
  private wholeColumn(c: number, spec: ColdSpec): ColdArray {
    const kept = this.kept;
    if (!this.has(c)) {
      const key = `${spec.type.name} ${spec.perRow} ${spec.absent}`;
      let values = kept.absent.get(key);
      if (values === undefined) kept.absent.set(key, (values = this.whole().load(c)));
      return values;
    }
    let values = kept.get(c);
    if (values === undefined) kept.set(c, (values = this.whole().load(c)));
    return values;
  }

  /** These columns over every row of their extents. */
  private whole(): ColdColumns {
    const rows = this.extents[0]!.reduce((n, e) => n + e.rows, 0);
    return this.from === 0 && this.length === rows ? this : new ColdColumns(this.file, this.specs, this.extents, 0, rows, this.kept);
  }

  /** Column `c` read from the file, a new array. */
  load(c: number): ColdArray {
    const spec = this.specs[c]!;
    const per = spec.perRow;
    this.kept.loaded(this.length * per * spec.type.BYTES_PER_ELEMENT);
    const out = new spec.type(this.length * per);
    if (spec.absent !== 0) out.fill(spec.absent);
    const lo = this.from;
    const hi = lo + this.length;
    let row = 0;
    for (const e of this.extents[c]!) {
      const a = Math.max(row, lo);
      const b = Math.min(row + e.rows, hi);
      if (a < b) {
        const into = out.subarray((a - lo) * per, (b - lo) * per);
        if (e.data !== undefined) into.set(e.data.subarray((a - row) * per, (b - row) * per));
        else if (e.at !== undefined) this.file.read(bytesOf(into), e.at + (a - row) * per * spec.type.BYTES_PER_ELEMENT);
      }
      row += e.rows;
      if (row >= hi) break;
    }
    return out;
  }

  /** Row `i`'s values of column `c` (perRow of them), read on their own: for a few rows, not a loop over all. */
  values(c: number, i: number): ColdArray {
    return this.view(i, i + 1).load(c);
  }

  /** True when some row of column `c` may hold a value (false: none can). */
  has(c: number): boolean {
    return this.extents[c]!.some((e) => e.at !== undefined || e.data !== undefined);
  }

  /** Rows `from` … `to` − 1 of these, sharing the file and its extents. */
  view(from: number, to: number): ColdColumns {
    return new ColdColumns(this.file, this.specs, this.extents, this.from + from, to - from, this.kept);
  }

  /** The rows at `indices`, in that order, as columns of their own (written to the file, one column at a time in memory). */
  pick(indices: ArrayLike<number>): ColdColumns {
    const n = indices.length;
    const extents = this.specs.map((spec, c): Extent[] => {
      if (!this.has(c)) return [{ rows: n }];
      const source = this.load(c);
      const per = spec.perRow;
      const out = new spec.type(n * per);
      if (per === 1) for (let j = 0; j < n; j++) out[j] = source[indices[j]!]!;
      else for (let j = 0; j < n; j++) out.set(source.subarray(indices[j]! * per, indices[j]! * per + per), j * per);
      return [this.stored(out, n)];
    });
    return new ColdColumns(this.file, this.specs, extents, 0, n, new Kept(this.kept.collect));
  }

  /**
   * Moves row `order[j]` to `j` for every `j`, in place, one column at a time; for a table no
   * other code holds (RequestTable.sortByStartInPlace). Each column's rows are written back over
   * their extents where those are in the file, else as one new extent in their place.
   */
  permute(order: Uint32Array): void {
    const n = order.length;
    this.kept.clear();
    this.specs.forEach((spec, c) => {
      if (!this.has(c)) return;
      const source = this.load(c);
      const per = spec.perRow;
      const out = new spec.type(n * per);
      if (per === 1) for (let j = 0; j < n; j++) out[j] = source[order[j]!]!;
      else for (let j = 0; j < n; j++) out.set(source.subarray(order[j]! * per, order[j]! * per + per), j * per);
      this.replace(c, out);
    });
  }

  /** Writes `values` as this window's rows of column `c`: over the extents they fall in where those are all in the file, else as one new extent. */
  private replace(c: number, values: ColdArray): void {
    const spec = this.specs[c]!;
    const extents = this.extents[c]!;
    const lo = this.from;
    const hi = lo + this.length;
    const before = cut(extents, 0, lo, spec);
    const inside = cut(extents, lo, hi, spec);
    if (inside.every((e) => e.at !== undefined)) {
      let row = 0;
      const B = spec.type.BYTES_PER_ELEMENT;
      const written = inside.every((e) => {
        const part = values.subarray(row * spec.perRow, (row + e.rows) * spec.perRow);
        row += e.rows;
        return this.file.overwrite(new Uint8Array(part.buffer, part.byteOffset, part.length * B), e.at!);
      });
      if (written) return;
    }
    const total = extents.reduce((n, e) => n + e.rows, 0);
    extents.splice(0, extents.length, ...before, this.stored(values, this.length), ...cut(extents, hi, total, spec));
  }

  /** `values` (`rows` rows) as an extent: in the file, or kept in memory where the write failed. */
  private stored(values: ColdArray, rows: number): Extent {
    const at = this.file.append(bytesOf(values));
    return at === undefined ? { rows, data: values } : { rows, at };
  }
}

/** Appends columns block by block as a builder fills them (RequestTableBuilder), then hands them over as ColdColumns. */
export class ColdColumnsWriter {
  private readonly extents: Extent[][];
  private rows = 0;

  /** @param collect a full garbage collection, made as the columns are read back (Kept.loaded); none: none is made */
  constructor(
    private readonly file: SpillFile,
    private readonly specs: readonly ColdSpec[],
    private readonly collect?: () => void,
  ) {
    this.extents = specs.map(() => []);
  }

  /** Appends `rows` rows: each column's values (undefined: a column with none in these rows). */
  append(rows: number, columns: readonly (ColdArray | undefined)[]): void {
    columns.forEach((values, c) => {
      if (values === undefined) return void this.extents[c]!.push({ rows });
      // A copy where the write fails: the builder reuses its arrays for the next block.
      const at = this.file.append(bytesOf(values));
      this.extents[c]!.push(at === undefined ? { rows, data: values.slice() } : { rows, at });
    });
    this.rows += rows;
  }

  /** The columns appended. */
  finish(): ColdColumns {
    return new ColdColumns(this.file, this.specs, this.extents, 0, this.rows, new Kept(this.collect));
  }
}

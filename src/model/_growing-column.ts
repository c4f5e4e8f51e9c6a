/**
 * @module model/_growing-column
 * A typed column that a builder appends to without knowing its final length, and that hands
 * over its first `length` values without a copy, so a large table is never held twice.
 *
 * Small columns are plain typed arrays that double (copying 1 MiB at most, MEMORY_BYTES). Past that a
 * column moves into a shared WebAssembly.Memory of its own: the runtime reserves its address
 * space once and `grow` commits more pages in place, so growing copies nothing and pages count
 * in the resident set only once written; the column handed over is an ordinary typed array on
 * that memory's buffer (a SharedArrayBuffer no other thread is given). Shared, because growing an
 * unshared memory detaches its old buffer, and once any ArrayBuffer of the process is detached
 * V8's code for typed arrays checks for it (its ArrayBufferDetaching protector is invalidated):
 * measured, the analysis took about a fifth more CPU at 200 MB, most of it while reading (the
 * byte scanner reads the file through typed arrays), and a typed-array loop 1.3–1.6 times
 * longer once a buffer was detached. A shared memory's old buffers stay valid at their old length. The alternatives on Node 20 (the
 * oldest Node this package supports): a resizable ArrayBuffer also grows in place, but a loop
 * reading a typed array on one ran 4.5 times slower (V8 11.3 compiles their accesses
 * generically); `ArrayBuffer.prototype.transfer`, which would free a copied chunk at once, is
 * Node 22 and later, and detaches. Where WebAssembly is not available (`--jitless`) or a memory
 * cannot be reserved or grown, the column goes on doubling plain arrays: the same values, more
 * memory at the end.
 *
 * WebAssembly.Memory: https://developer.mozilla.org/en-US/docs/WebAssembly/JavaScript_interface/Memory
 * Growing a shared memory: https://github.com/WebAssembly/threads/blob/main/proposals/threads/Overview.md
 * Resizable ArrayBuffer: https://v8.dev/features/resizable-arraybuffer
 */

/** The typed arrays a column may be. */
export type ColumnArray = Float64Array | BigInt64Array | BigUint64Array | Int32Array | Uint8Array | Int8Array;

/** A typed array constructor, as a column needs it. */
export interface ColumnType<T extends ColumnArray> {
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** The part of WebAssembly.Memory used here (ES2023's lib does not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
/** WebAssembly.Memory's constructor, as used here. */
export type WasmMemoryConstructor = new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;

const WasmMemory: WasmMemoryConstructor | undefined = (globalThis as { WebAssembly?: { Memory?: WasmMemoryConstructor } }).WebAssembly?.Memory;

/**
 * Memory constructors that failed once (the process's address space is limited, `ulimit -v`):
 * not tried again. A failed reservation makes V8 collect garbage and retry before it gives up,
 * and a table tried it for every column at every growth: 17.7 s of CPU instead of 2 s at 200 MB
 * under `ulimit -v 20000000`.
 */
const failed = new WeakSet<WasmMemoryConstructor>();

/** Bytes of a WebAssembly page. */
const PAGE = 65_536;
/** Pages a memory may grow to (4 GiB, the most a 32-bit memory addresses). */
const MAX_PAGES = 65_536;

/**
 * Bytes past which a column moves into a memory of its own (131 072 doubles): below it a copy
 * is cheap, and a small table (every test, most runs) reserves no address space. Not lower:
 * a memory's pages are the runtime's own 4 KiB mappings, each faulted in when first written
 * (about 13 µs a page on the 2-core machine of bench/HISTORY.md, 3.3 ms per MiB), where a plain
 * array comes from the C allocator, which the CLI's settings (cli/supervise.ts) back with huge
 * pages. At 128 KiB the bench's 200 MB export (59,000 requests) took ~1,850 more page faults
 * and 45–66 ms more of its ~0.8 s (medians of two runs of 9 alternating rounds). Not higher: below this the
 * room ahead of the values and the copies left behind by doubling stay in the allocator's
 * heap (5 MB more peak RSS at 1 GB than at 128 KiB; 10 MB at 4 MiB).
 */
export const MEMORY_BYTES = 1_048_576;

/** Options of a GrowingColumn (tests choose the storage). */
export interface GrowingColumnOptions {
  /** Bytes past which the column moves into a WebAssembly.Memory; Infinity: never. Default MEMORY_BYTES. */
  readonly memoryAt?: number;
  /** The memory constructor. Default WebAssembly.Memory (undefined where WebAssembly is not available). */
  readonly memory?: WasmMemoryConstructor;
}

/**
 * A column that grows (see the module comment). Values past `filled` that were never set read
 * as `absent` once handed over (`put` and `finish` fill them), so an optional field costs
 * nothing until a value of it arrives.
 */
export class GrowingColumn<T extends ColumnArray> {
  /** The storage: its length is the capacity; `reserve` may replace it (re-read it after). */
  array: T;
  /** Values from 0 that are set or filled with `absent`. */
  private filled = 0;
  private memory: WasmMemory | undefined;
  private readonly memoryAt: number;
  private readonly makeMemory: WasmMemoryConstructor | undefined;
  /** False when `absent` is zero (0 or 0n), which new storage already holds: columns written by index need no filling. */
  private readonly fills: boolean;

  constructor(
    private readonly type: ColumnType<T>,
    capacity: number,
    private readonly absent: T[number] = 0 as T[number],
    options: GrowingColumnOptions = {},
  ) {
    this.memoryAt = options.memoryAt ?? MEMORY_BYTES;
    this.makeMemory = options.memory ?? WasmMemory;
    this.fills = Number(absent) !== 0;
    this.array = new type(0);
    this.reserve(capacity);
  }

  /** True while the values live in a WebAssembly.Memory (tests). */
  get inMemory(): boolean {
    return this.memory !== undefined;
  }

  /**
   * Makes room for `capacity` values, keeping those written: a plain array at least doubles (each
   * copy is paid for by as many appends), a memory grows by the pages asked for (growing copies
   * nothing, and the runtime counts a memory's whole size as external memory when it decides to
   * collect garbage, so room far ahead of the values would bring collections forward).
   */
  reserve(capacity: number): void {
    const old = this.array;
    if (capacity <= old.length) return;
    if (this.memory !== undefined || capacity * this.type.BYTES_PER_ELEMENT > this.memoryAt) {
      const grown = this.grownInMemory(capacity);
      if (grown !== undefined) {
        this.array = grown;
        return;
      }
    }
    const next = new this.type(Math.max(capacity, 2 * old.length));
    next.set(old as never);
    this.array = next;
  }

  /** Sets value `i`, first filling those between the last set and `i` with `absent`. */
  put(i: number, value: T[number]): void {
    if (i >= this.array.length) this.reserve(i + 1);
    if (i > this.filled && this.fills) this.array.fill(this.absent as never, this.filled, i);
    this.array[i] = value;
    if (i >= this.filled) this.filled = i + 1;
  }

  /**
   * Empties the column for reuse, its storage kept: its first `rows` values (those a builder
   * wrote, by `put` or through `array`) are set back to `absent`, so a builder that hands a block
   * of rows on (to a temporary file) writes the next block into the same pages.
   */
  restart(rows: number): void {
    this.array.fill(this.absent as never, 0, Math.min(this.array.length, Math.max(rows, this.filled)));
    this.filled = 0;
  }

  /** The first `length` values (those never set: `absent`), as a typed array of that length on the column's storage (no copy); the column is done with after. */
  finish(length: number): T {
    this.reserve(length);
    if (length > this.filled && this.fills) this.array.fill(this.absent as never, this.filled, length);
    this.filled = Math.max(this.filled, length);
    const array = this.array;
    if (this.memory !== undefined) return new this.type(array.buffer, 0, length);
    // A plain array (below memoryAt bytes): a view of its first `length` values, not a copy. A
    // copy of the exact length made the table's columns twice at the end of assembly (6 ms of
    // the bench's 200 MB run, all columns under 1 MiB there) and freed nothing the allocator
    // gives back; a view keeps at most the room doubling left, under memoryAt per column.
    return array.length === length ? array : (array.subarray(0, length) as T);
  }

  /**
   * The storage grown in this column's memory (made now, the values copied in once) to at least
   * `capacity` values; undefined when WebAssembly cannot give it.
   */
  private grownInMemory(capacity: number): T | undefined {
    const bytes = capacity * this.type.BYTES_PER_ELEMENT;
    const pages = Math.ceil(bytes / PAGE);
    const make = this.makeMemory;
    if (make === undefined || failed.has(make) || pages > MAX_PAGES) return this.leaveMemory();
    try {
      if (this.memory === undefined) {
        const memory = new make({ initial: pages, maximum: MAX_PAGES, shared: true });
        const array = new this.type(memory.buffer, 0, (pages * PAGE) / this.type.BYTES_PER_ELEMENT);
        array.set(this.array as never);
        this.memory = memory;
        return array;
      }
      const have = this.memory.buffer.byteLength / PAGE;
      if (pages > have) this.memory.grow(pages - have);
      const buffer = this.memory.buffer;
      return new this.type(buffer, 0, buffer.byteLength / this.type.BYTES_PER_ELEMENT);
    } catch {
      // No address space for a memory, or none to grow it: plain arrays from here on, every column's.
      failed.add(make);
      return this.leaveMemory();
    }
  }

  /** Stops using a memory: `reserve` copies the values into a plain array. */
  private leaveMemory(): undefined {
    this.memory = undefined;
    return undefined;
  }
}

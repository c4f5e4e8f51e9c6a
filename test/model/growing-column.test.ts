import { describe, expect, it } from 'vitest';
import { GrowingColumn, MEMORY_BYTES } from '../../src/model/_growing-column.js';
import type { WasmMemory, WasmMemoryConstructor } from '../../src/model/_growing-column.js';
import { RequestTableBuilder } from '../../src/model/request-table.js';
import { generate } from '../diagnose/gen.js';

/** Writes `values` one by one (NaN: left unset) growing as a builder does, and finishes at their length. */
function fill(column: GrowingColumn<Float64Array>, values: readonly number[]): Float64Array {
  values.forEach((v, i) => {
    if (v === v) column.put(i, v);
  });
  return column.finish(values.length);
}

describe('GrowingColumn', () => {
  it('keeps every value across the move from plain arrays into a WebAssembly.Memory, and hands them over without a copy', () => {
    const values = Array.from({ length: MEMORY_BYTES / 8 + 5_000 }, (_, i) => (i % 7 === 0 ? NaN : i * 0.25 - 3));
    const column = new GrowingColumn(Float64Array, 16, NaN);
    const out = fill(column, values);
    expect(column.inMemory).toBe(true);
    expect(out).toBeInstanceOf(Float64Array);
    expect(out.length).toBe(values.length);
    expect(Array.from(out)).toEqual(values);
    // A view of the memory's own buffer: the values were not copied at the end.
    expect(out.buffer).toBe(column.array.buffer);
  });

  it('moves into a memory only past MEMORY_BYTES, and finishes a small column at its exact length without a copy', () => {
    const small = new GrowingColumn(Float64Array, 16, 0);
    for (let i = 0; i < MEMORY_BYTES / 8; i++) small.put(i, i);
    expect(small.inMemory).toBe(false);
    const exact = small.finish(100);
    expect(exact.length).toBe(100);
    expect(Array.from(exact)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // A view of the plain array's own buffer, as a memory's column is.
    expect(exact.buffer).toBe(small.array.buffer);
    const large = new GrowingColumn(Float64Array, MEMORY_BYTES / 8 + 1, 0);
    expect(large.inMemory).toBe(true);
  });

  it('gives the same values on plain arrays alone (no WebAssembly) as through a memory', () => {
    const values = Array.from({ length: 30_000 }, (_, i) => (i % 3 === 0 ? NaN : Math.sin(i)));
    const plain = new GrowingColumn(Float64Array, 1, NaN, { memoryAt: Infinity });
    const memory = new GrowingColumn(Float64Array, 1, NaN, { memoryAt: 0 });
    const a = fill(plain, values);
    const b = fill(memory, values);
    expect(plain.inMemory).toBe(false);
    expect(memory.inMemory).toBe(true);
    expect(Array.from(a)).toEqual(values);
    expect(Array.from(b)).toEqual(values);
  });

  it('reads values never set as the absent value: between set ones, after the last, and in a column with none set', () => {
    for (const memoryAt of [0, Infinity]) {
      const texts = new GrowingColumn(Int32Array, 4, -1, { memoryAt });
      texts.put(3, 7);
      texts.put(70_000, 9);
      const out = texts.finish(70_010);
      expect(out[0]).toBe(-1);
      expect(out[3]).toBe(7);
      expect(out[69_999]).toBe(-1);
      expect(out[70_000]).toBe(9);
      expect(out[70_009]).toBe(-1);
      const none = new GrowingColumn(Int8Array, 4, -1, { memoryAt }).finish(50_000);
      expect(none.every((v) => v === -1)).toBe(true);
    }
  });

  it('keeps values written straight into `array` (zero absent: nothing filled over them), BigInts included', () => {
    const starts = new GrowingColumn(BigInt64Array, 8, 0n, { memoryAt: 0 });
    for (let i = 0; i < 20_000; i++) {
      starts.reserve(i + 1);
      starts.array[i] = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n;
    }
    const out = starts.finish(20_000);
    expect(out[0]).toBe(1_700_000_000_000_000_000n);
    expect(out[19_999]).toBe(1_700_000_000_000_000_000n + 19_999n * 1_000_003n);
  });

  it('stops asking for memories once one could not be made (a limited address space), and keeps every value in plain arrays', () => {
    const Memory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory;
    let calls = 0;
    // Two memories, then none (as under `ulimit -v`): each failed try costs the runtime collections.
    const scarce = function (descriptor: ConstructorParameters<WasmMemoryConstructor>[0]): WasmMemory {
      calls++;
      if (calls > 2) throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      return new Memory(descriptor);
    } as unknown as WasmMemoryConstructor;
    const rows = generate({ n: 20_000, phases: { queue: 1, compute: 4 }, batchSize: () => 2, requestBytes: 900 });
    const builder = new RequestTableBuilder({ memoryAt: 1024, memory: scarce });
    for (const r of rows) builder.addRow(r);
    const table = builder.build();
    expect(table.rows()).toEqual(rows);
    expect(calls).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { NanosFrom } from '../../src/analyzer/_trace-span.js';

/** A pseudo-random uint64 (seeded: the same cases every run). */
function* uint64s(seed: number, count: number): Generator<bigint> {
  let x = BigInt(seed);
  for (let i = 0; i < count; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    yield x;
  }
}

describe('NanosFrom', () => {
  it('gives exactly Number(ns - origin), rounding included, for real times and the edges of uint64', () => {
    const origin = 1_772_460_000_017_410_092n;
    const relative = new NanosFrom(origin);
    const cases = [origin, origin + 1n, origin - 1n, origin + (1n << 53n) + 1n, origin + (1n << 60n) + 3n, 0n, 1n, (1n << 64n) - 1n, (1n << 32n) - 1n, 1n << 32n];
    for (const ns of cases) expect(relative.of(ns)).toBe(Number(ns - origin));
    for (const ns of uint64s(7, 2000)) expect(relative.of(ns)).toBe(Number(ns - origin));
    // Near the origin: the common case, differences of a few seconds either way.
    for (const d of uint64s(11, 2000)) {
      const ns = origin + (d % 20_000_000_000n) - 10_000_000_000n;
      expect(relative.of(ns)).toBe(Number(ns - origin));
    }
  });

  it('falls back to BigInt arithmetic outside 0..2^64, for the time or the origin', () => {
    const relative = new NanosFrom(5n);
    for (const ns of [-1n, -(1n << 70n), 1n << 64n, (1n << 64n) + 5n, 1n << 80n]) expect(relative.of(ns)).toBe(Number(ns - 5n));
    for (const origin of [-7n, 1n << 64n, 1n << 65n]) {
      const outside = new NanosFrom(origin);
      for (const ns of [0n, 3n, 1n << 63n, (1n << 64n) - 1n]) expect(outside.of(ns)).toBe(Number(ns - origin));
    }
  });
});

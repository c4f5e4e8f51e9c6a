import { describe, expect, it } from 'vitest';
import { unionLength } from '../../src/analyzer/_trace-span.js';
import type { Interval } from '../../src/analyzer/_trace-span.js';

/** Union length by painting integer cells: slow, obviously right. */
function painted(intervals: readonly Interval[]): number {
  const cells = new Set<number>();
  for (const [s, e] of intervals) for (let x = s; x < e; x++) cells.add(x);
  return cells.size;
}

describe('unionLength', () => {
  it('matches a brute-force union on random overlapping intervals, small and large', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (const count of [0, 1, 2, 5, 16, 17, 40]) {
      for (let round = 0; round < 50; round++) {
        const intervals: Interval[] = [];
        for (let i = 0; i < count; i++) {
          const start = random(200);
          intervals.push([start, start + random(30)]);
        }
        expect(unionLength([...intervals])).toBe(painted(intervals));
      }
    }
  });
});

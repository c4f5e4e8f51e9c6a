import { describe, expect, it } from 'vitest';
import { FinalizedIds } from '../../src/analyzer/_finalized-ids.js';

describe('FinalizedIds', () => {
  it('remembers ids of every shape exactly: hex ones packed (leading zeros, odd lengths), the others as strings', () => {
    const ids = ['0000000000000000000000000000000a', '000000000000000000000000000000a', 'a', '0', '00', 'abc', 'ABC', 'zz-top', '', 'f'.repeat(32), 'f'.repeat(33), '0123456789abcdef', '😀', '4bf92f3577b34da6a3ce929d0e0e4736'];
    const set = new FinalizedIds(100);
    for (const id of ids) set.add(id);
    for (const id of ids) expect(set.has(id)).toBe(true);
    // Ids that pack to the same digits but differ in length, case or a digit are other ids.
    for (const id of ['000000000000000000000000000000000a', '0a', 'abC', '4bf92f3577b34da6a3ce929d0e0e4737', 'f'.repeat(31), 'f'.repeat(34), '000', 'b']) expect(set.has(id)).toBe(false);
    expect(set.count).toBe(ids.length);
  });

  it('forgets the oldest id first once full, and finds every other one after many forgettings (table deletions)', () => {
    const capacity = 1000;
    const set = new FinalizedIds(capacity);
    const id = (i: number): string => (i % 97 === 0 ? `not-hex-${i}` : (i * 2654435761).toString(16).padStart(32, '0').slice(-32));
    const total = 25_000;
    for (let i = 0; i < total; i++) {
      set.add(id(i));
      if (i % 1000 === 999) {
        // Exactly the last `capacity` ids are remembered.
        expect(set.has(id(i - capacity))).toBe(false);
        for (let k = i - capacity + 1; k <= i; k++) expect(set.has(id(k))).toBe(true);
      }
    }
    expect(set.count).toBe(capacity);
  });

  it('grows its ring as ids come (slots made in steps up to the capacity), then forgets the oldest first, every id found on the way', () => {
    // Past its first room (4096 slots) twice, the last step short of a doubling, then round the ring.
    const capacity = 9000;
    const set = new FinalizedIds(capacity);
    const id = (i: number): string => (i % 89 === 0 ? `other-${i}` : ((i + 1) * 2246822519).toString(16).padStart(32, '0').slice(-32));
    for (let i = 0; i < 20_000; i++) {
      set.add(id(i));
      if (i === 4095 || i === 4096 || i === 8191 || i === 8192 || i === 8999 || i === 9000 || i === 19_999) {
        const first = Math.max(0, i - capacity + 1);
        if (first > 0) expect(set.has(id(first - 1))).toBe(false);
        for (let k = first; k <= i; k++) expect(set.has(id(k))).toBe(true);
        expect(set.has(id(i + 1))).toBe(false);
        expect(set.count).toBe(i - first + 1);
      }
    }
  });

  it('remembers nothing with a capacity of 0', () => {
    const set = new FinalizedIds(0);
    set.add('abc');
    expect(set.has('abc')).toBe(false);
    expect(set.count).toBe(0);
  });
});

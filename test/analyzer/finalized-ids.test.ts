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

  it('remembers nothing with a capacity of 0', () => {
    const set = new FinalizedIds(0);
    set.add('abc');
    expect(set.has('abc')).toBe(false);
    expect(set.count).toBe(0);
  });
});

/**
 * @module analyzer/_slot-table
 * Internal: a hash index of small integer slots (a ring slot, a trace handle) by a string key,
 * where the owner keeps each slot's key and its hash in columns, so the index holds no object
 * per key. Open addressing with linear probing and backward-shift deletion (no tombstones).
 * The owner walks a probe sequence itself, comparing its own keys: from `before(h)`, step
 * `at = (at + 1) & mask` first, then while `entries[at]` is not 0, slot `entries[at] − 1` is a
 * candidate. Every walk starts with a step (from the entry before the home one), so the step
 * has type feedback from the first call: a step first taken at the first collision, late in a
 * run whose table is still nearly empty, found none and threw away the optimized code of the
 * function it was inlined into (the trace window's `place` or `leave`), to be compiled again. A Map of strings held a 30 to
 * 80 byte entry and the key per slot, and rehashed as keys came and went (the trace window's
 * open traces change tens of thousands of times a second).
 */

/** The index: the owner probes `entries` itself (see the module comment). */
export class SlotTable {
  /** Slot + 1 of each entry; 0 empty. */
  readonly entries: Int32Array;
  readonly mask: number;

  /** An index with room for slots 0 … `slots` − 1, at most half full (short probe sequences). */
  constructor(slots: number) {
    let size = 16;
    while (size < 2 * slots) size *= 2;
    this.entries = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Where a walk for hash `h` starts: the entry before its home (see the module comment). */
  before(h: number): number {
    return (h - 1) & this.mask;
  }

  /** Adds `slot` (not in the index), whose key hashes to `h`. */
  insert(slot: number, h: number): void {
    const entries = this.entries;
    const mask = this.mask;
    let at = this.before(h);
    do at = (at + 1) & mask;
    while (entries[at] !== 0);
    entries[at] = slot + 1;
  }

  /** Removes `slot` (in the index); `hashes[s]` is the hash of every slot s's key. */
  remove(slot: number, hashes: Int32Array): void {
    const entries = this.entries;
    const mask = this.mask;
    let at = this.before(hashes[slot]!);
    do at = (at + 1) & mask;
    while (entries[at] !== slot + 1);
    // Later entries of the probe sequence move up into the hole.
    let from = (at + 1) & mask;
    while (entries[from] !== 0) {
      const home = hashes[entries[from]! - 1]! & mask;
      // The entry at `from` may fill the hole at `at` when its home is not in (at, from].
      if (((from - home) & mask) >= ((from - at) & mask)) {
        entries[at] = entries[from]!;
        at = from;
      }
      from = (from + 1) & mask;
    }
    entries[at] = 0;
  }
}

/**
 * A hash of a key's characters, two to a round (multiplicative rounds with a shift: every
 * character moves the low bits an index uses). Ids are mostly random hex, but a run's ids may
 * share long prefixes or suffixes, so every character counts.
 */
export function hashKey(key: string): number {
  const n = key.length;
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  let k = 0;
  for (; k + 1 < n; k += 2) h = Math.imul(h ^ (h >>> 15) ^ (key.charCodeAt(k) | (key.charCodeAt(k + 1) << 16)), 0xc2b2ae35);
  if (k < n) h = Math.imul(h ^ (h >>> 15) ^ key.charCodeAt(k), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
  return h ^ (h >>> 16);
}

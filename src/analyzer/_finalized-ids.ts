/**
 * @module analyzer/_finalized-ids
 * Internal: the trace window's memory of recently finalized trace ids (a span that arrives for
 * one is late), bounded to the last `capacity` ids, oldest forgotten first. Trace ids are
 * nearly always 32 lowercase hex digits (W3C Trace Context: https://www.w3.org/TR/trace-context/#trace-id):
 * those are held packed, 16 bytes in a ring of typed arrays, and found through an
 * open-addressing table of ring slots, where a string key in the window's map cost about 80
 * bytes (the 48-byte string, the map's entry) and kept 100 000 of them on the heap for the
 * collector to trace through the whole read. Any other id (uppercase, longer, not hex, empty)
 * is kept as its string in a map beside the ring.
 */
import { HEX_CODES, HEX_VALUE } from '../model/_hex-digits.js';

/** 32-bit words of a packed id: 32 hex digits. */
const WORDS = 4;
/** Most hex digits a packed id holds. */
const MAX_DIGITS = 8 * WORDS;

/** The last `capacity` ids added, oldest forgotten first (see the module comment). */
export class FinalizedIds {
  /** Ring of packed ids: WORDS words per slot, and the digit count (0: the id is in `others`). */
  private readonly words: Uint32Array;
  private readonly digits: Uint8Array;
  /**
   * Each ring slot's hash of the id's characters (hashId). The table is keyed by it, not by the
   * packed words: `has` is asked for every new trace and nearly always answers no, which the
   * hash alone tells, without packing the id (half the cost of the lookup).
   */
  private readonly hashes: Int32Array;
  /** The slot the next id goes into; once the ring is full, the oldest id's. */
  private next = 0;
  private size = 0;
  /** Open addressing with linear probing: ring slot + 1 of each id (0: empty). */
  private readonly table: Int32Array;
  private readonly mask: number;
  /** The ids that do not pack, by ring slot (a map: nearly always empty, where an array would be `capacity` slots on the heap). */
  private readonly others = new Map<number, string>();
  /** The id being looked up, packed. */
  private readonly key = new Uint32Array(WORDS);

  constructor(private readonly capacity: number) {
    this.words = new Uint32Array(capacity * WORDS);
    this.digits = new Uint8Array(capacity);
    this.hashes = new Int32Array(capacity);
    // A table at most half full: short probe sequences.
    let size = 16;
    while (size < 2 * capacity) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Ids remembered now. */
  get count(): number {
    return this.size;
  }

  /** True when `id` is one of the remembered ids. */
  has(id: string): boolean {
    const h = hashId(id);
    const table = this.table;
    const mask = this.mask;
    // The id's digit count once packed (on the first slot of the same hash); −1 not yet.
    let n = -1;
    for (let at = h & mask, entry = table[at]!; entry !== 0; at = (at + 1) & mask, entry = table[at]!) {
      const slot = entry - 1;
      if (this.hashes[slot] !== h) continue;
      const digits = this.digits[slot]!;
      if (digits === 0) {
        if (this.others.get(slot) === id) return true;
        continue;
      }
      if (n < 0) n = this.pack(id);
      if (n === digits && this.holdsKey(slot)) return true;
    }
    return false;
  }

  /** Remembers `id` (not remembered now), forgetting the oldest id when `capacity` are. */
  add(id: string): void {
    if (this.capacity <= 0) return;
    const slot = this.next;
    if (this.size === this.capacity) this.forget(slot);
    else this.size++;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    const h = hashId(id);
    this.hashes[slot] = h;
    const n = this.pack(id);
    this.digits[slot] = n;
    if (n === 0) {
      this.others.set(slot, id);
    } else {
      const key = this.key;
      const words = this.words;
      const w = slot * WORDS;
      words[w] = key[0]!;
      words[w + 1] = key[1]!;
      words[w + 2] = key[2]!;
      words[w + 3] = key[3]!;
    }
    const table = this.table;
    let at = h & this.mask;
    while (table[at] !== 0) at = (at + 1) & this.mask;
    table[at] = slot + 1;
  }

  /** Drops the id in ring slot `slot`. */
  private forget(slot: number): void {
    if (this.digits[slot] === 0) this.others.delete(slot);
    const table = this.table;
    const mask = this.mask;
    let at = this.hashes[slot]! & mask;
    while (table[at] !== slot + 1) at = (at + 1) & mask;
    // Backward-shift deletion: later entries of the probe sequence move up, so no tombstones.
    let from = (at + 1) & mask;
    while (table[from] !== 0) {
      const home = this.hashes[table[from]! - 1]! & mask;
      // The entry at `from` may fill the hole at `at` when its home is not in (at, from].
      if (((from - home) & mask) >= ((from - at) & mask)) {
        table[at] = table[from]!;
        at = from;
      }
      from = (from + 1) & mask;
    }
    table[at] = 0;
  }

  /** True when ring slot `slot` holds the packed id in `key`. */
  private holdsKey(slot: number): boolean {
    const words = this.words;
    const key = this.key;
    const w = slot * WORDS;
    return words[w] === key[0] && words[w + 1] === key[1] && words[w + 2] === key[2] && words[w + 3] === key[3];
  }

  /**
   * Packs `id` into `key`, digit k in bits 28 − 4·(k mod 8) of word k/8, and returns its digit
   * count; 0 when it does not pack (empty, longer than 32 digits, or not lowercase hex).
   */
  private pack(id: string): number {
    const n = id.length;
    if (n === 0 || n > MAX_DIGITS) return 0;
    const key = this.key;
    key.fill(0);
    for (let k = 0; k < n; k++) {
      const c = id.charCodeAt(k);
      const v = c < HEX_CODES ? HEX_VALUE[c]! : -1;
      if (v < 0) return 0;
      key[k >> 3]! |= v << (28 - 4 * (k & 7));
    }
    return n;
  }
}

/**
 * A hash of the id's characters, two to a round (multiplicative rounds with a shift: every
 * character moves the low bits the table uses). Cheaper than packing: no digit is decoded.
 */
function hashId(id: string): number {
  const n = id.length;
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  let k = 0;
  for (; k + 1 < n; k += 2) h = Math.imul(h ^ (h >>> 15) ^ (id.charCodeAt(k) | (id.charCodeAt(k + 1) << 16)), 0xc2b2ae35);
  if (k < n) h = Math.imul(h ^ (h >>> 15) ^ id.charCodeAt(k), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
  return h ^ (h >>> 16);
}

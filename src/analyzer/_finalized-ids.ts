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

/** 32-bit words of a packed id: 32 hex digits. */
const WORDS = 4;
/** Most hex digits a packed id holds. */
const MAX_DIGITS = 8 * WORDS;

/** The last `capacity` ids added, oldest forgotten first (see the module comment). */
export class FinalizedIds {
  /** Ring of packed ids: WORDS words per slot, and the digit count (0: the id is in `others`). */
  private readonly words: Uint32Array;
  private readonly digits: Uint8Array;
  /** The slot the next id goes into; once the ring is full, the oldest id's. */
  private next = 0;
  private size = 0;
  /** Open addressing with linear probing: ring slot + 1 of each packed id (0: empty). */
  private readonly table: Int32Array;
  private readonly mask: number;
  /** Ids that do not pack. */
  private readonly others = new Set<string>();
  /** The id each ring slot of an unpacked id holds (a map: nearly always empty, where an array would be `capacity` slots on the heap). */
  private readonly otherAt = new Map<number, string>();
  /** The id being looked up, packed. */
  private readonly key = new Uint32Array(WORDS);

  constructor(private readonly capacity: number) {
    this.words = new Uint32Array(capacity * WORDS);
    this.digits = new Uint8Array(capacity);
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
    const n = this.pack(id);
    if (n === 0) return this.others.has(id);
    return this.find(n) >= 0;
  }

  /** Remembers `id` (not remembered now), forgetting the oldest id when `capacity` are. */
  add(id: string): void {
    if (this.capacity <= 0) return;
    const slot = this.next;
    if (this.size === this.capacity) this.forget(slot);
    else this.size++;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    const n = this.pack(id);
    this.digits[slot] = n;
    if (n === 0) {
      this.others.add(id);
      this.otherAt.set(slot, id);
      return;
    }
    this.words.set(this.key, slot * WORDS);
    const table = this.table;
    let at = this.hash() & this.mask;
    while (table[at] !== 0) at = (at + 1) & this.mask;
    table[at] = slot + 1;
  }

  /** Drops the id in ring slot `slot`. */
  private forget(slot: number): void {
    const n = this.digits[slot]!;
    if (n === 0) {
      this.others.delete(this.otherAt.get(slot)!);
      this.otherAt.delete(slot);
      return;
    }
    this.key.set(this.words.subarray(slot * WORDS, slot * WORDS + WORDS));
    const table = this.table;
    const mask = this.mask;
    let at = this.find(n);
    // Backward-shift deletion: later entries of the probe sequence move up, so no tombstones.
    let from = (at + 1) & mask;
    while (table[from] !== 0) {
      const home = this.hashOf(table[from]! - 1) & mask;
      // The entry at `from` may fill the hole at `at` when its home is not in (at, from].
      if (((from - home) & mask) >= ((from - at) & mask)) {
        table[at] = table[from]!;
        at = from;
      }
      from = (from + 1) & mask;
    }
    table[at] = 0;
  }

  /** The table index of the packed id in `key` with `n` digits; −1 when absent. */
  private find(n: number): number {
    const table = this.table;
    const words = this.words;
    const key = this.key;
    let at = this.hash() & this.mask;
    for (let entry = table[at]!; entry !== 0; at = (at + 1) & this.mask, entry = table[at]!) {
      const slot = entry - 1;
      const w = slot * WORDS;
      if (this.digits[slot] === n && words[w] === key[0] && words[w + 1] === key[1] && words[w + 2] === key[2] && words[w + 3] === key[3]) return at;
    }
    return -1;
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
      const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (v < 0) return 0;
      key[k >> 3]! |= v << (28 - 4 * (k & 7));
    }
    return n;
  }

  /** Hash of the packed id in `key`. */
  private hash(): number {
    const key = this.key;
    return mix(key[0]!, key[1]!, key[2]!, key[3]!);
  }

  /** Hash of the packed id in ring slot `slot`. */
  private hashOf(slot: number): number {
    const w = slot * WORDS;
    const words = this.words;
    return mix(words[w]!, words[w + 1]!, words[w + 2]!, words[w + 3]!);
  }
}

/** Mixes four words into a hash (multiplicative rounds: every digit moves the low bits the table uses). */
function mix(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

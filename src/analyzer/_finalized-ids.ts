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
import { SlotTable, hashKey } from './_slot-table.js';

/** 32-bit words of a packed id: 32 hex digits. */
const WORDS = 4;
/** Most hex digits a packed id holds. */
const MAX_DIGITS = 8 * WORDS;

/**
 * Ring slots made at first; the ring doubles from there up to its capacity as ids come. Made at
 * full capacity (100 000 by default) it was 3 MB of zeroed arrays before the first span, which
 * glibc clears at once under the CLI's malloc pad (about 750 page faults, 5–9 ms) even for an
 * input of a few traces.
 */
const FIRST_ROOM = 4096;

/** The last `capacity` ids added, oldest forgotten first (see the module comment). */
export class FinalizedIds {
  /** Ring of packed ids: WORDS words per slot, and the digit count (0: the id is in `others`). */
  private words = new Uint32Array(0);
  private digits = new Uint8Array(0);
  /**
   * Each ring slot's hash of the id's characters (hashKey). The index is keyed by it, not by the
   * packed words: `has` is asked for every new trace and nearly always answers no, which the
   * hash alone tells, without packing the id (half the cost of the lookup).
   */
  private hashes = new Int32Array(0);
  /** The slot the next id goes into; once the ring is full, the oldest id's. */
  private next = 0;
  private size = 0;
  /** Ring slots by id. */
  private index = new SlotTable(0);
  /** The ids that do not pack, by ring slot (a map: nearly always empty, where an array would be `capacity` slots on the heap). */
  private readonly others = new Map<number, string>();
  /** The id being looked up, packed. */
  private readonly key = new Uint32Array(WORDS);

  constructor(private readonly capacity: number) {
    this.grow(Math.min(capacity, FIRST_ROOM));
  }

  /** Ids remembered now. */
  get count(): number {
    return this.size;
  }

  /** True when `id` is one of the remembered ids; `h` is hashKey(id), when the caller has it. */
  has(id: string, h = hashKey(id)): boolean {
    const { entries, mask } = this.index;
    // The id's digit count once packed (on the first slot of the same hash); −1 not yet.
    let n = -1;
    for (let at = this.index.before(h); ; ) {
      at = (at + 1) & mask;
      const entry = entries[at]!;
      if (entry === 0) return false;
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
  }

  /** Remembers `id` (not remembered now), forgetting the oldest id when `capacity` are; `h` is hashKey(id), when the caller has it. */
  add(id: string, h = hashKey(id)): void {
    if (this.capacity <= 0) return;
    const slot = this.next;
    if (this.size === this.capacity) {
      this.forget(slot);
    } else {
      if (this.size === this.digits.length) this.grow(Math.min(this.capacity, 2 * this.size));
      this.size++;
    }
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
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
    this.index.insert(slot, h);
  }

  /**
   * Makes the ring `room` slots, keeping the ids it holds: at first, and doubled (up to its
   * capacity) when every slot holds an id and it is not yet full; until then ids fill slots 0, 1,
   * … in order, so the slots keep their numbers.
   */
  private grow(room: number): void {
    const words = new Uint32Array(room * WORDS);
    words.set(this.words);
    const digits = new Uint8Array(room);
    digits.set(this.digits);
    const hashes = new Int32Array(room);
    hashes.set(this.hashes);
    const index = new SlotTable(room);
    for (let slot = 0; slot < this.digits.length; slot++) index.insert(slot, hashes[slot]!);
    this.words = words;
    this.digits = digits;
    this.hashes = hashes;
    this.index = index;
  }

  /** Drops the id in ring slot `slot`. */
  private forget(slot: number): void {
    if (this.digits[slot] === 0) this.others.delete(slot);
    this.index.remove(slot, this.hashes);
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

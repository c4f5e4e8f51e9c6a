/**
 * @module examples/model/seeded-random
 * A small deterministic PRNG (mulberry32) so the example model's weights and the load
 * generator's inputs are identical on every run and every machine.
 */

/** A function returning uniform floats in [0, 1), deterministic for a given seed. */
export type RandomSource = () => number;

/** Creates a mulberry32 generator; the same seed always yields the same sequence. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

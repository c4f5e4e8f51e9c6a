/**
 * @module model/_word-halves
 * Where a 64-bit element's low and high 32-bit halves lie in a Uint32Array over the same bytes:
 * typed arrays use the platform's byte order (big-endian on s390x), so code that reads a
 * BigUint64Array's values as two numbers, without a BigInt, indexes by these.
 */

/** Index of the low 32 bits of element 0 in a Uint32Array over a BigUint64Array's bytes. */
export const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
/** Index of the high 32 bits of element 0. */
export const HIGH = 1 - LOW;

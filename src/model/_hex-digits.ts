/**
 * @module model/_hex-digits
 * The value of a lowercase hex digit by character code, for the loops that pack ids (trace and
 * span ids are lowercase hex: https://www.w3.org/TR/trace-context/#trace-id). One table read
 * per character instead of two range tests, whose branches a CPU cannot predict on random
 * digits (ten of sixteen are 0–9).
 */

/** Character codes the table covers (ASCII); a code at or past it is no hex digit. */
export const HEX_CODES = 128;

/** The value 0–15 of each character code below HEX_CODES that is a lowercase hex digit; −1 for every other. */
export const HEX_VALUE: Int8Array = (() => {
  const table = new Int8Array(HEX_CODES).fill(-1);
  for (let v = 0; v < 16; v++) table['0123456789abcdef'.charCodeAt(v)] = v;
  return table;
})();

/**
 * @module model/count
 * How a count is written wherever a person reads it: reader and assembly warnings, the reports,
 * the CLI's one-line errors. One place, so "1,980 spans" reads the same in all of them.
 */

/** An integer with thousands separators. */
export function formatCount(n: number): string {
  // By hand for integers: the first toLocaleString loads ICU's number formatting (~30 ms CPU per run).
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += ',' + digits.slice(i, i + 3);
  return n < 0 || Object.is(n, -0) ? '-' + out : out;
}

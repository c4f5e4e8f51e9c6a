/**
 * @module model/count
 * How a count (and a duration) is written wherever a person reads it: reader, assembly and
 * analysis warnings, the reports, the CLI's one-line errors. One place, so "1,980 spans" and
 * "2 h 03 min" read the same in all of them.
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

/** A duration in seconds, human-sized: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * @module prometheus/duration
 * Durations and times as `--range`, `--step`, `--start` and `--end` take them: Prometheus
 * durations (`90s`, `10m`, `1h30m`, `2d`), RFC 3339 times or unix seconds.
 */
import { PrometheusError } from './errors.js';

const UNIT_S: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** `1h30m` → 5400 (seconds); throws PrometheusError naming the option on anything else. */
export function parseDuration(option: string, text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_S[m[2] ?? 's'] ?? 1);
    matched = re.lastIndex;
  }
  if (matched !== text.length || text === '' || !(total > 0)) throw new PrometheusError('option', option, `expected a duration such as 90s, 10m, 1h or 1h30m, got ${JSON.stringify(text)}`);
  return total;
}

/**
 * RFC 3339 (https://www.rfc-editor.org/rfc/rfc3339#section-5.6): a date, a time with seconds and
 * an offset; `T` may be a space, as the RFC allows.
 */
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Unix seconds past this (year 5138) are milliseconds or microseconds given where seconds are due. */
const MAX_UNIX_S = 1e11;

/** A time as whole unix seconds and the digits of its fraction (`''` for none), as written. */
interface WrittenTime {
  readonly wholeS: number;
  readonly fraction: string;
}

/**
 * An RFC 3339 time or unix seconds, read exactly: whole seconds and fraction digits. Not
 * Date.parse: V8 reads `x 5` and `-5` as 2001-05-01, a time without offset in the machine's
 * zone, and 2026-02-30 as 2026-03-02.
 */
function readTime(option: string, text: string): WrittenTime {
  const expected = (why: string): PrometheusError => new PrometheusError('option', option, `expected an RFC 3339 time (2026-01-01T10:00:00Z) or unix seconds, got ${JSON.stringify(text)}${why}`);
  const unix = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (unix !== null) {
    const wholeS = Number(unix[1]);
    if (wholeS >= MAX_UNIX_S) throw expected(`: ${text} seconds is after the year 5000 (milliseconds?)`);
    return { wholeS, fraction: unix[2] ?? '' };
  }
  const m = RFC_3339.exec(text);
  if (m === null) throw expected(/^\d{4}-\d{2}-\d{2}[Tt ][\d:.]+$/.test(text) ? ' (no offset: add Z for UTC, or +HH:MM)' : '');
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = [m[1], m[2], m[3], m[4], m[5], m[6], m[10], m[11]].map(Number) as [number, number, number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // Second 60 is a leap second (RFC 3339 5.7); Date.UTC carries it into the next minute.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60 || (m[8] === undefined && (offsetHour > 23 || offsetMinute > 59))) throw expected(' (no such date or time)');
  const offsetMin = m[8] !== undefined ? 0 : (m[9] === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  return { wholeS: (Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000) / 1000, fraction: (m[7] ?? '').slice(1) };
}

/** An RFC 3339 time or unix seconds → unix seconds (the fraction as a double can hold it). */
export function parseTime(option: string, text: string): number {
  const { wholeS, fraction } = readTime(option, text);
  return wholeS + (fraction === '' ? 0 : Number(`0.${fraction}`));
}

/**
 * An RFC 3339 time or unix seconds → ns since the epoch, exactly to the ns (digits past the ninth
 * are dropped): a bound compared with span times in ns must be the one written, not its nearest
 * double (1772496000.3 s is …299 999 952 ns as a double).
 */
export function parseTimeNs(option: string, text: string): bigint {
  const { wholeS, fraction } = readTime(option, text);
  return BigInt(wholeS) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9));
}

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

/** An RFC 3339 time or unix seconds → unix seconds. */
export function parseTime(option: string, text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new PrometheusError('option', option, `expected an RFC 3339 time (2026-01-01T10:00:00Z) or unix seconds, got ${JSON.stringify(text)}`);
  return ms / 1000;
}

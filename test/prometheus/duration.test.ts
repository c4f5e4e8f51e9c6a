/**
 * `--start`/`--end`/`--range` as a user types them: what is read is the time they meant, and
 * anything else is one error naming the option, never a different time.
 */
import { describe, expect, it } from 'vitest';
import { parseDuration, parseTime } from '../../src/prometheus/duration.js';

const at = (iso: string): number => Date.parse(iso) / 1000;

describe('parseTime', () => {
  it('reads RFC 3339 times with their offset, and unix seconds', () => {
    expect(parseTime('--start', '2026-11-30T10:00:00Z')).toBe(at('2026-11-30T10:00:00Z'));
    expect(parseTime('--start', '2026-11-30 10:00:00z')).toBe(at('2026-11-30T10:00:00Z'));
    expect(parseTime('--start', '2026-11-30T10:00:00.250+05:30')).toBe(at('2026-11-30T04:30:00.250Z'));
    expect(parseTime('--start', '2026-11-30T10:00:00-01:00')).toBe(at('2026-11-30T11:00:00Z'));
    expect(parseTime('--end', '2028-02-29T00:00:00Z')).toBe(at('2028-02-29T00:00:00Z'));
    expect(parseTime('--end', '1764496800')).toBe(1_764_496_800);
    expect(parseTime('--end', '1764496800.5')).toBe(1_764_496_800.5);
  });

  it('refuses what Date.parse would have read as another time', () => {
    // V8 read these as 2001-05-01, 2001-05-01, 2026-01-01, 2026-03-02 and (zone-less) the machine's local time.
    for (const text of ['x 5', '-5', 'foo 2026', '2026-02-30T10:00:00Z', '2026-11-30T10:00:00', '2026-11-30T24:00:00Z', 'Nov 30 2026', '2026-11-30']) {
      expect(() => parseTime('--start', text), text).toThrow(/--start.*expected an RFC 3339 time/);
    }
    expect(() => parseTime('--start', '2026-11-30T10:00:00')).toThrow(/no offset: add Z/);
  });

  it('refuses milliseconds given as unix seconds', () => {
    expect(() => parseTime('--end', '1764496800000')).toThrow(/milliseconds\?/);
  });
});

describe('parseDuration', () => {
  it('reads Prometheus durations and refuses the rest', () => {
    expect(parseDuration('--range', '1h30m')).toBe(5400);
    expect(parseDuration('--step', '500ms')).toBe(0.5);
    for (const text of ['', '0s', '10', '1m30', '10M', '-5m']) expect(() => parseDuration('--range', text), text).toThrow(/--range/);
  });
});

/**
 * @module sidecar/values
 * Cell-level decoding of nvidia-smi output: sentinel strings become absent values (never 0),
 * units and padding are stripped, and numbers are parsed strictly.
 */

/**
 * Texts nvidia-smi prints instead of a value. In `--query-gpu` CSV they come bracketed
 * (`[N/A]`, `[Not Supported]`, `[Insufficient Permissions]`, `[Unknown Error]`,
 * `[Requested functionality has been deprecated]`); in `-q -x` XML unbracketed (`N/A`,
 * `Requested functionality has been deprecated`). Any bracketed cell is an NVML error text
 * (as the captures in test/fixtures/nvidia-smi show), so every bracketed cell is treated as absent.
 */
const SENTINELS = new Set([
  'n/a',
  'na',
  'not supported',
  'not available',
  'not found',
  'insufficient permissions',
  'unknown error',
  'requested functionality has been deprecated',
  'gpu is lost',
]);

/** A trimmed cell, or undefined when nvidia-smi reported no value (sentinel or empty). */
export function presentText(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (text.startsWith('[') && text.endsWith(']')) return undefined;
  if (SENTINELS.has(text.toLowerCase())) return undefined;
  return text;
}

// Units nvidia-smi appends to values (`40 C`, `1032 MiB`, `26.78 W`, `65 %`, `1980 MHz`, `0 us`).
const UNIT_SUFFIX = /\s*(?:C|MiB|GiB|KiB|W|%|MHz|us|ms|s|mW|V)$/;

/** A finite number from a cell such as `"40 C"`, `" 26.78 W "` or `"65"`; undefined when absent or not numeric. */
export function parseNumber(raw: string | undefined): number | undefined {
  const text = presentText(raw);
  if (text === undefined) return undefined;
  const bare = text.replace(UNIT_SUFFIX, '').trim();
  if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(bare)) return undefined;
  const value = Number(bare);
  return Number.isFinite(value) ? value : undefined;
}

/** MiB (nvidia-smi's memory unit) to bytes. */
export function mibToBytes(mib: number | undefined): number | undefined {
  return mib === undefined ? undefined : mib * 1024 * 1024;
}

/** Percent (0–100) to a fraction (0–1). */
export function percentToFraction(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}

/** `P0`…`P15` to 0…15. */
export function parsePstate(raw: string | undefined): number | undefined {
  const text = presentText(raw);
  const match = text === undefined ? null : /^P(\d{1,2})$/i.exec(text);
  if (match === null) return undefined;
  const value = Number(match[1]);
  return value <= 15 ? value : undefined;
}

/** `Enabled`/`Disabled` (and `Yes`/`No`, `Active`/`Not Active`) to a boolean. */
export function parseEnabled(raw: string | undefined): boolean | undefined {
  const text = presentText(raw)?.toLowerCase();
  if (text === undefined) return undefined;
  if (text === 'enabled' || text === 'yes' || text === 'active' || text === 'on') return true;
  if (text === 'disabled' || text === 'no' || text === 'not active' || text === 'off') return false;
  return undefined;
}

/** nvidia-smi's `timestamp` (`2026/07/14 08:12:53.353`, local time) to ms since the epoch. */
export function parseTimestamp(raw: string | undefined): number | undefined {
  const text = presentText(raw);
  const match = text === undefined ? null : /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  const time = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number((ms ?? '0').padEnd(3, '0'))).getTime();
  return Number.isFinite(time) ? time : undefined;
}

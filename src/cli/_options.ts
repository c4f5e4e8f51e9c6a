/**
 * @module cli/_options
 * Option shapes the commands share.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { TimeRange } from '../analyzer/index.js';
import { parseDuration, parseTimeNs } from '../prometheus/duration.js';
import { CliError } from './errors.js';

/**
 * An option that may be given several times (`--threshold a=1 --threshold b=2`), collected in
 * order. No default value: Commander would print it in `--help` as "(default: [])".
 */
export function repeatable(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
}

/**
 * A count or a number of milliseconds, bytes or a port: decimal digits only, from `min` to `max`.
 * `Number()` alone would take `0x10`, `1e3`, ` 12 ` and `+5`, and a value past 2^53 rounded: a
 * typo read as another number is worse than a refusal.
 */
export function integerOption(name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const expected = max < Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}` : min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
  return (value) => {
    const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be ${expected} in decimal digits, got "${value}"`);
    return n;
  };
}

/** A time range as given on the command line: `--start`, `--end`, `--range` (or a side's own, `--after-start` …). */
export interface TimeRangeFlags {
  readonly start?: string | undefined;
  readonly end?: string | undefined;
  readonly range?: string | undefined;
}

/** The options' names as the user typed them, for the one-line errors. */
const PLAIN_NAMES = { start: '--start', end: '--end', range: '--range' } as const;

/** Refuses `--range` with `--start`: the range counts back from `--end`, so the two name the start twice. */
export function assertRangeOrStart(flags: TimeRangeFlags, names: Readonly<Record<keyof TimeRangeFlags, string>> = PLAIN_NAMES): void {
  if (flags.range !== undefined && flags.start !== undefined) throw new CliError(`give ${names.range} or ${names.start}, not both`);
}

/**
 * `--start`/`--end` (and `--range` back from `--end`) on trace files: the range requests (and
 * traces without requests) must start in; undefined when none is given. The one place these
 * options are read for trace files (`analyze`, both sides of `diff`). A file has no "now" for
 * `--range` to count back from, so it needs `--end`.
 */
export function fileTimeRange(flags: TimeRangeFlags, names: Readonly<Record<keyof TimeRangeFlags, string>> = PLAIN_NAMES): TimeRange | undefined {
  assertRangeOrStart(flags, names);
  if (flags.range !== undefined && flags.end === undefined) throw new CliError(`with trace files, ${names.range} needs ${names.end} (it counts back from ${names.end}; a file has no "now"), or give ${names.start}`);
  const endNs = flags.end !== undefined ? parseTimeNs(names.end, flags.end) : undefined;
  const back = flags.range !== undefined ? BigInt(Math.round(parseDuration(names.range, flags.range) * 1e9)) : undefined;
  const startNs = flags.start !== undefined ? parseTimeNs(names.start, flags.start) : back !== undefined && endNs !== undefined ? endNs - back : undefined;
  if (startNs === undefined && endNs === undefined) return undefined;
  if (startNs !== undefined && endNs !== undefined && startNs >= endNs) throw new CliError(`${names.start} (${flags.start ?? `${names.end} − ${names.range}`}) must be before ${names.end} (${flags.end ?? ''})`);
  return { ...(startNs !== undefined ? { startNs } : {}), ...(endNs !== undefined ? { endNs } : {}) };
}

/**
 * Fails before any work when `--html FILE` cannot be written (its directory missing or read-only,
 * or FILE a directory): exit 2 then means "no JSON on stdout", as documented, instead of a whole
 * report printed and the page failing last. The write itself still reports what it meets.
 */
export function assertHtmlTarget(out: string): void {
  const problem = htmlTargetProblem(out);
  if (problem !== undefined) throw new CliError(`--html ${out}: cannot write the report (${problem})`);
}

function htmlTargetProblem(out: string): string | undefined {
  try {
    if (statSync(out).isDirectory()) return 'EISDIR: is a directory';
  } catch {
    // Not there yet: its directory must be.
  }
  try {
    accessSync(dirname(resolve(out)), constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return `${code}${code === 'ENOENT' ? ': no such directory' : ''}`;
  }
}

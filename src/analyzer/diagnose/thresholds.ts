/**
 * @module analyzer/diagnose/thresholds
 * Every named threshold of the diagnosis, gathered from the signal stage and the rule registry
 * (each rule module declares its own), with defaults, overrides (`--threshold key=value`) and
 * validation.
 */
import type { ThresholdSpec } from './threshold-spec.js';
import { SIGNAL_THRESHOLDS } from './signals.js';
import { RULES } from './rules.js';
import type { RuleThresholdKey } from './rules.js';
import { DiagnoseOptionError } from './errors.js';

/** Name of one threshold, e.g. `batching.min_queue_share`. */
export type ThresholdKey = keyof typeof SIGNAL_THRESHOLDS | RuleThresholdKey;

/** A value for every threshold. */
export type Thresholds = { readonly [K in ThresholdKey]: number };

/** Signal thresholds first, then each rule's in registry order; a key two rules share must be the same spec. */
function collectSpecs(): Readonly<Record<ThresholdKey, ThresholdSpec>> {
  const specs: Record<string, ThresholdSpec> = { ...SIGNAL_THRESHOLDS };
  for (const rule of RULES) {
    for (const key of rule.thresholdKeys) {
      const spec = rule.thresholds[key] as ThresholdSpec;
      const seen = specs[key];
      if (seen !== undefined && seen !== spec) throw new Error(`diagnosis threshold ${key} is declared twice with different specs (rule ${rule.id})`);
      specs[key] = spec;
    }
  }
  return Object.freeze(specs as Record<ThresholdKey, ThresholdSpec>);
}

/** Every threshold with its unit, source and reasoning. */
export const THRESHOLD_SPECS: Readonly<Record<ThresholdKey, ThresholdSpec>> = collectSpecs();

/** The default thresholds. */
export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze(
  Object.fromEntries(Object.entries(THRESHOLD_SPECS).map(([k, spec]) => [k, spec.value])) as Thresholds,
);

/** True when `key` names a threshold. */
export function isThresholdKey(key: string): key is ThresholdKey {
  return Object.prototype.hasOwnProperty.call(THRESHOLD_SPECS, key);
}

/** Defaults with `overrides` applied; throws DiagnoseOptionError on an unknown key or a bad value. */
export function resolveThresholds(overrides?: Partial<Thresholds>): Thresholds {
  if (!overrides) return DEFAULT_THRESHOLDS;
  for (const [key, value] of Object.entries(overrides)) {
    if (!isThresholdKey(key)) throw new DiagnoseOptionError('--threshold', key, `one of ${Object.keys(THRESHOLD_SPECS).join(', ')}`);
    if (value === undefined) continue;
    const problem = valueProblem(key, value);
    if (problem !== undefined) throw new DiagnoseOptionError('--threshold', `${key}=${String(value)}`, problem);
  }
  return Object.freeze({ ...DEFAULT_THRESHOLDS, ...(overrides as Thresholds) });
}

/**
 * What is wrong with `value` for `key`, if anything. A share read as 25 instead of 25% would
 * silently switch its rule off (or trim every request as warm-up): above the spec's `max`.
 */
function valueProblem(key: ThresholdKey, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return 'a finite, non-negative decimal number, e.g. 0.4 or 40%';
  const { max, unit, whole } = THRESHOLD_SPECS[key];
  if (whole === true && !Number.isInteger(value)) return `a whole number of ${unit}, e.g. ${THRESHOLD_SPECS[key].value}`;
  return max !== undefined && value > max ? `at most ${max} (${unit}; a percentage is written 25%)` : undefined;
}

/** Parse one `key=value` override as `--threshold` takes it, e.g. `batching.min_queue_share=0.4`. */
export function parseThresholdOverride(text: string): { readonly key: ThresholdKey; readonly value: number } {
  const match = /^\s*([a-z0-9_.]+)\s*=\s*([^\s]+)\s*$/i.exec(text);
  if (!match) throw new DiagnoseOptionError('--threshold', text, 'key=value, e.g. batching.min_queue_share=0.4');
  const key = match[1] as string;
  if (!isThresholdKey(key)) throw new DiagnoseOptionError('--threshold', text, `a known threshold name (see docs/diagnosis.md), e.g. ${Object.keys(THRESHOLD_SPECS).slice(0, 3).join(', ')}`);
  // A decimal, as docs/diagnosis.md writes them: Number() alone read `=%` (an empty number) as 0
  // and `0x10` as 16, and the run went on with that threshold.
  const number = /^(-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(%?)$/i.exec(match[2] as string);
  const value = number === null ? Number.NaN : Number(number[1]) / (number[2] === '%' ? 100 : 1);
  const problem = valueProblem(key, value);
  if (problem !== undefined) throw new DiagnoseOptionError('--threshold', text, problem);
  return { key, value };
}

/** Parse several `--threshold` values into overrides. */
export function parseThresholdOverrides(texts: readonly string[]): Partial<Thresholds> {
  const out: Partial<Record<ThresholdKey, number>> = {};
  for (const text of texts) {
    const { key, value } = parseThresholdOverride(text);
    out[key] = value;
  }
  return out;
}

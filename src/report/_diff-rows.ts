/**
 * @module report/_diff-rows
 * Internal: the rows of a before/after table, shared by the text, Markdown and HTML diff
 * reports, so every rendering states the same numbers, intervals and sample sizes.
 */
import type { AnalysisDiff, DistributionChange, ModelChange, QuantileChange, SideRange } from '../analyzer/diff/index.js';
import { formatCount, formatKeptOf, formatMs } from './_format.js';

/**
 * What each side's `--start`/`--end` range kept, one line a side ("BEFORE: 88 of 220 requests
 * (those that start before …)"); none when neither side was cut.
 */
export function rangeLines(diff: AnalysisDiff): string[] {
  if (diff.ranges === undefined) return [];
  const line = (label: string, side: SideRange | undefined): string => `${label}: ${side === undefined ? 'every request of the input (no range)' : formatKeptOf(side.requests, 'request', side.range)}`;
  return [line('BEFORE', diff.ranges.before), line('AFTER', diff.ranges.after)];
}

/** One row: a quantity (e2e or a phase) at one quantile. */
export interface DiffRow {
  readonly quantity: string;
  readonly quantile: string;
  readonly before: string;
  readonly after: string;
  readonly changeMs: string;
  readonly changePct: string;
  /** The interval of the change in ms, or why there is none. */
  readonly interval: string;
  /** 'faster', 'slower' or '' (not significant / not tested). */
  readonly significance: '' | 'faster' | 'slower';
}

function signed(x: number, digits: (v: number) => string): string {
  const text = digits(Math.abs(x));
  // No sign on a change that rounds to zero ("−0.00" reads as a change).
  return /[1-9]/.test(text) ? `${x > 0 ? '+' : '−'}${text}` : text;
}

/** "+12.3%" / "−70.1%". */
export function formatChangePct(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  return `${signed(ratio * 100, (v) => v.toFixed(1))}%`;
}

/** "+1.23" / "−28.9" milliseconds. */
export function formatChangeMs(ms: number): string {
  return signed(ms, formatMs);
}

/**
 * An interval bound: as a change, but a bound that is not 0 never prints as "0.00" (a
 * significant interval shown as "−0.14 … 0.00" reads as if it touched 0); it gets one digit.
 */
export function formatBoundMs(ms: number): string {
  const text = formatChangeMs(ms);
  if (ms === 0 || /[1-9]/.test(text)) return text;
  return `${ms > 0 ? '+' : '−'}${Math.abs(ms) >= 0.001 ? Math.abs(ms).toPrecision(1) : '<0.001'}`;
}

function row(quantity: string, q: QuantileChange): DiffRow {
  return {
    quantity,
    quantile: q.quantile,
    before: formatMs(q.beforeMs),
    after: formatMs(q.afterMs),
    changeMs: formatChangeMs(q.changeMs),
    changePct: formatChangePct(q.changeRatio),
    interval: q.interval ? `${formatBoundMs(q.interval.lowMs)} … ${formatBoundMs(q.interval.highMs)}` : `n < ${q.minSamples}`,
    significance: q.significant ? (q.changeMs < 0 ? 'faster' : 'slower') : '',
  };
}

/** Rows of a model: e2e first, then each compared phase, then TTFT and TPOT. */
export function diffRows(model: ModelChange): DiffRow[] {
  const rows = model.e2e.quantiles.map((q) => row('end-to-end', q));
  for (const { phase, change } of model.phases) rows.push(...change.quantiles.map((q) => row(phase, q)));
  for (const { metric, change } of model.generation) rows.push(...change.quantiles.map((q) => row(metric.toUpperCase(), q)));
  return rows;
}

/** The shift test in words: "AFTER slower in 12.0% of pairs (p < 0.001), n 812 → 1,604". */
export function shiftText(change: DistributionChange): string {
  const sizes = `n ${formatCount(change.beforeCount)} → ${formatCount(change.afterCount)}`;
  const s = change.shift;
  if (s === undefined) return `${sizes}; too few requests for a shift test`;
  const p = s.pValue < 0.001 ? 'p < 0.001' : `p = ${s.pValue.toFixed(3)}`;
  const verdict = change.shiftSignificant ? (s.probabilitySlower < 0.5 ? 'faster' : 'slower') : 'no significant shift';
  return `${sizes}; Mann-Whitney: an AFTER request is slower than a BEFORE one in ${(s.probabilitySlower * 100).toFixed(1)}% of pairs (${p}): ${verdict}`;
}

/** Notes of phases whose sample sizes differ from e2e's (the e2e note covers the rest). */
export function phaseNotes(model: ModelChange): string[] {
  return model.phases
    .filter(({ change }) => change.note !== undefined && (change.beforeCount !== model.e2e.beforeCount || change.afterCount !== model.e2e.afterCount))
    .map(({ phase, change }) => `${phase}: ${change.note!}`);
}

/** Lines about models on one side only. */
export function unmatchedModels(diff: AnalysisDiff): string[] {
  const lines: string[] = [];
  if (diff.onlyBefore.length > 0) lines.push(`only BEFORE has model ${diff.onlyBefore.join(', ')}: not compared`);
  if (diff.onlyAfter.length > 0) lines.push(`only AFTER has model ${diff.onlyAfter.join(', ')}: not compared`);
  return lines;
}

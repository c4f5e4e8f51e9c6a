/**
 * @module report/diff-text
 * `latency-doctor diff` for the terminal: per model the verdict before → after, then per
 * quantity and quantile the change with its confidence interval and the sample sizes.
 */
import type { AnalysisDiff } from '../analyzer/diff/index.js';
import { diffRows, phaseNotes, rangeLines, shiftText, unmatchedModels } from './_diff-rows.js';
import { escapeControls } from './_format.js';

/** Renders the comparison as plain text (ends with a newline). */
export function renderDiffText(diff: AnalysisDiff): string {
  const level = `${Math.round(diff.confidence * 100)}%`;
  const out: string[] = [`latency-doctor diff: ${diff.models.length} model(s), BEFORE → AFTER, ${level} bootstrap intervals`];
  for (const line of rangeLines(diff)) out.push(`  ${line}`);
  for (const m of diff.models) {
    out.push('', `model ${m.model}`, `  verdict: ${m.verdict.text}`);
    if (m.verdict.appeared.length > 0) out.push(`  new: ${m.verdict.appeared.join(', ')}`);
    if (m.verdict.resolved.length > 0) out.push(`  gone: ${m.verdict.resolved.join(', ')}`);
    out.push(`  e2e: ${shiftText(m.e2e)}`);
    if (m.e2e.note !== undefined) out.push(`  e2e: ${m.e2e.note}`);
    out.push('', `  ${'quantity'.padEnd(12)}${'q'.padEnd(4)}${'before'.padStart(8)}${'after'.padStart(9)}${'Δ ms'.padStart(9)}${'Δ %'.padStart(9)}  ${`${level} CI of Δ ms`.padEnd(17)} sig.`);
    let last = '';
    for (const r of diffRows(m)) {
      const name = r.quantity === last ? '' : r.quantity;
      last = r.quantity;
      out.push(`  ${name.padEnd(12)}${r.quantile.padEnd(4)}${r.before.padStart(8)} →${r.after.padStart(7)}${r.changeMs.padStart(9)}${r.changePct.padStart(9)}  ${r.interval.padEnd(17)} ${r.significance}`.trimEnd());
    }
    for (const { phase, change } of m.phases) if (change.shiftSignificant) out.push(`  ${phase}: ${shiftText(change)}`);
    for (const note of phaseNotes(m)) out.push(`  ${note}`);
    for (const note of m.notes) out.push(`  note: ${note}`);
  }
  const unmatched = unmatchedModels(diff);
  if (unmatched.length > 0) out.push('', ...unmatched);
  return escapeControls(out.join('\n') + '\n');
}

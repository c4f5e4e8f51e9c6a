/**
 * @module report/diff-markdown
 * `latency-doctor diff --markdown`: the comparison as a GitHub-flavoured Markdown table, for a
 * pull request or an incident ticket.
 */
import type { AnalysisDiff } from '../analyzer/diff/index.js';
import { diffRows, phaseNotes, rangeLines, shiftText, unmatchedModels } from './_diff-rows.js';
import { escapeControls } from './_format.js';

/** Renders the comparison as Markdown (ends with a newline). */
export function renderDiffMarkdown(diff: AnalysisDiff): string {
  const level = `${Math.round(diff.confidence * 100)}%`;
  const out: string[] = ['## Latency before → after (latency-doctor diff)', ''];
  const ranges = rangeLines(diff);
  if (ranges.length > 0) out.push(...ranges.map((l) => `- ${escape(l)}`), '');
  for (const m of diff.models) {
    out.push(`### Model \`${m.model.replace(/`/g, "'")}\``, '', `**Verdict:** ${escape(m.verdict.text)}`);
    if (m.verdict.appeared.length > 0) out.push('', `New: ${m.verdict.appeared.join(', ')}`);
    out.push('', `End-to-end: ${escape(shiftText(m.e2e))}${m.e2e.note !== undefined ? `. ${escape(m.e2e.note)}` : ''}`, '');
    out.push(`| Quantity | q | Before ms | After ms | Δ ms | Δ % | ${level} CI of Δ ms | Significant |`, '|---|---|---:|---:|---:|---:|---|---|');
    for (const r of diffRows(m)) out.push(`| ${r.quantity} | ${r.quantile} | ${r.before} | ${r.after} | ${r.changeMs} | ${r.changePct} | ${escape(r.interval)} | ${r.significance || '–'} |`);
    const notes = [...phaseNotes(m), ...m.notes];
    if (notes.length > 0) out.push('', ...notes.map((n) => `- ${escape(n)}`));
    out.push('');
  }
  const unmatched = unmatchedModels(diff);
  if (unmatched.length > 0) out.push(...unmatched.map((n) => `- ${escape(n)}`), '');
  return escapeControls(out.join('\n'));
}

function escape(text: string): string {
  return text.replace(/[|*_`<>[\]\\]/g, (ch) => `\\${ch}`);
}

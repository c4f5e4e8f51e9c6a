/**
 * @module report/html/diff
 * The markup of one model's section of `diff --html`: the verdict before → after, the
 * before/after table with intervals and sample sizes, and chart slots the client fills with
 * before/after overlays.
 */
import type { AnalysisDiff, ModelChange } from '../../analyzer/diff/index.js';
import { diffRows, phaseNotes, shiftText } from '../_diff-rows.js';
import { chartSlot } from './analysis.js';
import { escapeHtml as h } from './page.js';

/** The verdict card of a comparison. */
function verdictChangeCard(m: ModelChange): string {
  const worked = m.verdict.before !== null && m.verdict.before !== m.verdict.after && /fix worked/.test(m.verdict.text);
  return `<div class="card verdict ${worked ? 'none' : 'fix'}" data-primary="${h(m.verdict.after ?? 'none')}">
<h2>Verdict before → after · ${h(m.model)}</h2>
<p class="fix" data-field="fix">${h(m.verdict.before ?? 'none')} → ${h(m.verdict.after ?? 'none')}</p>
<p class="why" data-field="headline">${h(m.verdict.text)}</p>
${m.verdict.appeared.length > 0 ? `<p><strong>New:</strong> ${h(m.verdict.appeared.join(', '))}</p>` : ''}
${m.verdict.resolved.length > 0 ? `<p><strong>Gone:</strong> ${h(m.verdict.resolved.join(', '))}</p>` : ''}
<p class="note">${h(shiftText(m.e2e))}</p>
${m.e2e.note !== undefined ? `<p class="note">${h(m.e2e.note)}</p>` : ''}
</div>`;
}

function changeTable(m: ModelChange, confidence: number): string {
  const rows = diffRows(m).map(
    (r) =>
      `<tr data-quantity="${h(r.quantity)}" data-q="${r.quantile}"${r.quantity === 'end-to-end' ? ' class="e2e-row"' : ''}><td>${h(r.quantity)}</td><td>${r.quantile}</td><td class="num">${r.before}</td><td class="num">${r.after}</td><td class="num ${r.significance}">${r.changeMs}</td><td class="num ${r.significance}">${r.changePct}</td><td class="num">${h(r.interval)}</td><td>${r.significance || '–'}</td></tr>`,
  );
  const notes = [...phaseNotes(m), ...m.notes];
  return `<div class="card phases wide"><h2>Before → after · ${Math.round(confidence * 100)}% bootstrap intervals</h2>
<div class="scroll"><table data-table="diff"><thead><tr><th>quantity</th><th>q</th><th>before ms</th><th>after ms</th><th>Δ ms</th><th>Δ %</th><th>CI of Δ ms</th><th>significant</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>
${notes.length > 0 ? `<ul class="notes">${notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>` : ''}</div>`;
}

/** One model's section of the comparison page. */
export function diffSection(m: ModelChange, index: number, diff: AnalysisDiff): string {
  return `<div class="first">
${verdictChangeCard(m)}
<div class="card"><h2>Phase mix at p50, p95 and p99, before and after</h2><div class="chart"><canvas data-chart="mix-${index}" role="img" aria-label="phase mix"></canvas></div></div>
${changeTable(m, diff.confidence)}
</div>
<div class="charts">
${chartSlot(`time-${index}`, 'e2e p50 and p99 over time, before and after', 'x: seconds since each run’s first request.', 'tall')}
${chartSlot(`hist-${index}`, 'e2e latency histogram, before and after', 'Same bins for both runs, up to 1.1 × the larger p99.')}
</div>`;
}

/**
 * @module report/markdown
 * The `--markdown` output, for pasting into an incident ticket: a summary line, the diagnosis
 * headline, and per model a phase table in GitHub-flavoured Markdown.
 */
import type { AnalysisResult, OperationTime } from '../model/analysis.js';
import type { ModelSummary } from '../model/summary.js';
import { OTHER, PHASES } from '../semconv.js';
import type { PhaseOrOther } from '../semconv.js';
import { escapeControls, failureSplit, NO_COMPLETED, formatConventions, formatCount, formatCountOf, formatKeptOf, formatMs, formatName, formatRate, formatShare, formatTokens, formatUnseen, statisticNotes } from './_format.js';
import { formatReportWindow, PER_MODEL_WINDOWS, reportWindows } from './_windows.js';
import { renderDiagnosisMarkdown } from './diagnosis-markdown.js';
import { TIMELINE_HEADERS, timelineTables } from './_timeline.js';
import { prometheusMarkdown } from './prometheus.js';

/** Renders the analysis as Markdown (ends with a newline). */
export function renderMarkdown(result: AnalysisResult): string {
  const out: string[] = ['## Inference latency report (latency-doctor)', ''];
  const windows = reportWindows(result);
  const runWindow = windows.length === 1 && windows[0]!.model === undefined ? windows[0] : undefined;
  const window = runWindow ? ` over ${formatReportWindow(runWindow, false)}` : '';
  const from = result.prometheus ? `from Prometheus (${result.prometheus.sources.map((s) => s.title).join(', ')})` : `from ${formatCountOf(result.spans, 'span')}`;
  const analysed = result.timeRange === undefined || result.requests === 0 ? `**${formatCountOf(result.requests, 'request')}**` : formatKeptOf(result.requests, 'request', result.timeRange).replace(/^[\d,]+/, (n) => `**${n}**`);
  out.push(`${analysed} analysed ${from}${window}.`, '');
  if (runWindow === undefined && windows.length > 0) {
    out.push(`Windows per model, ${PER_MODEL_WINDOWS}:`, '', ...windows.map((w) => `- \`${(w.model ?? '').replace(/`/g, "'")}\`: ${formatReportWindow(w, true)}`), '');
  }
  if (result.conventions.length > 0) out.push(`Read as ${formatConventions(result.conventions, result.timeRange)}.`, '');
  if (formatUnseen(result.conventions) !== '') out.push(`Not in this source: ${formatUnseen(result.conventions)}.`, '');

  // ── Diagnosis slot: one headline per diagnosed model. ──
  for (const m of result.models) {
    if (m.diagnosis === undefined) continue;
    out.push(...renderDiagnosisMarkdown(m.diagnosis, { named: result.models.length > 1 }));
  }

  for (const m of result.models) out.push(...modelSection(m.summary), '');

  for (const t of timelineTables(result.timeline)) {
    out.push(`### Latency and GPU over time (${escape(t.gpu)})`, '');
    out.push(`| ${TIMELINE_HEADERS.join(' | ')} |`, `|${TIMELINE_HEADERS.map(() => '---:').join('|')}|`);
    for (const row of t.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }

  if (result.requests === 0 && result.generic) {
    out.push(`No request spans follow the span convention; operations on the critical path instead, over ${formatKeptOf(result.generic.traces, 'trace', result.timeRange)}:`, '');
    out.push(...operations(result.generic.byCriticalPath), '');
  }

  out.push('<details><summary>Input</summary>', '');
  if (result.prometheus) out.push(...prometheusMarkdown(result.prometheus));
  else out.push('| File | Format | Spans | Skipped |', '|---|---|---:|---:|');
  for (const f of result.files) {
    // A GPU sample file holds no spans: 0 would read as if nothing had been read.
    const counts = f.format === 'gpu-samples' ? '– | –' : `${formatCount(f.spans)} | ${formatCount(f.skipped)}`;
    out.push(`| \`${f.file.replace(/`/g, "'").replace(/\|/g, '\\|')}\` | ${formatName(f.format)} | ${counts} |`);
  }
  if (result.warnings.length > 0) {
    out.push('', '**Warnings**', '');
    for (const w of result.warnings) out.push(`- ${w.file === undefined ? '' : `\`${w.file}\`: `}${escape(w.message)}`);
  }
  out.push('', '</details>');
  return escapeControls(out.join('\n') + '\n');
}

function modelSection(s: ModelSummary): string[] {
  const facts = [s.runtime, s.runtimeProvider, s.precision, s.device].filter((x): x is string => x !== undefined);
  const lines = [
    `### Model \`${s.model.replace(/`/g, "'")}\`${facts.length > 0 ? ` (${facts.map(escape).join(', ')})` : ''}`,
    '',
    `${formatCountOf(s.requests, 'request')}, ${formatRate(s.requests, s.throughputRps)}, ${formatCountOf(s.errors, 'error')}${escape(failureSplit(s))}${s.requests === 0 ? `. ${NO_COMPLETED}` : `; phase spans cover ${formatShare(s.coverage)} of end-to-end time.`}`,
    '',
  ];
  if (s.requests === 0) return lines.slice(0, -1);
  lines.push(
    '| Phase | p50 ms | p95 ms | p99 ms | max ms | Share of e2e |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const p of [...PHASES, OTHER] as PhaseOrOther[]) {
    const ps = s.phases[p];
    if (ps === undefined) continue;
    lines.push(`| ${p} | ${formatMs(ps.p50Ms)} | ${formatMs(ps.p95Ms)} | ${formatMs(ps.p99Ms)} | ${formatMs(ps.maxMs)} | ${formatShare(ps.share)} |`);
  }
  lines.push(`| **end-to-end** | **${formatMs(s.e2e.p50Ms)}** | **${formatMs(s.e2e.p95Ms)}** | **${formatMs(s.e2e.p99Ms)}** | **${formatMs(s.e2e.maxMs)}** | 100% |`);
  const g = s.generation;
  if (g) {
    if (g.ttft) lines.push(`| time to first token (TTFT) | ${formatMs(g.ttft.p50Ms)} | ${formatMs(g.ttft.p95Ms)} | ${formatMs(g.ttft.p99Ms)} | ${formatMs(g.ttft.maxMs)} | |`);
    if (g.tpot) lines.push(`| time per output token (TPOT) | ${formatMs(g.tpot.p50Ms)} | ${formatMs(g.tpot.p95Ms)} | ${formatMs(g.tpot.p99Ms)} | ${formatMs(g.tpot.maxMs)} | |`);
    if (g.itl) lines.push(`| between tokens (ITL, per token) | ${formatMs(g.itl.p50Ms)} | ${formatMs(g.itl.p95Ms)} | ${formatMs(g.itl.p99Ms)} | ${formatMs(g.itl.maxMs)} | |`);
    const tokens = formatTokens(g);
    if (tokens.length > 0) lines.push('', `${tokens.join('; ')}.`);
  }
  const notes = statisticNotes(s);
  if (notes.length > 0) lines.push('', notes.join(' '));
  return lines;
}

function operations(ops: readonly OperationTime[]): string[] {
  const lines = ['| Service | Operation | Spans | Errors | Critical path ms | Share | Self ms |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const o of ops) {
    lines.push(`| ${o.service === '' ? '(unknown)' : escape(o.service)} | ${escape(o.operation)} | ${formatCount(o.spans)} | ${formatCount(o.errors)} | ${formatMs(o.criticalPathMs)} | ${formatShare(o.criticalPathShare)} | ${formatMs(o.selfMs)} |`);
  }
  return lines;
}

/** Keeps user-controlled names from breaking tables or formatting. */
function escape(text: string): string {
  return text.replace(/[|*_`<>[\]\\]/g, (ch) => `\\${ch}`).replace(/\r?\n/g, ' ');
}

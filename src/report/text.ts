/**
 * @module report/text
 * The terminal report. The first screen holds what the on-call engineer needs: requests and
 * window, then per model the verdict and the phase table (p50/p95/p99/max in ms and share of
 * end-to-end time, e2e below it); the evidence, next step, files and warnings follow.
 * Fits 80 columns; colour only when the caller says the output is a terminal.
 */
import pc from 'picocolors';
import type { AnalysisResult, GenericReport, OperationTime, TimeRangeCut } from '../model/analysis.js';
import { ASYNC_GAP } from '../model/analysis.js';
import type { ModelSummary, Percentiles } from '../model/summary.js';
import { OTHER, PHASES } from '../semconv.js';
import type { PhaseOrOther } from '../semconv.js';
import { bar, escapeControls, failureSplit, NO_COMPLETED, fit, formatBytes, padToWidth, printable, formatConventions, formatCount, formatCountOf, formatKeptOf, formatMs, formatName, formatRate, formatShare, formatTokens, formatUnseen, modelName, statisticNotes } from './_format.js';
import { formatReportWindow, PER_MODEL_WINDOWS, reportWindows } from './_windows.js';
import { renderDiagnosisDetails, renderVerdictText, wrap } from './diagnosis-text.js';
import { TIMELINE_HEADERS, timelineTables } from './_timeline.js';
import { prometheusExplainText, prometheusHeadline, prometheusModelText } from './prometheus.js';

/** Options of the text report. */
export interface TextReportOptions {
  /** Use ANSI colours. Default false (the CLI turns it on for a TTY only). */
  readonly color?: boolean;
  /** Also list leniencies applied and assembly counts. Default false. */
  readonly verbose?: boolean;
  /** Print every diagnosis rule's inputs, thresholds and outcome (`--explain`). Default false. */
  readonly explain?: boolean;
}

type Colors = ReturnType<typeof pc.createColors>;

/** Columns of the terminal report. */
const WIDTH = 80;
const NAME_WIDTH = 13;
const NUM_WIDTH = 9;
const BAR_WIDTH = 14;

/** Renders the analysis as a terminal report (ends with a newline). */
export function renderText(result: AnalysisResult, options: TextReportOptions = {}): string {
  const c = pc.createColors(options.color ?? false);
  const out: string[] = [];
  const fileCount = result.files.length;
  const source = result.prometheus ? prometheusHeadline(result.prometheus) : `from ${formatCount(result.spans)} span${result.spans === 1 ? '' : 's'} in ${fileCount} file${fileCount === 1 ? '' : 's'}`;
  // Under a range the kept count beside the input's, wrapped: the range's bounds are long.
  if (result.timeRange === undefined || result.requests === 0) out.push(c.bold(`latency-doctor: ${formatCountOf(result.requests, 'request')} analysed`) + ` ${source}`);
  else out.push(...wrap(`${formatKeptOf(result.requests, 'request', result.timeRange)} analysed ${source}`, WIDTH, '  ', 'latency-doctor: '));
  // Wrapped to the report's 80 columns: what a source lacks can run to several lines.
  if (result.conventions.length > 0) out.push(...wrap(formatConventions(result.conventions, result.timeRange), WIDTH, '  ', 'Read as '));
  const windows = reportWindows(result);
  if (windows.length === 1 && windows[0]!.model === undefined) out.push(...wrap(formatReportWindow(windows[0]!, true), WIDTH, '        ', 'Window  '));
  else if (windows.length > 0) {
    out.push(...wrap(`per model, ${PER_MODEL_WINDOWS}`, WIDTH, '        ', 'Windows '));
    for (const w of windows) out.push(...wrap(`${modelName(w.model ?? '')}: ${formatReportWindow(w, true)}`, WIDTH, '          ', '        '));
  }

  // First screen: per model the verdict and the phase table; the evidence and next step follow.
  const named = result.models.filter((m) => m.diagnosis !== undefined).length > 1;
  const diagnosisOptions = { color: options.color ?? false, explain: options.explain ?? false, named };
  for (const m of result.models) {
    if (m.diagnosis) out.push('', ...renderVerdictText(m.diagnosis, diagnosisOptions));
    out.push('', ...modelSection(m.summary, c));
    if (result.prometheus) out.push(...prometheusModelText(result.prometheus, m.summary.model));
  }
  for (const m of result.models) {
    // An insufficient-data diagnosis has no details: no blank line for it.
    const details = m.diagnosis ? renderDiagnosisDetails(m.diagnosis, diagnosisOptions) : [];
    if (details.length > 0) out.push('', ...details);
  }
  // What the source never records runs to ten lines for some servers: after the answer, not above it.
  const unseen = formatUnseen(result.conventions);
  if (unseen !== '') out.push('', ...wrap(unseen, WIDTH, '  ', 'Not in this source: ').map((l) => c.dim(l)));
  for (const t of timelineTables(result.timeline)) {
    out.push('', c.bold('Latency and GPU over time') + c.dim(` (${t.gpu})`));
    out.push(c.dim(`  ${TIMELINE_HEADERS.map((h, i) => (i === 0 ? h.padEnd(7) : h.padStart(i >= 6 ? 10 : 8))).join('')}`));
    for (const row of t.rows) out.push(`  ${row.map((v, i) => (i === 0 ? v.padEnd(7) : v.padStart(i >= 6 ? 10 : 8))).join('')}`);
  }

  if (result.prometheus && options.explain) out.push('', ...prometheusExplainText(result.prometheus));
  if (!result.prometheus) out.push('', c.bold('Files'));
  // The path gets what the 80-column line leaves after format and span count.
  const fileWidth = Math.min(44, Math.max(0, ...result.files.map((f) => f.file.length)));
  for (const f of result.files) {
    // A GPU sample file holds no spans: "0 spans" would read as if nothing had been read.
    const count = f.format === 'gpu-samples' ? '' : ` ${formatCount(f.spans)} span${f.spans === 1 ? '' : 's'}`;
    out.push(`  ${padToWidth(fit(f.file, fileWidth), fileWidth)} ${f.format === 'gpu-samples' ? formatName(f.format) : formatName(f.format).padEnd(16)}${count}`);
    if (f.skipped > 0) out.push(c.yellow(`    ${formatCount(f.skipped)} unreadable span${f.skipped === 1 ? '' : 's'} skipped (see warnings)`));
    if (options.verbose) for (const l of f.leniencies) out.push(c.dim(`    lenient: ${l}`));
    if (options.verbose && f.fastReader) {
      // A whole document (Jaeger, Zipkin, OTLP, a Triton trace file) is one unit of the byte scanner's.
      const unit = f.format === 'otlp-jsonl' ? 'line' : 'document';
      const read = f.fastReader.lines;
      out.push(c.dim(`    fast reader: ${formatCount(read)} ${unit}${read === 1 ? '' : 's'} read, ${formatCount(f.fastReader.fallbacks)} handed to the full parser`));
    }
    // Where a stream went: it takes that much room on that disk while it is read.
    if (options.verbose && f.spooled) out.push(c.dim(`    held in a temporary file in ${f.spooled.directory} (${formatBytes(f.spooled.bytes)}, removed once read) to be read in bounded memory`));
  }

  if (result.requests === 0 && result.models.length === 0 && !result.prometheus) {
    out.push('');
    if (result.generic) out.push(...genericSection(result.generic, result.timeRange, c));
    else out.push(c.yellow(result.spans === 0 ? 'No spans found in the input.' : 'No inference requests to report (see the warnings).'));
  }

  if (options.verbose) {
    const a = result.assembly;
    out.push('', c.bold('Assembly'));
    out.push(`  ${formatCount(a.traces)} traces, ${formatCount(a.requestTraces)} with requests; ${formatCount(a.orphanSpans)} orphan spans, ${formatCount(a.duplicateSpans)} duplicates, ${formatCount(a.lateSpans)} late, ${formatCount(a.invalidSpans)} invalid`);
    const disk = result.timings.onDisk;
    if (disk !== undefined) out.push(c.dim(`  the requests' ids, phases and optional numbers held in a temporary file in ${disk.directory} (${formatBytes(disk.bytes)}, unlinked: gone with the process) to keep memory flat as the input grows`));
  }

  if (result.warnings.length > 0) {
    out.push('', c.bold(c.yellow('Warnings')));
    for (const w of result.warnings) {
      const where = w.file === undefined ? '' : `${w.file}${w.location === undefined ? '' : `:${w.location}`}: `;
      out.push(`  ${c.yellow('!')} ${where}${w.message}`);
    }
  }
  // Names come from the input: a hostile file must not drive the terminal.
  return escapeControls(out.join('\n') + '\n', options.color ?? false);
}

function modelSection(s: ModelSummary, c: Colors): string[] {
  const facts = [s.runtime, s.runtimeProvider, s.precision, s.device].filter((x): x is string => x !== undefined);
  const title = `${c.bold(`Model ${modelName(s.model)}`)}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`;
  const counts = `${formatCount(s.requests)} request${s.requests === 1 ? '' : 's'}, ${formatRate(s.requests, s.throughputRps)}, ${formatCount(s.errors)} error${s.errors === 1 ? '' : 's'}${failureSplit(s)}`;
  const lines = [title, ...wrap(counts, WIDTH, '    ', '  ')];
  if (s.requests === 0) return [...lines, c.yellow(`  ${NO_COMPLETED}`)];
  const header = `  ${'Phase'.padEnd(NAME_WIDTH)}${['p50 ms', 'p95 ms', 'p99 ms', 'max ms'].map((h) => h.padStart(NUM_WIDTH)).join('')}  ${'share of e2e'}`;
  lines.push(c.dim(header));
  const rows = [...PHASES, OTHER].filter((p) => s.phases[p] !== undefined) as PhaseOrOther[];
  let largest: PhaseOrOther | undefined;
  for (const p of rows) if (largest === undefined || s.phases[p]!.share > s.phases[largest]!.share) largest = p;
  for (const p of rows) {
    const ps = s.phases[p]!;
    const line = `  ${p.padEnd(NAME_WIDTH)}${numbers(ps)}  ${formatShare(ps.share).padStart(6)} ${bar(ps.share, BAR_WIDTH)}`;
    lines.push(p === largest && ps.share >= 0.25 ? c.bold(c.yellow(line)) : p === OTHER ? c.dim(line) : line);
  }
  lines.push(`  ${c.bold('end-to-end'.padEnd(NAME_WIDTH))}${numbers(s.e2e)}  ${'mean'.padStart(6)} ${formatMs(s.e2e.meanMs)} ms`);
  const g = s.generation;
  if (g) {
    // Generation rows in the same columns: time to first token and per output token.
    if (g.ttft) lines.push(`  ${'first token'.padEnd(NAME_WIDTH)}${numbers(g.ttft)}  ${'TTFT'.padStart(6)}`);
    if (g.tpot) lines.push(`  ${'per token'.padEnd(NAME_WIDTH)}${numbers(g.tpot)}  ${'TPOT'.padStart(6)}`);
    if (g.itl) lines.push(`  ${'inter-token'.padEnd(NAME_WIDTH)}${numbers(g.itl)}  ${'ITL'.padStart(6)}`);
    for (const line of formatTokens(g)) lines.push(`  ${line}`);
  }
  for (const note of statisticNotes(s)) lines.push(...wrap(note, WIDTH, '    ', '  ').map((l) => c.dim(l)));
  const coverage = `  Phase spans cover ${formatShare(s.coverage)} of end-to-end time.`;
  if (s.e2e.maxMs === 0) lines.push(c.yellow('  Every request lasts 0 ns: no time to share among the phases.'));
  else lines.push(s.coverage < 0.8 ? c.yellow(`${coverage} Missing phases show up as "other".`) : c.dim(coverage));
  return lines;
}

function numbers(p: Percentiles): string {
  // A space before every number, so values past 1,000,000 ms (a request of 17 min and more) widen the row instead of running together.
  return [p.p50Ms, p.p95Ms, p.p99Ms, p.maxMs].map((v) => ' ' + formatMs(v).padStart(NUM_WIDTH - 1)).join('');
}

function genericSection(g: GenericReport, cut: TimeRangeCut | undefined, c: Colors): string[] {
  const lines = [c.yellow('No request spans follow the span convention (docs/conventions.md).'), ...wrap(`Where the time goes by operation instead, over ${formatKeptOf(g.traces, 'trace', cut)}:`, WIDTH, '  ')];
  if (g.fragmentedTraces > 0) {
    lines.push(c.yellow(`  ${formatCount(g.fragmentedTraces)} of them in ${formatCount(g.pieces - (g.traces - g.fragmentedTraces))} disconnected pieces (parents missing from`), c.yellow('  the input): each piece is measured on its own.'));
  }
  if (g.skewedTraces > 0) {
    lines.push(c.yellow(`  ${formatCount(g.skewedTraces)} with clock skew (a server span outside its client span): the server`), c.yellow('  part moved to the middle of its client span, as Zipkin corrects it.'));
  }
  if (g.asyncTraces > 0) {
    lines.push(`  ${formatCount(g.asyncTraces)} asynchronous (work outlives its parent span): the critical path`, `  follows it to its end; "${ASYNC_GAP}": a span ended, its child not yet begun.`);
  }
  lines.push(
    '',
    c.bold('On the critical path'),
    ...operationTable(g.byCriticalPath, (o) => o.criticalPathMs, (o) => formatShare(o.criticalPathShare), 'crit. ms', 'of all', c),
    '',
    c.bold('Most self time'),
    ...operationTable(g.bySelfTime, (o) => o.selfMs, (o) => formatShare(o.totalMs > 0 ? o.selfMs / o.totalMs : 0), 'self ms', 'of span', c),
  );
  return lines;
}

const OPERATION_WIDTH = 39;

function operationTable(ops: readonly OperationTime[], value: (o: OperationTime) => number, share: (o: OperationTime) => string, label: string, shareLabel: string, c: Colors): string[] {
  const lines = [c.dim(`  ${'service / operation'.padEnd(OPERATION_WIDTH + 1)}${'spans'.padStart(8)}${'errors'.padStart(7)}${label.padStart(12)}${shareLabel.padStart(8)}`)];
  for (const o of ops) {
    // Cut in the middle: names that differ only at the end (routes, ids) stay told apart.
    const name = padToWidth(fit(printable(`${o.service === '' ? '(unknown)' : o.service} / ${o.operation}`), OPERATION_WIDTH), OPERATION_WIDTH + 1);
    const errors = o.errors > 0 ? c.red(formatCount(o.errors).padStart(7)) : '-'.padStart(7);
    lines.push(`  ${name}${formatCount(o.spans).padStart(8)}${errors}${formatMs(value(o)).padStart(12)}${share(o).padStart(8)}`);
  }
  return lines;
}

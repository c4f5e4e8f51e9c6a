/**
 * @module report/html
 * `--html`: one self-contained page (styles, data and the bundled Chart.js client inline; no
 * request of any kind) for `analyze` and for `diff`. See docs/html-report.md.
 */
import type { AnalysisResult } from '../../analyzer/index.js';
import type { AnalysisDiff } from '../../analyzer/diff/index.js';
import type { SpanRecord } from '../../model/span.js';
import { formatKeptOf } from '../_format.js';
import { formatReportWindow, PER_MODEL_WINDOWS, reportWindows } from '../_windows.js';
import { clientScript } from './_bundle.js';
import { modelSection } from './analysis.js';
import { diffSection } from './diff.js';
import { hasPoints, histogram, histogramRange, modelCharts, overTime, phaseMix, timingsByModel } from './page-data.js';
import type { ModelCharts } from './page-data.js';
import { renderPage } from './page.js';

export { exampleRequests } from './page-data.js';
export type { ModelCharts } from './page-data.js';

/** What the client script receives. */
export type PageData = { readonly kind: 'analysis'; readonly models: ModelCharts[] } | { readonly kind: 'diff'; readonly models: { readonly model: string; readonly before: ModelCharts; readonly after: ModelCharts }[] };

/** Options of `renderHtml`. */
export interface HtmlOptions {
  /** Spans of the example traces by trace id (see `exampleRequests`), for the waterfall. */
  readonly exampleSpans?: ReadonlyMap<string, readonly SpanRecord[]>;
}

/** The `analyze --html` page. */
export async function renderHtml(result: AnalysisResult, options: HtmlOptions = {}): Promise<string> {
  const byModel = timingsByModel(result);
  const spans = options.exampleSpans ?? new Map<string, readonly SpanRecord[]>();
  const charts = result.models.map((m) => modelCharts(result, m.summary.model, byModel.get(m.summary.model) ?? [], spans));
  const sections = result.models.map((m, i) => ({ model: m.summary.model, html: modelSection(m, i, sectionCharts(charts[i]!, (byModel.get(m.summary.model)?.length ?? 0) > 0)) }));
  const windows = reportWindows(result);
  const window =
    windows.length === 1 && windows[0]!.model === undefined
      ? ` · ${formatReportWindow(windows[0]!, false)}`
      : windows.length > 0
        ? ` · windows per model, ${PER_MODEL_WINDOWS}: ${windows.map((w) => `${w.model ?? ''} ${formatReportWindow(w, true)}`).join('; ')}`
        : '';
  const data: PageData = { kind: 'analysis', models: charts };
  return renderPage({
    title: 'Inference latency report',
    subtitle: `${formatKeptOf(result.requests, 'request', result.requests === 0 ? undefined : result.timeRange)} from ${result.files.map((f) => f.file).join(', ') || 'the input'}${window}`,
    sections: sections.length > 0 ? sections : [{ model: 'no requests', html: `<div class="card"><p>${noRequests(result)}</p></div>` }],
    data,
    script: await clientScript(),
  });
}

/** What a model's section draws, from its chart data: a chart with no point gets a sentence instead of empty axes. */
function sectionCharts(c: ModelCharts, perRequest: boolean): Parameters<typeof modelSection>[2] {
  return {
    hasGpu: c.gpu !== undefined,
    examples: c.examples,
    generation: c.generation !== undefined,
    perRequest,
    overTimePoints: hasPoints(c.overTime),
    generationPoints: c.generation !== undefined && (hasPoints(c.generation.ttft) || hasPoints(c.generation.tpot)),
  };
}

/** Why a page has no model to show, as the text report says it: nothing read, no convention, or no request left. */
function noRequests(result: AnalysisResult): string {
  if (result.spans === 0) return 'No spans found in the input: nothing was measured.';
  if (result.generic) return 'No request spans follow the span convention; see the text report for the operations on the critical path.';
  return 'No inference requests to report (see the warnings in the text report).';
}

/** The `diff --html` page: the comparison, with before/after overlays on shared bins. */
export async function renderDiffHtml(diff: AnalysisDiff, before: AnalysisResult, after: AnalysisResult): Promise<string> {
  const beforeByModel = timingsByModel(before);
  const afterByModel = timingsByModel(after);
  const models = diff.models.map((m) => {
    // The comparison is of successful requests (analyzer/diff); the charts draw the same ones.
    const b = (beforeByModel.get(m.model) ?? []).filter((r) => !r.error);
    const a = (afterByModel.get(m.afterModel ?? m.model) ?? []).filter((r) => !r.error);
    // One set of bins for both runs, so the bars line up.
    // A side with no request has no range of its own (histogramRange's 0…1 would stretch the bins).
    const ranges = [b, a].filter((list) => list.length > 0).map((list) => histogramRange(list.map((r) => r.e2eMs)));
    const range = ranges.length === 0 ? histogramRange([]) : { lowMs: Math.min(...ranges.map((r) => r.lowMs)), highMs: Math.max(...ranges.map((r) => r.highMs)) };
    const charts = (list: typeof b): ModelCharts => ({ model: m.model, overTime: overTime(list), histogram: histogram(list.map((r) => r.e2eMs), range), mix: phaseMix(list), examples: [], slo: [] });
    return { model: m.model, before: charts(b), after: charts(a) };
  });
  const data: PageData = { kind: 'diff', models };
  const files = (r: AnalysisResult): string => r.files.map((f) => f.file).join(', ');
  return renderPage({
    title: 'Inference latency: before → after',
    subtitle: `BEFORE ${formatKeptOf(before.requests, 'request', before.timeRange)} (${files(before)}) → AFTER ${formatKeptOf(after.requests, 'request', after.timeRange)} (${files(after)})`,
    sections: diff.models.map((m, i) => ({ model: m.model, html: diffSection(m, i, diff) })),
    data,
    script: await clientScript(),
  });
}

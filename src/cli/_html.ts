/**
 * @module cli/_html
 * Internal: writes `analyze --html`. The waterfall needs the spans of two example traces,
 * which the analysis does not keep (it holds one row per request), so their files are read a
 * second time for those trace ids only (and the batch spans linked to them).
 */
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { CliError } from './errors.js';
import type { AnalysisResult } from '../analyzer/index.js';
import { readSpans } from '../formats/index.js';
import { CONVENTION_EVENTS, ConventionMapper } from '../analyzer/conventions/index.js';
import type { SpanRecord } from '../model/span.js';
import { exampleRequests, renderHtml } from '../report/html/index.js';
import { timingsByModel } from '../report/html/page-data.js';

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Spans of the given traces, and spans linking to them, from the trace files. */
async function spansOf(files: readonly string[], traceIds: ReadonlySet<string>): Promise<Map<string, SpanRecord[]>> {
  const byTrace = new Map<string, SpanRecord[]>();
  const add = (traceId: string, span: SpanRecord): void => {
    const list = byTrace.get(traceId);
    if (list) list.push(span);
    else byTrace.set(traceId, [span]);
  };
  const take = (batch: readonly SpanRecord[]): void => {
    for (const span of batch) {
      if (traceIds.has(span.traceId)) add(span.traceId, span);
      for (const link of span.links ?? []) if (link.traceId !== span.traceId && traceIds.has(link.traceId)) add(link.traceId, span);
    }
  };
  // Through the source conventions, as the analysis read them: a vLLM, TGI, Triton or SGLang
  // trace is drawn with the phase spans its attributes or events stand for, not only the server's
  // spans. Only the wanted traces' spans are mapped: a trace-scoped convention would otherwise
  // hold every trace of the input until its end, for two examples a model.
  const wanted = (span: SpanRecord): boolean => traceIds.has(span.traceId) || (span.links ?? []).some((link) => traceIds.has(link.traceId));
  const mapper = new ConventionMapper();
  for (const file of files) {
    for await (const batch of readSpans(file, { events: CONVENTION_EVENTS })) {
      const kept = batch.filter(wanted);
      if (kept.length > 0) take(mapper.map(kept));
    }
  }
  take(mapper.finish());
  return byTrace;
}

/** Writes the HTML report of `result` (read from `files`) to `out`. */
export async function writeHtmlReport(out: string, result: AnalysisResult, files: readonly string[]): Promise<void> {
  // Only regular files can be read again (not standard input or a pipe); without them the page has no waterfall.
  const traceFiles = result.files.filter((f) => f.format !== 'gpu-samples' && files.includes(f.file) && isRegularFile(f.file)).map((f) => f.file);
  const wanted = new Set([...timingsByModel(result).values()].flatMap((list) => exampleRequests(list).map((e) => e.request.traceId)));
  const exampleSpans = wanted.size > 0 ? await spansOf(traceFiles, wanted) : new Map<string, SpanRecord[]>();
  await writeHtmlFile(out, await renderHtml(result, { exampleSpans }));
}

/** Writes a rendered page; a path that cannot be written is the user's one-line error, not a crash. */
export async function writeHtmlFile(out: string, html: string): Promise<void> {
  try {
    await writeFile(out, html);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`--html ${out}: cannot write the report (${code}${code === 'ENOENT' ? ': no such directory' : ''})`);
  }
}

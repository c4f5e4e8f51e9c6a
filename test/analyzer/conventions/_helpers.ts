/** Shared by the source-convention tests: analyse one serving fixture, read one request's phases. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import type { AnalysisResult } from '../../../src/analyzer/index.js';
import type { RequestTiming } from '../../../src/model/request.js';

/** Folder of the inference-server fixtures (see its SOURCES.md). */
export const SERVING = new URL('../../fixtures/serving/', import.meta.url).pathname;

/** Analyses one fixture of test/fixtures/serving without the diagnosis. */
export async function analyzeServing(name: string): Promise<AnalysisResult> {
  return analyzeFiles([SERVING + name], { diagnose: false });
}

/** Phase times of one request in ms, rounded to the nanosecond, so hand-computed values compare exactly. */
export function phasesOf(r: RequestTiming): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [phase, ms] of Object.entries(r.phases)) out[phase] = Math.round(ms! * 1e6) / 1e6;
  out['other'] = Math.round(r.otherMs * 1e6) / 1e6;
  out['e2e'] = Math.round(r.e2eMs * 1e6) / 1e6;
  return out;
}

/** The TGI router fixture of failed and cancelled requests, and the traces in it whose request completed. */
export const TGI_FAILED_CANCELLED = 'tgi-router-failed-cancelled.synthetic.json';
const TGI_COMPLETED = ['01', '02', '03', '04'].map((n) => `2c0f5a1e9b8d4c3a8f7e6d5c4b3a29${n}`);

/**
 * Writes into `dir` a copy of the TGI fixture with the traces in `drop` left out (default: every
 * completed request, so each request left failed or was cancelled), and returns its path.
 */
export function writeTgiVariant(dir: string, name: string, drop: readonly string[] = TGI_COMPLETED): string {
  const doc = JSON.parse(readFileSync(SERVING + TGI_FAILED_CANCELLED, 'utf8')) as { resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[] };
  const dropped = new Set(drop);
  for (const r of doc.resourceSpans) for (const ss of r.scopeSpans) ss.spans = ss.spans.filter((span) => !dropped.has(span.traceId));
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

/** Shared by the source-convention tests: analyse one serving fixture, read one request's phases. */
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

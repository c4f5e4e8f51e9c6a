/**
 * @module test/support/drift-lines
 * The latency-drift recommendation as the terminal report prints it, with the numbers its lines
 * quote: the evidence's rise (earlier window → later window) and the expected gain (now → once
 * fixed), so a test can check that the two read consistently.
 */
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { renderDiagnosisText } from '../../src/report/diagnosis-text.js';

/** What the drift's lines say, as printed. */
export interface DriftLines {
  /** The evidence line: "e2e p95 rises from FROM ms to TO ms …". */
  readonly rise: { readonly line: string; readonly from: number; readonly to: number };
  /** The gain as printed beside it: "Expected: p95 NOW ms → FIXED ms" (top) or "; expected p95 NOW ms → FIXED ms" (alternatives); undefined when no labelled gain is printed. */
  readonly gain?: { readonly line: string; readonly now: number; readonly fixed: number };
  /** The line the recommendation's gain sits in (its "Expected" line on top, its own line among the alternatives). */
  readonly gainLine: string;
}

/** The drift's lines in the text report of `d`, unwrapped; throws when latency-drift is not among the recommendations. */
export function driftLines(d: Diagnosis): DriftLines {
  const rank = d.recommendations.findIndex((r) => r.fix === 'latency-drift');
  if (rank < 0) throw new Error(`latency-drift did not fire: ${d.recommendations.map((r) => r.fix).join(', ')}`);
  // Wide enough that no item wraps: one line per item.
  const lines = renderDiagnosisText(d, { width: 10_000 });
  const riseLine = lines.find((l) => /rises from [\d.]+ ms to [\d.]+ ms/.test(l));
  if (riseLine === undefined) throw new Error(`no drift evidence line in:\n${lines.join('\n')}`);
  const [, from, to] = /rises from ([\d.]+) ms to ([\d.]+) ms/.exec(riseLine)!;
  const gainLine = rank === 0 ? lines.find((l) => l.trimStart().startsWith('Expected:')) : lines.find((l) => l.includes('(latency-drift, confidence'));
  if (gainLine === undefined) throw new Error(`no line with the drift's gain in:\n${lines.join('\n')}`);
  const gain = /(?:Expected:|; expected) (?:histogram )?(?:p50|p95|mean) ([\d.]+) ms → ([\d.]+) ms/.exec(gainLine);
  return {
    rise: { line: riseLine.trim(), from: Number(from), to: Number(to) },
    ...(gain ? { gain: { line: gain[0], now: Number(gain[1]), fixed: Number(gain[2]) } } : {}),
    gainLine: gainLine.trim(),
  };
}

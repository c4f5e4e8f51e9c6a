/**
 * @module analyzer/diagnose/rule
 * The contract every diagnosis rule module fulfils: a fix id, its effort class, the names of
 * the thresholds it reads, and an `evaluate` that returns its outcome (for `--explain`) and,
 * when it fires, a finding with evidence, estimated saving and next step.
 */
import type { FixId } from '../../semconv.js';
import type { Evidence, FixEffort, GainEstimate, NextStep, Recommendation, RuleOutcome, SloResult } from '../../model/diagnosis.js';
import type { Signals } from './signals.js';
import type { ThresholdKey, Thresholds } from './thresholds.js';

/** What a rule sees. */
export interface RuleContext {
  readonly signals: Signals;
  readonly thresholds: Thresholds;
  readonly slo?: SloResult;
  /** Fixes that fired in the first pass (only second-pass rules see a non-empty set). */
  readonly fired: ReadonlySet<FixId>;
}

/** What a fired rule concludes, before ranking turns it into a Recommendation. */
export interface Finding {
  readonly confidence: number;
  readonly evidence: readonly Evidence[];
  /** Estimated saving in mean end-to-end milliseconds per request; the ranking key. */
  readonly savedMeanMs: number;
  readonly estimatedGain?: GainEstimate;
  readonly nextStep: NextStep;
  readonly exampleTraceIds: readonly string[];
  readonly cause?: Recommendation['cause'];
  /** Replaces the content title when the finding needs a more precise one (e.g. the drift cause). */
  readonly title?: string;
}

/** A rule's result. */
export interface RuleResult {
  readonly outcome: RuleOutcome;
  readonly finding?: Finding;
}

/** One diagnosis rule. */
export interface Rule {
  readonly id: FixId;
  readonly effort: FixEffort;
  /** 1: independent of other rules; 2: needs to know which first-pass rules fired. */
  readonly pass: 1 | 2;
  readonly thresholdKeys: readonly ThresholdKey[];
  /**
   * Whether the rule can run on aggregates (Prometheus histograms and counters) instead of
   * per-request timings: `full`, `partial` (some evidence needs traces; `aggregatesNote` says
   * which) or `none` (not evaluated on the Prometheus path; the report points to the traces).
   */
  readonly aggregates: 'full' | 'partial' | 'none';
  readonly aggregatesNote?: string;
  evaluate(ctx: RuleContext): RuleResult;
}

/** The thresholds a rule reads, as RuleOutcome wants them. */
export function thresholdsOf(rule: Pick<Rule, 'thresholdKeys'>, thresholds: Thresholds): Record<string, number> {
  return Object.fromEntries(rule.thresholdKeys.map((k) => [k, thresholds[k]]));
}

/** Round for display in evidence values (3 significant decimals is plenty for ms and ratios). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Format a duration in ms for evidence text. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 100) return `${Math.round(x)} ms`;
  if (x >= 10) return `${x.toFixed(1)} ms`;
  if (x >= 1) return `${x.toFixed(2)} ms`;
  return `${x.toFixed(3)} ms`;
}

/** Format a ratio as a percentage for evidence text. */
export function pct(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x > 0 && x < 0.01 ? '<1%' : `${Math.round(x * 100)}%`;
}

/** Format a byte count for evidence text. */
export function bytes(x: number): string {
  if (x >= 1024 * 1024) return `${(x / (1024 * 1024)).toFixed(1)} MiB`;
  if (x >= 1024) return `${(x / 1024).toFixed(1)} KiB`;
  return `${Math.round(x)} B`;
}

/** Confidence from how far past its threshold a signal is (0 at the threshold, 1 at twice it), the data quality, and a rule-specific prior. */
export function confidenceFrom(margin: number, signals: Signals, prior = 1): number {
  const marginScore = Math.min(1, Math.max(0, margin));
  // More requests and fuller phase coverage make every finding firmer (reference §(b)8: evidence-graded verdicts).
  const sampleScore = Math.min(1, signals.diagnosed / 500);
  const coverageScore = Math.min(1, Math.max(0, (signals.coverage - 0.6) / 0.3));
  let c = 0.35 + 0.35 * marginScore + 0.15 * sampleScore + 0.15 * coverageScore;
  if (!signals.stable) c -= 0.05;
  return Math.round(Math.min(0.98, Math.max(0.05, c * prior)) * 100) / 100;
}

/**
 * @module analyzer/diagnose/rank
 * Orders fired findings into recommendations: a finding whose cause confounds the others'
 * estimates (the rule's `confounds`, e.g. a throttling GPU) first, then largest estimated saving
 * first, and the cheaper fix first when two savings are similar (configuration before runtime
 * swap, before precision change, before retraining). Under a confounding cause the others'
 * gains carry its caveat: they were measured on a slowed device.
 */
import type { FixEffort, Recommendation } from '../../model/diagnosis.js';
import type { Finding, Rule } from './rule.js';
import { ruleFor } from './rules.js';

/** Cost order of the effort classes, cheapest first. */
export const EFFORT_ORDER: readonly FixEffort[] = ['config', 'investigation', 'runtime', 'precision', 'retraining', 'hardware'];

/** Two savings within this ratio count as similar, and the cheaper fix goes first (ours). */
export const SIMILAR_GAIN_RATIO = 0.75;

/** A fired rule with what it found. */
export interface FiredRule {
  readonly rule: Pick<Rule, 'id' | 'effort' | 'confounds'>;
  readonly finding: Finding;
}

function similar(a: number, b: number): boolean {
  const hi = Math.max(a, b);
  return hi <= 0 || Math.min(a, b) / hi >= SIMILAR_GAIN_RATIO;
}

/** Savings order with the cheaper-fix preference between similar neighbours. */
function bySaving(fired: readonly FiredRule[]): FiredRule[] {
  const order = [...fired].sort((a, b) => b.finding.savedMeanMs - a.finding.savedMeanMs || EFFORT_ORDER.indexOf(a.rule.effort) - EFFORT_ORDER.indexOf(b.rule.effort));
  // Adjacent swaps only, so a cheap fix can overtake a similar neighbour but never a much larger saving.
  for (let pass = 0; pass < order.length; pass++) {
    let swapped = false;
    for (let i = 0; i + 1 < order.length; i++) {
      const a = order[i] as FiredRule;
      const b = order[i + 1] as FiredRule;
      if (similar(a.finding.savedMeanMs, b.finding.savedMeanMs) && EFFORT_ORDER.indexOf(b.rule.effort) < EFFORT_ORDER.indexOf(a.rule.effort)) {
        order[i] = b;
        order[i + 1] = a;
        swapped = true;
      }
    }
    if (!swapped) break;
  }
  return order;
}

/** The caveat a fired rule's finding puts on the others, when its kind confounds them. */
function confoundNote(f: FiredRule): string | undefined {
  return f.finding.kind !== undefined ? f.rule.confounds?.[f.finding.kind] : undefined;
}

/** Rank fired rules into recommendations. */
export function rankFindings(fired: readonly FiredRule[]): Recommendation[] {
  const confounders = bySaving(fired.filter((f) => confoundNote(f) !== undefined));
  const first = confounders[0];
  const confoundedBy = first ? { fix: first.rule.id, note: confoundNote(first) as string } : undefined;
  const rest = bySaving(fired.filter((f) => confoundNote(f) === undefined));
  return [...confounders, ...rest].map(({ rule, finding }, i) => {
    const gain = finding.estimatedGain && confoundedBy && i >= confounders.length ? { ...finding.estimatedGain, confoundedBy } : finding.estimatedGain;
    return {
      fix: rule.id,
      title: finding.title ?? ruleFor(rule.id).content.title,
      confidence: finding.confidence,
      effort: rule.effort,
      evidence: finding.evidence,
      ...(gain ? { estimatedGain: gain } : {}),
      nextStep: finding.nextStep,
      exampleTraceIds: finding.exampleTraceIds,
      ...(finding.cause ? { cause: finding.cause } : {}),
    };
  });
}

/**
 * @module analyzer/diagnose/rule
 * The contract every diagnosis rule module fulfils, and `defineRule`, the one way to write one.
 * A rule module holds, side by side: its fix id and effort class, the inputs it needs, its named
 * thresholds (value, unit, public source, reasoning), its words (title, sub-kind titles, next
 * steps) and its logic. The registry (`rules.ts`) lists the modules; thresholds, `--explain` and
 * the tables in docs/diagnosis.md are all built from it.
 */
import type { FixId, Phase } from '../../semconv.js';
import type { Caveat, Evidence, FixEffort, GainEstimate, NextStep, Recommendation, RuleOutcome, SloResult } from '../../model/diagnosis.js';
import type { Signals } from './signals.js';
import type { ThresholdSpec } from './threshold-spec.js';

/**
 * What a rule's verdict can read. Per-request timings (trace files) give every input;
 * aggregates (Prometheus histograms and counters) give only those not marked `perRequestOnly`.
 */
export const RULE_INPUTS = {
  'phase-distributions': { perRequestOnly: false, description: 'per-phase mean, p50, p95 and share of e2e, and the e2e percentiles (a latency histogram per phase gives these)' },
  concurrency: { perRequestOnly: false, description: "arrival rate and mean requests in flight (Little's law: rate × mean e2e)" },
  'batch-sizes': { perRequestOnly: false, description: 'batch sizes: mean, largest, share of requests in a batch of the largest size (a batch-size histogram gives these)' },
  'time-windows': { perRequestOnly: false, description: 'the run cut into windows: e2e p50/p95, phase means and arrival rate per window (a range query gives these)' },
  'model-attributes': { perRequestOnly: false, description: 'runtime, execution provider, precision and device of the model' },
  'payload-sizes': { perRequestOnly: false, description: 'request and response payload sizes' },
  'arrival-times': { perRequestOnly: true, description: "every request's start time (Laplace trend test on arrivals, requests in flight at each arrival)" },
  generation: { perRequestOnly: false, description: 'generation: TTFT, TPOT and token counts (per request, or as histograms), and the queue, preprocess and prefill shares of TTFT' },
  'input-hashes': { perRequestOnly: true, description: "every request's inference.input.hash (duplicate share, cache replay)" },
} as const satisfies Record<string, { readonly perRequestOnly: boolean; readonly description: string }>;

/** One input a rule can read (see RULE_INPUTS). */
export type RuleInput = keyof typeof RULE_INPUTS;

/** Every input: what per-request timings (trace files) give. */
export const ALL_RULE_INPUTS: ReadonlySet<RuleInput> = new Set(Object.keys(RULE_INPUTS) as RuleInput[]);

/** What a rule needs to reach a verdict. */
export interface RuleNeeds {
  /** Inputs without which the rule cannot run; when one is missing its outcome says "could not run". */
  readonly inputs: readonly RuleInput[];
  /** Inputs that sharpen a finding (sizing, confidence, evidence) when present; the verdict does without them. */
  readonly refinedBy: readonly RuleInput[];
  /** GPU samples: needed for any verdict, read to name a cause, or not read. The rule words their absence itself. */
  readonly gpu: 'required' | 'optional' | 'unused';
}

/** Words of a rule, kept beside its logic (as Clinic Doctor keeps recommendations apart from analysis). */
export interface RuleContent {
  /** Title of the fix as the first screen shows it. */
  readonly title: string;
  /**
   * Titles of the rule's sub-kinds, by the `kind` a finding names (scale-and-cache's arms,
   * latency-drift's causes). A finding with a kind listed here gets that title.
   */
  readonly kinds?: Readonly<Record<string, string>>;
  /** Phases whose time this fix family cuts: when one of them dominates and no rule fires, the headline names this rule and what blocked it. */
  readonly phases?: readonly Phase[];
}

/**
 * Causes that confound the other rules' estimates, by the finding `kind` that names them, with
 * the caveat every other finding's estimated gain then carries. A GPU that throttles (clocks
 * down) slows compute for every rule's measurements: a runtime swap "saving 40%" was measured on
 * a slowed GPU, and the first fix is the cause itself.
 */
export type Confounds = Readonly<Record<string, string>>;

/** What a rule sees. `K` are the names of the thresholds it declared. */
export interface RuleContext<K extends string = string> {
  readonly signals: Signals;
  /** The values (defaults or overrides) of the rule's own thresholds. */
  readonly thresholds: Readonly<Record<K, number>>;
  readonly slo?: SloResult;
  /** Fixes that fired in the first pass (only second-pass rules see a non-empty set). */
  readonly fired: ReadonlySet<FixId>;
  /**
   * The serving system the input came from, when a convention mapping detected it (e.g. `triton`,
   * `vllm`, `tgi`, `torchserve`): next steps can be worded for it inside the rule module.
   */
  readonly server?: string;
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
  /** Sub-kind of the fix (a key of the rule's `content.kinds`); picks the title. */
  readonly kind?: string;
  /** Replaces the content title outright (prefer `kind`). */
  readonly title?: string;
}

/** What a rule's logic returns: its inputs for `--explain`, why it fired or not, and a finding when it fired. */
export interface Verdict {
  readonly inputs: RuleOutcome['inputs'];
  readonly reason: string;
  /** Present exactly when the rule fires. */
  readonly finding?: Finding;
  /** When the rule does not fire but what it saw qualifies the fired fixes' gains (a sustained SW power cap): the line for the first screen. */
  readonly caveat?: Omit<Caveat, 'rule'>;
}

/** A rule's result. */
export interface RuleResult {
  readonly outcome: RuleOutcome;
  readonly finding?: Finding;
  readonly caveat?: Caveat;
}

/** One diagnosis rule, as the registry holds it. `K` names its thresholds. */
export interface Rule<K extends string = string> {
  readonly id: FixId;
  readonly effort: FixEffort;
  /** 1: independent of other rules; 2: needs to know which first-pass rules fired. */
  readonly pass: 1 | 2;
  readonly needs: RuleNeeds;
  /** `requests` when a needed input comes only from per-request timings; `aggregates-ok` otherwise. */
  readonly input: 'requests' | 'aggregates-ok';
  readonly content: RuleContent;
  /** Every threshold the rule reads, with value, unit, public source and why. */
  readonly thresholds: { readonly [P in K]: ThresholdSpec };
  readonly thresholdKeys: readonly K[];
  /** Finding kinds of this rule that confound the others' estimates (see `Confounds`); absent: none. */
  readonly confounds?: Confounds;
  /** Runs the rule; a finding's title is resolved from the content. */
  evaluate(ctx: RuleContext<K>): RuleResult;
}

/** A rule module's definition, as passed to `defineRule`. */
export interface RuleDefinition<K extends string> {
  readonly id: FixId;
  readonly effort: FixEffort;
  /** Default 1. */
  readonly pass?: 1 | 2;
  readonly needs: RuleNeeds;
  readonly content: RuleContent;
  /**
   * Thresholds the rule reads. Spread a shared group (e.g. `COMPUTE_THRESHOLDS`) to read a
   * threshold another rule reads too: the registry accepts one key twice only for the same spec.
   */
  readonly thresholds: { readonly [P in K]: ThresholdSpec };
  /**
   * Finding kinds that confound every other rule's estimate, each with the caveat the others'
   * gains get ("measured while …; re-measure after …"). A confounding finding ranks first.
   */
  readonly confounds?: Confounds;
  /** The rule's logic. Return `{ inputs, reason }` when it does not fire, plus `finding` when it does. */
  verdict(ctx: RuleContext<K>): Verdict;
}

/** Builds a rule from its definition: fills in the outcome (rule id, thresholds read, fired) and the finding's title. */
export function defineRule<K extends string>(def: RuleDefinition<K>): Rule<K> {
  const thresholdKeys = Object.keys(def.thresholds) as K[];
  const input = def.needs.inputs.some((i) => RULE_INPUTS[i].perRequestOnly) ? 'requests' : 'aggregates-ok';
  return {
    id: def.id,
    effort: def.effort,
    pass: def.pass ?? 1,
    needs: def.needs,
    input,
    content: def.content,
    thresholds: def.thresholds,
    thresholdKeys,
    ...(def.confounds ? { confounds: def.confounds } : {}),
    evaluate(ctx: RuleContext<K>): RuleResult {
      const { inputs, reason, finding, caveat } = def.verdict(ctx);
      const outcome: RuleOutcome = { rule: def.id, inputs, thresholds: thresholdsOf(thresholdKeys, ctx.thresholds), fired: finding !== undefined, reason };
      if (finding === undefined) return caveat === undefined ? { outcome } : { outcome, caveat: { rule: def.id, ...caveat } };
      const kindTitle = finding.kind !== undefined ? def.content.kinds?.[finding.kind] : undefined;
      return { outcome, finding: finding.title === undefined && kindTitle !== undefined ? { ...finding, title: kindTitle } : finding };
    },
  };
}

/** Inputs in `needs.inputs` that `available` lacks; empty when the rule can run. */
export function missingInputs(rule: Pick<Rule, 'needs'>, available: ReadonlySet<RuleInput>): RuleInput[] {
  return rule.needs.inputs.filter((i) => !available.has(i));
}

/** The outcome of a rule that could not run for want of inputs, e.g. "could not run: needs per-request data (…)". */
export function couldNotRun(rule: Pick<Rule, 'id'>, missing: readonly RuleInput[]): RuleOutcome {
  const perRequest = missing.some((i) => RULE_INPUTS[i].perRequestOnly);
  return {
    rule: rule.id,
    inputs: {},
    thresholds: {},
    fired: false,
    skipped: 'missing-input',
    reason: `could not run: needs ${perRequest ? 'per-request data' : 'inputs this source lacks'} (${missing.map((i) => RULE_INPUTS[i].description).join('; ')})`,
  };
}

/** The values of `keys` in `thresholds`, as RuleOutcome wants them. */
export function thresholdsOf<K extends string>(keys: readonly K[], thresholds: Readonly<Record<K, number>>): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, thresholds[k]]));
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
  // More requests and fuller phase coverage make every finding firmer (graded, not yes/no, as Clinic Doctor's verdicts are).
  const sampleScore = Math.min(1, signals.diagnosed / 500);
  const coverageScore = Math.min(1, Math.max(0, (signals.coverage - 0.6) / 0.3));
  let c = 0.35 + 0.35 * marginScore + 0.15 * sampleScore + 0.15 * coverageScore;
  if (!signals.stable) c -= 0.05;
  return Math.round(Math.min(0.98, Math.max(0.05, c * prior)) * 100) / 100;
}

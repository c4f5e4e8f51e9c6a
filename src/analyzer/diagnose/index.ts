/**
 * @module analyzer/diagnose
 * Per-model diagnosis: signals → rules → ranked recommendations. Pure, no I/O; the caller
 * runs it once per model.
 */
import type { FixId, Phase } from '../../semconv.js';
import type { Requests } from '../../model/request-table.js';
import type { ModelSummary } from '../../model/summary.js';
import type { DeviceEvidence } from '../../model/gpu.js';
import type { Caveat, Diagnosis, RuleOutcome, SloResult } from '../../model/diagnosis.js';
import type { RuleInput, RuleResult } from './rule.js';
import type { Signals } from './signals.js';
import type { SloTargets } from './slo.js';
import type { Thresholds } from './thresholds.js';
import type { FiredRule } from './rank.js';
import { computeSignals } from './signals.js';
import { resolveThresholds } from './thresholds.js';
import { checkSlo, hasSloTargets, sloCheckText, sloMeasured, sloUnmeasured } from './slo.js';
import { rankFindings } from './rank.js';
import { ALL_RULE_INPUTS, couldNotRun, missingInputs, ms, pct, round } from './rule.js';
import { RULES } from './rules.js';
import { statName } from './statistic.js';

export { DEFAULT_THRESHOLDS, THRESHOLD_SPECS, parseThresholdOverride, parseThresholdOverrides, resolveThresholds, isThresholdKey } from './thresholds.js';
export type { Thresholds, ThresholdKey } from './thresholds.js';
export type { ThresholdSpec } from './threshold-spec.js';
export { parseSlo, checkSlo, sloMeasured, sloUnmeasured, hasSloTargets } from './slo.js';
export type { SloTargets, SloMeasured, SloMetric, SloQuantile } from './slo.js';
export { DiagnoseOptionError } from './errors.js';
export { EFFORT_ORDER } from './rank.js';
export { computeSignals, trendOf, deviceSignal, tracesNear, partColumn } from './signals.js';
export type { Signals, ReplicaSignal, WindowSignal, TrendSignal, PhaseSignal, DeviceSignal, GenerationSignal } from './signals.js';

export { isMean, statKey, statList, statName } from './statistic.js';
export type { HasStatistic, Quantile } from './statistic.js';
export { RULES, RULE_REGISTRY, ruleFor } from './rules.js';
export type { RuleThresholdKey } from './rules.js';
export { defineRule, RULE_INPUTS, ALL_RULE_INPUTS, missingInputs, couldNotRun } from './rule.js';
export type { Rule, RuleDefinition, RuleContext, RuleContent, RuleNeeds, RuleInput, Verdict, Finding, RuleResult } from './rule.js';

/** What one model's diagnosis reads. */
export interface DiagnoseInput {
  readonly model: string;
  /** The model's requests, as a table (AnalysisResult.timings and its selections) or as rows. */
  readonly requests: Requests;
  readonly summary: ModelSummary;
  readonly device?: readonly DeviceEvidence[];
  /**
   * What the input carries (see RULE_INPUTS); a rule needing something absent is reported as
   * "could not run" instead of being evaluated. Default: everything, as per-request timings give.
   */
  readonly available?: ReadonlySet<RuleInput>;
  /** The serving system the input came from, when a convention mapping detected it (e.g. `triton`, `vllm`). */
  readonly server?: string;
}

/** Options of `diagnose`. */
export interface DiagnoseOptions {
  /** Threshold overrides by name (see THRESHOLD_SPECS); default: DEFAULT_THRESHOLDS. */
  readonly thresholds?: Partial<Thresholds>;
  /** Latency objectives checked against the e2e and generation (TTFT, TPOT, ITL) percentiles; default: none. */
  readonly slo?: SloTargets;
}

function validityOutcome(s: Signals, t: Thresholds): RuleOutcome {
  return {
    rule: 'validity',
    fired: s.invalid.length > 0,
    inputs: {
      requests: s.totalRequests,
      warmup_trimmed: s.warmupTrimmed,
      errors_excluded: s.errors,
      diagnosed: s.diagnosed,
      basis: s.basis,
      coverage: round(s.coverage),
      windows: s.windows.length,
      stable: s.stable,
      clock_skew_share: round(s.clockSkewShare),
    },
    thresholds: {
      'warmup.share': t['warmup.share'],
      'validity.min_requests': t['validity.min_requests'],
      'validity.min_coverage': t['validity.min_coverage'],
      'windows.count': t['windows.count'],
      'stability.max_ratio': t['stability.max_ratio'],
    },
    reason: s.invalid.length > 0 ? s.invalid.join('; ') : `${s.diagnosed} requests, ${pct(s.coverage)} of e2e in phase spans${s.stable ? ', last 3 windows stable' : ', last 3 windows not within 10% (lower confidence)'}`,
  };
}

function sloText(slo: SloResult): string {
  const worst = slo.checks.find((c) => !c.met) ?? slo.checks[0];
  if (!worst) return '';
  if (slo.met) return `SLO met (${slo.checks.map((c) => sloCheckText(c)).join(', ')})`;
  const violated = slo.checks.filter((c) => !c.met && Number.isFinite(c.actualMs));
  const parts = violated.length > 0 ? [`SLO violated (${violated.map((c) => sloCheckText(c)).join(', ')})`] : [];
  // One clause per reason: "p99 not measured (means only); ttft:p95 not measured (no first token recorded in the input)".
  for (const { why, labels } of sloUnmeasured(slo)) parts.push(`SLO not checked: ${labels.join(', ')} not measured (${why})`);
  return parts.join('; ');
}

/** Diagnose one model: which fix to apply first, with evidence, and every rule's outcome. */
export function diagnose(input: DiagnoseInput, options: DiagnoseOptions = {}): Diagnosis {
  const thresholds = resolveThresholds(options.thresholds);
  const signals = computeSignals(input, thresholds);
  // Failed requests are not latency: a run whose every request failed has no latency to hold to the SLO.
  // Failures a source counts beside its completed requests (`failures`: TGI's router spans) are not among them,
  // unless no request completed: then every request failed (or was cancelled), and nothing has a latency.
  const s = input.summary;
  const allFailed = s.failures === undefined ? s.requests > 0 && s.errors >= s.requests : s.requests === 0;
  const slo = hasSloTargets(options.slo) ? (allFailed ? checkSlo(options.slo, {}, s.errors > 0 || s.requests > 0 ? 'every request failed' : 'every request was cancelled') : checkSlo(options.slo, sloMeasured(s))) : undefined;
  return diagnoseSignals(signals, {
    thresholds,
    ...(slo ? { slo } : {}),
    ...(input.available ? { available: input.available } : {}),
    ...(input.server !== undefined ? { server: input.server } : {}),
  });
}

/** What `diagnoseSignals` needs besides the signals. */
export interface SignalsContext {
  /** Resolved thresholds (see resolveThresholds). */
  readonly thresholds: Thresholds;
  /** The SLO check, when targets were given (see checkSlo). */
  readonly slo?: SloResult;
  /** What the input carries; default every input (per-request timings). */
  readonly available?: ReadonlySet<RuleInput>;
  /** The detected serving system (e.g. `triton`), for rules that word next steps per server. */
  readonly server?: string;
}

/**
 * A phase taking more than this share of e2e is "most of e2e": when no rule fires, the headline
 * names that phase's fixes and what blocked each instead of "no bottleneck stands out". Ours:
 * more than half by definition of "most".
 */
const DOMINANT_SHARE = 0.5;

/** `rule-id: reason` for each rule whose fix family cuts `phase` (content.phases) and that did not fire. */
function blockedFixes(phase: Phase, results: ReadonlyMap<FixId, RuleResult>): string[] {
  return RULES.filter((r) => r.content.phases?.includes(phase) === true)
    .map((r) => results.get(r.id)?.outcome)
    .filter((o): o is RuleOutcome => o !== undefined && !o.fired)
    .map((o) => `${o.rule}: ${o.reason}`);
}

/**
 * The rules stage alone: validity gate, every rule (first pass, then second), ranking and
 * headline, from signals already computed. `diagnose` calls it after `computeSignals`; an input
 * without per-request timings (aggregates) builds its own Signals and names what it lacks in
 * `available`, so the rules that need it say "could not run".
 */
export function diagnoseSignals(signals: Signals, context: SignalsContext): Diagnosis {
  const { thresholds, slo } = context;
  const validity = validityOutcome(signals, thresholds);
  const common = {
    model: signals.model,
    warmupTrimmed: signals.warmupTrimmed,
    population: { basis: signals.basis, requests: signals.totalRequests, diagnosed: signals.diagnosed, warmupTrimmed: signals.warmupTrimmed, errorsExcluded: signals.errors },
    ...(slo ? { slo } : {}),
    ...(signals.dominantPhase ? { dominantPhase: signals.dominantPhase } : {}),
    ...(signals.tail ? { tail: signals.tail } : {}),
  };
  if (signals.invalid.length > 0) {
    const skipped: RuleOutcome[] = RULES.map((r) => ({ rule: r.id, fired: false, inputs: {}, thresholds: {}, reason: 'not evaluated: insufficient data', skipped: 'insufficient-data' }));
    return {
      ...common,
      primary: 'insufficient-data',
      // The SLO was still checked (and gates --fail-on-slo): the report says how it went.
      headline: `Insufficient data for a diagnosis: ${signals.invalid.join('; ')}${slo ? `. ${sloText(slo)}` : ''}`,
      recommendations: [],
      insufficientData: signals.invalid,
      rules: [validity, ...skipped],
    };
  }
  const results = new Map<FixId, RuleResult>();
  const available = context.available ?? ALL_RULE_INPUTS;
  const ruleContext = { signals, thresholds, ...(slo ? { slo } : {}), ...(context.server !== undefined ? { server: context.server } : {}) };
  const run = (pass: 1 | 2, fired: ReadonlySet<FixId>): void => {
    for (const rule of RULES.filter((r) => r.pass === pass)) {
      const missing = missingInputs(rule, available);
      results.set(rule.id, missing.length > 0 ? { outcome: couldNotRun(rule, missing) } : rule.evaluate({ ...ruleContext, fired }));
    }
  };
  run(1, new Set());
  run(2, new Set([...results].filter(([, r]) => r.outcome.fired).map(([id]) => id)));
  const fired: FiredRule[] = [];
  for (const rule of RULES) {
    const finding = results.get(rule.id)?.finding;
    if (finding) fired.push({ rule, finding });
  }
  const recommendations = rankFindings(fired);
  const top = recommendations[0];
  const sloPrefix = slo ? `${sloText(slo)}. ` : '';
  let headline: string;
  if (top) {
    headline = `${sloPrefix}${top.title}: ${top.evidence[0]?.text ?? ''}`;
  } else {
    const dom = signals.dominantPhase;
    const largest = dom ? `the largest phase is ${dom} at ${pct(signals.phases[dom].share)} of e2e` : 'no phase spans';
    const blocked = dom && signals.phases[dom].share > DOMINANT_SHARE ? blockedFixes(dom, results) : [];
    headline = slo?.met
      ? `${sloText(slo)} and no phase dominates: nothing to fix (${largest})`
      : dom && blocked.length > 0
        ? `${sloPrefix}${dom} is ${pct(signals.phases[dom].share)} of e2e, yet no fix for it fired: ${blocked.join('; ')}`
        : `${sloPrefix}No bottleneck stands out: ${largest}; see --explain for every rule`;
  }
  // Caveats qualify the fixes' gains: said only beside a fix.
  const caveats = top ? RULES.map((r) => results.get(r.id)?.caveat).filter((c): c is Caveat => c !== undefined) : [];
  return {
    ...common,
    primary: top ? top.fix : null,
    headline,
    recommendations,
    ...(caveats.length > 0 ? { caveats } : {}),
    rules: [validity, ...RULES.map((r) => (results.get(r.id) as RuleResult).outcome)],
  };
}

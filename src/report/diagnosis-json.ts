/**
 * @module report/diagnosis-json
 * The `diagnosis` object of the `--json` output, in the report's snake_case style:
 * `primary` (a fix id, `insufficient-data`, or null), the ranked `recommendations[]`,
 * and every rule's inputs and outcome under `rules[]`.
 */
import type { Diagnosis, GainEstimate, Recommendation, RuleOutcome, SloMetric } from '../model/diagnosis.js';
import type { Statistic } from '../model/summary.js';

/** One recommendation in the JSON report. */
export interface JsonRecommendation {
  fix: string;
  title: string;
  confidence: number;
  effort: string;
  evidence: { text: string; values: Record<string, number> }[];
  /** `statistic`: what current and expected values are (`percentile`, `bucket-percentile`, `mean`); null for throughput. */
  /** `confounded_by`: the fix whose cause (a throttling GPU) the estimate was measured under, and the caveat; null when none. */
  estimated_gain: { metric: string; statistic: Statistic | null; current_value: number; expected_value: number; basis: string; confounded_by: { fix: string; note: string } | null } | null;
  next_step: { text: string; snippet: { language: string; code: string } | null };
  example_trace_ids: string[];
  cause: string | null;
}

/** One rule's outcome in the JSON report. */
export interface JsonRuleOutcome {
  rule: string;
  fired: boolean;
  /** Why the rule did not run: `insufficient-data` (validity gate) or `missing-input`; null when it ran. */
  skipped: 'insufficient-data' | 'missing-input' | null;
  reason: string;
  inputs: Record<string, number | string | boolean | null>;
  thresholds: Record<string, number>;
}

/** The diagnosis of one model in the JSON report. */
export interface JsonDiagnosis {
  model: string;
  primary: string | null;
  headline: string;
  dominant_phase: string | null;
  warmup_trimmed: number;
  /** The requests the rules read (after warm-up trim, without errors); the phase table covers `requests`. */
  population: { basis: string; requests: number; diagnosed: number; warmup_trimmed: number; errors_excluded: number } | null;
  insufficient_data: string[] | null;
  /**
   * `statistic`: what the end-to-end `actual_ms` are (`percentile`, or `bucket-percentile` from histograms); each check names
   * its `metric` (`e2e`, `ttft`, `tpot`, `itl`), its own `statistic`, and why it was `unmeasured` (`actual_ms` null), else null.
   */
  slo: { met: boolean; statistic: Statistic; checks: { metric: SloMetric; quantile: string; target_ms: number; actual_ms: number; met: boolean; statistic: Statistic; unmeasured: string | null }[] } | null;
  tail: { basis: 'e2e' | 'ttft'; phase: string; tail_share: number; median_share: number; text: string; example_trace_ids: string[] } | null;
  recommendations: JsonRecommendation[];
  /** What qualifies the recommendations' gains (a sustained SW power cap beside a software fix: the gain assumes the cap stays); empty when nothing. */
  caveats: { rule: string; kind: string; text: string; values: Record<string, number> }[];
  rules: JsonRuleOutcome[];
}

/** Non-finite numbers (an infinite ratio) have no JSON spelling; write null. */
function finite(x: number | string | boolean | null): number | string | boolean | null {
  return typeof x === 'number' && !Number.isFinite(x) ? null : x;
}

/** What a gain's values are: a mean metric is a mean, a quantile metric says how it was computed (absent: per request). */
export function gainStatistic(g: GainEstimate): Statistic | null {
  if (g.metric === 'throughput_rps') return null;
  return g.metric.includes('mean') ? 'mean' : (g.statistic ?? 'percentile');
}

function recommendation(r: Recommendation): JsonRecommendation {
  return {
    fix: r.fix,
    title: r.title,
    confidence: r.confidence,
    effort: r.effort,
    evidence: r.evidence.map((e) => ({ text: e.text, values: Object.fromEntries(Object.entries(e.values).filter(([, v]) => Number.isFinite(v))) })),
    estimated_gain: r.estimatedGain
      ? { metric: r.estimatedGain.metric, statistic: gainStatistic(r.estimatedGain), current_value: r.estimatedGain.currentValue, expected_value: r.estimatedGain.expectedValue, basis: r.estimatedGain.basis, confounded_by: r.estimatedGain.confoundedBy ? { fix: r.estimatedGain.confoundedBy.fix, note: r.estimatedGain.confoundedBy.note } : null }
      : null,
    next_step: { text: r.nextStep.text, snippet: r.nextStep.snippet ? { language: r.nextStep.snippet.language, code: r.nextStep.snippet.code } : null },
    example_trace_ids: [...r.exampleTraceIds],
    cause: r.cause ?? null,
  };
}

function rule(o: RuleOutcome): JsonRuleOutcome {
  return {
    rule: o.rule,
    fired: o.fired,
    skipped: o.skipped ?? null,
    reason: o.reason,
    inputs: Object.fromEntries(Object.entries(o.inputs).map(([k, v]) => [k, finite(v)])),
    thresholds: { ...o.thresholds },
  };
}

/** The JSON form of one model's diagnosis. */
export function diagnosisToJson(d: Diagnosis): JsonDiagnosis {
  return {
    model: d.model,
    primary: d.primary,
    headline: d.headline,
    dominant_phase: d.dominantPhase ?? null,
    warmup_trimmed: d.warmupTrimmed,
    population: d.population
      ? { basis: d.population.basis, requests: d.population.requests, diagnosed: d.population.diagnosed, warmup_trimmed: d.population.warmupTrimmed, errors_excluded: d.population.errorsExcluded }
      : null,
    insufficient_data: d.insufficientData ? [...d.insufficientData] : null,
    slo: d.slo ? { met: d.slo.met, statistic: d.slo.statistic ?? 'percentile', checks: d.slo.checks.map((c) => ({ metric: c.metric, quantile: c.quantile, target_ms: c.targetMs, actual_ms: c.actualMs, met: c.met, statistic: c.statistic ?? 'percentile', unmeasured: c.unmeasuredWhy ?? null })) } : null,
    tail: d.tail
      ? { basis: d.tail.basis, phase: d.tail.phase, tail_share: d.tail.tailShare, median_share: d.tail.medianShare, text: d.tail.text, example_trace_ids: [...d.tail.exampleTraceIds] }
      : null,
    recommendations: d.recommendations.map(recommendation),
    caveats: (d.caveats ?? []).map((c) => ({ rule: c.rule, kind: c.kind, text: c.text, values: { ...c.values } })),
    rules: d.rules.map(rule),
  };
}

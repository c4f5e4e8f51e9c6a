/**
 * @module report/diff-json
 * `latency-doctor diff --json`: the comparison as data (schema `latency-doctor/diff@1`,
 * documented in docs/diff.md). snake_case keys, milliseconds, ratios as fractions.
 */
import type { AnalysisDiff, DistributionChange, RequestOutcomes, SideRange } from '../analyzer/diff/index.js';
import { round } from './_format.js';
import { timeRangeJson } from './json.js';
import type { JsonTimeRange } from './json.js';

/** Schema id written as `schema`. */
export const DIFF_SCHEMA_ID = 'latency-doctor/diff@1';

/** One distribution's comparison in the JSON output. */
export interface JsonDistributionChange {
  before_count: number;
  after_count: number;
  quantiles: {
    quantile: string;
    before_ms: number;
    after_ms: number;
    change_ms: number;
    change_ratio: number;
    ci_low_ms: number | null;
    ci_high_ms: number | null;
    ci_low_ratio: number | null;
    ci_high_ratio: number | null;
    min_samples: number;
    significant: boolean;
  }[];
  mann_whitney: { u: number; probability_slower: number; z: number; p_value: number; significant: boolean } | null;
  note: string | null;
}

/** The JSON document. */
export interface JsonDiff {
  schema: typeof DIFF_SCHEMA_ID;
  confidence: number;
  models: {
    model: string;
    /** The model's name AFTER when `--after-model` renamed it, else null. */
    after_model: string | null;
    verdict: { before: string | null; after: string | null; text: string; appeared: string[]; resolved: string[] };
    e2e: JsonDistributionChange;
    phases: Record<string, JsonDistributionChange>;
    /** `ttft` and `tpot`, when both runs stream tokens. */
    generation: Record<string, JsonDistributionChange>;
    /** Both runs' load; null when a side has fewer than two requests. */
    load: { before_rps: number; after_rps: number; before_in_flight: number; after_in_flight: number; differs: boolean } | null;
    /** Each run's requests by outcome (`failures` null unless the source splits them: TGI); latency compares the completed, successful ones. */
    outcomes: { before: JsonOutcomes; after: JsonOutcomes };
    notes: string[];
  }[];
  only_before: string[];
  only_after: string[];
  /** Only with `--start`/`--end` (or `--after-start` …): each side's range and the requests it kept, null for a side without one. */
  time_range?: { before: JsonSideRange | null; after: JsonSideRange | null };
}

/** A side's range in `--json`: `analyze`'s `time_range`, and `requests` kept. */
export type JsonSideRange = JsonTimeRange & { requests: number };

function nullable(x: number | undefined): number | null {
  return x === undefined ? null : round(x);
}

function distribution(c: DistributionChange): JsonDistributionChange {
  return {
    before_count: c.beforeCount,
    after_count: c.afterCount,
    // Rounded as analyze --json rounds (6 decimals): -11.837276, not -11.837276000000001.
    quantiles: c.quantiles.map((q) => ({
      quantile: q.quantile,
      before_ms: round(q.beforeMs),
      after_ms: round(q.afterMs),
      change_ms: round(q.changeMs),
      change_ratio: round(q.changeRatio),
      ci_low_ms: nullable(q.interval?.lowMs),
      ci_high_ms: nullable(q.interval?.highMs),
      ci_low_ratio: nullable(q.interval?.lowRatio),
      ci_high_ratio: nullable(q.interval?.highRatio),
      min_samples: q.minSamples,
      significant: q.significant,
    })),
    mann_whitney: c.shift ? { u: c.shift.u, probability_slower: c.shift.probabilitySlower, z: c.shift.z, p_value: c.shift.pValue, significant: c.shiftSignificant } : null,
    note: c.note ?? null,
  };
}

/** One run's requests by outcome in `--json`. */
export interface JsonOutcomes {
  requests: number;
  errors: number;
  failures: { server_errors: number; client_errors: number; cancelled: number } | null;
}

function outcomesJson(o: RequestOutcomes): JsonOutcomes {
  const f = o.failures;
  return { requests: o.requests, errors: o.errors, failures: f ? { server_errors: f.server, client_errors: f.client, cancelled: f.cancelled } : null };
}

/** The comparison as a JSON object. */
export function diffToJson(diff: AnalysisDiff): JsonDiff {
  return {
    schema: DIFF_SCHEMA_ID,
    confidence: diff.confidence,
    models: diff.models.map((m) => ({
      model: m.model,
      after_model: m.afterModel ?? null,
      verdict: { before: m.verdict.before, after: m.verdict.after, text: m.verdict.text, appeared: [...m.verdict.appeared], resolved: [...m.verdict.resolved] },
      e2e: distribution(m.e2e),
      phases: Object.fromEntries(m.phases.map((p) => [p.phase, distribution(p.change)])),
      generation: Object.fromEntries(m.generation.map((g) => [g.metric, distribution(g.change)])),
      load: m.load ? { before_rps: round(m.load.beforeRps), after_rps: round(m.load.afterRps), before_in_flight: round(m.load.beforeInFlight), after_in_flight: round(m.load.afterInFlight), differs: m.load.differs } : null,
      outcomes: { before: outcomesJson(m.outcomes.before), after: outcomesJson(m.outcomes.after) },
      notes: [...m.notes],
    })),
    only_before: [...diff.onlyBefore],
    only_after: [...diff.onlyAfter],
    ...(diff.ranges !== undefined ? { time_range: { before: sideRangeJson(diff.ranges.before), after: sideRangeJson(diff.ranges.after) } } : {}),
  };
}

function sideRangeJson(side: SideRange | undefined): JsonSideRange | null {
  return side === undefined ? null : { ...timeRangeJson(side.range), requests: side.requests };
}

/** Renders the comparison as pretty-printed JSON (ends with a newline). */
export function renderDiffJson(diff: AnalysisDiff): string {
  return `${JSON.stringify(diffToJson(diff), null, 2)}\n`;
}

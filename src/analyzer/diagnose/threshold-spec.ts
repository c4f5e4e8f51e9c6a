/**
 * @module analyzer/diagnose/threshold-spec
 * The shape of one named diagnosis threshold: value, unit, source and reasoning, so the
 * rules table in docs/diagnosis.md and `--explain` can show where every number comes from.
 */

/** One named threshold of a diagnosis rule. */
export interface ThresholdSpec {
  /** Default value. */
  readonly value: number;
  /** Unit of the value: `ratio` (0–1), `ms`, `requests`, `p-value`, … */
  readonly unit: string;
  /** Largest value an override may take: 1 for a share of a whole or a p-value, where `25` is a mistake for `25%`. */
  readonly max?: number;
  /** True for a count an override must give whole (windows): 2.5 windows cut the requests into windows of no requests. */
  readonly whole?: boolean;
  /** Where the number comes from (a tool and file, a paper, or "ours"). */
  readonly source: string;
  /** Why this value, in one sentence. */
  readonly why: string;
}

/**
 * @module model/diagnosis
 * What `analyzer/diagnose` concludes for one model: the primary fix, the ranked
 * recommendations with their evidence, and every rule's inputs for `--explain`.
 */
import type { FixId, Phase, PhaseOrOther } from '../semconv.js';
import type { Statistic } from './summary.js';

/** One measured fact behind a finding: words for people, numbers for machines. */
export interface Evidence {
  readonly text: string;
  readonly values: Readonly<Record<string, number>>;
}

/** How costly a fix is to apply; used to prefer the cheaper fix at similar gain. */
export type FixEffort = 'config' | 'runtime' | 'precision' | 'retraining' | 'investigation' | 'hardware';

/** Expected effect of applying a fix, when the traces allow an estimate. */
export interface GainEstimate {
  /**
   * Which metric moves: e2e percentiles, throughput, or (generation) time to first token and time
   * per output token; `…mean_ms` where the source has only sums and counts (no percentile).
   */
  readonly metric: 'p50_ms' | 'p95_ms' | 'p99_ms' | 'mean_ms' | 'throughput_rps' | 'ttft_p95_ms' | 'ttft_mean_ms' | 'tpot_p50_ms' | 'tpot_mean_ms';
  /** What the current and expected values are (model/summary `Statistic`); absent: per-request percentiles or a mean the metric names. */
  readonly statistic?: Statistic;
  readonly currentValue: number;
  readonly expectedValue: number;
  /** How the estimate was computed, in one sentence. */
  readonly basis: string;
  /**
   * Present when another finding's cause confounds this estimate (the GPU throttled while it was
   * measured): that fix, which ranks first, and the caveat, e.g. "measured while the GPU was
   * thermally throttled; re-measure after fixing cooling".
   */
  readonly confoundedBy?: { readonly fix: FixId; readonly note: string };
}

/** A concrete next step, tailored from the measurements. */
export interface NextStep {
  readonly text: string;
  /** A config block or command line to paste, e.g. a Triton `dynamic_batching { … }` block. */
  readonly snippet?: { readonly language: string; readonly code: string };
}

/** One recommended fix. */
export interface Recommendation {
  readonly fix: FixId;
  readonly title: string;
  /** 0–1. */
  readonly confidence: number;
  readonly effort: FixEffort;
  readonly evidence: readonly Evidence[];
  readonly estimatedGain?: GainEstimate;
  readonly nextStep: NextStep;
  /** Trace ids picked at the quantile the finding is about, to open in Jaeger. */
  readonly exampleTraceIds: readonly string[];
  /** For latency-drift: what the evidence points to. */
  readonly cause?: 'gpu-memory-growth' | 'thermal-throttling' | 'power-throttling' | 'cache-growth' | 'host-memory-growth' | 'unknown';
}

/** Which phase makes the slow requests slow. */
export interface TailAttribution {
  /** What the cohorts are cut by and shares are of: end-to-end time, or (generative requests) time to first token. */
  readonly basis: 'e2e' | 'ttft';
  readonly phase: PhaseOrOther;
  /** Share of the basis's time spent in `phase` by requests above its p95. */
  readonly tailShare: number;
  /** Share of the basis's time spent in `phase` by requests around its p50. */
  readonly medianShare: number;
  readonly text: string;
  readonly exampleTraceIds: readonly string[];
}

/** What an objective holds to: end-to-end latency, or a generation figure (model/generation: TTFT, TPOT, ITL). */
export type SloMetric = 'e2e' | 'ttft' | 'tpot' | 'itl';

/** The quantiles an objective can name. */
export type SloQuantile = 'p50' | 'p95' | 'p99';

/** One target checked (`ttft:p95=500ms`). */
export interface SloCheck {
  readonly metric: SloMetric;
  readonly quantile: SloQuantile;
  readonly targetMs: number;
  /** NaN when not measured (see `unmeasuredWhy`). */
  readonly actualMs: number;
  readonly met: boolean;
  /** What `actualMs` is (`bucket-percentile` on histograms); absent: a per-request percentile. */
  readonly statistic?: Statistic;
  /** Why the input cannot give this quantile ("means only", "no first token recorded in the input"): not met, and not violated either. */
  readonly unmeasuredWhy?: string;
}

/** Result of an SLO check (`--slo p99=250ms,ttft:p95=500ms`). */
export interface SloResult {
  readonly met: boolean;
  readonly checks: readonly SloCheck[];
  /** What the end-to-end actual values are (`bucket-percentile` on histograms); absent: per-request percentiles. Each check names its own. */
  readonly statistic?: Statistic;
  /** Checks the input cannot give, as the spec names them (`p99`, `ttft:p95`): not met, and not violated either. */
  readonly unmeasured?: readonly string[];
  /** Why `unmeasured`, in words ("means only", "every request failed"); several reasons joined by "; ". */
  readonly unmeasuredWhy?: string;
}

/** One rule's inputs and outcome, for `--explain`. */
export interface RuleOutcome {
  readonly rule: FixId | 'validity';
  readonly fired: boolean;
  readonly inputs: Readonly<Record<string, number | string | boolean | null>>;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly reason: string;
  /**
   * Why the rule did not run at all: the data failed the validity gate, or the input lacks
   * something the rule needs (e.g. per-request data when only aggregates were given).
   */
  readonly skipped?: 'insufficient-data' | 'missing-input';
}

/**
 * Which requests the diagnosis' numbers are computed on. The phase table covers every request
 * (HdrHistogram, nearest rank); the rules see the requests left after the warm-up trim and
 * without errors (interpolated quantiles), so their p95 can differ from the table's.
 */
export interface DiagnosisPopulation {
  /** `requests`: per-request timings (traces); `aggregates`: metrics only, nothing trimmed. */
  readonly basis: 'requests' | 'aggregates';
  /** Every request of the model, as in the phase table. */
  readonly requests: number;
  /** Requests the rules read. */
  readonly diagnosed: number;
  readonly warmupTrimmed: number;
  readonly errorsExcluded: number;
}

/**
 * A condition that does not fire a fix of its own but qualifies the fixes' expected gains, said
 * on the first screen under the verdict: a GPU held at its SW power cap while a software fix
 * applies (the gain was measured at capped clocks, and assumes the cap stays).
 */
export interface Caveat {
  /** The rule that saw it. */
  readonly rule: FixId;
  /** What it is, e.g. `power-cap`. */
  readonly kind: string;
  /** One short line for the first screen. */
  readonly text: string;
  readonly values: Readonly<Record<string, number>>;
}

/** The diagnosis of one model. */
export interface Diagnosis {
  readonly model: string;
  /** The fix to apply first, `insufficient-data`, or null when nothing stands out. */
  readonly primary: FixId | 'insufficient-data' | null;
  /** One-line verdict for the first screen. */
  readonly headline: string;
  /** Ranked: largest estimated gain first, cheaper fix first at similar gain. */
  readonly recommendations: readonly Recommendation[];
  /** What qualifies the recommendations' expected gains (see Caveat); absent or empty: nothing. */
  readonly caveats?: readonly Caveat[];
  /** Which validity assumptions failed, when primary is insufficient-data. */
  readonly insufficientData?: readonly string[];
  readonly tail?: TailAttribution;
  readonly slo?: SloResult;
  /** Requests dropped as warm-up before diagnosis. */
  readonly warmupTrimmed: number;
  /** The requests behind the diagnosis' numbers; absent only in hand-built diagnoses. */
  readonly population?: DiagnosisPopulation;
  readonly rules: readonly RuleOutcome[];
  /** Dominant phase by share of e2e. */
  readonly dominantPhase?: Phase;
}

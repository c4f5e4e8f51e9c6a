/**
 * @module analyzer/diagnose/slo
 * Latency objectives (`--slo p99=250ms,ttft:p95=500ms,tpot:p99=50ms`): parsing and checking
 * against the percentiles the report prints, so the verdict and the table agree.
 *
 * A target names a metric: end-to-end latency (bare `pNN`, or `e2e:pNN`), or one of the
 * generation figures of model/generation: time to first token (`ttft`), time per output token
 * (`tpot`), inter-token latency (`itl`, a server's per-token histogram). LLM services state their
 * objectives on these: MLPerf Inference's LLM benchmarks constrain TTFT and TPOT at the 99th
 * percentile (MLCommons, "LLM inference v5.0", https://mlcommons.org/2025/04/llm-inference-v5),
 * and vLLM's serving benchmark reports TTFT, TPOT, ITL and end-to-end percentiles
 * (`vllm.benchmarks.serve`, BenchmarkMetrics, https://docs.vllm.ai/en/v0.15.0/api/vllm/benchmarks/serve/).
 */
import type { SloCheck, SloMetric, SloQuantile, SloResult } from '../../model/diagnosis.js';
import type { ModelSummary, Percentiles } from '../../model/summary.js';
import { DiagnoseOptionError } from './errors.js';
import { ms } from './rule.js';
import { statName } from './statistic.js';

export type { SloMetric, SloQuantile } from '../../model/diagnosis.js';

/** Targets of one metric, ms. */
export interface QuantileTargets {
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
}

/**
 * Latency targets in milliseconds: the top-level quantiles are end-to-end (as `--slo p99=…`
 * always meant); `ttft`, `tpot` and `itl` hold the generation targets.
 */
export interface SloTargets extends QuantileTargets {
  readonly ttft?: QuantileTargets;
  readonly tpot?: QuantileTargets;
  readonly itl?: QuantileTargets;
}

/** One distribution an objective is checked on. */
export type SloDistribution = Pick<Percentiles, 'p50Ms' | 'p95Ms' | 'p99Ms' | 'statistic'>;

/** The distributions a model measured, by metric; absent where the input has none. */
export type SloMeasured = Readonly<Partial<Record<SloMetric, SloDistribution>>>;

/** Each metric once: its name in reports, where the summary holds it, and why it can be missing. */
const METRICS: Readonly<Record<SloMetric, { readonly label: string; readonly read: (s: ModelSummary) => SloDistribution | undefined; readonly missing: string }>> = {
  e2e: { label: '', read: (s) => s.e2e, missing: 'no request' },
  ttft: { label: 'TTFT', read: (s) => s.generation?.ttft, missing: 'no first token recorded in the input' },
  tpot: { label: 'TPOT', read: (s) => s.generation?.tpot, missing: 'no time per output token in the input: it needs a first token and two or more output tokens per request, or a TPOT histogram' },
  itl: { label: 'ITL', read: (s) => s.generation?.itl, missing: 'no inter-token latency in the input: only a server’s per-token histogram gives it (--prometheus)' },
};
const METRIC_NAMES = Object.keys(METRICS) as SloMetric[];
const QUANTILES: readonly SloQuantile[] = ['p50', 'p95', 'p99'];
const UNIT_MS: Readonly<Record<string, number>> = { '': 1, ms: 1, s: 1000, us: 0.001, 'µs': 0.001, μs: 0.001 };
const EXPECTED = 'a comma-separated list like p99=250ms,ttft:p95=500ms,tpot:p99=50ms (metrics e2e (the default), ttft, tpot, itl; quantiles p50, p95, p99; units ms, s, us)';

/** The distributions of a model's summary that objectives can name. */
export function sloMeasured(summary: ModelSummary): SloMeasured {
  const out: Partial<Record<SloMetric, SloDistribution>> = {};
  for (const metric of METRIC_NAMES) {
    const d = METRICS[metric].read(summary);
    if (d !== undefined) out[metric] = d;
  }
  return out;
}

/** A check's name as the spec writes it: `p99` (end-to-end), `ttft:p95`. */
export function sloLabel(c: Pick<SloCheck, 'metric' | 'quantile'>): string {
  return c.metric === 'e2e' ? c.quantile : `${c.metric}:${c.quantile}`;
}

/** A check in the report's words: `p99 62.8 ms ≤ 250 ms`, `TTFT histogram p95 2261 ms > 500 ms`, `TTFT p95 not measured (why)`. */
export function sloCheckText(c: SloCheck): string {
  const metric = METRICS[c.metric].label === '' ? '' : `${METRICS[c.metric].label} `;
  if (c.unmeasuredWhy !== undefined) return `${metric}${c.quantile} not measured (${c.unmeasuredWhy})`;
  return `${metric}${statName(c.statistic, c.quantile)} ${ms(c.actualMs)} ${c.met ? '≤' : '>'} ${ms(c.targetMs)}`;
}

/** Targets given, in metric then quantile order. */
function targetList(targets: SloTargets): { readonly metric: SloMetric; readonly quantile: SloQuantile; readonly targetMs: number }[] {
  const out: { metric: SloMetric; quantile: SloQuantile; targetMs: number }[] = [];
  for (const metric of METRIC_NAMES) {
    const of: QuantileTargets | undefined = metric === 'e2e' ? targets : targets[metric];
    for (const quantile of QUANTILES) {
      const targetMs = of?.[`${quantile}Ms`];
      if (targetMs !== undefined) out.push({ metric, quantile, targetMs });
    }
  }
  return out;
}

/** True when at least one target is given. */
export function hasSloTargets(targets: SloTargets | undefined): targets is SloTargets {
  return targets !== undefined && targetList(targets).length > 0;
}

/**
 * Parse `p99=250ms,ttft:p95=500ms` (also `p99<250ms`, `p99:0.25s`, `e2e:p99=…`); throws
 * DiagnoseOptionError naming the part and what was expected.
 */
export function parseSlo(text: string): SloTargets {
  const out: Partial<Record<SloMetric, { p50Ms?: number; p95Ms?: number; p99Ms?: number }>> = {};
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new DiagnoseOptionError('--slo', text, EXPECTED);
  for (const part of parts) {
    const m = /^(?:([A-Za-z][\w-]*)\s*:\s*)?(p[\w.]+)\s*(?:<=|=|<|:)\s*(.*)$/i.exec(part);
    if (!m) throw new DiagnoseOptionError('--slo', part, EXPECTED);
    const metric = (m[1] ?? 'e2e').toLowerCase();
    if (!Object.hasOwn(METRICS, metric)) throw new DiagnoseOptionError('--slo', part, `a metric e2e, ttft, tpot or itl before the quantile, like ttft:p95=500ms (got "${m[1] ?? ''}")`);
    const quantile = (m[2] ?? '').toLowerCase();
    if (!(QUANTILES as readonly string[]).includes(quantile)) throw new DiagnoseOptionError('--slo', part, `a quantile p50, p95 or p99, like p99=250ms (got "${m[2] ?? ''}")`);
    const v = /^([0-9]*\.?[0-9]+)\s*(ms|s|us|µs|μs)?$/i.exec(m[3] ?? '');
    if (!v) throw new DiagnoseOptionError('--slo', part, `a duration after ${quantile}=, like 500ms, 0.5s or 800us (got "${m[3] ?? ''}")`);
    const value = Number(v[1]) * (UNIT_MS[(v[2] ?? '').toLowerCase()] ?? 1);
    if (!(value > 0)) throw new DiagnoseOptionError('--slo', part, 'a target above zero');
    const targets = (out[metric as SloMetric] ??= {});
    // A target given twice is ambiguous, and keeping either would drop the other from the gate without a word.
    if (targets[`${quantile as SloQuantile}Ms`] !== undefined) throw new DiagnoseOptionError('--slo', text, `each target once (${metric}:${quantile} is given twice)`);
    targets[`${quantile as SloQuantile}Ms`] = value;
  }
  const { e2e, ...generation } = out;
  return { ...e2e, ...generation };
}

/**
 * Check targets against what a model measured (sloMeasured). A quantile the input cannot give is
 * "not measured", never met nor violated: a metric the input lacks (no first token, so no TTFT),
 * a mean-only source (counters: NaN percentiles), or `unmeasuredWhy` for every metric at once.
 */
export function checkSlo(targets: SloTargets, measured: SloMeasured, unmeasuredWhy?: string): SloResult {
  const checks: SloCheck[] = targetList(targets).map(({ metric, quantile, targetMs }) => {
    const d = measured[metric];
    const actualMs = d === undefined ? Number.NaN : d[`${quantile}Ms`];
    const why = !Number.isFinite(actualMs) ? (unmeasuredWhy ?? (d === undefined ? METRICS[metric].missing : 'means only')) : undefined;
    return { metric, quantile, targetMs, actualMs, met: actualMs <= targetMs, ...(d?.statistic !== undefined ? { statistic: d.statistic } : {}), ...(why !== undefined ? { unmeasuredWhy: why } : {}) };
  });
  const unmeasured = checks.filter((c) => c.unmeasuredWhy !== undefined);
  const e2eStatistic = measured.e2e?.statistic;
  const whys = [...new Set(unmeasured.map((c) => c.unmeasuredWhy))];
  return {
    met: checks.every((c) => c.met),
    checks,
    ...(e2eStatistic !== undefined ? { statistic: e2eStatistic } : {}),
    ...(unmeasured.length > 0 ? { unmeasured: unmeasured.map(sloLabel), unmeasuredWhy: whys.join('; ') } : {}),
  };
}

/** The unmeasured checks grouped by reason, in check order: `[{ why: 'means only', labels: ['p99'] }, …]`. */
export function sloUnmeasured(slo: SloResult | undefined): { readonly why: string; readonly labels: readonly string[] }[] {
  const groups = new Map<string, string[]>();
  for (const c of slo?.checks ?? []) if (c.unmeasuredWhy !== undefined) groups.set(c.unmeasuredWhy, [...(groups.get(c.unmeasuredWhy) ?? []), sloLabel(c)]);
  return [...groups].map(([why, labels]) => ({ why, labels }));
}

/** How far the worst measured check of `metrics` is over its target (actual ÷ target); undefined without one. */
export function sloExcess(slo: SloResult | undefined, metrics: readonly SloMetric[] = METRIC_NAMES): number | undefined {
  const measured = slo?.checks.filter((c) => metrics.includes(c.metric) && Number.isFinite(c.actualMs) && c.targetMs > 0) ?? [];
  return measured.length === 0 ? undefined : Math.max(...measured.map((c) => c.actualMs / c.targetMs));
}

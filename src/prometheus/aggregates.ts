/**
 * @module prometheus/aggregates
 * One model of one source → the numbers the analysis needs, read with PromQL: request rate,
 * end-to-end and per-phase means, shares and percentiles over the whole range, the same per
 * query_range step (for the drift and ramp tests) and per replica, plus the data-quality checks
 * (counter resets, bucket layouts that differ across replicas, replicas that went stale,
 * steps without data) and exemplar trace ids where the engine stores them.
 */
import type { Phase } from '../semconv.js';
import type { LatencyDistribution } from '../model/summary.js';
import type { PrometheusReplica } from '../model/prometheus.js';
import type { PrometheusClient, RangeSeries } from './client.js';
import { countingMeasure } from './sources.js';
import type { LatencySource, Measure } from './sources.js';
import { countRateQuery, layoutOf, meanQuery, quantileQuery, rateSum, resetsQuery, series, timeRateQuery } from './promql.js';
import type { QueryShape } from './promql.js';

/** Quantiles read for every histogram (1 = the upper bound of the highest bucket with data). */
export const QUANTILES = { p50Ms: 0.5, p90Ms: 0.9, p95Ms: 0.95, p99Ms: 0.99, maxMs: 1 } as const;

/** A distribution read from aggregates; percentiles NaN where the source has only counters. */
export interface AggregateDistribution extends LatencyDistribution {
  /** Time spent per second over the range, ms/s, summed over replicas. */
  readonly timeRate: number;
  /** Observations per second. */
  readonly countRate: number;
  /** True when percentiles come from a histogram. */
  readonly histogram: boolean;
}

/** One query_range step. */
export interface AggregateStep {
  readonly timeS: number;
  readonly rps: number;
  readonly e2eMeanMs: number;
  readonly e2eP50Ms: number;
  readonly e2eP95Ms: number;
  readonly phaseMeanMs: Readonly<Partial<Record<Phase, number>>>;
}

/** One replica: what the report shows of it, and its phase means for the outlier rule. */
export interface AggregateReplica extends PrometheusReplica {
  readonly phaseMeanMs: Readonly<Partial<Record<Phase, number>>>;
}

/** Everything read for one model. */
export interface ModelAggregates {
  readonly model: string;
  readonly source: LatencySource;
  readonly rps: number;
  readonly e2e: AggregateDistribution;
  readonly phases: Readonly<Partial<Record<Phase, AggregateDistribution>>>;
  readonly errors: number;
  readonly meanBatchSize?: number;
  readonly gauges: Readonly<Record<string, number>>;
  readonly generation: Readonly<Record<string, AggregateDistribution>>;
  readonly steps: readonly AggregateStep[];
  /** First and last second with requests (by step), unix seconds: the load may cover part of the range only. */
  readonly activeStartS: number;
  readonly activeEndS: number;
  readonly replicas: readonly AggregateReplica[];
  readonly exemplarTraceIds: readonly string[];
  /** Data-quality findings, one line each. */
  readonly warnings: readonly string[];
}

/** Where and how to query. */
export interface QueryContext {
  readonly client: PrometheusClient;
  /** User's selector as bare matchers. */
  readonly selector: string;
  readonly startS: number;
  readonly endS: number;
  readonly stepS: number;
  readonly replicaLabel: string;
  /** Every query run, with its purpose, for --explain. */
  readonly log: { purpose: string; expr: string }[];
  /** Metric names present, to pick classic vs native histograms. */
  readonly names: ReadonlySet<string>;
}

function num(text: string | undefined): number {
  const v = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(v) ? v : Number.NaN;
}

/** True when every series a measure needs has data in the range. */
export function measurePresent(m: Measure, names: ReadonlySet<string>): boolean {
  if (m.kind === 'histogram') return names.has(`${m.metric}_count`) || names.has(m.metric);
  if (m.kind === 'counter') return m.metric.every((x) => names.has(x)) && names.has(m.count);
  if (m.kind === 'sum') return m.parts.every((p) => measurePresent(p, names));
  return measurePresent(m.minuend, names) && m.subtrahends.every((s) => measurePresent(s, names));
}

async function scalar(ctx: QueryContext, purpose: string, expr: string): Promise<number> {
  ctx.log.push({ purpose, expr });
  const result = await ctx.client.query(expr, ctx.endS);
  return result.length === 0 ? Number.NaN : result.reduce((a, s) => a + num(s.value[1]), 0);
}

async function byLabel(ctx: QueryContext, purpose: string, expr: string, label: string): Promise<Map<string, number>> {
  ctx.log.push({ purpose, expr });
  const out = new Map<string, number>();
  for (const s of await ctx.client.query(expr, ctx.endS)) out.set(s.metric[label] ?? '', num(s.value[1]));
  return out;
}

async function range(ctx: QueryContext, purpose: string, expr: string): Promise<Map<number, number>> {
  ctx.log.push({ purpose, expr: `${expr}  (query_range step ${ctx.stepS}s)` });
  const out = new Map<number, number>();
  const result: RangeSeries[] = await ctx.client.queryRange(expr, ctx.startS + ctx.stepS, ctx.endS, ctx.stepS);
  for (const s of result) for (const [t, v] of s.values) out.set(t, (out.get(t) ?? 0) + num(v));
  return out;
}

function shapeFor(ctx: QueryContext, matchers: string, by: readonly string[], window: string): QueryShape {
  return { matchers, by, window, names: ctx.names };
}

async function distribution(ctx: QueryContext, name: string, m: Measure, matchers: string, window: string, requestRate?: number): Promise<AggregateDistribution> {
  const shape = shapeFor(ctx, matchers, [], window);
  const [timeRate, countRate] = await Promise.all([scalar(ctx, `${name}: time per second`, timeRateQuery(m, shape)), scalar(ctx, `${name}: observations per second`, countRateQuery(m, shape))]);
  const q: Record<string, number> = {};
  await Promise.all(
    Object.entries(QUANTILES).map(async ([key, quantile]) => {
      const expr = quantileQuery(m, quantile, shape);
      q[key] = expr === undefined ? Number.NaN : await scalar(ctx, `${name}: ${key.replace('Ms', '')}`, expr);
    }),
  );
  // The mean per request: a phase recorded twice in one request adds both to its request.
  const per = requestRate !== undefined && requestRate > 0 ? requestRate : countRate;
  return {
    meanMs: per > 0 ? timeRate / per : Number.NaN,
    p50Ms: q['p50Ms'] ?? Number.NaN,
    p90Ms: q['p90Ms'] ?? Number.NaN,
    p95Ms: q['p95Ms'] ?? Number.NaN,
    p99Ms: q['p99Ms'] ?? Number.NaN,
    maxMs: q['maxMs'] ?? Number.NaN,
    timeRate,
    countRate,
    histogram: m.kind === 'histogram',
  };
}

/** Reads every aggregate of one model. */
export async function readModel(ctx: QueryContext, source: LatencySource, model: string, modelMatcher: string): Promise<ModelAggregates> {
  const matchers = [ctx.selector, modelMatcher].filter((x) => x !== '').join(', ');
  const window = `${Math.round(ctx.endS - ctx.startS)}s`;
  const stepWindow = `${Math.round(ctx.stepS)}s`;
  const warnings: string[] = [];
  const candidates = (Object.entries(source.phases) as [Phase, Measure][]).filter(([, m]) => measurePresent(m, ctx.names));
  const rps = await scalar(ctx, `${model}: requests per second`, source.requests !== undefined && ctx.names.has(source.requests) ? rateSum(source.requests, matchers, [], window) : countRateQuery(source.e2e, shapeFor(ctx, matchers, [], window)));
  const e2e = await distribution(ctx, `${model} e2e`, source.e2e, matchers, window);
  const phases: Partial<Record<Phase, AggregateDistribution>> = {};
  await Promise.all(candidates.map(async ([p, m]) => void (phases[p] = await distribution(ctx, `${model} ${p}`, m, matchers, window, e2e.countRate))));
  // A phase the source could measure but that saw no time in the range (no network spans, say) is left out.
  for (const [p, d] of Object.entries(phases) as [Phase, AggregateDistribution][]) if (!(d.timeRate > 0)) delete phases[p];
  const present = candidates.filter(([p]) => phases[p] !== undefined);
  const errors = source.errors !== undefined && ctx.names.has(source.errors) ? await scalar(ctx, `${model}: failed requests`, `sum(increase(${series(source.errors, matchers)}[${window}]))`) : 0;
  let meanBatchSize: number | undefined;
  if (source.batch && ctx.names.has(source.batch.items) && ctx.names.has(source.batch.executions)) {
    meanBatchSize = await scalar(ctx, `${model}: mean batch size`, `${rateSum(source.batch.items, matchers, [], window)} / ${rateSum(source.batch.executions, matchers, [], window)}`);
  } else if (source.batchHistogram !== undefined && ctx.names.has(`${source.batchHistogram}_count`)) {
    meanBatchSize = await scalar(ctx, `${model}: mean batch size`, `${rateSum(`${source.batchHistogram}_sum`, matchers, [], window)} / ${rateSum(`${source.batchHistogram}_count`, matchers, [], window)}`);
  }
  const gauges: Record<string, number> = {};
  for (const [key, metric] of Object.entries(source.gauges ?? {})) {
    if (ctx.names.has(metric)) gauges[key] = await scalar(ctx, `${model}: ${key} (mean over the range)`, `sum(avg_over_time(${series(metric, matchers)}[${window}]))`);
  }
  const generation: Record<string, AggregateDistribution> = {};
  for (const [key, m] of Object.entries(source.generation ?? {}) as [string, Measure | undefined][]) {
    if (m && measurePresent(m, ctx.names)) generation[key] = await distribution(ctx, `${model} ${key}`, m, matchers, window);
  }

  // Per step, for the drift and ramp tests.
  const stepShape = shapeFor(ctx, matchers, [], stepWindow);
  const [stepRps, stepMean, stepP50, stepP95] = await Promise.all([
    range(ctx, `${model}: requests per second per step`, countRateQuery(source.e2e, stepShape)),
    range(ctx, `${model}: e2e mean per step`, meanQuery(source.e2e, stepShape)),
    source.e2e.kind === 'histogram' ? range(ctx, `${model}: e2e p50 per step`, quantileQuery(source.e2e, 0.5, stepShape) as string) : Promise.resolve(undefined),
    source.e2e.kind === 'histogram' ? range(ctx, `${model}: e2e p95 per step`, quantileQuery(source.e2e, 0.95, stepShape) as string) : Promise.resolve(undefined),
  ]);
  const stepPhases = new Map<Phase, Map<number, number>>();
  await Promise.all(
    present.map(async ([p, m]) => {
      const s = shapeFor(ctx, matchers, [], stepWindow);
      stepPhases.set(p, await range(ctx, `${model}: ${p} mean per step`, `${timeRateQuery(m, s)} / ${countRateQuery(source.e2e, stepShape)}`));
    }),
  );
  const times = [...stepRps.keys()].sort((a, b) => a - b);
  const steps: AggregateStep[] = times
    .map((t) => ({
      timeS: t,
      rps: stepRps.get(t) ?? 0,
      e2eMeanMs: stepMean.get(t) ?? Number.NaN,
      e2eP50Ms: stepP50?.get(t) ?? stepMean.get(t) ?? Number.NaN,
      e2eP95Ms: stepP95?.get(t) ?? stepMean.get(t) ?? Number.NaN,
      phaseMeanMs: Object.fromEntries([...stepPhases].map(([p, m]) => [p, m.get(t) ?? Number.NaN])),
    }))
    .filter((s) => s.rps > 0 && Number.isFinite(s.e2eMeanMs));
  const expectedSteps = Math.floor((ctx.endS - ctx.startS) / ctx.stepS);
  if (steps.length < expectedSteps) warnings.push(`${model}: requests in ${steps.length} of ${expectedSteps} steps of ${ctx.stepS} s (the load covers part of the range: rates are over the steps with requests, the trend tests use those steps)`);
  const activeStartS = steps.length > 0 ? Math.max(ctx.startS, (steps[0] as AggregateStep).timeS - ctx.stepS) : ctx.startS;
  const activeEndS = steps.length > 0 ? (steps[steps.length - 1] as AggregateStep).timeS : ctx.endS;

  // Per replica.
  const rl = ctx.replicaLabel;
  const replicaShape = shapeFor(ctx, matchers, [rl], window);
  const [repRps, repMean, repP99] = await Promise.all([
    byLabel(ctx, `${model}: requests per second by ${rl}`, countRateQuery(source.e2e, replicaShape), rl),
    byLabel(ctx, `${model}: e2e mean by ${rl}`, meanQuery(source.e2e, replicaShape), rl),
    source.e2e.kind === 'histogram' ? byLabel(ctx, `${model}: e2e p99 by ${rl}`, quantileQuery(source.e2e, 0.99, replicaShape) as string, rl) : Promise.resolve(new Map<string, number>()),
  ]);
  const repPhases = new Map<Phase, Map<string, number>>();
  await Promise.all(present.map(async ([p, m]) => void repPhases.set(p, await byLabel(ctx, `${model}: ${p} mean by ${rl}`, `${timeRateQuery(m, shapeFor(ctx, matchers, [rl], window))} / ${countRateQuery(source.e2e, replicaShape)}`, rl))));
  const replicas: AggregateReplica[] = [...repRps]
    .filter(([, r]) => r > 0)
    .map(([replica, r]) => ({
      replica,
      rps: r,
      e2eMeanMs: repMean.get(replica) ?? Number.NaN,
      e2eP99Ms: repP99.get(replica) ?? Number.NaN,
      phaseMeanMs: Object.fromEntries([...repPhases].map(([p, m]) => [p, m.get(replica) ?? Number.NaN])),
    }))
    .sort((a, b) => a.replica.localeCompare(b.replica));

  warnings.push(...(await qualityChecks(ctx, source, model, matchers, window)));
  // Exemplars sit on classic buckets (Prometheus 2.x stores none for native histograms).
  const exemplarTraceIds = source.e2e.kind === 'histogram' && ctx.names.has(`${source.e2e.metric}_bucket`) ? await exemplars(ctx, source.e2e, matchers) : [];
  // Rates over the whole range dilute a load that covered part of it: rescale to the active steps.
  const activeRps = activeEndS > activeStartS ? (rps * (ctx.endS - ctx.startS)) / (activeEndS - activeStartS) : rps;
  const factor = rps > 0 ? activeRps / rps : 1;
  const activeReplicas = replicas.map((r) => ({ ...r, rps: r.rps * factor }));
  return { model, source, rps: activeRps, activeStartS, activeEndS, e2e, phases, errors: Number.isFinite(errors) ? errors : 0, ...(meanBatchSize !== undefined && Number.isFinite(meanBatchSize) ? { meanBatchSize } : {}), gauges, generation, steps, replicas: activeReplicas, exemplarTraceIds, warnings };
}

async function qualityChecks(ctx: QueryContext, source: LatencySource, model: string, matchers: string, window: string): Promise<string[]> {
  const out: string[] = [];
  const rl = ctx.replicaLabel;
  const e2e = countingMeasure(source.e2e);
  const counter = e2e.kind === 'histogram' ? `${e2e.metric}_count` : e2e.kind === 'counter' ? e2e.count : undefined;
  const classic = counter !== undefined && ctx.names.has(counter) ? counter : undefined;
  const native = e2e.kind === 'histogram' && layoutOf(e2e.metric, ctx.names) !== 'classic' ? e2e.metric : undefined;
  if (classic !== undefined) {
    const resets = await scalar(ctx, `${model}: counter resets`, resetsQuery(classic, matchers, window));
    if (resets > 0) out.push(`${model}: ${resets} counter reset${resets === 1 ? '' : 's'} of ${classic} in the range (a restart or model reload); rate() compensates, the step around each reset is less exact`);
  }
  // The series that show a replica is there: its request counter, its native histogram, or either.
  const present = [classic, native].filter((x): x is string => x !== undefined);
  if (present.length > 0) {
    // A replica with data in the range but none at its end stopped reporting (restarted under a new name, scaled in, or down).
    const inRange = await byLabel(ctx, `${model}: replicas with data in the range`, `group by (${rl}) (${present.map((x) => `last_over_time(${series(x, matchers)}[${window}])`).join(' or ')})`, rl);
    const atEnd = await byLabel(ctx, `${model}: replicas with data at the end`, `group by (${rl}) (${present.map((x) => series(x, matchers)).join(' or ')})`, rl);
    const stale = [...inRange.keys()].filter((r) => !atEnd.has(r));
    if (stale.length > 0) out.push(`${model}: ${stale.length} replica${stale.length === 1 ? '' : 's'} stopped reporting before the end of the range (stale: ${stale.join(', ')}); their data up to then is included`);
  }
  if (classic !== undefined && native !== undefined) {
    const nativeReplicas = await byLabel(ctx, `${model}: replicas exporting ${native} as a native histogram`, `group by (${rl}) (last_over_time(${series(native, matchers)}[${window}]))`, rl);
    const classicReplicas = await byLabel(ctx, `${model}: replicas exporting ${native} as a classic histogram`, `group by (${rl}) (last_over_time(${series(classic, matchers)}[${window}]))`, rl);
    if (nativeReplicas.size > 0 && classicReplicas.size > 0) {
      out.push(
        `${model}: ${native} is a native histogram on ${[...nativeReplicas.keys()].sort().join(', ')} and a classic one on ${[...classicReplicas.keys()].sort().join(', ')}; rates, means, shares and per-replica percentiles count every replica, the fleet's percentiles only the classic replicas (PromQL cannot merge the two layouts)`,
      );
    }
  }
  if (source.e2e.kind === 'histogram' && ctx.names.has(`${source.e2e.metric}_bucket`)) {
    const m = [matchers, source.e2e.matchers ?? ''].filter((x) => x !== '').join(', ');
    const expr = `group by (${rl}, le) (last_over_time(${series(`${source.e2e.metric}_bucket`, m)}[${window}]))`;
    ctx.log.push({ purpose: `${model}: bucket layout per replica`, expr });
    const layouts = new Map<string, Set<string>>();
    for (const s of await ctx.client.query(expr, ctx.endS)) {
      const r = s.metric[rl] ?? '';
      const set = layouts.get(r) ?? new Set<string>();
      set.add(String(leValue(s.metric['le'])));
      layouts.set(r, set);
    }
    const keys = new Map<string, string[]>();
    for (const [r, set] of layouts) {
      const key = [...set].sort((a, b) => Number(a) - Number(b)).join(',');
      keys.set(key, [...(keys.get(key) ?? []), r]);
    }
    if (keys.size > 1) out.push(`${model}: replicas export ${keys.size} different bucket layouts for ${source.e2e.metric}; quantiles are merged by le value, so they are only as fine as the buckets all replicas share`);
    const noInf = [...layouts].filter(([, set]) => !set.has('Infinity')).map(([r]) => r);
    if (noInf.length > 0) out.push(`${model}: ${source.e2e.metric} has no le="+Inf" bucket on ${noInf.join(', ')}; histogram_quantile cannot place the slowest requests there`);
  }
  return out;
}

/** `le` as a number: Prometheus writes `+Inf`, some exporters `128` or `1.0e-3`. */
function leValue(le: string | undefined): number {
  if (le === undefined) return Number.NaN;
  return /^\+?inf$/i.test(le.trim()) ? Number.POSITIVE_INFINITY : Number(le);
}

async function exemplars(ctx: QueryContext, m: Extract<Measure, { kind: 'histogram' }>, matchers: string): Promise<string[]> {
  const expr = series(`${m.metric}_bucket`, [matchers, m.matchers ?? ''].filter((x) => x !== '').join(', '));
  ctx.log.push({ purpose: 'exemplars (trace ids on buckets)', expr: `query_exemplars ${expr}` });
  const found = await ctx.client.exemplars(expr, ctx.startS, ctx.endS);
  // The slowest exemplars first: those are the traces worth opening.
  const all = found.flatMap((s) => s.exemplars).sort((a, b) => Number(b.value) - Number(a.value));
  const ids: string[] = [];
  for (const e of all) {
    const id = e.labels['trace_id'] ?? e.labels['traceID'] ?? e.labels['traceId'];
    if (id !== undefined && !ids.includes(id)) ids.push(id);
    if (ids.length === 3) break;
  }
  return ids;
}

/**
 * @module prometheus/aggregates
 * One model of one source → the numbers the analysis needs, read with PromQL: request rate,
 * end-to-end and per-phase means, shares and percentiles over the whole range, the same per
 * query_range step (for the drift and ramp tests) and per replica, plus the data-quality checks
 * (counter resets, bucket layouts that differ across replicas, replicas that went stale,
 * steps without data) and exemplar trace ids where the engine stores them.
 */
import type { Phase } from '../semconv.js';
import type { LatencyDistribution, RequestFailures } from '../model/summary.js';
import type { PrometheusReplica } from '../model/prometheus.js';
import type { NativeHistogramValue, PrometheusClient, RangeSeries } from './client.js';
import { countingMeasure } from './sources.js';
import type { LatencySource, Measure } from './sources.js';
import { countRateQuery, layoutOf, meanQuery, quantileQuery, rateSum, resetsQuery, series, timeRateQuery } from './promql.js';
import type { QueryShape } from './promql.js';
import { bucketQuantile, mergeOntoClassic } from './histogram-merge.js';
import type { ClassicBucket } from './histogram-merge.js';

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
  /**
   * Set when the median or p95 fell in the histogram's lowest bucket, where histogram_quantile
   * interpolates from 0 up to the bucket's bound: its upper bound (ms) and the histogram. The
   * percentiles are then left out (NaN, the mean stands for them), and the model warns.
   */
  readonly firstBucket?: { readonly boundMs: number; readonly metric: string };
  /** A classic histogram's lowest positive bucket bound (ms), read with its quantiles; the replicas' p99s are judged against it too. */
  readonly lowestBoundMs?: number;
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
  /** Failed requests: server and client errors, never a cancellation. */
  readonly errors: number;
  /** Requests that did not complete, by who ended them, where the source's failure counter says (LatencySource.errorKinds). */
  readonly failures?: RequestFailures;
  readonly meanBatchSize?: number;
  readonly gauges: Readonly<Record<string, number>>;
  readonly generation: Readonly<Record<string, AggregateDistribution>>;
  /** Tokens per request (distributions in tokens, not ms) and the prefix-cache hit share, where the server counts them. */
  readonly tokens: { readonly in?: AggregateDistribution; readonly out?: AggregateDistribution; readonly cachedShare?: number };
  /** LLM scheduler state: KV cache use (0–1, the fullest replica's mean over the range) and preemptions per second (fleet). */
  readonly scheduler: { readonly kvCacheUsage?: number; readonly preemptionsPerS?: number };
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
  const classic = m.kind === 'histogram' && layoutOf(m.metric, ctx.names) === 'classic' ? m : undefined;
  // One round trip: the rates, the quantiles and a classic histogram's lowest bucket bound go out together.
  const [timeRate, countRate, q, lowestMs] = await Promise.all([
    scalar(ctx, `${name}: time per second`, timeRateQuery(m, shape)),
    scalar(ctx, `${name}: observations per second`, countRateQuery(m, shape)),
    quantiles(ctx, name, m, shape, matchers, window),
    classic === undefined ? Number.NaN : lowestBoundMs(ctx, name, classic, matchers, window),
  ]);
  // The mean per request: a phase recorded twice in one request adds both to its request.
  const per = requestRate !== undefined && requestRate > 0 ? requestRate : countRate;
  const unresolved = classic !== undefined && (inLowestBucket(q['p50Ms'] ?? Number.NaN, lowestMs) || inLowestBucket(q['p95Ms'] ?? Number.NaN, lowestMs));
  if (unresolved) for (const key of Object.keys(QUANTILES)) q[key] = Number.NaN;
  return {
    ...(unresolved ? { firstBucket: { boundMs: lowestMs, metric: classic.metric } } : {}),
    ...(Number.isFinite(lowestMs) ? { lowestBoundMs: lowestMs } : {}),
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

/** The quantiles over the range: one query each, or the merge of a fleet's classic and native histograms. */
async function quantiles(ctx: QueryContext, name: string, m: Measure, shape: QueryShape, matchers: string, window: string): Promise<Record<string, number>> {
  if (m.kind === 'histogram' && layoutOf(m.metric, ctx.names) === 'mixed') return mergedQuantiles(ctx, name, m, matchers, window);
  return Object.fromEntries(
    await Promise.all(
      Object.entries(QUANTILES).map(async ([key, quantile]) => {
        const expr = quantileQuery(m, quantile, shape);
        return [key, expr === undefined ? Number.NaN : await scalar(ctx, `${name}: ${key.replace('Ms', '')}`, expr)] as const;
      }),
    ),
  );
}

/** The lowest positive bucket bound of a classic histogram in the range, in ms; NaN without one. */
async function lowestBoundMs(ctx: QueryContext, name: string, m: Extract<Measure, { kind: 'histogram' }>, matchers: string, window: string): Promise<number> {
  const sel = [matchers, m.matchers ?? ''].filter((x) => x !== '').join(', ');
  const expr = `group by (le) (last_over_time(${series(`${m.metric}_bucket`, sel)}[${window}]))`;
  ctx.log.push({ purpose: `${name}: bucket bounds (is a quantile inside the lowest bucket?)`, expr });
  let lowest = Number.POSITIVE_INFINITY;
  for (const s of await ctx.client.query(expr, ctx.endS)) {
    const le = leValue(s.metric['le']);
    if (le > 0 && le < lowest) lowest = le;
  }
  return Number.isFinite(lowest) ? lowest * m.toMs : Number.NaN;
}

/**
 * A quantile at or under the lowest bucket bound: interpolated from 0, not resolved (a relative
 * margin: both sides went through × toMs). histogram_quantile interpolates between 0 and the
 * lowest bucket's upper bound ("If a quantile is located in the lowest bucket, the lower bound of
 * that bucket is assumed to be 0", Prometheus, "Functions: histogram_quantile()",
 * https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile), a number
 * the buckets do not hold: vLLM's queue, prefill and decode histograms start at 0.3 s, so a 20 ms
 * queue read as p50 150 ms, p95 285 ms (its mean: 20 ms).
 */
function inLowestBucket(valueMs: number, boundMs: number): boolean {
  return Number.isFinite(valueMs) && Number.isFinite(boundMs) && valueMs <= boundMs * (1 + 1e-9);
}

/** The two queries of a histogram some replicas export classic and others native: classic buckets by `le`, and the native histogram. */
function mixedQueries(ctx: QueryContext, name: string, m: Extract<Measure, { kind: 'histogram' }>, matchers: string, window: string, suffix = ''): { classic: string; native: string } {
  const sel = [matchers, m.matchers ?? ''].filter((x) => x !== '').join(', ');
  const classic = `sum by (le) (rate(${series(`${m.metric}_bucket`, sel)}[${window}]))`;
  const native = `sum (rate(${series(m.metric, sel)}[${window}]))`;
  ctx.log.push({ purpose: `${name}: classic buckets of the mixed fleet`, expr: `${classic}${suffix}` }, { purpose: `${name}: native histogram of the mixed fleet (merged onto the classic bounds for the quantiles)`, expr: `${native}${suffix}` });
  return { classic, native };
}

/** Classic cumulative buckets from `le`-labelled samples and native buckets from histogram samples, merged. */
function merged(classic: readonly { readonly le: string | undefined; readonly value: string | undefined }[], native: readonly (NativeHistogramValue | undefined)[]): ClassicBucket[] {
  return mergeOntoClassic(
    classic.map((c) => ({ le: leValue(c.le), cumulative: num(c.value) })).filter((b) => !Number.isNaN(b.le) && Number.isFinite(b.cumulative)),
    native.flatMap((h) => h?.buckets ?? []).map(([, lower, upper, count]) => ({ lower: Number(lower), upper: Number(upper), count: Number(count) })),
  );
}

/** The quantiles over the range of a histogram some replicas export classic and others native (histogram-merge.ts). */
async function mergedQuantiles(ctx: QueryContext, name: string, m: Extract<Measure, { kind: 'histogram' }>, matchers: string, window: string): Promise<Record<string, number>> {
  const q = mixedQueries(ctx, name, m, matchers, window);
  const [classic, native] = await Promise.all([ctx.client.query(q.classic, ctx.endS), ctx.client.queryHistograms(q.native, ctx.endS)]);
  const buckets = merged(classic.map((s) => ({ le: s.metric['le'], value: s.value[1] })), native.map((s) => s.histogram[1]));
  return Object.fromEntries(Object.entries(QUANTILES).map(([key, quantile]) => [key, bucketQuantile(quantile, buckets) * m.toMs]));
}

/** The given quantiles per query_range step of a histogram some replicas export classic and others native. */
async function mergedQuantileSteps(ctx: QueryContext, name: string, m: Extract<Measure, { kind: 'histogram' }>, matchers: string, quantiles: readonly number[], window: string): Promise<Map<number, number>[]> {
  const q = mixedQueries(ctx, name, m, matchers, window, `  (query_range step ${ctx.stepS}s)`);
  const [classic, native] = await Promise.all([ctx.client.queryRange(q.classic, ctx.startS + ctx.stepS, ctx.endS, ctx.stepS), ctx.client.queryRangeHistograms(q.native, ctx.startS + ctx.stepS, ctx.endS, ctx.stepS)]);
  const times = new Set([...classic.flatMap((s) => s.values.map(([t]) => t)), ...native.flatMap((s) => s.histograms.map(([t]) => t))]);
  const out = quantiles.map(() => new Map<number, number>());
  for (const t of times) {
    const buckets = merged(
      classic.map((s) => ({ le: s.metric['le'], value: s.values.find(([x]) => x === t)?.[1] })),
      native.map((s) => s.histograms.find(([x]) => x === t)?.[1]),
    );
    quantiles.forEach((quantile, i) => {
      const v = bucketQuantile(quantile, buckets) * m.toMs;
      if (Number.isFinite(v)) out[i]?.set(t, v);
    });
  }
  return out;
}

/**
 * The rate window of the per-step queries, seconds: the step, or, where the step is shorter than
 * two scrapes of the model's request counter, Grafana's $__rate_interval (max(step + scrape
 * interval, 4 × scrape interval), https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/). rate() needs two samples in
 * its window: a 1 s step over 1 s scrapes (the default step of an 8 s range), or a 38 s step over
 * 60 s scrapes, left every step empty, which read as "requests in 0 of 8 steps (the load covers
 * part of the range)" and rescaled the request rate to the steps that happened to hold two
 * samples. The scrape interval is estimated from the counter's samples over the range (the median
 * series); the widened window is said in a warning.
 */
async function stepRateWindowS(ctx: QueryContext, source: LatencySource, model: string, matchers: string, window: string, warnings: string[]): Promise<number> {
  const stepS = Math.max(1, Math.round(ctx.stepS));
  const e2e = countingMeasure(source.e2e);
  const counter = e2e.kind === 'histogram' ? `${e2e.metric}_count` : e2e.count;
  if (!ctx.names.has(counter)) return stepS;
  const samples = await scalar(ctx, `${model}: samples of ${counter} per series over the range (the scrape interval)`, `quantile(0.5, count_over_time(${series(counter, matchers)}[${window}]))`);
  if (!(samples > 1)) return stepS;
  // A window of W seconds holds about W ÷ interval samples of a series scraped all along.
  const intervalS = (ctx.endS - ctx.startS) / samples;
  // 1.8, not 2: the estimate is off by a sample either way, and a step of two scrapes works.
  if (stepS >= 1.8 * intervalS) return stepS;
  // Grafana's $__rate_interval: max(step + scrape interval, 4 × scrape interval), so late or missed scrapes leave no step empty.
  const widened = Math.min(Math.ceil(Math.max(stepS + intervalS, 4 * intervalS)), Math.max(stepS, Math.round(ctx.endS - ctx.startS)));
  warnings.push(
    `${model}: per-step rates use a ${widened} s window, not the ${stepS} s step: ${counter} is scraped about every ${intervalS.toFixed(intervalS < 10 ? 1 : 0)} s, and a rate needs two scrapes in its window (steps overlap, so the trend tests see smoothed steps; a --step of at least ${Math.ceil(2 * intervalS)} s avoids it)`,
  );
  return widened;
}

/**
 * Failed requests over the range, split by the failure counter's label where the source says who
 * ended each (TGI's `err`: a dropped stream is the client's cancellation, a validation error the
 * client's fault); else all server errors. Undefined without a failure counter.
 */
async function failuresOf(ctx: QueryContext, source: LatencySource, model: string, matchers: string, window: string): Promise<RequestFailures | undefined> {
  if (source.errors === undefined || !ctx.names.has(source.errors)) return undefined;
  const counted = (x: number): number => (Number.isFinite(x) ? x : 0);
  const kinds = source.errorKinds;
  if (kinds === undefined) return { server: counted(await scalar(ctx, `${model}: failed requests`, `sum(increase(${series(source.errors, matchers)}[${window}]))`)), client: 0, cancelled: 0 };
  const byKind = await byLabel(ctx, `${model}: failed requests by ${kinds.label}`, `sum by (${kinds.label}) (increase(${series(source.errors, matchers)}[${window}]))`, kinds.label);
  const out = { server: 0, client: 0, cancelled: 0 };
  for (const [kind, n] of byKind) out[kinds.cancelled.includes(kind) ? 'cancelled' : kinds.client.includes(kind) ? 'client' : 'server'] += counted(n);
  return out;
}

/** Reads every aggregate of one model. */
export async function readModel(ctx: QueryContext, source: LatencySource, model: string, modelMatcher: string): Promise<ModelAggregates> {
  const matchers = [ctx.selector, modelMatcher].filter((x) => x !== '').join(', ');
  const window = `${Math.round(ctx.endS - ctx.startS)}s`;
  const warnings: string[] = [];
  const stepWindowS = await stepRateWindowS(ctx, source, model, matchers, window, warnings);
  const stepWindow = `${stepWindowS}s`;
  const split = source.split !== undefined && source.split.into.every((p) => { const m = source.phases[p]; return m !== undefined && measurePresent(m, ctx.names); }) ? source.split.phase : undefined;
  const candidates = (Object.entries(source.phases) as [Phase, Measure][]).filter(([p, m]) => p !== split && measurePresent(m, ctx.names));
  const rps = await scalar(ctx, `${model}: requests per second`, source.requests !== undefined && ctx.names.has(source.requests) ? rateSum(source.requests, matchers, [], window) : countRateQuery(source.e2e, shapeFor(ctx, matchers, [], window)));
  const e2e = await distribution(ctx, `${model} e2e`, source.e2e, matchers, window);
  const phases: Partial<Record<Phase, AggregateDistribution>> = {};
  await Promise.all(candidates.map(async ([p, m]) => void (phases[p] = await distribution(ctx, `${model} ${p}`, m, matchers, window, e2e.countRate))));
  // A phase the source could measure but that saw no time in the range (no network spans, say) is left out.
  for (const [p, d] of Object.entries(phases) as [Phase, AggregateDistribution][]) if (!(d.timeRate > 0)) delete phases[p];
  const present = candidates.filter(([p]) => phases[p] !== undefined);
  warnings.push(...(await nestedObservations(ctx, model, candidates, phases, matchers, window)));
  const failures = await failuresOf(ctx, source, model, matchers, window);
  const errors = failures === undefined ? 0 : failures.server + failures.client;
  let meanBatchSize: number | undefined;
  if (source.batch && ctx.names.has(source.batch.items) && ctx.names.has(source.batch.executions)) {
    meanBatchSize = await scalar(ctx, `${model}: mean batch size`, `${rateSum(source.batch.items, matchers, [], window)} / ${rateSum(source.batch.executions, matchers, [], window)}`);
  } else if (source.batchHistogram !== undefined && ctx.names.has(`${source.batchHistogram}_count`)) {
    meanBatchSize = await scalar(ctx, `${model}: mean batch size`, `${rateSum(`${source.batchHistogram}_sum`, matchers, [], window)} / ${rateSum(`${source.batchHistogram}_count`, matchers, [], window)}`);
  }
  // LLM servers batch continuously: the requests running on a replica are its decode batch.
  const running = source.scheduler?.running;
  if (meanBatchSize === undefined && running !== undefined && ctx.names.has(running)) {
    // Over the replicas that ran the model at all: one that never ran it (a Triton replica whose traffic for this
    // model went elsewhere) has no decode steps, and averaging its 0 in halved the batch of the one that did.
    const perReplica = await scalar(ctx, `${model}: decode batch (requests running per replica that ran any, mean over the range)`, `avg(avg_over_time(${series(running, matchers)}[${window}]) > 0)`);
    // A gauge that never left 0 while requests completed was not updated: no batch size rather than 0 (no series left, NaN).
    if (perReplica > 0) meanBatchSize = perReplica;
  }
  const gauges: Record<string, number> = {};
  for (const [key, listed] of Object.entries(source.gauges ?? {})) {
    const metric = firstPresent(listed, ctx.names);
    // Counts (running, waiting) add up over the fleet; a share of each replica's KV cache does not: the fullest replica is shown.
    const ratio = metric !== undefined && metric === firstPresent(source.scheduler?.kvCacheUsage, ctx.names);
    if (metric !== undefined) gauges[key] = await scalar(ctx, `${model}: ${key} (mean over the range${ratio ? ', fullest replica' : ''})`, `${ratio ? 'max' : 'sum'}(avg_over_time(${series(metric, matchers)}[${window}]))`);
  }
  const generation: Record<string, AggregateDistribution> = {};
  for (const [key, listed] of Object.entries(source.generation ?? {}) as [string, Measure | readonly Measure[] | undefined][]) {
    const m = ([] as Measure[]).concat(listed ?? []).find((c) => measurePresent(c, ctx.names));
    if (m) generation[key] = await distribution(ctx, `${model} ${key}`, m, matchers, window);
  }
  const tokens = await readTokens(ctx, source, model, matchers, window);
  const scheduler = await readScheduler(ctx, source, model, matchers, window);

  // Per step, for the drift and ramp tests.
  const stepShape = shapeFor(ctx, matchers, [], stepWindow);
  // Per-step quantiles of an e2e whose median sits in the lowest bucket are interpolations from 0 as well: the steps keep their means.
  const e2eHistogram = source.e2e.kind === 'histogram' && e2e.firstBucket === undefined ? source.e2e : undefined;
  const mixed = e2eHistogram !== undefined && layoutOf(e2eHistogram.metric, ctx.names) === 'mixed';
  const [stepRps, stepMean, [stepP50, stepP95]] = await Promise.all([
    range(ctx, `${model}: requests per second per step`, countRateQuery(source.e2e, stepShape)),
    range(ctx, `${model}: e2e mean per step`, meanQuery(source.e2e, stepShape)),
    e2eHistogram === undefined
      ? Promise.resolve([undefined, undefined])
      : mixed
        ? mergedQuantileSteps(ctx, `${model}: e2e p50 and p95 per step`, e2eHistogram, matchers, [0.5, 0.95], stepWindow)
        : Promise.all([range(ctx, `${model}: e2e p50 per step`, quantileQuery(e2eHistogram, 0.5, stepShape) as string), range(ctx, `${model}: e2e p95 per step`, quantileQuery(e2eHistogram, 0.95, stepShape) as string)]),
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
  // A replica's p99 inside the lowest bucket is the bound's 0.99, whatever its latency: replicas of 20 ms and 250 ms
  // under vLLM's 0.3 s first bucket would both read 297 ms and agree. Left out (NaN), so replicas compare by mean.
  // The bound is the e2e histogram's own (same series, same window), read beside its quantiles, not asked again.
  for (const [replica, p99] of repP99) if (inLowestBucket(p99, e2e.lowestBoundMs ?? Number.NaN)) repP99.set(replica, Number.NaN);
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
  for (const [what, d] of [['end-to-end', e2e], ...Object.entries(phases), ...Object.entries(generation).map(([k, g]) => [k.toUpperCase(), g])] as [string, AggregateDistribution][]) {
    if (d.firstBucket === undefined) continue;
    const { boundMs, metric } = d.firstBucket;
    warnings.push(`${model}: ${what} median or p95 falls in the lowest bucket of ${metric} (le ${formatBoundMs(boundMs)} ms), where histogram_quantile interpolates from 0 whatever the observations were: its percentiles are left out, the mean (${formatBoundMs(d.meanMs)} ms) stands for them`);
  }
  // Exemplars sit on classic buckets (Prometheus 2.42 stores none for native histograms), of the
  // e2e histogram or, for a composite e2e (KServe), of the histogram that counts its requests.
  const counted = countingMeasure(source.e2e);
  const exemplarTraceIds = counted.kind === 'histogram' && ctx.names.has(`${counted.metric}_bucket`) ? await exemplars(ctx, counted, matchers) : [];
  // Rates over the whole range dilute a load that covered part of it: rescale to the active steps.
  const activeRps = activeEndS > activeStartS ? (rps * (ctx.endS - ctx.startS)) / (activeEndS - activeStartS) : rps;
  const factor = rps > 0 ? activeRps / rps : 1;
  const activeReplicas = replicas.map((r) => ({ ...r, rps: r.rps * factor }));
  return { model, source, rps: activeRps, activeStartS, activeEndS, e2e, phases, errors: Number.isFinite(errors) ? errors : 0, ...(failures !== undefined && source.errorKinds !== undefined ? { failures } : {}), ...(meanBatchSize !== undefined && Number.isFinite(meanBatchSize) ? { meanBatchSize } : {}), gauges, generation, tokens, scheduler, steps, replicas: activeReplicas, exemplarTraceIds, warnings };
}

/**
 * A difference (phase = minuend − subtrahends) whose subtrahend is observed more often than the
 * requests the minuend counts: each request passes the subtracted part more than once (nested
 * calls: the deployments a Ray Serve application composes through DeploymentHandle each record
 * their processing, a nested one inside its caller's as well), so the difference undercounts the
 * phase and a phase read from the subtrahend counts the nested time twice. One line per such
 * subtrahend; a difference left out (negative) is checked as well.
 */
async function nestedObservations(ctx: QueryContext, model: string, candidates: readonly [Phase, Measure][], phases: Partial<Record<Phase, AggregateDistribution>>, matchers: string, window: string): Promise<string[]> {
  const out: string[] = [];
  const shape = shapeFor(ctx, matchers, [], window);
  for (const [p, m] of candidates) {
    if (m.kind !== 'difference') continue;
    const requests = await scalar(ctx, `${model} ${p}: requests of ${measureName(m.minuend)}`, countRateQuery(m.minuend, shape));
    for (const sub of m.subtrahends) {
      const observed = await scalar(ctx, `${model} ${p}: observations of ${measureName(sub)} (more than one per request: nested calls)`, countRateQuery(sub, shape));
      // 5%: the two series are scraped at the same instants; a request in flight at either end of the range is the only slack.
      if (!(requests > 0 && observed > requests * 1.05)) continue;
      const also = (Object.entries(phases) as [Phase, AggregateDistribution][]).filter(([q]) => q !== p && candidates.some(([c, cm]) => c === q && measureName(cm) === measureName(sub))).map(([q]) => q);
      out.push(
        `${model}: ${measureName(sub)} is observed ${(observed / requests).toFixed(1)}× per request of ${measureName(m.minuend)}: requests pass it more than once (nested calls, such as the deployments a Ray Serve application composes), ` +
          `so ${p} (${measureName(m.minuend)} − ${measureName(sub)}) undercounts${phases[p] === undefined ? ' and, below 0, is left out' : ''}${also.length > 0 ? `, and ${also.join(', ')} counts the nested time twice` : ''}`,
      );
    }
  }
  return out;
}

/** The metric a measure reads (the first of a counter's, the minuend's of a composite). */
function measureName(m: Measure): string {
  const c = countingMeasure(m);
  return c.kind === 'histogram' ? c.metric : (c.metric[0] ?? c.count);
}

/** The first of the metric names present in the range (a name or a list of names a metric had across versions). */
function firstPresent(listed: string | readonly string[] | undefined, names: ReadonlySet<string>): string | undefined {
  return ([] as string[]).concat(listed ?? []).find((m) => names.has(m));
}

/** Tokens per request (the first measure present of each) and the prefix-cache hit share. */
async function readTokens(ctx: QueryContext, source: LatencySource, model: string, matchers: string, window: string): Promise<ModelAggregates['tokens']> {
  const first = (list: readonly Measure[] | undefined): Measure | undefined => list?.find((m) => measurePresent(m, ctx.names));
  const read = async (key: string, m: Measure | undefined): Promise<AggregateDistribution | undefined> => {
    if (m === undefined) return undefined;
    const d = await distribution(ctx, `${model} ${key} (tokens per request)`, m, matchers, window);
    return d.countRate > 0 && Number.isFinite(d.meanMs) ? d : undefined;
  };
  const [tokensIn, tokensOut] = await Promise.all([read('prompt tokens', first(source.tokens?.in)), read('output tokens', first(source.tokens?.out))]);
  const cached = source.tokens?.cached;
  let cachedShare: number | undefined;
  if (cached !== undefined && ctx.names.has(cached.hits) && ctx.names.has(cached.queries)) {
    const share = await scalar(ctx, `${model}: prompt tokens from the prefix cache ÷ prompt tokens looked up`, `${rateSum(cached.hits, matchers, [], window)} / ${rateSum(cached.queries, matchers, [], window)}`);
    if (Number.isFinite(share)) cachedShare = Math.min(1, Math.max(0, share));
  }
  return { ...(tokensIn ? { in: tokensIn } : {}), ...(tokensOut ? { out: tokensOut } : {}), ...(cachedShare !== undefined ? { cachedShare } : {}) };
}

/** KV cache use of the fullest replica (its mean over the range: a fleet sum or average would hide it) and the fleet's preemptions per second. */
async function readScheduler(ctx: QueryContext, source: LatencySource, model: string, matchers: string, window: string): Promise<ModelAggregates['scheduler']> {
  const s = source.scheduler;
  const kvMetric = firstPresent(s?.kvCacheUsage, ctx.names);
  const kv = kvMetric !== undefined ? await scalar(ctx, `${model}: KV cache use of the fullest replica (mean over the range)`, `max(avg_over_time(${series(kvMetric, matchers)}[${window}]))`) : Number.NaN;
  const pre = s?.preemptions !== undefined && ctx.names.has(s.preemptions) ? await scalar(ctx, `${model}: preemptions per second`, rateSum(s.preemptions, matchers, [], window)) : Number.NaN;
  return { ...(Number.isFinite(kv) ? { kvCacheUsage: kv } : {}), ...(Number.isFinite(pre) ? { preemptionsPerS: pre } : {}) };
}

async function qualityChecks(ctx: QueryContext, source: LatencySource, model: string, matchers: string, window: string): Promise<string[]> {
  const out: string[] = [];
  const rl = ctx.replicaLabel;
  const e2e = countingMeasure(source.e2e);
  const counter = e2e.kind === 'histogram' ? `${e2e.metric}_count` : e2e.kind === 'counter' ? e2e.count : undefined;
  const classic = counter !== undefined && ctx.names.has(counter) ? counter : undefined;
  const native = e2e.kind === 'histogram' && layoutOf(e2e.metric, ctx.names) !== 'classic' ? e2e.metric : undefined;
  // resets() of Prometheus 2.42 counts none on native histograms: their observation count is read as a counter instead.
  const counters = [
    ...(classic !== undefined ? [{ name: classic, expr: resetsQuery(classic, matchers, window) }] : []),
    ...(native !== undefined ? [{ name: `${native} (native histogram)`, expr: `sum(resets(histogram_count(${series(native, matchers)})[${window}:${Math.round(ctx.stepS)}s]))` }] : []),
  ];
  for (const c of counters) {
    const resets = await scalar(ctx, `${model}: counter resets`, c.expr);
    if (resets > 0) out.push(`${model}: ${resets} counter reset${resets === 1 ? '' : 's'} of ${c.name} in the range (a restart or model reload); rate() compensates, the step around each reset is less exact`);
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
        `${model}: ${native} is a native histogram on ${[...nativeReplicas.keys()].sort().join(', ')} and a classic one on ${[...classicReplicas.keys()].sort().join(', ')}; rates, means, shares and per-replica percentiles count every replica, the fleet's percentiles (over the range and per step) merge both at the classic bucket bounds, so they are only as fine as the classic buckets`,
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

function formatBoundMs(ms: number): string {
  return Number.isFinite(ms) ? String(Number(ms.toPrecision(3))) : '–';
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

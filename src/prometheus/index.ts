/**
 * @module prometheus
 * `analyze --prometheus`: the input adapter that reads the histograms and counters a fleet
 * already exports (our tracer, the Collector's span metrics, inference servers, GPU exporters)
 * from a Prometheus-compatible engine and builds the same AnalysisResult the file path builds,
 * diagnosed by the same rules (those that can run on aggregates) and rendered by the same reports.
 */
import type { AnalysisResult, AnalysisWarning, ModelAnalysis } from '../analyzer/index.js';
import type { DiagnoseOptions } from '../analyzer/diagnose/index.js';
import { DEFAULT_THRESHOLDS, RULES, RULE_INPUTS, checkSlo, diagnoseSignals, hasSloTargets, missingInputs, resolveThresholds, sloMeasured } from '../analyzer/diagnose/index.js';
import type { Rule, RuleInput } from '../analyzer/diagnose/index.js';
import { summarizeDevice } from '../analyzer/device.js';
import type { TimeWindow } from '../analyzer/device.js';
import type { DeviceEvidence } from '../model/gpu.js';
import type { PrometheusInput, PrometheusModelExtras, PrometheusSourceFound } from '../model/prometheus.js';
import { RequestTable } from '../model/request-table.js';
import { PrometheusClient } from './client.js';
import { PrometheusError } from './errors.js';
import { GPU_SOURCES, LATENCY_SOURCES, familyPresent, sourceDetected, sourceFamilies } from './sources.js';
import type { LatencySource } from './sources.js';
import { measurePresent, readModel } from './aggregates.js';
import type { ModelAggregates, QueryContext } from './aggregates.js';
import { readGpuSamples } from './gpu.js';
import { dataExtent, EXTENT_SEARCH_S } from './extent.js';
import type { DataExtent } from './extent.js';
import { ModelNotFoundError } from '../errors.js';
import { countRateQuery, selectorMatchers } from './promql.js';
import { statisticOf, toSignals, toSummary } from './to-signals.js';

export { PrometheusClient, parseHeaders } from './client.js';
export type { PrometheusClientOptions } from './client.js';
export { PrometheusError } from './errors.js';
export type { PrometheusErrorKind } from './errors.js';
export { LATENCY_SOURCES, GPU_SOURCES } from './sources.js';
export type { LatencySource, GpuSource, Measure } from './sources.js';
export { parseDuration, parseTime, parseTimeNs } from './duration.js';

/** Options of `analyzePrometheus`. */
export interface PrometheusAnalyzeOptions {
  /** Base URL of the engine, e.g. http://127.0.0.1:9090. */
  readonly url: string;
  /** Extra HTTP headers (Authorization, X-Scope-OrgID for Mimir, …). Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-request timeout, ms. Default 15 000. */
  readonly timeoutMs?: number;
  /** End of the range, unix seconds. Default: now. */
  readonly endS?: number;
  /** Start of the range, unix seconds. Default: end − rangeS. */
  readonly startS?: number;
  /** Length of the range, seconds, when startS is not given. Default 3600. */
  readonly rangeS?: number;
  /** query_range step for the drift and ramp tests, seconds. Default: range ÷ windows.count. */
  readonly stepS?: number;
  /** Label matchers every query carries, e.g. `{job="triton",namespace="prod"}`. Default none. */
  readonly selector?: string;
  /** Only this model. Default: all. */
  readonly model?: string;
  /** Label that tells replicas apart. Default `instance`. */
  readonly replicaLabel?: string;
  /** Diagnosis options; `false` skips the diagnosis. */
  readonly diagnose?: DiagnoseOptions | false;
}

/**
 * What the engine holds of each source whose end-to-end family is missing: a source's other
 * families present (Ray Serve LLM's TPOT histogram and KV cache gauge with its e2e histogram
 * dropped by a relabelling or left out of an excerpt) are named with the one that is missing, since
 * requests, rates and percentiles are all read from it; otherwise every source's marker looked for.
 */
function withoutEndToEnd(names: ReadonlySet<string>): string {
  const partial = LATENCY_SOURCES.flatMap((source) => {
    const { e2e, others } = sourceFamilies(source);
    const present = [...e2e, ...others].filter((f) => familyPresent(f, names));
    const missing = e2e.filter((f) => !familyPresent(f, names));
    if (present.length === 0 || missing.length === 0) return [];
    const listed = `${present.slice(0, 6).join(', ')}${present.length > 6 ? ` and ${present.length - 6} more` : ''}`;
    return [`${source.title}: ${listed} present, but not ${missing.join(', ')}, its end-to-end latency, from which requests, rates and percentiles are read (dropped by the scrape's metric_relabel_configs?)`];
  });
  if (partial.length > 0) return partial.join('; ');
  return `looked for ${LATENCY_SOURCES.map((s) => `${s.title} (${s.markers[0] ?? ''})`).join('; ')}`;
}

/** Reads the engine and analyses every model found; throws PrometheusError on anything that prevents it. */
export async function analyzePrometheus(options: PrometheusAnalyzeOptions): Promise<AnalysisResult & { readonly prometheus: PrometheusInput }> {
  const client = new PrometheusClient({ url: options.url, ...(options.headers ? { headers: options.headers } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  const endS = Math.floor(options.endS ?? Date.now() / 1000);
  const startS = Math.floor(options.startS ?? endS - (options.rangeS ?? 3600));
  if (!(endS > startS)) throw new PrometheusError('option', options.url, `the range is empty: start ${new Date(startS * 1000).toISOString()} is not before end ${new Date(endS * 1000).toISOString()}`);
  const windows = DEFAULT_THRESHOLDS['windows.count'];
  const stepS = Math.max(1, Math.round(options.stepS ?? (endS - startS) / windows));
  const selector = selectorMatchers(options.selector);
  const replicaLabel = options.replicaLabel ?? 'instance';
  const names = new Set(await client.metricNames(startS, endS, selector === '' ? [] : [`{${selector}}`]));
  const matching = selector === '' ? '' : ` matching {${selector}}`;
  // What the range held nothing of, when the engine holds it at other times: exit 4 saying where.
  const range: EmptyRange = { client, url: options.url, startS, endS, selector };
  if (names.size === 0) {
    await throwIfElsewhere(range, '');
    throw new PrometheusError('empty', options.url, `no series at all between ${iso(startS)} and ${iso(endS)}${matching}: check --range and --selector`);
  }
  const log: QueryContext['log'] = [];
  const ctx: QueryContext = { client, selector, startS, endS, stepS, replicaLabel, log, names };
  const latency = LATENCY_SOURCES.filter((s) => sourceDetected(s, names) && measurePresent(s.e2e, names));
  if (latency.length === 0) {
    await throwIfElsewhere(range, '');
    throw new PrometheusError('empty', options.url, `no inference latency metrics between ${iso(startS)} and ${iso(endS)}${matching} (${names.size} metric names present; ${withoutEndToEnd(names)})`);
  }

  const found: PrometheusSourceFound[] = [];
  const aggregates: ModelAggregates[] = [];
  const warnings: AnalysisWarning[] = [];
  const seen = new Set<string>();
  // Every model with requests in the range, whatever --model asked for: the error lists them;
  // and those whose series are there without a request completed.
  const inRange = new Set<string>();
  const idle = new Set<string>();
  // The server of models read through a source's fallback model label (vLLM's families as Triton's vLLM backend labels them).
  const fallbackServer = new Map<string, string>();
  for (const source of latency) {
    const all = await modelsOf(ctx, source);
    for (const m of all) (m.served ? inRange : idle).add(m.model);
    const models = all.filter((m) => m.served);
    const fresh = models.filter((m) => !seen.has(m.model) && (options.model === undefined || m.model === options.model));
    const skipped = models.filter((m) => seen.has(m.model)).map((m) => m.model);
    if (skipped.length > 0) warnings.push({ code: 'metrics-quality', message: `${source.title} also measures ${skipped.join(', ')}; the more detailed source read first is used`, count: skipped.length });
    for (const m of fresh) {
      seen.add(m.model);
      if (m.viaFallback && source.modelLabelFallback !== undefined) fallbackServer.set(m.model, source.modelLabelFallback.server);
      aggregates.push(await readModel(ctx, source, m.model, m.matcher));
    }
    found.push({ id: source.id, title: source.title, kind: 'latency', models: fresh.map((m) => m.model), notes: source.notes });
  }
  if (aggregates.length === 0) {
    // A model whose series are there but count no completed request (idle, or every request
    // failed) measured nothing (exit 4); a name that matches no model there is a mistake (exit 2), as on trace files.
    if (options.model !== undefined && idle.has(options.model)) {
      throw new PrometheusError('nothing-measured', options.url, `no request of model ${JSON.stringify(options.model)} completed in ${options.url} between ${iso(startS)} and ${iso(endS)} (the range asked for)${matching}: its latency series are there, but count none (idle, or every request failed)`);
    }
    if (options.model !== undefined && inRange.size > 0) throw new ModelNotFoundError(options.model, `${options.url} between ${iso(startS)} and ${iso(endS)}${matching}`, inRange);
    await throwIfElsewhere(range, ': its latency series are there, but no request completed');
    throw new PrometheusError('nothing-measured', options.url, `no inference requests in ${options.url} between ${iso(startS)} and ${iso(endS)} (the range asked for)${matching}: its latency series are there, but no request completed`);
  }

  // GPU state: the first exporter present.
  const gpuSource = GPU_SOURCES.find((g) => g.markers.some((m) => names.has(m)));
  let device: DeviceEvidence[] = [];
  if (gpuSource) {
    const samples = await readGpuSamples(ctx, gpuSource);
    const windowList: TimeWindow[] = Array.from({ length: windows }, (_, i) => ({ startMs: (startS + ((endS - startS) * i) / windows) * 1000, endMs: (startS + ((endS - startS) * (i + 1)) / windows) * 1000 }));
    device = summarizeDevice(samples, { startMs: startS * 1000, endMs: endS * 1000 }, windowList);
    found.push({ id: gpuSource.id, title: gpuSource.title, kind: 'gpu', models: [], notes: [`${samples.length} steps of GPU state; the diagnosis reads the worst GPU of the fleet`] });
  }

  const thresholds = resolveThresholds(options.diagnose === false ? undefined : options.diagnose?.thresholds);
  const models: ModelAnalysis[] = aggregates
    .map((a): ModelAnalysis => {
      const summary = toSummary(a);
      for (const w of a.warnings) warnings.push({ code: 'metrics-quality', message: w, count: 1 });
      if (options.diagnose === false) return { summary };
      const signals = toSignals(a, summary, thresholds, stepS, device);
      const targets = options.diagnose?.slo;
      // TTFT, TPOT and ITL are histogram quantiles here too, each check naming its statistic as e2e's does.
      const slo = hasSloTargets(targets) ? checkSlo(targets, sloMeasured(summary)) : undefined;
      // The detected source names the server, as the trace path's conventions do: next steps in its own terms.
      const server = fallbackServer.get(a.model) ?? a.source.server;
      const diagnosis = diagnoseSignals(signals, { thresholds, ...(slo ? { slo } : {}), available: availableFor(a, signals.generation !== undefined), ...(server !== undefined ? { server } : {}) });
      return { summary, diagnosis };
    })
    .sort((x, y) => y.summary.requests - x.summary.requests || x.summary.model.localeCompare(y.summary.model));
  for (const w of client.warnings) warnings.push({ code: 'metrics-quality', message: `the engine warned: ${w}`, count: 1 });
  const requests = models.reduce((n, m) => n + m.summary.requests, 0);
  const extras: PrometheusModelExtras[] = aggregates.map((a) => ({
    model: a.model,
    source: a.source.id,
    replicas: a.replicas.map((r) => ({ replica: r.replica, rps: r.rps, e2eMeanMs: r.e2eMeanMs, e2eP99Ms: r.e2eP99Ms })),
    generation: Object.fromEntries(Object.entries(a.generation).map(([k, d]) => [k, { statistic: statisticOf(d), meanMs: d.meanMs, p50Ms: d.p50Ms, p90Ms: d.p90Ms, p95Ms: d.p95Ms, p99Ms: d.p99Ms, maxMs: d.maxMs }])),
    gauges: a.gauges,
    ...(a.meanBatchSize !== undefined ? { meanBatchSize: a.meanBatchSize } : {}),
    exemplarTraceIds: a.exemplarTraceIds,
  }));
  // The slowest exemplar traces of each model: where the per-request rules can start on the trace path.
  const exemplarTraceIds = [...new Set(aggregates.flatMap((a) => a.exemplarTraceIds))];
  const overall = models.length === 1 ? models[0]?.summary : undefined;
  return {
    files: [],
    warnings,
    spans: 0,
    traces: 0,
    requests,
    window: { startNs: BigInt(startS) * 1_000_000_000n, endNs: BigInt(endS) * 1_000_000_000n },
    ...(overall ? { overall } : {}),
    models,
    assembly: { spans: 0, duplicateSpans: 0, lateSpans: 0, invalidSpans: 0, orphanSpans: 0, unattachedPhaseSpans: 0, traces: 0, requestTraces: 0, clockSkewRequests: 0, firstTokenAfterEnd: 0, invalidBatchSizes: 0, roundedRequests: 0, roundedToNs: 0, fragmentedTraces: 0, fragmentPieces: 0 },
    timings: RequestTable.empty(),
    device,
    timeline: [],
    conventions: [],
    prometheus: {
      url: options.url,
      startS,
      endS,
      stepS,
      selector,
      sources: found,
      models: extras,
      queries: log,
      rules: RULES.map((r) => ruleOnAggregates(r, available, exemplarTraceIds)),
    },
  };
}

/** What aggregates give the rules (see RULE_INPUTS): never arrival times, input hashes, payload sizes or the model's runtime attributes; generation where an LLM server measures TTFT. */
function availableFor(a: ModelAggregates, generation: boolean): Set<RuleInput> {
  const inputs = new Set<RuleInput>(['phase-distributions', 'concurrency', 'time-windows']);
  if (a.meanBatchSize !== undefined) inputs.add('batch-sizes');
  if (generation) inputs.add('generation');
  return inputs;
}

/** What aggregates can give at best (batch sizes and generation depend on the source). */
const available: ReadonlySet<RuleInput> = new Set<RuleInput>(['phase-distributions', 'concurrency', 'time-windows', 'batch-sizes', 'generation']);

/** Whether a rule runs on aggregates: fully, without some refinements, or not at all (and why, pointing to the trace path and its exemplar traces). */
function ruleOnAggregates(rule: Rule, inputs: ReadonlySet<RuleInput>, exemplarTraceIds: readonly string[]): PrometheusInput['rules'][number] {
  const missing = missingInputs(rule, inputs);
  const unrefined = rule.needs.refinedBy.filter((i) => !inputs.has(i));
  const describe = (list: readonly RuleInput[]): string => list.map((i) => `${i} (${RULE_INPUTS[i].description})`).join('; ');
  const tracePath = `run analyze on traces${exemplarTraceIds.length > 0 ? `, starting from the exemplar traces ${exemplarTraceIds.join(', ')}` : ''}`;
  if (missing.length > 0) return { rule: rule.id, aggregates: 'none', note: `needs ${describe(missing)}: ${tracePath}` };
  if (rule.id === 'replica-outlier') return { rule: rule.id, aggregates: 'full', note: 'aggregates only: per-replica series (the replica label) exist in metrics, not in traces' };
  if (unrefined.length === 0) return { rule: rule.id, aggregates: 'full' };
  const perRequest = unrefined.some((i) => RULE_INPUTS[i].perRequestOnly);
  return { rule: rule.id, aggregates: 'partial', note: `without ${describe(unrefined)}${perRequest ? `: for those, ${tracePath}` : ''}` };
}

/** Models with latency series in the range, each with the matcher that selects it; `served`: with completed requests. */
async function modelsOf(ctx: QueryContext, source: LatencySource): Promise<{ model: string; matcher: string; viaFallback: boolean; served: boolean }[]> {
  const window = `${Math.round(ctx.endS - ctx.startS)}s`;
  // One-model servers (TGI) are named after their job.
  const label = source.modelLabel === '' ? 'job' : source.modelLabel;
  const fallback = source.modelLabelFallback?.label;
  const expr = countRateQuery(source.e2e, { matchers: ctx.selector, by: fallback === undefined ? [label] : [label, fallback], window, names: ctx.names });
  ctx.log.push({ purpose: `${source.title}: models with requests`, expr });
  const out: { model: string; matcher: string; viaFallback: boolean; served: boolean }[] = [];
  for (const s of await ctx.client.query(expr, ctx.endS)) {
    const served = Number(s.value[1]) > 0;
    const model = s.metric[label] ?? '';
    const other = fallback === undefined || model !== '' ? '' : (s.metric[fallback] ?? '');
    // Series without the model label but with the fallback (Triton's vLLM backend): one model per fallback value, never all merged.
    if (other !== '') out.push({ model: other, matcher: `${label}="", ${fallback}=${JSON.stringify(other)}`, viaFallback: true, served });
    else out.push({ model: model === '' ? source.id : model, matcher: `${label}=${JSON.stringify(model)}`, viaFallback: false, served });
  }
  return out;
}

/** A range that measured nothing: the engine, the range and the selector as asked. */
interface EmptyRange {
  readonly client: PrometheusClient;
  readonly url: string;
  readonly startS: number;
  readonly endS: number;
  readonly selector: string;
}

/**
 * Throws "nothing measured" (exit 4) naming the range asked for and where the engine's inference
 * latency data lies, when it holds some within EXTENT_SEARCH_S of now; returns when it holds none,
 * for the caller's message about an input with no data.
 */
async function throwIfElsewhere(range: EmptyRange, why: string): Promise<void> {
  const { client, url, startS, endS, selector } = range;
  const nowS = Math.floor(Date.now() / 1000);
  const fromS = nowS - EXTENT_SEARCH_S;
  const all = new Set(await client.metricNames(fromS, nowS, selector === '' ? [] : [`{${selector}}`]));
  const markers = [...new Set(LATENCY_SOURCES.flatMap((s) => s.markers.flatMap((m) => [m, m.replace(/_(bucket|count)$/, '')])))].filter((n) => all.has(n));
  if (markers.length === 0) return;
  const asked = `no inference requests in ${url} between ${iso(startS)} and ${iso(endS)} (the range asked for)${selector === '' ? '' : ` matching {${selector}}`}${why}`;
  let extent: DataExtent | undefined;
  try {
    extent = await dataExtent(client, markers, selector, fromS, nowS);
  } catch (error) {
    if (!(error instanceof PrometheusError)) throw error;
    throw new PrometheusError('nothing-measured', url, `${asked}; where its data lies could not be read (${error.message})`);
  }
  if (extent === undefined) return;
  throw new PrometheusError('nothing-measured', url, `${asked}; its inference latency data runs from ${iso(extent.firstS)} to ${iso(extent.lastS)}`);
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
}

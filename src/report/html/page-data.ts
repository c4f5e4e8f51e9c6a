/**
 * @module report/html/page-data
 * AnalysisResult → the plain data the HTML page's charts draw (embedded in the page as JSON):
 * latency per time window, the e2e histogram, the phase mix of requests at p50/p95/p99, GPU
 * state over time and the spans of example traces. Pure; the page's client only plots it.
 */
import type { AnalysisResult } from '../../analyzer/index.js';
import type { RequestTiming } from '../../model/request.js';
import type { SpanRecord } from '../../model/span.js';
import { ATTR, OTHER, PHASES } from '../../semconv.js';
import type { PhaseOrOther } from '../../semconv.js';
import { nearestRank } from '../../analyzer/diff/index.js';
import { groupByModel } from '../../analyzer/measure.js';
import { isGenerative, timePerOutputTokenMs } from '../../model/generation.js';
import { sloLabel } from '../../analyzer/diagnose/slo.js';
import type { SloMetric } from '../../model/diagnosis.js';

/** Latency per time window: x in seconds since the first request. */
export interface OverTime {
  readonly t: number[];
  readonly p50: (number | null)[];
  readonly p95: (number | null)[];
  readonly p99: (number | null)[];
}

/** GPU state per device window (first GPU), x in seconds since the first request. */
export interface GpuOverTime {
  readonly gpu: string;
  readonly t: number[];
  readonly temperatureC: (number | null)[];
  readonly smClockMhz: (number | null)[];
  /** Share of the window the GPU was throttled, 0–1. */
  readonly throttled: (number | null)[];
}

/** Counts of e2e latency in equal-width bins. */
export interface Histogram {
  /** Left edge of the first bin, ms. */
  readonly lowMs: number;
  /** Bin centres, ms. */
  readonly centers: number[];
  readonly width: number;
  readonly counts: number[];
  /** Requests beyond the last bin, counted in it. */
  readonly overflow: number;
}

/** Mean time per phase of the requests around a quantile of e2e. */
export interface PhaseMix {
  readonly quantiles: string[];
  readonly phases: { readonly phase: PhaseOrOther; readonly ms: number[] }[];
}

/** One span of an example trace, relative to the request's start. */
export interface WaterfallSpan {
  readonly name: string;
  readonly phase: PhaseOrOther | 'request' | 'client';
  readonly startMs: number;
  readonly endMs: number;
}

/** An example trace to draw as a waterfall. */
export interface ExampleTrace {
  readonly label: string;
  readonly traceId: string;
  readonly e2eMs: number;
  readonly spans: WaterfallSpan[];
}

/** Everything one model's charts need. */
export interface ModelCharts {
  readonly model: string;
  readonly overTime: OverTime;
  readonly gpu?: GpuOverTime;
  readonly histogram: Histogram;
  readonly mix: PhaseMix;
  readonly examples: ExampleTrace[];
  /** TTFT and TPOT per window, for models whose requests stream tokens. */
  readonly generation?: { readonly ttft: OverTime; readonly tpot: OverTime };
  /** SLO targets, ms: end-to-end ones drawn on the histogram, TTFT and TPOT ones on the generation chart. */
  readonly slo: { readonly label: string; readonly ms: number; readonly metric: SloMetric }[];
}

const QUANTILES = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;

/** The analysed requests grouped by model. */
export function timingsByModel(result: AnalysisResult): Map<string, RequestTiming[]> {
  return new Map([...groupByModel(result.timings)].map(([model, table]) => [model, table.rows()]));
}

/** Trace ids of the requests drawn as examples: the slowest and the one nearest the median. */
export function exampleRequests(requests: readonly RequestTiming[]): { label: string; request: RequestTiming }[] {
  if (requests.length === 0) return [];
  const sorted = [...requests].sort((a, b) => a.e2eMs - b.e2eMs);
  const slowest = sorted[sorted.length - 1]!;
  const typical = sorted[Math.max(0, Math.ceil(0.5 * sorted.length) - 1)]!;
  return typical === slowest ? [{ label: 'slowest', request: slowest }] : [{ label: 'slowest', request: slowest }, { label: 'typical (p50)', request: typical }];
}

/** Chart data for one model. `spans` holds the example traces' spans by trace id, when they could be read again. */
export function modelCharts(result: AnalysisResult, model: string, requests: readonly RequestTiming[], spans: ReadonlyMap<string, readonly SpanRecord[]>): ModelCharts {
  const diagnosis = result.models.find((m) => m.summary.model === model)?.diagnosis;
  const gpu = gpuOverTime(result, requests);
  const generation = requests.some(isGenerative)
    ? { ttft: overTime(requests, (r) => r.ttftMs), tpot: overTime(requests, (r) => timePerOutputTokenMs(r.e2eMs, r.ttftMs, r.tokensOut)) }
    : undefined;
  return {
    model,
    overTime: overTime(requests),
    ...(gpu ? { gpu } : {}),
    ...(generation ? { generation } : {}),
    histogram: histogram(requests.map((r) => r.e2eMs)),
    mix: phaseMix(requests),
    examples: exampleRequests(requests).flatMap(({ label, request }) => {
      const traceSpans = spans.get(request.traceId);
      return traceSpans === undefined ? [] : [waterfall(label, request, traceSpans)];
    }),
    slo: (diagnosis?.slo?.checks ?? []).map((c) => ({ label: `SLO ${sloLabel(c)} ${c.targetMs} ms`, ms: c.targetMs, metric: c.metric })),
  };
}

function startOf(requests: readonly RequestTiming[]): bigint {
  let start = requests[0]?.startNs ?? 0n;
  for (const r of requests) if (r.startNs < start) start = r.startNs;
  return start;
}

/** Equal-time windows, about 50 requests each, between 5 and 60 windows; `value` defaults to e2e (undefined: left out). */
export function overTime(requests: readonly RequestTiming[], value: (r: RequestTiming) => number | undefined = (r) => r.e2eMs): OverTime {
  const out: OverTime = { t: [], p50: [], p95: [], p99: [] };
  if (requests.length === 0) return out;
  const origin = startOf(requests);
  const offsets = requests.map((r) => Number(r.startNs - origin) / 1e9);
  const span = Math.max(...offsets) || 1;
  const windows = Math.min(60, Math.max(5, Math.round(requests.length / 50)));
  const buckets: number[][] = Array.from({ length: windows }, () => []);
  requests.forEach((r, i) => {
    const v = value(r);
    if (v !== undefined) buckets[Math.min(windows - 1, Math.floor((offsets[i]! / span) * windows))]!.push(v);
  });
  buckets.forEach((bucket, i) => {
    const sorted = Float64Array.from(bucket).sort();
    // Fewer than 3 requests make no percentile worth a point.
    const at = (q: number): number | null => (sorted.length >= 3 ? round(nearestRank(sorted, q)) : null);
    out.t.push(round(((i + 0.5) * span) / windows));
    out.p50.push(at(0.5));
    out.p95.push(at(0.95));
    out.p99.push(at(0.99));
  });
  return out;
}

/** True when some window of `o` holds a point (a window needs 3 requests: overTime). */
export function hasPoints(o: OverTime): boolean {
  return o.p50.some((v) => v !== null);
}

function gpuOverTime(result: AnalysisResult, requests: readonly RequestTiming[]): GpuOverTime | undefined {
  const first = result.timeline[0]?.gpus[0];
  if (first === undefined || requests.length === 0) return undefined;
  const originMs = Number(startOf(requests) / 1_000_000n);
  const out: GpuOverTime = { gpu: `${first.gpuName ?? 'GPU'} ${first.gpuUuid}`, t: [], temperatureC: [], smClockMhz: [], throttled: [] };
  for (const w of result.timeline) {
    const g = w.gpus[0]!;
    out.t.push(round(((w.startMs + w.endMs) / 2 - originMs) / 1000));
    out.temperatureC.push(g.maxTemperatureC ?? null);
    out.smClockMhz.push(g.meanSmClockMhz === undefined ? null : round(g.meanSmClockMhz));
    out.throttled.push(g.throttledShare ?? null);
  }
  return out;
}

/** Bin range of a histogram: a little below the fastest request to a little past p99, so the tail stays readable. */
export function histogramRange(valuesMs: readonly number[]): { lowMs: number; highMs: number } {
  if (valuesMs.length === 0) return { lowMs: 0, highMs: 1 };
  const sorted = Float64Array.from(valuesMs).sort();
  return { lowMs: sorted[0]! * 0.9, highMs: nearestRank(sorted, 0.99) * 1.1 };
}

/** 40 equal bins over `range` (default `histogramRange`); requests outside are counted in the first or last bin. */
export function histogram(valuesMs: readonly number[], range = histogramRange(valuesMs)): Histogram {
  const bins = 40;
  const width = (range.highMs - range.lowMs) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  let overflow = 0;
  for (const v of valuesMs) {
    const i = Math.floor((v - range.lowMs) / width);
    if (i >= bins) overflow++;
    counts[Math.min(bins - 1, Math.max(0, i))]!++;
  }
  return { lowMs: round(range.lowMs), centers: counts.map((_, i) => round(range.lowMs + (i + 0.5) * width)), width: round(width), counts, overflow };
}

/** Mean phase times of the requests ranked within ±1% of n around each quantile (at least one). */
export function phaseMix(requests: readonly RequestTiming[]): PhaseMix {
  const sorted = [...requests].sort((a, b) => a.e2eMs - b.e2eMs);
  const n = sorted.length;
  const half = Math.max(0, Math.floor(n * 0.01));
  const present = [...PHASES, OTHER].filter((p) => requests.some((r) => (p === OTHER ? r.otherMs > 0 : r.phases[p] !== undefined)));
  const phases = present.map((phase) => ({ phase, ms: [] as number[] }));
  for (const [, q] of QUANTILES) {
    if (n === 0) break;
    const k = Math.min(n, Math.max(1, Math.ceil(q * n))) - 1;
    const band = sorted.slice(Math.max(0, k - half), Math.min(n, k + half + 1));
    for (const p of phases) {
      const sum = band.reduce((s, r) => s + (p.phase === OTHER ? r.otherMs : (r.phases[p.phase] ?? 0)), 0);
      p.ms.push(round(sum / band.length));
    }
  }
  return { quantiles: QUANTILES.map(([label]) => label), phases };
}

/** The spans of one example trace (and batch spans linked to it), relative to its e2e start. */
function waterfall(label: string, request: RequestTiming, spans: readonly SpanRecord[]): ExampleTrace {
  const origin = request.startNs;
  const rows = [...spans]
    .sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0))
    .slice(0, 60)
    .map((s): WaterfallSpan => {
      const phase = s.attributes[ATTR.PHASE];
      const kind = s.attributes[ATTR.ROLE] === 'client' || s.kind === 'client' ? 'client' : s.attributes[ATTR.MODEL_NAME] !== undefined ? 'request' : OTHER;
      return {
        // Long route names would squeeze the bars on a narrow or printed page.
        name: s.name.length > 26 ? `${s.name.slice(0, 25)}…` : s.name,
        phase: typeof phase === 'string' && (PHASES as readonly string[]).includes(phase) ? (phase as PhaseOrOther) : kind,
        startMs: round(Number(s.startNs - origin) / 1e6),
        endMs: round(Number(s.endNs - origin) / 1e6),
      };
    });
  return { label, traceId: request.traceId, e2eMs: round(request.e2eMs), spans: rows };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * @module test/diagnose/gen
 * A seeded generator of RequestTiming sets showing one bottleneck each (or a mix), and the
 * ModelSummary the diagnosis reads next to them. Times are drawn around the given means with
 * jitter, arrivals are Poisson at the given (possibly time-varying) rate.
 */
import { PHASES } from '../../src/semconv.js';
import type { Phase, PhaseOrOther } from '../../src/semconv.js';
import type { RequestTiming } from '../../src/model/request.js';
import type { ModelSummary, Percentiles, PhaseSummary } from '../../src/model/summary.js';
import { seededRandom as rng } from '../../examples/model/seeded-random.js';

/** A value per request: a constant mean (jittered ±15%), or a function of the request. */
export type Draw = number | ((ctx: { i: number; frac: number; rand: () => number }) => number);

/** What to generate. */
export interface GenSpec {
  n?: number;
  /** Arrival rate in requests/s, constant or as a function of the run fraction (0–1). */
  rps?: number | ((frac: number) => number);
  phases: Partial<Record<Phase, Draw>>;
  /** Time in no phase span. */
  other?: Draw;
  batchSize?: Draw;
  /** Share of requests repeating an earlier input (0–1); absent: no hashes. */
  duplicateShare?: number;
  requestBytes?: number;
  runtime?: string;
  runtimeProvider?: string;
  precision?: string;
  device?: string;
  model?: string;
  seed?: number;
  /** Share of requests marked as errors. */
  errorShare?: number;
  /** Added to the request number in trace ids, so several generated sets can share one file. */
  idOffset?: number;
}


/** Exponentially distributed draw with the given mean (heavy-ish tail, like a queue). */
export function exp(meanMs: number): Draw {
  return ({ rand }) => -Math.log(1 - rand()) * meanMs;
}

function draw(d: Draw, ctx: { i: number; frac: number; rand: () => number }): number {
  return typeof d === 'number' ? d * (0.85 + 0.3 * ctx.rand()) : Math.max(0, d(ctx));
}

const CLIENT_SIDE: readonly Phase[] = ['preprocess', 'serialize', 'network', 'postprocess'];

/** Generate requests for one model. */
export function generate(spec: GenSpec): RequestTiming[] {
  const n = spec.n ?? 400;
  const rand = rng(spec.seed ?? 42);
  const model = spec.model ?? 'resnet50';
  const rate = spec.rps ?? 100;
  const out: RequestTiming[] = [];
  let tNs = 1_700_000_000_000_000_000n;
  const pool: string[] = [];
  for (let i = 0; i < n; i++) {
    const frac = i / n;
    const ctx = { i, frac, rand };
    const rps = typeof rate === 'number' ? rate : rate(frac);
    tNs += BigInt(Math.round((-Math.log(1 - rand()) / rps) * 1e9));
    const phases: Partial<Record<Phase, number>> = {};
    for (const p of PHASES) {
      const d = spec.phases[p];
      if (d !== undefined) phases[p] = draw(d, ctx);
    }
    const otherMs = spec.other !== undefined ? draw(spec.other, ctx) : 0;
    const phaseSum = Object.values(phases).reduce((a, b) => a + b, 0);
    const e2eMs = phaseSum + otherMs;
    const clientMs = CLIENT_SIDE.reduce((a, p) => a + (phases[p] ?? 0), 0);
    let inputHash: string | undefined;
    if (spec.duplicateShare !== undefined) {
      if (pool.length > 0 && rand() < spec.duplicateShare) inputHash = pool[Math.floor(rand() * pool.length)];
      else {
        inputHash = `h${i.toString(16).padStart(8, '0')}`;
        pool.push(inputHash);
      }
    }
    const batch = spec.batchSize !== undefined ? Math.max(1, Math.round(typeof spec.batchSize === 'number' ? spec.batchSize : spec.batchSize(ctx))) : undefined;
    out.push({
      traceId: (i + 1 + (spec.idOffset ?? 0)).toString(16).padStart(32, '0'),
      requestSpanId: (i + 1 + (spec.idOffset ?? 0)).toString(16).padStart(16, '0'),
      service: 'inference',
      model,
      ...(spec.runtime !== undefined ? { runtime: spec.runtime } : {}),
      ...(spec.runtimeProvider !== undefined ? { runtimeProvider: spec.runtimeProvider } : {}),
      ...(spec.precision !== undefined ? { precision: spec.precision } : {}),
      ...(spec.device !== undefined ? { device: spec.device } : {}),
      startNs: tNs,
      e2eMs,
      serverMs: Math.max(0.001, e2eMs - clientMs),
      phases,
      otherMs,
      hasClient: clientMs > 0,
      networkDerived: false,
      clockSkew: false,
      ...(batch !== undefined ? { batchSize: batch } : {}),
      ...(spec.requestBytes !== undefined ? { requestBytes: spec.requestBytes } : {}),
      ...(inputHash !== undefined ? { inputHash } : {}),
      error: spec.errorShare !== undefined && rand() < spec.errorShare,
    });
  }
  return out;
}

function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
  return { count: s.length, meanMs: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length), p50Ms: q(0.5), p90Ms: q(0.9), p95Ms: q(0.95), p99Ms: q(0.99), maxMs: s[s.length - 1] ?? 0 };
}

/** The summary of a request set, as the measure stage would compute it (nearest-rank percentiles). */
export function summarize(requests: readonly RequestTiming[]): ModelSummary {
  const e2eSum = requests.reduce((a, r) => a + r.e2eMs, 0);
  const phases: Partial<Record<PhaseOrOther, PhaseSummary>> = {};
  for (const p of [...PHASES, 'other'] as PhaseOrOther[]) {
    const values = requests.map((r) => (p === 'other' ? r.otherMs : r.phases[p])).filter((v): v is number => v !== undefined);
    if (values.length === 0) continue;
    phases[p] = { ...percentiles(values), share: values.reduce((a, b) => a + b, 0) / e2eSum, present: values.length };
  }
  const first = requests[0];
  const start = requests.reduce((m, r) => (r.startNs < m ? r.startNs : m), first?.startNs ?? 0n);
  const end = requests.reduce((m, r) => {
    const e = r.startNs + BigInt(Math.round(r.e2eMs * 1e6));
    return e > m ? e : m;
  }, 0n);
  const windowS = Number(end - start) / 1e9;
  return {
    model: first?.model ?? 'model',
    services: ['inference'],
    requests: requests.length,
    errors: requests.filter((r) => r.error).length,
    windowStartNs: start,
    windowEndNs: end,
    throughputRps: windowS > 0 ? requests.length / windowS : 0,
    e2e: percentiles(requests.map((r) => r.e2eMs)),
    phases,
    coverage: 1 - (phases.other?.share ?? 0),
  };
}

/**
 * @module examples/scenarios/scenario-matrix
 * The proof that latency-doctor's advice is right: five configurations of the real example
 * service under real load, each built to show one bottleneck. For each, the analyzer's primary
 * verdict must be the expected fix, and the same load against the service with that fix
 * applied must improve the metric the fix targets.
 */
import type { FixId, Phase } from '../../src/semconv.js';
import type { LoadMode, LoadResult } from '../loadgen/load-generator.js';
import type { PayloadOptions } from '../loadgen/payloads.js';
import type { ModelSummary } from '../../src/model/summary.js';

/** The load of one run: pacing and inputs (duration comes from the profile). */
export interface LoadShape {
  readonly mode: LoadMode;
  readonly payload: PayloadOptions;
}

/** Service flags (as `examples/service/main.ts` takes them) and the load of one run. */
export interface RunConfig {
  readonly service: readonly string[];
  readonly load: LoadShape;
}

function closed(concurrency: number, payload: PayloadOptions): LoadShape {
  return { mode: { kind: 'closed', concurrency }, payload };
}

/** What one run measured: the client's view and the analyzer's per-phase view. */
export interface RunMeasurement {
  readonly load: LoadResult;
  readonly summary: ModelSummary;
}

/** A metric a fix targets, read from a run. */
export interface TargetMetric {
  readonly label: string;
  readonly unit: 'ms' | 'req/s';
  /** Which direction is an improvement. */
  readonly better: 'lower' | 'higher';
  read(run: RunMeasurement): number;
}

/** One row of the matrix. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** The bottleneck, in words. */
  readonly bottleneck: string;
  /** The fix the analyzer must name as primary. */
  readonly expectedFix: FixId;
  /** The fix as applied, in words. */
  readonly fixApplied: string;
  readonly before: RunConfig;
  readonly after: RunConfig;
  readonly metrics: readonly TargetMetric[];
}

/** A phase's p50 from the analyzer's summary (NaN when the phase is absent). */
function phaseP50(phase: Phase): TargetMetric {
  return { label: `${phase} p50`, unit: 'ms', better: 'lower', read: (run) => run.summary.phases[phase]?.p50Ms ?? Number.NaN };
}

const THROUGHPUT: TargetMetric = { label: 'throughput', unit: 'req/s', better: 'higher', read: (run) => run.load.throughputRps };
const CLIENT_P99: TargetMetric = { label: 'client p99', unit: 'ms', better: 'lower', read: (run) => run.load.latencyMs.p99 };
const CLIENT_MEAN: TargetMetric = { label: 'client mean', unit: 'ms', better: 'lower', read: (run) => run.load.latencyMs.mean };

/** Batching parameters applied by the batching scenario's fix. */
export const BATCHING_FIX_FLAGS = ['--batching', '--max-batch-size', '32', '--max-queue-delay-us', '1000'] as const;

/** The five scenarios of the scenario matrix (docs/demo.md). Durations come from the profile (see `loadFlags`). */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'batching',
    title: 'No batching under high concurrency',
    bottleneck: '32 concurrent clients, wide fp32 MLP (hidden 4096), one request per model run',
    expectedFix: 'dynamic-batching',
    fixApplied: 'dynamic batching (max batch 32, max queue delay 1 ms)',
    before: { service: ['--precision', 'fp32', '--hidden', '4096'], load: closed(32, { encoding: 'binary' }) },
    after: { service: ['--precision', 'fp32', '--hidden', '4096', ...BATCHING_FIX_FLAGS], load: closed(32, { encoding: 'binary' }) },
    metrics: [THROUGHPUT, CLIENT_P99],
  },
  {
    id: 'quantization',
    title: 'fp32 model dominates',
    bottleneck: 'a wider MLP (hidden 4096, 25 M weights) in fp32, one client at a time: compute is most of each request',
    expectedFix: 'quantization',
    fixApplied: 'int8 dynamic quantization of the same weights',
    before: { service: ['--precision', 'fp32', '--hidden', '4096'], load: closed(1, { encoding: 'binary' }) },
    after: { service: ['--precision', 'int8', '--hidden', '4096'], load: closed(1, { encoding: 'binary' }) },
    metrics: [phaseP50('compute')],
  },
  {
    id: 'json-payload',
    title: 'Huge JSON payload',
    bottleneck: '3×160×160 image sent as JSON text (580 KB per request)',
    expectedFix: 'preprocessing-pipeline',
    fixApplied: 'binary float32 body (application/octet-stream)',
    before: { service: ['--precision', 'int8'], load: closed(2, { side: 160, encoding: 'json' }) },
    after: { service: ['--precision', 'int8'], load: closed(2, { side: 160, encoding: 'binary' }) },
    metrics: [phaseP50('serialize')],
  },
  {
    id: 'slow-preprocess',
    title: 'Slow preprocessing',
    bottleneck: 'naive per-pixel preprocessing of a 3×64×64 image',
    expectedFix: 'preprocessing-pipeline',
    fixApplied: 'vectorized typed-array preprocessing',
    before: { service: ['--precision', 'int8', '--slow-preprocess'], load: closed(2, { side: 64, encoding: 'binary' }) },
    after: { service: ['--precision', 'int8'], load: closed(2, { side: 64, encoding: 'binary' }) },
    metrics: [phaseP50('preprocess')],
  },
  {
    id: 'repeated-inputs',
    title: 'Mostly repeated inputs',
    bottleneck: '90% of requests repeat one of four inputs; every one is recomputed by the wide fp32 MLP',
    expectedFix: 'scale-and-cache',
    fixApplied: 'in-memory prediction cache keyed by the normalized-input hash',
    before: { service: ['--precision', 'fp32', '--hidden', '4096'], load: closed(1, { encoding: 'binary', repeatShare: 0.9 }) },
    after: { service: ['--precision', 'fp32', '--hidden', '4096', '--cache', 'memory'], load: closed(1, { encoding: 'binary', repeatShare: 0.9 }) },
    metrics: [CLIENT_MEAN],
  },
];

/** How long each run lasts: `quick` for the test suite, `full` for `npm run bench`. */
export interface LoadProfile {
  readonly warmupS: number;
  readonly durationS: number;
  /** Measured requests to wait for past `durationS` (the analyzer needs 50 after warm-up trimming). */
  readonly minRequests: number;
}

/** Seconds per run in the test suite: enough requests for the analyzer's validity checks. */
export const QUICK_PROFILE: LoadProfile = { warmupS: 1, durationS: 3, minRequests: 80 };
/** Seconds per run in the benchmark. */
export const FULL_PROFILE: LoadProfile = { warmupS: 2, durationS: 15, minRequests: 200 };

/** True when `after` improves on `before` in the metric's direction. */
export function improved(metric: TargetMetric, before: number, after: number): boolean {
  return metric.better === 'lower' ? after < before : after > before;
}

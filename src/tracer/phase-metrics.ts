/**
 * @module tracer/phase-metrics
 * The record step for metrics: the histograms of the convention (`TRACER_METRICS`), created on
 * whatever MeterProvider is registered globally. The API has no proxy meter provider, so the
 * instruments are re-created when the global provider changes (setup after first use, tests).
 */
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Attributes, Histogram, MeterProvider } from '@opentelemetry/api';
import { TRACER_METRICS } from '../semconv.js';
import { TRACER_NAME, TRACER_VERSION } from './tracer-identity.js';
import { reportFailure } from './warn-once.js';

/**
 * Bucket boundaries in seconds for phase and request durations: 100 µs to 10 s, with several
 * buckets per decade below 100 ms so histogram_quantile() resolves millisecond-scale phases
 * (the SDK's default boundaries start at 5, meant for milliseconds, and would put every phase
 * of a fast model in the first bucket).
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1,
  0.25, 0.5, 0.75, 1, 2.5, 5, 10,
];

/** Bucket boundaries for batch sizes: powers of two up to 1024, as batchers are configured. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** The tracer's histograms on one MeterProvider. */
export interface PhaseInstruments {
  readonly phaseDuration: Histogram;
  readonly requestDuration: Histogram;
  readonly batchSize: Histogram;
  /** False on the no-op provider: callers skip building attributes. */
  readonly enabled: boolean;
}

const NOOP_METER_CLASS = createNoopMeter().constructor;

let cachedProvider: MeterProvider | undefined;
let cached: PhaseInstruments | undefined;

/** The instruments for the currently registered global MeterProvider. Never throws. */
export function currentInstruments(): PhaseInstruments | undefined {
  try {
    const provider = metrics.getMeterProvider();
    if (provider === cachedProvider && cached !== undefined) return cached;
    cachedProvider = provider;
    cached = createInstruments(provider);
    return cached;
  } catch (error) {
    reportFailure('creating the metric instruments', error);
    return undefined;
  }
}

function createInstruments(provider: MeterProvider): PhaseInstruments {
  const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION);
  const spec = TRACER_METRICS;
  return {
    phaseDuration: meter.createHistogram(spec.PHASE_DURATION.name, {
      unit: spec.PHASE_DURATION.unit,
      description: spec.PHASE_DURATION.description,
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
    }),
    requestDuration: meter.createHistogram(spec.REQUEST_DURATION.name, {
      unit: spec.REQUEST_DURATION.unit,
      description: spec.REQUEST_DURATION.description,
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
    }),
    batchSize: meter.createHistogram(spec.BATCH_SIZE.name, {
      unit: spec.BATCH_SIZE.unit,
      description: spec.BATCH_SIZE.description,
      advice: { explicitBucketBoundaries: [...BATCH_SIZE_BUCKETS] },
    }),
    // Before setup the API hands out its no-op meter; skip the per-phase work then.
    enabled: meter.constructor !== NOOP_METER_CLASS,
  };
}

/** Records a duration in seconds; a broken provider is ignored. */
export function recordSeconds(histogram: Histogram, ms: number, attributes: Attributes): void {
  try {
    histogram.record(ms / 1000, attributes);
  } catch (error) {
    // Metrics are best effort.
    reportFailure('recording a histogram value', error);
  }
}

/**
 * @module analyzer/diagnose/dynamic-batching
 * Fix 1: queueing dominates while requests run one at a time under concurrency, so the
 * server should batch them. Signature from perf_analyzer's own docs: at concurrency 3,
 * queue 21.7 ms while compute infer stays at 11.7 ms and throughput stays flat.
 */
import type { ThresholdSpec } from './threshold-spec.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';
import { confidenceFrom, ms, pct, round, thresholdsOf } from './rule.js';
import { batchingNextStep } from './content.js';
import { tracesNear } from './signals.js';
import { clamp } from './stats.js';

/** Thresholds of the dynamic-batching rule. */
export const BATCHING_THRESHOLDS = {
  'batching.min_queue_share': {
    value: 0.25,
    unit: 'ratio of e2e',
    source: 'ours',
    why: 'queueing must be a large part of end-to-end time (a quarter) for batching to be the first thing to change',
  },
  'batching.queue_over_compute': {
    value: 1,
    unit: 'ratio queue p95 / compute p95',
    source: 'reference §(c) fix 1 (i), anchored on perf_analyzer docs/measurements_metrics.md (queue 21.7–33.7 ms vs infer 11.7 ms at saturation)',
    why: 'requests wait longer in the queue than they take to run: the server, not the model, is the bottleneck',
  },
  'batching.max_mean_batch': {
    value: 1.5,
    unit: 'requests per batch',
    source: 'Triton metrics: nv_inference_count / nv_inference_exec_count ≈ 1 means no batching; 1.5 is ours',
    why: 'a mean batch size near 1 means requests run one at a time',
  },
  'batching.min_in_flight': {
    value: 2,
    unit: 'requests',
    source: 'ours',
    why: 'with fewer than two requests in flight on average there is nothing to batch a request with',
  },
  'batching.min_delay_us': {
    value: 100,
    unit: 'µs',
    source: 'Triton docs/user_guide/batcher.md (example max_queue_delay_microseconds: 100)',
    why: 'lower bound of the suggested max_queue_delay_microseconds',
  },
  'batching.max_delay_us': {
    value: 1000,
    unit: 'µs',
    source: 'TF Serving batching/README.md ("slightly above zero, e.g. 1 millisecond")',
    why: 'upper bound of the suggested queue delay; raise it only while p99 stays in budget',
  },
} as const satisfies Record<string, ThresholdSpec>;

function nextPow2(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, x)));
}

/** The dynamic-batching rule. */
export const dynamicBatchingRule: Rule = {
  id: 'dynamic-batching',
  effort: 'config',
  pass: 1,
  aggregates: 'partial',
  aggregatesNote: 'mean batch size from batch counters or the batch-size histogram; the suggested max batch size uses the mean in flight (the per-arrival concurrency p95 needs traces)',
  thresholdKeys: Object.keys(BATCHING_THRESHOLDS) as (keyof typeof BATCHING_THRESHOLDS)[],
  evaluate(ctx: RuleContext): RuleResult {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const queue = s.phases.queue;
    const compute = s.phases.compute;
    const batchRecorded = s.batch.recorded > 0 && s.batch.recorded >= s.diagnosed / 2;
    const meanBatch = batchRecorded ? s.batch.meanSize : 1;
    const queueOverCompute = compute.p95Ms > 0 ? queue.p95Ms / compute.p95Ms : queue.p95Ms > 0 ? Number.POSITIVE_INFINITY : 0;
    const inputs = {
      queue_share: round(queue.share),
      queue_p95_ms: round(queue.p95Ms),
      compute_p95_ms: round(compute.p95Ms),
      queue_over_compute: round(queueOverCompute),
      mean_batch_size: round(meanBatch),
      batch_size_recorded: batchRecorded,
      mean_in_flight: round(s.meanInFlight),
      arrival_rps: round(s.arrivalRps),
    };
    const failed: string[] = [];
    if (queue.share < t['batching.min_queue_share']) failed.push(`queue is ${pct(queue.share)} of e2e (< ${pct(t['batching.min_queue_share'])})`);
    if (queueOverCompute <= t['batching.queue_over_compute']) failed.push(`queue p95 ${ms(queue.p95Ms)} does not exceed compute p95 ${ms(compute.p95Ms)}`);
    if (meanBatch > t['batching.max_mean_batch']) failed.push(`requests already run in batches of ${meanBatch.toFixed(1)} on average`);
    if (s.meanInFlight < t['batching.min_in_flight']) failed.push(`only ${s.meanInFlight.toFixed(1)} requests in flight on average`);
    const outcome = { rule: this.id, inputs, thresholds: thresholdsOf(this, t) };
    if (failed.length > 0) return { outcome: { ...outcome, fired: false, reason: failed.join('; ') } };

    const maxBatchSize = clamp(nextPow2(s.p95InFlightAtArrival), 4, 128);
    const preferred = clamp(Math.round(s.meanInFlight), 2, maxBatchSize);
    const rawDelayUs = s.arrivalRps > 0 ? ((preferred - 1) / s.arrivalRps) * 1e6 : t['batching.max_delay_us'];
    const delayUs = Math.round(clamp(rawDelayUs, t['batching.min_delay_us'], t['batching.max_delay_us']) / 50) * 50;
    const delayMs = delayUs / 1000;
    // Once batched, a request waits at most for the batch in progress plus the queue delay (when capacity suffices).
    const expectedP95 = Math.max(compute.p95Ms, s.e2e.p95Ms - queue.p95Ms + delayMs + compute.p95Ms);
    const savedMeanMs = Math.max(0, queue.meanMs - (delayMs + compute.meanMs / 2));
    const perItem = s.batch.fit
      ? `compute ≈ ${ms(s.batch.fit.fixedMs)} + ${ms(s.batch.fit.perItemMs)} per item at the batch sizes seen`
      : `compute p50 = ${ms(compute.p50Ms)} per request at batch size 1`;
    const capacity = s.batch.fit ? maxBatchSize / ((s.batch.fit.fixedMs + s.batch.fit.perItemMs * maxBatchSize) / 1000) : undefined;
    const evidence = [
      {
        text: `queue p95 = ${ms(queue.p95Ms)}, ${pct(queue.share)} of e2e; mean batch size ${meanBatch.toFixed(1)} with ${s.meanInFlight.toFixed(1)} requests in flight on average`,
        values: { queue_p95_ms: round(queue.p95Ms), queue_share: round(queue.share), mean_batch_size: round(meanBatch), mean_in_flight: round(s.meanInFlight) },
      },
      {
        text: `requests wait longer than they run: queue p95 ${ms(queue.p95Ms)} vs compute p95 ${ms(compute.p95Ms)}; ${perItem}`,
        values: { compute_p95_ms: round(compute.p95Ms), compute_p50_ms: round(compute.p50Ms), queue_over_compute: round(queueOverCompute) },
      },
      {
        text: `arrival rate ${s.arrivalRps.toFixed(1)} requests/s${capacity !== undefined ? `; a batch of ${maxBatchSize} would serve about ${Math.round(capacity)} requests/s` : ''}`,
        values: { arrival_rps: round(s.arrivalRps), ...(capacity !== undefined ? { batched_capacity_rps: round(capacity) } : {}) },
      },
      ...(batchRecorded ? [] : [{ text: 'no inference.batch.size on compute spans: batch size assumed to be 1', values: {} }]),
    ];
    return {
      outcome: { ...outcome, fired: true, reason: `queue ${pct(queue.share)} of e2e, exceeds compute at p95, batch ≈ ${meanBatch.toFixed(1)}, ${s.meanInFlight.toFixed(1)} in flight` },
      finding: {
        confidence: confidenceFrom(queue.share / t['batching.min_queue_share'] - 1, s, batchRecorded ? 1 : 0.8),
        evidence,
        savedMeanMs,
        estimatedGain: {
          metric: 'p95_ms',
          currentValue: round(s.e2e.p95Ms),
          expectedValue: round(expectedP95),
          basis: `queueing model: with batching a request waits at most for the batch in progress (compute p95 ${ms(compute.p95Ms)}) plus the ${delayUs} µs queue delay, instead of queue p95 ${ms(queue.p95Ms)}`,
        },
        nextStep: batchingNextStep({ model: s.model, maxBatchSize, delayUs, arrivalRps: s.arrivalRps, meanInFlight: s.meanInFlight, preferred, delayCapped: rawDelayUs > t['batching.max_delay_us'], ...(s.runtime !== undefined ? { runtime: s.runtime } : {}) }),
        exampleTraceIds: tracesNear(s.requests, (r) => r.phases.queue ?? 0, queue.p95Ms),
      },
    };
  },
};

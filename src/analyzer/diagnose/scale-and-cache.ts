/**
 * @module analyzer/diagnose/scale-and-cache
 * Fix 6, two arms. Cache: many requests repeat an earlier input (duplicate
 * `inference.input.hash`). Scale: the server is saturated (batches already full and the
 * queue still longer than a batch takes to run), so more instances or replicas are needed.
 */
import type { ThresholdSpec } from './threshold-spec.js';
import type { Evidence, GainEstimate, NextStep } from '../../model/diagnosis.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';
import { confidenceFrom, ms, pct, round, thresholdsOf } from './rule.js';
import { CACHE_TITLE, SCALE_TITLE, cacheNextStep, scaleNextStep } from './content.js';
import { tracesNear } from './signals.js';

/** Thresholds of the scale-and-cache rule. */
export const SCALE_CACHE_THRESHOLDS = {
  'cache.min_duplicate_share': {
    value: 0.1,
    unit: 'ratio of hashed requests',
    source: 'reference §(c) fix 6 (ours: duplicate rate of normalized-input hashes ≥ 10%)',
    why: 'below one request in ten, a cache costs more to run than it saves',
  },
  'cache.min_hashed_share': {
    value: 0.5,
    unit: 'ratio of requests',
    source: 'ours',
    why: 'the duplicate share is only trusted when at least half the requests carry inference.input.hash',
  },
  'cache.lookup_ms': {
    value: 1,
    unit: 'ms',
    source: 'ours (one Redis GET on the same network)',
    why: 'a hit still pays the lookup; subtracted from the time a hit saves',
  },
  'scale.min_queue_share': {
    value: 0.25,
    unit: 'ratio of e2e',
    source: 'ours (same as batching.min_queue_share)',
    why: 'queueing must be a large part of end-to-end time',
  },
  'scale.queue_growth_p_value': {
    value: 0.05,
    unit: 'p-value (one-sided Mann-Kendall on window queue means)',
    source: 'ours',
    why: 'a queue that grows over the run means arrivals exceed capacity; supporting evidence only, so the usual 5% level',
  },
  'scale.queue_growth_rise': {
    value: 0.2,
    unit: 'ratio (Theil-Sen rise of the queue mean over the run)',
    source: 'ours (same as drift.min_rise)',
    why: 'the growth must be large enough to matter',
  },
  'scale.min_full_share': {
    value: 0.8,
    unit: 'ratio of batched requests',
    source: 'ours; Model Analyzer stops raising batch size when throughput gains < 5% (THROUGHPUT_MINIMUM_GAIN)',
    why: 'when four in five requests already run in a batch of the largest size seen, a bigger queue delay cannot help: capacity is the limit',
  },
} as const satisfies Record<string, ThresholdSpec>;

interface Arm {
  readonly saved: number;
  readonly evidence: Evidence[];
  readonly nextStep: NextStep;
  readonly gain: GainEstimate;
  readonly examples: readonly string[];
  readonly title: string;
  readonly margin: number;
}

/** The scale-and-cache rule. */
export const scaleAndCacheRule: Rule = {
  id: 'scale-and-cache',
  effort: 'config',
  pass: 1,
  aggregates: 'partial',
  aggregatesNote: 'scale arm only: the cache arm needs inference.input.hash on each request (traces)',
  thresholdKeys: Object.keys(SCALE_CACHE_THRESHOLDS) as (keyof typeof SCALE_CACHE_THRESHOLDS)[],
  evaluate(ctx: RuleContext): RuleResult {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const h = s.inputHash;
    const hashedShare = s.diagnosed > 0 ? h.recorded / s.diagnosed : 0;
    const queue = s.phases.queue;
    const compute = s.phases.compute;
    const queueGrowing = s.trends !== undefined && s.trends.phases.queue.pIncreasing < t['scale.queue_growth_p_value'] && s.trends.phases.queue.relativeRise >= t['scale.queue_growth_rise'];
    const inputs = {
      hashed_share: round(hashedShare),
      duplicate_share: round(h.duplicateShare),
      cache_hit_share: round(h.cacheHitShare),
      queue_share: round(queue.share),
      max_batch_size: s.batch.maxSize,
      full_batch_share: round(s.batch.fullShare),
      queue_p95_ms: round(queue.p95Ms),
      compute_p95_ms: round(compute.p95Ms),
      queue_growing: queueGrowing,
      gpu_utilization: s.gpu?.meanUtilization !== undefined ? round(s.gpu.meanUtilization) : null,
    };
    const outcome = { rule: this.id, inputs, thresholds: thresholdsOf(this, t) };
    const failed: string[] = [];
    const arms: Arm[] = [];

    // Cache arm.
    if (hashedShare < t['cache.min_hashed_share']) failed.push(`cache: only ${pct(hashedShare)} of requests carry inference.input.hash`);
    else if (h.duplicateShare < t['cache.min_duplicate_share']) failed.push(`cache: ${pct(h.duplicateShare)} of inputs repeat (< ${pct(t['cache.min_duplicate_share'])})`);
    else {
      const best = Math.max(...h.ttlHitRates.map((x) => x.hitRate));
      const pick = h.ttlHitRates.find((x) => x.hitRate >= 0.9 * best) ?? h.ttlHitRates[h.ttlHitRates.length - 1] ?? { ttlS: 300, hitRate: h.duplicateShare };
      const servedMs = queue.meanMs + s.phases.transfer.meanMs + compute.meanMs;
      const saved = pick.hitRate * Math.max(0, servedMs - t['cache.lookup_ms']);
      arms.push({
        saved,
        title: CACHE_TITLE,
        margin: h.duplicateShare / t['cache.min_duplicate_share'] - 1,
        evidence: [
          {
            text: `${pct(h.duplicateShare)} of requests repeat an earlier input (${h.distinctInputs} distinct inputs in ${h.recorded} hashed requests); a ${pick.ttlS} s TTL would have hit ${pct(pick.hitRate)}`,
            values: { duplicate_share: round(h.duplicateShare), distinct_inputs: h.distinctInputs, ttl_s: pick.ttlS, expected_hit_rate: round(pick.hitRate) },
          },
          ...(h.cacheHitShare > 0 ? [{ text: `${pct(h.cacheHitShare)} of requests were already cache hits`, values: { cache_hit_share: round(h.cacheHitShare) } }] : []),
        ],
        gain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `expected hit rate ${pct(pick.hitRate)} × the ${ms(servedMs)} a hit skips (queue + transfer + compute) minus a ${t['cache.lookup_ms']} ms lookup`,
        },
        nextStep: cacheNextStep({ model: s.model, ttlS: pick.ttlS, hitRate: pick.hitRate }),
        examples: h.exampleTraceIds,
      });
    }

    // Scale arm.
    const scaleFailed: string[] = [];
    if (queue.share < t['scale.min_queue_share']) scaleFailed.push(`queue is ${pct(queue.share)} of e2e`);
    if (s.batch.maxSize < 2 || s.batch.fullShare < t['scale.min_full_share']) scaleFailed.push(`batches are not full (${pct(s.batch.fullShare)} at the largest size ${s.batch.maxSize})`);
    if (!(queue.p95Ms > compute.p95Ms) && !queueGrowing) scaleFailed.push('the queue is neither longer than a batch nor growing');
    if (scaleFailed.length > 0) failed.push(`scale: ${scaleFailed.join(', ')}`);
    else {
      // M/M/1 reading of the measured queue: Wq = S·ρ/(1−ρ) gives ρ; k instances divide the load.
      const S = Math.max(compute.meanMs, 1e-6);
      const rho = queue.meanMs / (queue.meanMs + S);
      let instances = 2;
      let wq = (S * (rho / 2)) / (1 - rho / 2);
      while (instances < 5 && wq > 0.5 * S) {
        instances += 1;
        const r = rho / instances;
        wq = (S * r) / (1 - r);
      }
      const saved = Math.max(0, queue.meanMs - wq);
      arms.push({
        saved,
        title: SCALE_TITLE,
        margin: queue.share / t['scale.min_queue_share'] - 1,
        evidence: [
          {
            text: `batches are full: ${pct(s.batch.fullShare)} of requests ran in a batch of ${s.batch.maxSize}, yet queue p95 = ${ms(queue.p95Ms)} (${pct(queue.share)} of e2e) against compute p95 ${ms(compute.p95Ms)}${queueGrowing ? ', and the queue grows over the run' : ''}`,
            values: { full_batch_share: round(s.batch.fullShare), max_batch_size: s.batch.maxSize, queue_p95_ms: round(queue.p95Ms), queue_share: round(queue.share) },
          },
          ...(s.gpu?.meanUtilization !== undefined ? [{ text: `GPU utilization ${pct(s.gpu.meanUtilization)} on average`, values: { gpu_utilization: round(s.gpu.meanUtilization) } }] : []),
        ],
        gain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `M/M/1 reading of the measured queue (mean ${ms(queue.meanMs)}, service ${ms(S)}, utilization ${pct(rho)}), spread over ${instances} instances`,
        },
        nextStep: scaleNextStep({ model: s.model, instances }),
        examples: tracesNear(s.requests, (r) => r.phases.queue ?? 0, queue.p95Ms),
      });
    }

    if (arms.length === 0) return { outcome: { ...outcome, fired: false, reason: failed.join('; ') } };
    arms.sort((a, b) => b.saved - a.saved);
    const main = arms[0] as Arm;
    const other = arms[1];
    return {
      outcome: { ...outcome, fired: true, reason: arms.map((a) => (a.title === CACHE_TITLE ? `cache: ${pct(h.duplicateShare)} repeated inputs` : 'scale: saturated, batches full')).join('; ') },
      finding: {
        title: main.title,
        confidence: confidenceFrom(main.margin, s),
        evidence: [...main.evidence, ...(other ? other.evidence : [])],
        savedMeanMs: main.saved + (other ? other.saved : 0),
        estimatedGain: main.gain,
        nextStep: other ? { ...main.nextStep, text: `${main.nextStep.text} Also: ${other.nextStep.text}` } : main.nextStep,
        exampleTraceIds: main.examples,
      },
    };
  },
};

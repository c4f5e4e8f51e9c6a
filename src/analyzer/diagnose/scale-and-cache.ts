/**
 * @module analyzer/diagnose/scale-and-cache
 * Fix 6, two arms. Cache: many requests repeat an earlier input (duplicate
 * `inference.input.hash`). Scale: the server is saturated (batches already full and the
 * queue still longer than a batch takes to run), so more instances or replicas are needed.
 */
import type { ThresholdSpec } from './threshold-spec.js';
import type { Evidence, GainEstimate, NextStep } from '../../model/diagnosis.js';
import { confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { statKey, statName } from './statistic.js';
import { stem } from './_words.js';
import { tracesNear } from './signals.js';
import type { RequestTable } from '../../model/request-table.js';
import type { GenerationSignal, Signals } from './signals.js';
import type { Verdict } from './rule.js';
import { GENERATION_THRESHOLDS, engineNextStep, engineOf, forEngine, pickThresholds, ttftGain, ttftShareShort } from './_generation.js';
import type { Engine } from './_generation.js';

/** Thresholds of the scale-and-cache rule. */
export const SCALE_CACHE_THRESHOLDS = {
  'cache.min_duplicate_share': {
    value: 0.1,
    unit: 'ratio of hashed requests',
    max: 1,
    source: 'ours: duplicate rate of normalized-input hashes ≥ 10%',
    why: 'below one request in ten, a cache costs more to run than it saves',
  },
  'cache.min_hashed_share': {
    value: 0.5,
    unit: 'ratio of requests',
    max: 1,
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
    max: 1,
    source: 'ours (same as batching.min_queue_share)',
    why: 'queueing must be a large part of end-to-end time',
  },
  'scale.queue_growth_p_value': {
    value: 0.05,
    unit: 'p-value (one-sided Mann-Kendall on window queue means)',
    max: 1,
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
    max: 1,
    source: 'ours; Model Analyzer stops raising batch size when throughput gains < 5% (THROUGHPUT_MINIMUM_GAIN, https://github.com/triton-inference-server/model_analyzer/blob/main/docs/config_search.md)',
    why: 'when four in five requests already run in a batch of the largest size seen, a bigger queue delay cannot help: capacity is the limit',
  },
  'scale.min_batch_fill': {
    value: 0.9,
    unit: 'ratio (mean batch ÷ largest batch seen)',
    source: 'ours; same spirit as Model Analyzer stopping its batch-size sweep when throughput gains < 5% (THROUGHPUT_MINIMUM_GAIN, https://github.com/triton-inference-server/model_analyzer/blob/main/docs/config_search.md)',
    why: 'batches of 30–32 of 32 are full for capacity purposes even though few hit exactly 32: filling the last tenth of a batch buys at most about a tenth more throughput, not the relief a queue that long needs',
  },
  'cache.gen.min_ttft_prefill_share': {
    value: 0.5,
    unit: 'ratio of TTFT',
    max: 1,
    source: 'ours (same as batching.gen.min_ttft_prefill_share)',
    why: 'prefill must be most of the time to first token for skipping part of it to matter',
  },
  'cache.gen.max_cached_share': {
    value: 0.1,
    unit: 'ratio of prompt tokens (inference.tokens.cached ÷ inference.tokens.input)',
    max: 1,
    source: 'ours',
    why: 'when a tenth of prompt tokens already come from the prefix cache, it is on: recommending it again would be noise',
  },
  'scale.gen.min_ttft_queue_share': {
    value: 0.5,
    unit: 'ratio of TTFT',
    max: 1,
    source: 'ours (same as batching.gen.min_ttft_queue_share)',
    why: 'most of the time to first token is waiting for a slot',
  },
  'scale.gen.kv_memory_full': {
    value: 0.95,
    unit: 'ratio of GPU memory used',
    max: 1,
    source: 'vLLM Optimization and Tuning (https://docs.vllm.ai/en/latest/configuration/optimization.html): preemptions come from KV cache space running out; vLLM pre-allocates gpu_memory_utilization (0.9 by default) of GPU memory, so only a share above that says the cache itself is full',
    why: 'GPU memory above 95% used stands in for a full KV cache when the server exports no KV cache usage',
  },
  'scale.gen.kv_cache_full': {
    value: 0.95,
    unit: "ratio of the server's KV cache in use (vllm:kv_cache_usage_perc, sglang:token_usage)",
    source: 'vLLM Optimization and Tuning (https://docs.vllm.ai/en/latest/configuration/optimization.html): requests are preempted when KV cache space runs out; SGLang Hyperparameter Tuning (https://docs.sglang.io/advanced_features/hyperparameter_tuning.html): token usage above 0.9 is already good utilization. Any preemption counts as full',
    why: 'the fullest replica keeps 95% of its KV cache in use over the range: no room to admit the waiting requests',
  },
  ...pickThresholds(GENERATION_THRESHOLDS, 'generation.long_prompt_tokens', 'generation.min_prefix_repeat_share'),
} as const satisfies Record<string, ThresholdSpec>;

type ScaleCacheThresholds = Readonly<Record<keyof typeof SCALE_CACHE_THRESHOLDS, number>>;

/** Prefix caching in the engine's terms. */
function prefixCacheNextStep(engine: Engine, model: string): NextStep {
  return engineNextStep(engine, model, {
    text: {
      vllm: 'Turn on automatic prefix caching (--enable-prefix-caching; on by default in vLLM V1) and keep the shared part (system prompt, few-shot examples, document) at the start of the prompt so requests share whole KV blocks; vllm:prefix_cache_hits ÷ vllm:prefix_cache_queries shows the hit rate.',
      tgi: 'Keep the shared part of the prompt first so TGI’s prefix cache (on with its paged-attention backends) can reuse its KV cache; check the hit rate in the server logs.',
      trtllm: 'Enable KV cache block reuse (kv_cache_config enable_block_reuse) and keep the shared prefix first in the prompt.',
      sglang: 'SGLang’s RadixAttention prefix cache is on unless --disable-radix-cache was given: keep the shared part of the prompt first, and schedule requests that share a cached prefix together (--schedule-policy lpm, longest prefix match; SGLang Server Arguments). sglang:cached_tokens_total ÷ sglang:prompt_tokens_total shows the hit rate.',
      own: 'Keep the KV cache of prompt prefixes that repeat (a prefix cache keyed by the hash of the prefix tokens, as vLLM’s automatic prefix caching and SGLang’s RadixAttention do) and prefill only the new suffix; put the shared part first in the prompt.',
    },
    vllm: { enable_prefix_caching: true },
    code: { sglang: 'python -m sglang.launch_server --model-path MODEL --schedule-policy lpm', own: '# prefill(prompt): reuse kvCache.get(hash(prefixTokens)) and run the model on the remaining tokens only' },
  });
}

/** Scaling a generation server out, in the engine's terms. */
function generationScaleNextStep(engine: Engine, model: string, replicas: number): NextStep {
  return {
    text: forEngine(engine, {
      vllm: `The KV cache or the sequence slots are full while the queue grows: add replicas (start with ${replicas}) behind the load balancer, or give each replica more KV cache (--gpu-memory-utilization, --tensor-parallel-size). Watch vllm:num_preemptions and vllm:kv_cache_usage_perc.`,
      'triton-vllm': `The KV cache or the sequence slots are full while the queue grows: add replicas (start with ${replicas}) behind the load balancer, or give each replica more KV cache (the engine arguments gpu_memory_utilization and tensor_parallel_size in model_repository/${model}/1/model.json, where Triton’s vLLM backend reads them; reload the model after the change). Watch vllm:num_preemptions and vllm:gpu_cache_usage_perc.`,
      tgi: `The batch is full while the queue grows: add replicas (start with ${replicas}), or shard the model over more GPUs (--num-shard) to make room for a larger --max-batch-total-tokens.`,
      sglang: `The KV cache pool (sglang:token_usage) or the running slots are full while the queue grows: add replicas (start with ${replicas}) behind the SGLang router, or give each more KV cache (--mem-fraction-static, --tp). Requests retracted for want of KV cache show in the server log ("KV cache pool is full. Retract requests").`,
      own: `The decode batch is full while the queue grows: capacity is the limit. Add replicas (start with ${replicas}) or more KV cache memory per replica, and route new requests to the least-loaded replica.`,
    }),
  };
}

/** The generation form: a prefix cache for repeated long prompts, or scale out when slots or KV cache are full and the queue grows. */
function generationVerdict(s: Signals, g: GenerationSignal, t: ScaleCacheThresholds, engine: Engine): Verdict {
  const promptP50 = g.tokensIn?.p50 ?? 0;
  const queue = s.phases.queue;
  const queueTrend = s.trends?.phases.queue;
  const queueGrowing = queueTrend !== undefined && queueTrend.pIncreasing < t['scale.queue_growth_p_value'] && queueTrend.relativeRise >= t['scale.queue_growth_rise'];
  // The server's own KV cache gauge and preemption counter where it exports them (Prometheus path), else GPU memory as a proxy.
  const kvFull = (g.kvCacheUsage !== undefined && g.kvCacheUsage >= t['scale.gen.kv_cache_full']) || (g.preemptionsPerS ?? 0) > 0;
  const memoryFull = kvFull || (s.gpu?.memoryUsedShare !== undefined && s.gpu.memoryUsedShare >= t['scale.gen.kv_memory_full']);
  const batchFull = s.batch.maxSize >= 2 && (s.batch.fullShare >= t['scale.min_full_share'] || (s.batch.fill !== undefined && s.batch.fill >= t['scale.min_batch_fill']));
  const inputs = {
    [statKey('ttft', g.ttft, 'p95')]: round(g.ttft.p95Ms),
    ttft_prefill_share: round(g.ttftPrefillShare),
    ttft_queue_share: round(g.ttftQueueShare),
    [statKey('prompt_tokens', g.tokensIn, 'p50', '')]: g.tokensIn ? round(promptP50) : null,
    prefix_repeat_share: g.prefixRepeatShare === undefined ? null : round(g.prefixRepeatShare),
    cached_share: g.cachedShare === undefined ? null : round(g.cachedShare),
    queue_growing: queueGrowing,
    full_batch_share: round(s.batch.fullShare),
    gpu_memory_used_share: s.gpu?.memoryUsedShare === undefined ? null : round(s.gpu.memoryUsedShare),
    kv_cache_usage: g.kvCacheUsage === undefined ? null : round(g.kvCacheUsage),
    preemptions_per_s: g.preemptionsPerS === undefined ? null : round(g.preemptionsPerS),
  };
  const failed: string[] = [];
  const pc: string[] = [];
  if (g.ttftPrefillShare < t['cache.gen.min_ttft_prefill_share']) pc.push(ttftShareShort(s, 'prefill', g.ttftPrefillShare));
  if (promptP50 < t['generation.long_prompt_tokens']) pc.push(g.tokensIn ? `prompts are short (${statName(g.tokensIn, 'p50')} ${Math.round(promptP50)} tokens)` : 'prompt length unknown');
  if (g.prefixRepeatShare === undefined) pc.push('no inference.input.hash of the prompt prefix');
  else if (g.prefixRepeatShare < t['generation.min_prefix_repeat_share']) pc.push(`${pct(g.prefixRepeatShare)} of prompt prefixes repeat (< ${pct(t['generation.min_prefix_repeat_share'])})`);
  if (g.cachedShare !== undefined && g.cachedShare >= t['cache.gen.max_cached_share']) pc.push(`${pct(g.cachedShare)} of prompt tokens already come from a prefix cache`);
  if (pc.length === 0) {
    const repeat = g.prefixRepeatShare as number;
    const prefillMean = s.phases.prefill.meanMs;
    // Upper bound: a repeated prefix skips its whole prefill (the suffix still has to run).
    const saved = repeat * prefillMean;
    return {
      inputs,
      reason: `prefill ${pct(g.ttftPrefillShare)} of TTFT, prompts ${statName(g.tokensIn, 'p50')} ${Math.round(promptP50)} tokens, ${pct(repeat)} of prefixes repeat`,
      finding: {
        kind: 'prefix-cache',
        confidence: confidenceFrom(repeat / t['generation.min_prefix_repeat_share'] - 1, s, g.prefixHashedShare >= 0.5 ? 1 : 0.8),
        evidence: [
          {
            text: `${pct(repeat)} of requests repeat a prompt prefix seen before; prefill is ${pct(g.ttftPrefillShare)} of TTFT summed over all requests (TTFT ${statName(g.ttft, 'p95')} ${ms(g.ttft.p95Ms)}) with prompts of ${Math.round(promptP50)} tokens (${statName(g.tokensIn, 'p50')})`,
            values: { prefix_repeat_share: round(repeat), ttft_prefill_share: round(g.ttftPrefillShare), [statKey('prompt_tokens', g.tokensIn, 'p50', '')]: round(promptP50) },
          },
          ...(g.cachedShare !== undefined ? [{ text: `only ${pct(g.cachedShare)} of prompt tokens come from a prefix cache now`, values: { cached_share: round(g.cachedShare) } }] : []),
        ],
        savedMeanMs: saved,
        estimatedGain: ttftGain(g.ttft, Math.max(0, g.ttft.p95Ms - repeat * s.phases.prefill.p95Ms), `upper bound: the ${pct(repeat)} of requests with a repeated prefix skip its prefill (prefill ${statName(s.phases.prefill, 'p95')} ${ms(s.phases.prefill.p95Ms)})`),
        nextStep: prefixCacheNextStep(engine, s.model),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('prefill'), s.phases.prefill.p95Ms),
      },
    };
  }
  failed.push(`prefix cache: ${pc.join(', ')}`);
  const sc: string[] = [];
  if (g.ttftQueueShare < t['scale.gen.min_ttft_queue_share']) sc.push(ttftShareShort(s, 'queue', g.ttftQueueShare));
  if (!queueGrowing) sc.push('the queue does not grow over the run');
  if (!batchFull && !memoryFull) sc.push(`neither are decode batches full (${pct(s.batch.fullShare)} at the largest size ${s.batch.maxSize}) nor is the KV cache full${g.kvCacheUsage !== undefined ? ` (${pct(g.kvCacheUsage)} in use)` : s.gpu?.memoryUsedShare !== undefined ? ` (GPU memory ${pct(s.gpu.memoryUsedShare)} used)` : ' (not measured: no KV cache gauge, no GPU memory samples)'}`);
  if (sc.length === 0) {
    const replicas = 2;
    return {
      inputs,
      reason: `queue ${pct(g.ttftQueueShare)} of TTFT and growing; ${batchFull ? 'decode batches full' : 'GPU memory full'}`,
      finding: {
        kind: 'scale-generation',
        confidence: confidenceFrom(g.ttftQueueShare / t['scale.gen.min_ttft_queue_share'] - 1, s, 0.9),
        evidence: [
          {
            text: `queue is ${pct(g.ttftQueueShare)} of TTFT summed over all requests (TTFT ${statName(g.ttft, 'p95')} ${ms(g.ttft.p95Ms)}) and grows over the run (window mean ${ms(queueTrend!.first)} → ${ms(queueTrend!.last)})`,
            values: { ttft_queue_share: round(g.ttftQueueShare), queue_first_ms: round(queueTrend!.first), queue_last_ms: round(queueTrend!.last) },
          },
          batchFull
            ? { text: `decode batches are full: ${pct(s.batch.fullShare)} of requests ran at the largest batch of ${s.batch.maxSize}`, values: { full_batch_share: round(s.batch.fullShare), max_batch_size: s.batch.maxSize } }
            : kvFull
              ? { text: `the server's KV cache is full: ${g.kvCacheUsage !== undefined ? `${pct(g.kvCacheUsage)} of its blocks in use` : 'usage not exported'}${(g.preemptionsPerS ?? 0) > 0 ? `, ${(g.preemptionsPerS ?? 0).toFixed(2)} preemptions/s` : ''}`, values: { ...(g.kvCacheUsage !== undefined ? { kv_cache_usage: round(g.kvCacheUsage) } : {}), preemptions_per_s: round(g.preemptionsPerS ?? 0) } }
              : { text: `GPU memory ${pct(s.gpu!.memoryUsedShare!)} used: the KV cache has no room for more sequences`, values: { gpu_memory_used_share: round(s.gpu!.memoryUsedShare!) } },
        ],
        savedMeanMs: queue.meanMs / 2,
        estimatedGain: ttftGain(g.ttft, Math.max(0, g.ttft.p95Ms - queue.p95Ms / 2), `${replicas} replicas halve the arrivals each one sees; at least half the queue wait goes (more when the queue was growing)`),
        nextStep: generationScaleNextStep(engine, s.model, replicas),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('queue'), queue.p95Ms),
      },
    };
  }
  failed.push(`scale: ${sc.join(', ')}`);
  return { inputs, reason: failed.join('; ') };
}

interface Arm {
  readonly saved: number;
  readonly evidence: Evidence[];
  readonly nextStep: NextStep;
  readonly gain: GainEstimate;
  readonly examples: readonly string[];
  readonly kind: 'scale' | 'cache';
  readonly margin: number;
}

/** Scale-out plan. */
function scaleNextStep(p: { model: string; instances: number }): NextStep {
  return {
    text: `Add model instances or replicas: Triton overlaps copies with compute when two instances share a GPU, and Model Analyzer sweeps 1–5 instances. Start with ${p.instances} and measure again; when one GPU is saturated add replicas on other GPUs, or split the model (model parallelism) when it does not fit.`,
    snippet: { language: 'protobuf', code: [`# ${stem(p.model)}/config.pbtxt`, `instance_group [ { count: ${p.instances} kind: KIND_GPU } ]`].join('\n') },
  };
}

/** Prediction-cache sketch with the expected hit rate. */
function cacheNextStep(p: { model: string; ttlS: number; hitRate: number }): NextStep {
  return {
    text: `Cache predictions keyed by a hash of (model, version, normalized input), as Triton's response cache does. Replaying this run, a TTL of ${p.ttlS} s would have answered ${Math.round(p.hitRate * 100)}% of requests from the cache. Triton has a built-in response cache (local or Redis: enable it on the server and with response_cache { enable: true } in the model config).`,
    snippet: {
      language: 'typescript',
      code: [
        `const key = \`pred:${stem(p.model)}:\${modelVersion}:\${sha256(normalize(input))}\`;`,
        'const cached = await redis.get(key);',
        'if (cached !== null) return JSON.parse(cached);',
        'const result = await infer(input);',
        `await redis.set(key, JSON.stringify(result), { EX: ${p.ttlS} });`,
      ].join('\n'),
    },
  };
}

/** Duplicate normalized inputs (inference.input.hash). */
export interface InputHashSignal {
  /** Requests carrying a hash. */
  readonly recorded: number;
  /** Share of hashed requests whose input was seen before in the run (and was not already a cache hit). */
  readonly duplicateShare: number;
  readonly distinctInputs: number;
  /** Simulated hit rate of a cache with each TTL, replaying the run. */
  readonly ttlHitRates: readonly { readonly ttlS: number; readonly hitRate: number }[];
  readonly exampleTraceIds: readonly string[];
}

/** TTLs (seconds) the cache simulation replays; the recommendation picks the shortest that gets most of the hits. */
const CANDIDATE_TTLS_S = [1, 10, 60, 300, 3600, 86_400] as const;

/** Duplicate inputs and a replay of the run through a cache with each candidate TTL. */
function inputHashSignal(requests: RequestTable, signals: Pick<Signals, 'startSeconds'>): InputHashSignal {
  // Intern each hash to a small integer once; the TTL replays then index typed arrays instead of maps.
  const idOf = new Map<string, number>();
  const hashIds: number[] = [];
  const times: number[] = [];
  let duplicates = 0;
  const examples: string[] = [];
  // Most runs carry no hash (it is opt-in): nothing to replay, and no pass over every request.
  const n = requests.hasInputHashes ? requests.length : 0;
  // A new array on each call: made only where there are hashes to replay.
  const startS = n > 0 ? signals.startSeconds() : new Float64Array(0);
  for (let i = 0; i < n; i++) {
    const hash = requests.inputHash(i);
    if (hash === undefined || hash === '') continue;
    let id = idOf.get(hash);
    if (id === undefined) {
      id = idOf.size;
      idOf.set(hash, id);
    } else if (requests.cacheHit(i) !== true) {
      duplicates += 1;
      if (examples.length < 3) examples.push(requests.traceId(i));
    }
    hashIds.push(id);
    times.push(startS[i] as number);
  }
  const recorded = hashIds.length;
  const ttlHitRates = CANDIDATE_TTLS_S.map((ttlS) => {
    // A cache filled on miss, entries expire ttlS after they were stored.
    const storedAt = new Float64Array(idOf.size).fill(Number.NaN);
    let hits = 0;
    for (let k = 0; k < recorded; k++) {
      const id = hashIds[k] as number;
      const t = times[k] as number;
      const stored = storedAt[id] as number;
      if (!Number.isNaN(stored) && t - stored <= ttlS) hits += 1;
      else storedAt[id] = t;
    }
    return { ttlS, hitRate: recorded > 0 ? hits / recorded : 0 };
  });
  return {
    recorded,
    duplicateShare: recorded > 0 ? duplicates / recorded : 0,
    distinctInputs: idOf.size,
    ttlHitRates,
    exampleTraceIds: examples,
  };
}

/** The scale-and-cache rule. */
export const scaleAndCacheRule = defineRule({
  id: 'scale-and-cache',
  effort: 'config',
  needs: { inputs: ['phase-distributions', 'batch-sizes'], refinedBy: ['input-hashes', 'time-windows', 'generation'], gpu: 'optional' },
  content: {
    title: 'Scale out or cache predictions',
    phases: ['queue'],
    kinds: {
      scale: 'Scale out: the server is saturated (batches full, queue still long)',
      cache: 'Add a prediction cache: many requests repeat an earlier input',
      'prefix-cache': 'Cache the KV of repeated prompt prefixes (prefix caching)',
      'scale-generation': 'Scale out: decode slots or KV cache full while the queue grows',
    },
  },
  thresholds: SCALE_CACHE_THRESHOLDS,
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    if (s.generation) return generationVerdict(s, s.generation, t, engineOf(s, ctx.server));
    const h = inputHashSignal(s.requests, s);
    const hashedShare = s.diagnosed > 0 ? h.recorded / s.diagnosed : 0;
    const queue = s.phases.queue;
    const compute = s.phases.compute;
    const queueGrowing = s.trends !== undefined && s.trends.phases.queue.pIncreasing < t['scale.queue_growth_p_value'] && s.trends.phases.queue.relativeRise >= t['scale.queue_growth_rise'];
    const inputs = {
      hashed_share: round(hashedShare),
      duplicate_share: round(h.duplicateShare),
      cache_hit_share: round(s.cacheHitShare),
      queue_share: round(queue.share),
      max_batch_size: s.batch.maxSize,
      full_batch_share: round(s.batch.fullShare),
      batch_fill: s.batch.fill === undefined ? null : round(s.batch.fill),
      [statKey('queue', queue, 'p95')]: round(queue.p95Ms),
      [statKey('compute', compute, 'p95')]: round(compute.p95Ms),
      queue_growing: queueGrowing,
      gpu_utilization: s.gpu?.meanUtilization !== undefined ? round(s.gpu.meanUtilization) : null,
    };
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
        kind: 'cache',
        margin: h.duplicateShare / t['cache.min_duplicate_share'] - 1,
        evidence: [
          {
            text: `${pct(h.duplicateShare)} of requests repeat an earlier input (${h.distinctInputs} distinct inputs in ${h.recorded} hashed requests); a ${pick.ttlS} s TTL would have hit ${pct(pick.hitRate)}`,
            values: { duplicate_share: round(h.duplicateShare), distinct_inputs: h.distinctInputs, ttl_s: pick.ttlS, expected_hit_rate: round(pick.hitRate) },
          },
          ...(s.cacheHitShare > 0 ? [{ text: `${pct(s.cacheHitShare)} of requests were already cache hits`, values: { cache_hit_share: round(s.cacheHitShare) } }] : []),
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
    const fill = s.batch.fill;
    const nearlyFull = fill !== undefined && fill >= t['scale.min_batch_fill'];
    if (s.batch.maxSize < 2 || (s.batch.fullShare < t['scale.min_full_share'] && !nearlyFull)) scaleFailed.push(`batches are not full (${pct(s.batch.fullShare)} at the largest size ${s.batch.maxSize}${fill !== undefined ? `, mean batch ${round(s.batch.meanSize, 1)} = ${pct(fill)} of it` : ''})`);
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
        kind: 'scale',
        margin: queue.share / t['scale.min_queue_share'] - 1,
        evidence: [
          {
            text: `batches are full: ${pct(s.batch.fullShare)} of requests ran in a batch of ${s.batch.maxSize} (mean batch ${round(s.batch.meanSize, 1)}), yet queue ${statName(queue, 'p95')} = ${ms(queue.p95Ms)} (${pct(queue.share)} of e2e) against compute ${statName(compute, 'p95')} ${ms(compute.p95Ms)}${queueGrowing ? ', and the queue grows over the run' : ''}`,
            values: { full_batch_share: round(s.batch.fullShare), max_batch_size: s.batch.maxSize, mean_batch_size: round(s.batch.meanSize), [statKey('queue', queue, 'p95')]: round(queue.p95Ms), queue_share: round(queue.share) },
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
        examples: tracesNear(s.requests, s.requests.phase('queue'), queue.p95Ms),
      });
    }

    if (arms.length === 0) return { inputs, reason: failed.join('; ') };
    arms.sort((a, b) => b.saved - a.saved);
    const main = arms[0] as Arm;
    const other = arms[1];
    return {
      inputs,
      reason: arms.map((a) => (a.kind === 'cache' ? `cache: ${pct(h.duplicateShare)} repeated inputs` : 'scale: saturated, batches full')).join('; '),
      finding: {
        kind: main.kind,
        confidence: confidenceFrom(main.margin, s),
        evidence: [...main.evidence, ...(other ? other.evidence : [])],
        savedMeanMs: main.saved + (other ? other.saved : 0),
        estimatedGain: main.gain,
        nextStep: other ? { ...main.nextStep, text: `${main.nextStep.text} Also: ${other.nextStep.text}` } : main.nextStep,
        exampleTraceIds: main.examples,
      },
    };
  },
});

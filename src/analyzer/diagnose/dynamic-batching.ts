/**
 * @module analyzer/diagnose/dynamic-batching
 * Fix 1: queueing dominates while requests run one at a time under concurrency, so the
 * server should batch them. Signature from perf_analyzer's own docs: at concurrency 3,
 * queue 21.7 ms while compute infer stays at 11.7 ms and throughput stays flat.
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { lowerIncludes, stem } from './_words.js';
import { isMean, statKey, statName } from './statistic.js';
import { tracesNear } from './signals.js';
import { clamp, leastSquares, quantileOfCounts } from './stats.js';
import type { RequestTable } from '../../model/request-table.js';
import type { GenerationSignal, Signals } from './signals.js';
import type { Verdict } from './rule.js';
import { GENERATION_THRESHOLDS, decodeBatch, engineNextStep, engineOf, pickThresholds, ttftGain, ttftShareShort } from './_generation.js';
import type { Engine } from './_generation.js';

/** Thresholds of the dynamic-batching rule. */
export const BATCHING_THRESHOLDS = {
  'batching.min_queue_share': {
    value: 0.25,
    unit: 'ratio of e2e',
    max: 1,
    source: 'ours',
    why: 'queueing must be a large part of end-to-end time (a quarter) for batching to be the first thing to change',
  },
  'batching.queue_over_compute': {
    value: 1,
    unit: 'ratio queue p95 / compute p95',
    source: 'ours, anchored on perf_analyzer "Measurements and metrics" (https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/measurements_metrics.md): at saturation queue 21.7–33.7 ms against compute infer 11.7 ms',
    why: 'requests wait longer in the queue than they take to run: the server, not the model, is the bottleneck',
  },
  'batching.max_mean_batch': {
    value: 1.5,
    unit: 'requests per batch',
    source: 'Triton metrics (https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md): nv_inference_count / nv_inference_exec_count ≈ 1 means no batching; 1.5 is ours',
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
    source: 'Triton dynamic batcher guide (https://github.com/triton-inference-server/server/blob/main/docs/user_guide/batcher.md), example max_queue_delay_microseconds: 100',
    why: 'lower bound of the suggested max_queue_delay_microseconds',
  },
  'batching.max_delay_us': {
    value: 1000,
    unit: 'µs',
    source: 'TensorFlow Serving batching guide (https://github.com/tensorflow/serving/blob/master/tensorflow_serving/batching/README.md): batch_timeout_micros "slightly above zero, e.g. 1 millisecond"',
    why: 'upper bound of the suggested queue delay; raise it only while p99 stays in budget',
  },
  'batching.gen.min_ttft_queue_share': {
    value: 0.5,
    unit: 'ratio of TTFT',
    max: 1,
    source: 'ours; Orca (Yu et al., OSDI 2022, https://www.usenix.org/conference/osdi22/presentation/yu): with request-level batching a new request waits for the whole running batch to finish generating',
    why: 'when most of the time to first token is spent waiting for a slot, the scheduler, not the model, sets TTFT',
  },
  'batching.gen.min_ttft_prefill_share': {
    value: 0.5,
    unit: 'ratio of TTFT',
    max: 1,
    source: 'ours; Sarathi-Serve (Agrawal et al., OSDI 2024, https://arxiv.org/abs/2403.02310): long prefills stall the decode steps batched with them',
    why: 'prefill is most of the time to first token',
  },
  'batching.gen.min_queue_steps': {
    value: 4,
    unit: 'decode steps (queue p95 ÷ TPOT p50)',
    source: 'ours; Orca (Yu et al., OSDI 2022, https://www.usenix.org/conference/osdi22/presentation/yu): with iteration-level scheduling a waiting request joins the running batch at the next iteration',
    why: 'a queue of a step or two is a request waiting for the next decode step, which is continuous batching at work; from four steps on, requests wait for a slot',
  },
  'batching.gen.min_prefill_stall_steps': {
    value: 4,
    unit: 'decode steps (prefill p95 ÷ TPOT p50)',
    source: 'ours; Sarathi-Serve (Agrawal et al., OSDI 2024, https://arxiv.org/abs/2403.02310): an iteration that runs a prefill lasts as long as the prefill, so every decode batched with it waits that long ("generation stalls")',
    why: 'a prefill of a few decode steps is a stall no stream notices, however large its share of a short TTFT; from four steps on, chunking it is worth its cost',
  },
  ...pickThresholds(GENERATION_THRESHOLDS, 'generation.small_decode_batch', 'generation.long_prompt_tokens', 'generation.min_prefix_repeat_share'),
} as const satisfies Record<string, ThresholdSpec>;

type BatchingThresholds = Readonly<Record<keyof typeof BATCHING_THRESHOLDS, number>>;

/**
 * How the slots or the batch were sized: the p95 of requests in flight at each arrival (per-request
 * start times), or, without them (aggregates), the mean in flight by Little's law.
 */
function sizedBy(p: { fromMean: boolean; inFlight: number }): string {
  return p.fromMean ? `the ${p.inFlight.toFixed(1)} requests in flight on average (Little's law: no arrival times in metrics), rounded up to a power of two` : 'the p95 of requests in flight at arrival, rounded up to a power of two';
}

/** Continuous-batching settings in the engine's terms. */
function continuousBatchingNextStep(engine: Engine, model: string, p: { seqs: number; inFlight: number; fromMean: boolean }): NextStep {
  const text = {
    vllm: `vLLM batches continuously already: the slots are the limit. Raise --max-num-seqs to at least ${p.seqs} (${p.fromMean ? sizedBy(p) : 'requests in flight at p95'}) and --max-num-batched-tokens with it, while KV cache usage (vllm:kv_cache_usage_perc) stays below 100% and preemptions (vllm:num_preemptions) stay at 0 (vLLM Optimization and Tuning).`,
    tgi: `TGI batches continuously: give it room. Raise --max-batch-total-tokens (the KV cache budget) and --max-concurrent-requests to at least ${p.seqs}; --waiting-served-ratio sets how eagerly waiting requests join the running batch (TGI launcher arguments).`,
    trtllm: `Use TensorRT-LLM's in-flight batching (the default batching type of its executor) with max_batch_size of at least ${p.seqs} and max_num_tokens sized to the KV cache.`,
    // SGLang Server Arguments (https://docs.sglang.io/advanced_features/server_arguments.html) and Hyperparameter Tuning (https://docs.sglang.io/advanced_features/hyperparameter_tuning.html).
    sglang: `SGLang batches continuously: the running-request cap or its admission is the limit. Raise --max-running-requests to at least ${p.seqs}; when sglang:token_usage stays below 0.9 while requests queue, lower --schedule-conservativeness (e.g. 0.3) so the scheduler admits more of them (SGLang Hyperparameter Tuning).`,
    own: `Batch at every decode step (continuous, iteration-level batching as in Orca and vLLM): admit waiting requests into the running batch at the next step instead of running one request to completion; size the batch to at least ${p.seqs} sequences (${sizedBy(p)}${p.fromMean ? '' : `; ${p.inFlight.toFixed(1)} in flight on average`}).`,
  };
  return engineNextStep(engine, model, {
    text,
    vllm: { max_num_seqs: p.seqs, max_num_batched_tokens: Math.max(2048, p.seqs * 256) },
    code: { tgi: `text-generation-launcher --model-id MODEL --max-concurrent-requests ${Math.max(128, p.seqs)} --max-batch-total-tokens ${Math.max(16384, p.seqs * 1024)}`, sglang: `python -m sglang.launch_server --model-path MODEL --max-running-requests ${p.seqs} --schedule-conservativeness 0.3`, own: `# scheduler: every decode step runs all active sequences (up to ${p.seqs}) and admits waiting ones` },
  });
}

/** Chunked-prefill settings in the engine's terms. */
function chunkedPrefillNextStep(engine: Engine, model: string, budget: number): NextStep {
  const text = {
    vllm: `Chunk long prefills so they share steps with decodes (Sarathi-Serve): --enable-chunked-prefill with --max-num-batched-tokens ${budget} (vLLM V1 chunks by default; lower the budget to favour inter-token latency, raise it to favour TTFT).`,
    tgi: `Cap the prefill work per step with --max-batch-prefill-tokens ${budget}, so long prompts do not stall the running decodes.`,
    trtllm: `Enable chunked context (enable_chunked_context) with max_num_tokens ${budget}.`,
    sglang: `Chunk long prefills with --chunked-prefill-size ${budget} and mix them into decode batches (--enable-mixed-chunk), so long prompts do not stall the running decodes (SGLang Server Arguments).`,
    own: `Split a long prompt's prefill into chunks of about ${budget} tokens run alongside the decode steps of other requests (chunked prefill, Sarathi-Serve), instead of one long prefill step that stalls the batch.`,
  };
  return engineNextStep(engine, model, {
    text,
    vllm: { enable_chunked_prefill: true, max_num_batched_tokens: budget },
    code: { tgi: `text-generation-launcher --model-id MODEL --max-batch-prefill-tokens ${budget}`, sglang: `python -m sglang.launch_server --model-path MODEL --chunked-prefill-size ${budget} --enable-mixed-chunk`, own: '' },
  });
}

/** The generation form: continuous batching, or chunked prefill for long unique prompts. */
function generationVerdict(s: Signals, g: GenerationSignal, t: BatchingThresholds, engine: Engine): Verdict {
  const batch = decodeBatch(s);
  const inputs = {
    generative_requests: g.requests,
    [statKey('ttft', g.ttft, 'p95')]: round(g.ttft.p95Ms),
    ttft_queue_share: round(g.ttftQueueShare),
    ttft_prefill_share: round(g.ttftPrefillShare),
    mean_decode_batch: round(batch.mean),
    decode_batch_recorded: batch.recorded,
    mean_in_flight: round(s.meanInFlight),
    [statKey('prompt_tokens', g.tokensIn, 'p50', '')]: g.tokensIn ? round(g.tokensIn.p50) : null,
    prefix_repeat_share: g.prefixRepeatShare === undefined ? null : round(g.prefixRepeatShare),
  };
  const queue = s.phases.queue;
  // Continuous batching: TTFT is mostly waiting for a slot while decode steps run few sequences.
  const cb: string[] = [];
  if (g.ttftQueueShare < t['batching.gen.min_ttft_queue_share']) cb.push(ttftShareShort(s, 'queue', g.ttftQueueShare, t['batching.gen.min_ttft_queue_share']));
  if (batch.mean > t['generation.small_decode_batch']) cb.push(`decode steps already run ${batch.mean.toFixed(1)} sequences on average`);
  if (s.meanInFlight < t['batching.min_in_flight']) cb.push(`only ${s.meanInFlight.toFixed(1)} requests in flight on average`);
  // Unknown TPOT (one token per request) leaves the check out rather than blocking.
  const queueSteps = g.tpot !== undefined && g.tpot.p50Ms > 0 ? queue.p95Ms / g.tpot.p50Ms : undefined;
  if (queueSteps !== undefined && queueSteps < t['batching.gen.min_queue_steps']) {
    cb.push(`a queue ${statName(queue, 'p95')} of ${ms(queue.p95Ms)} is ${queueSteps.toFixed(1)} decode steps of TPOT ${statName(g.tpot, 'p50')} ${ms(g.tpot!.p50Ms)} (< ${t['batching.gen.min_queue_steps']}): requests already join the running batch within a few steps`);
  }
  if (cb.length === 0) {
    // Without arrival times (aggregates) the mean in flight (Little's law) sizes the slots instead.
    const seqs = clamp(nextPow2(s.requests.length > 0 ? p95InFlightAtArrival(s) : s.meanInFlight), 4, 256);
    const stepMs = g.tpot?.p50Ms ?? 0;
    // Admitted at the next decode step: a new request waits about one step instead of the queue. The
    // part of TTFT that is not queue (prefill) stays: p95 TTFT − p95 queue is that part only where the
    // two come from the same requests; from two histograms (aggregates) the queue's p95 can exceed
    // TTFT's and promised a TTFT of 0 ms, so the non-queue share of TTFT is the floor.
    const expectedTtft = Math.max(0, g.ttft.p95Ms - queue.p95Ms, g.ttft.p95Ms * (1 - g.ttftQueueShare)) + stepMs;
    return {
      inputs,
      reason: `queue ${pct(g.ttftQueueShare)} of TTFT with ${batch.recorded ? `${batch.mean.toFixed(1)} sequences per decode step` : 'sequences per decode step not recorded'} and ${s.meanInFlight.toFixed(1)} requests in flight`,
      finding: {
        kind: 'continuous-batching',
        confidence: confidenceFrom(g.ttftQueueShare / t['batching.gen.min_ttft_queue_share'] - 1, s, batch.recorded ? 1 : 0.8),
        evidence: [
          {
            // The share is Σ queue ÷ Σ TTFT (a ratio of means on aggregates), not a share of the p95.
            text: `TTFT ${statName(g.ttft, 'p95')} = ${ms(g.ttft.p95Ms)}; waiting in the queue is ${pct(g.ttftQueueShare)} of TTFT summed over all requests (queue ${statName(queue, 'p95')} ${ms(queue.p95Ms)})`,
            values: { [statKey('ttft', g.ttft, 'p95')]: round(g.ttft.p95Ms), ttft_queue_share: round(g.ttftQueueShare), [statKey('queue', queue, 'p95')]: round(queue.p95Ms) },
          },
          {
            // Not recorded (vLLM, TGI spans): assumed 1 for the check, never stated as measured.
            text: batch.recorded
              ? `decode steps run ${batch.mean.toFixed(1)} sequence${batch.mean === 1 ? '' : 's'} on average while ${s.meanInFlight.toFixed(1)} requests are in flight`
              : `${s.meanInFlight.toFixed(1)} requests in flight on average; sequences per decode step not recorded (no inference.batch.size on decode spans: assumed 1)`,
            values: { mean_decode_batch: round(batch.mean), mean_in_flight: round(s.meanInFlight) },
          },
        ],
        savedMeanMs: Math.max(0, queue.meanMs - stepMs),
        estimatedGain: ttftGain(g.ttft, expectedTtft, `iteration-level batching admits a waiting request at the next decode step (${g.tpot ? `TPOT ${statName(g.tpot, 'p50')} ${ms(stepMs)}` : 'TPOT not measured: the step counted as 0'}) instead of after the queue (${statName(queue, 'p95')} ${ms(queue.p95Ms)}); the ${pct(1 - g.ttftQueueShare)} of TTFT outside the queue stays`),
        nextStep: continuousBatchingNextStep(engine, s.model, { seqs, inFlight: s.meanInFlight, fromMean: s.requests.length === 0 }),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('queue'), queue.p95Ms),
      },
    };
  }
  // Chunked prefill: long prompts whose prefill is most of TTFT, not shared (shared prefixes are for the prefix cache).
  const cp: string[] = [];
  const promptP50 = g.tokensIn?.p50 ?? 0;
  if (g.ttftPrefillShare < t['batching.gen.min_ttft_prefill_share']) cp.push(ttftShareShort(s, 'prefill', g.ttftPrefillShare, t['batching.gen.min_ttft_prefill_share']));
  if (promptP50 < t['generation.long_prompt_tokens']) cp.push(g.tokensIn ? `prompts are short (${statName(g.tokensIn, 'p50')} ${Math.round(promptP50)} tokens < ${t['generation.long_prompt_tokens']})` : 'no inference.tokens.input: prompt length unknown');
  if (g.prefixRepeatShare !== undefined && g.prefixRepeatShare >= t['generation.min_prefix_repeat_share']) cp.push(`${pct(g.prefixRepeatShare)} of prompts repeat a prefix: prefix caching (scale-and-cache) fits better`);
  // Unknown TPOT (one token per request) leaves the stall unchecked rather than blocking.
  const prefill = s.phases.prefill;
  const stallSteps = g.tpot !== undefined && g.tpot.p50Ms > 0 && prefill.present > 0 ? prefill.p95Ms / g.tpot.p50Ms : undefined;
  if (stallSteps !== undefined && stallSteps < t['batching.gen.min_prefill_stall_steps']) {
    cp.push(`a prefill ${statName(prefill, 'p95')} of ${ms(prefill.p95Ms)} stalls the decodes batched with it for ${stallSteps.toFixed(1)} steps of TPOT ${statName(g.tpot, 'p50')} ${ms(g.tpot!.p50Ms)} (< ${t['batching.gen.min_prefill_stall_steps']})`);
  }
  if (cp.length === 0) {
    const budget = Math.max(512, 2 ** Math.round(Math.log2(Math.max(1, promptP50 / 2))));
    return {
      inputs,
      reason: `prefill ${pct(g.ttftPrefillShare)} of TTFT with prompts of ${Math.round(promptP50)} tokens (${statName(g.tokensIn, 'p50')})`,
      finding: {
        kind: 'chunked-prefill',
        confidence: confidenceFrom(g.ttftPrefillShare / t['batching.gen.min_ttft_prefill_share'] - 1, s, 0.8),
        evidence: [
          {
            text: `prefill is ${pct(g.ttftPrefillShare)} of TTFT summed over all requests (TTFT ${statName(g.ttft, 'p95')} ${ms(g.ttft.p95Ms)}); prompts ${isMean(g.tokensIn) ? `mean ${Math.round(promptP50)}` : `${statName(g.tokensIn, 'p50')} ${Math.round(promptP50)}, p95 ${Math.round(g.tokensIn?.p95 ?? 0)}`} tokens`,
            values: { ttft_prefill_share: round(g.ttftPrefillShare), [statKey('ttft', g.ttft, 'p95')]: round(g.ttft.p95Ms), [statKey('prompt_tokens', g.tokensIn, 'p50', '')]: round(promptP50) },
          },
        ],
        savedMeanMs: 0,
        nextStep: chunkedPrefillNextStep(engine, s.model, budget),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('prefill'), s.phases.prefill.p95Ms),
      },
    };
  }
  return { inputs, reason: `continuous batching: ${cb.join('; ')}. Chunked prefill: ${cp.join('; ')}` };
}

function nextPow2(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, x)));
}

/** Triton dynamic_batching block with values derived from the measured arrival rate and concurrency. */
function batchingNextStep(p: { model: string; maxBatchSize: number; delayUs: number; runtime?: string; arrivalRps: number; meanInFlight: number; fromMean: boolean; preferred: number; delayCapped: boolean; server?: string; engine: Engine }): NextStep {
  if (p.server === 'torchserve') return torchserveBatchingStep(p);
  if (p.server === 'ray-serve') return rayServeBatchingStep(p);
  // LLM engines batch continuously already: their own slots, not a Triton batcher, are the setting.
  if (p.engine !== 'own') return continuousBatchingNextStep(p.engine, p.model, { seqs: p.maxBatchSize, inFlight: p.meanInFlight, fromMean: p.fromMean });
  if (p.server === 'kserve') return kserveBatchingStep(p);
  const trt = lowerIncludes(p.runtime, 'tensorrt', 'trt');
  const code = [
    `# ${stem(p.model)}/config.pbtxt`,
    `max_batch_size: ${p.maxBatchSize}`,
    'dynamic_batching {',
    `  max_queue_delay_microseconds: ${p.delayUs}`,
    trt ? `  preferred_batch_size: [ ${p.preferred} ]` : `  # preferred_batch_size: [ ${p.preferred} ]  # TensorRT, several profiles only`,
    '}',
  ].join('\n');
  const gatherMs = p.arrivalRps > 0 ? ((p.preferred - 1) / p.arrivalRps) * 1000 : Number.POSITIVE_INFINITY;
  const delay = p.delayCapped
    ? `gathering a batch of ${p.preferred} at ${p.arrivalRps.toFixed(0)} requests/s would take ${Number.isFinite(gatherMs) ? `${gatherMs.toFixed(0)} ms` : 'indefinitely'}, so the queue delay is capped at ${p.delayUs} µs (TF Serving suggests about 1 ms)`
    : `a batch of ${p.preferred} gathers in about ${p.delayUs} µs at ${p.arrivalRps.toFixed(0)} requests/s (Triton starts at 100 µs)`;
  return {
    text:
      `Enable the server's dynamic batcher: with ${p.meanInFlight.toFixed(1)} requests in flight on average, batches form from requests already waiting in the queue. ` +
      `max_batch_size ${p.maxBatchSize} covers ${p.fromMean ? `the concurrency on average (${p.meanInFlight.toFixed(1)} in flight by Little's law: metrics have no arrival times)` : 'the concurrency seen at p95'}; ${delay}. Raise the delay only while p99 stays inside the latency budget (Triton batcher.md). ` +
      `TF Serving: max_batch_size ${p.maxBatchSize}, batch_timeout_micros ${p.delayUs}. Clients must send requests concurrently for batches to form.`,
    snippet: { language: 'protobuf', code },
  };
}

/**
 * KServe's inference batcher: a `batcher` on the InferenceService's predictor gathers requests up
 * to maxBatchSize or maxLatency (ms) ("Inference Batcher",
 * https://kserve.github.io/website/docs/model-serving/predictive-inference/batcher).
 */
function kserveBatchingStep(p: { model: string; maxBatchSize: number; delayUs: number; meanInFlight: number }): NextStep {
  const latencyMs = Math.max(1, Math.round(p.delayUs / 1000));
  return {
    text:
      `Turn on KServe's inference batcher on the predictor: maxBatchSize ${p.maxBatchSize} covers the ${p.meanInFlight.toFixed(1)} requests in flight on average, maxLatency ${latencyMs} ms caps the wait for a batch to fill. ` +
      "The model server's predict must accept a batch of instances. Raise the latency cap only while p99 stays inside the latency budget.",
    snippet: { language: 'yaml', code: ['apiVersion: serving.kserve.io/v1beta1', 'kind: InferenceService', `metadata: { name: ${stem(p.model)} }`, 'spec:', '  predictor:', '    batcher:', `      maxBatchSize: ${p.maxBatchSize}`, `      maxLatency: ${latencyMs}`].join('\n') },
  };
}

/**
 * Ray Serve: a replica takes at most `max_ongoing_requests` requests at once and the rest wait in
 * the proxy ("Setting it too low can throttle throughput … requests will tend to queue up at the
 * proxy", Advanced Ray Serve Autoscaling,
 * https://docs.ray.io/en/latest/serve/advanced-guides/advanced-autoscaling.html). `@serve.batch`
 * gathers up to max_batch_size calls or batch_wait_timeout_s (s) on an async method taking a list
 * (Dynamic Request Batching, https://docs.ray.io/en/latest/serve/advanced-guides/dyn-req-batch.html);
 * a batch holds only requests the replica has taken, so max_ongoing_requests must be at least the
 * batch size. Replicas: num_replicas, or autoscaling_config's target_ongoing_requests (Ray Serve
 * Autoscaling, https://docs.ray.io/en/latest/serve/autoscaling-guide.html).
 */
function rayServeBatchingStep(p: { maxBatchSize: number; delayUs: number; meanInFlight: number }): NextStep {
  const waitS = Number((p.delayUs / 1e6).toFixed(4));
  return {
    text:
      `Requests wait in the Serve proxy for a replica below max_ongoing_requests. Batch them in the replica: @serve.batch(max_batch_size=${p.maxBatchSize}, batch_wait_timeout_s=${waitS}) on an async method that takes a list covers the ${p.meanInFlight.toFixed(1)} requests in flight on average, ` +
      `and max_ongoing_requests of at least ${p.maxBatchSize} lets a batch fill (a replica batches only the requests it has taken). Where the model cannot batch, add replicas instead: num_replicas, or autoscaling_config with target_ongoing_requests set to what one replica sustains. ` +
      'Raise the wait only while p99 stays inside the latency budget.',
    snippet: {
      language: 'python',
      code: [`@serve.deployment(max_ongoing_requests=${p.maxBatchSize})`, 'class Model:', `    @serve.batch(max_batch_size=${p.maxBatchSize}, batch_wait_timeout_s=${waitS})`, '    async def __call__(self, requests: list) -> list:', '        return self.model(requests)  # one call for the whole batch'].join('\n'),
    },
  };
}

/**
 * TorchServe batches when a model is registered with `batch_size` and `max_batch_delay` (ms), and
 * the handler accepts a list of requests ("Batch Inference with TorchServe",
 * https://github.com/pytorch/serve/blob/master/docs/batch_inference_with_ts.md).
 */
function torchserveBatchingStep(p: { model: string; maxBatchSize: number; delayUs: number; meanInFlight: number }): NextStep {
  // TorchServe's delay is in whole milliseconds.
  const delayMs = Math.max(1, Math.round(p.delayUs / 1000));
  const name = stem(p.model);
  return {
    text:
      `Register the model with batching in TorchServe: batch_size ${p.maxBatchSize} covers the ${p.meanInFlight.toFixed(1)} requests in flight on average, ` +
      `max_batch_delay ${delayMs} ms caps the wait for a batch to fill. The handler must accept a list of requests (TorchServe's batch inference guide). ` +
      'Raise the delay only while p99 stays inside the latency budget.',
    snippet: {
      language: 'shell',
      code: `curl -X POST "http://localhost:8081/models?url=${name}.mar&batch_size=${p.maxBatchSize}&max_batch_delay=${delayMs}&initial_workers=1"`,
    },
  };
}

/** compute ≈ fixedMs + perItemMs × batch size, fitted over the mean compute per batch size seen (two sizes or more). */
function batchFit(requests: RequestTable): { readonly fixedMs: number; readonly perItemMs: number } | undefined {
  // A running sum and count per size, not a list of every request's compute time: the mean is
  // the same sum in the same order, without a growing array per size (a third of the
  // diagnosis's time on 59,000 requests).
  const groups = new Map<number, { sum: number; count: number }>();
  const sizes = requests.number('batchSize');
  const compute = requests.phase('compute');
  for (let i = 0; i < requests.length; i++) {
    const size = sizes[i]!;
    // NaN (not recorded) fails the test too.
    if (!(size > 0)) continue;
    const ms = compute[i] === compute[i] ? compute[i]! : 0;
    const group = groups.get(size);
    if (group === undefined) groups.set(size, { sum: ms, count: 1 });
    else {
      group.sum += ms;
      group.count++;
    }
  }
  const bySize = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([size, g]) => ({ size, computeMeanMs: g.sum / g.count }));
  const line = bySize.length >= 2 ? leastSquares(bySize.map((b) => b.size), bySize.map((b) => b.computeMeanMs)) : undefined;
  return line ? { fixedMs: Math.max(0, line.intercept), perItemMs: Math.max(0, line.slope) } : undefined;
}

/** 95th percentile of the requests already in flight when a request arrives (itself included), from a sweep over start and end events. */
export function p95InFlightAtArrival(s: Signals): number {
  // The diagnosed requests are ordered by start (Signals.requests), so their starts are sorted;
  // the ends, a new array on each call, are this rule's own to sort.
  const starts = s.startSeconds();
  return quantileOfCounts(inFlightAtArrival(starts, s.endSeconds().sort()), starts.length, 0.95);
}

/**
 * How many arrivals found each number of requests in flight (itself included), from sorted starts
 * and ends: counts, not a number per request, as the p95 needs only those (a run of 300,000
 * requests held 2.4 MB for them). A function of its own: V8 compiles this loop on stack
 * replacement, and the call after it (no type feedback yet) used to throw that code away (issue #16).
 */
function inFlightAtArrival(starts: Float64Array, ends: Float64Array): Map<number, number> {
  let current = 0;
  const arrivals = new Map<number, number>();
  let e = 0;
  for (let i = 0; i < starts.length; i++) {
    const t = starts[i]!;
    // Ends at or before this start first: a request that ends exactly as another starts is not concurrent with it.
    while (e < ends.length && ends[e]! <= t) {
      current -= 1;
      e += 1;
    }
    current += 1;
    arrivals.set(current, (arrivals.get(current) ?? 0) + 1);
  }
  return arrivals;
}


/** The dynamic-batching rule. */
export const dynamicBatchingRule = defineRule({
  id: 'dynamic-batching',
  effort: 'config',
  needs: { inputs: ['phase-distributions', 'concurrency'], refinedBy: ['batch-sizes', 'arrival-times', 'model-attributes', 'generation'], gpu: 'unused' },
  content: {
    title: 'Enable dynamic batching in the server',
    phases: ['queue'],
    kinds: { 'continuous-batching': 'Batch decode steps continuously (more sequences per step)', 'chunked-prefill': 'Chunk long prefills so they share steps with decodes' },
  },
  thresholds: BATCHING_THRESHOLDS,
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    if (s.generation) return generationVerdict(s, s.generation, t, engineOf(s, ctx.server));
    const queue = s.phases.queue;
    const compute = s.phases.compute;
    const batchRecorded = s.batch.recorded > 0 && s.batch.recorded >= s.diagnosed / 2;
    const meanBatch = batchRecorded ? s.batch.meanSize : 1;
    const queueOverCompute = compute.p95Ms > 0 ? queue.p95Ms / compute.p95Ms : queue.p95Ms > 0 ? Number.POSITIVE_INFINITY : 0;
    const inputs = {
      queue_share: round(queue.share),
      [statKey('queue', queue, 'p95')]: round(queue.p95Ms),
      [statKey('compute', compute, 'p95')]: round(compute.p95Ms),
      queue_over_compute: round(queueOverCompute),
      mean_batch_size: round(meanBatch),
      batch_size_recorded: batchRecorded,
      mean_in_flight: round(s.meanInFlight),
      arrival_rps: round(s.arrivalRps),
    };
    const failed: string[] = [];
    if (queue.share < t['batching.min_queue_share']) failed.push(`queue is ${pct(queue.share)} of e2e (< ${pct(t['batching.min_queue_share'])})`);
    if (queueOverCompute <= t['batching.queue_over_compute']) failed.push(`queue ${statName(queue, 'p95')} ${ms(queue.p95Ms)} does not exceed compute ${statName(compute, 'p95')} ${ms(compute.p95Ms)}`);
    if (meanBatch > t['batching.max_mean_batch']) failed.push(`requests already run in batches of ${meanBatch.toFixed(1)} on average`);
    if (s.meanInFlight < t['batching.min_in_flight']) failed.push(`only ${s.meanInFlight.toFixed(1)} requests in flight on average`);
    if (failed.length > 0) return { inputs, reason: failed.join('; ') };

    // Without arrival times (aggregates) the mean in flight (Little's law) sizes the batch instead.
    const inFlightForSize = s.requests.length > 0 ? p95InFlightAtArrival(s) : s.meanInFlight;
    const maxBatchSize = clamp(nextPow2(inFlightForSize), 4, 128);
    // The fit needs two sizes or more: a run at one size (the signals' smallest is its largest) skips the pass.
    const fit = s.batch.minSize !== undefined && s.batch.minSize < s.batch.maxSize ? batchFit(s.requests) : undefined;
    const preferred = clamp(Math.round(s.meanInFlight), 2, maxBatchSize);
    const rawDelayUs = s.arrivalRps > 0 ? ((preferred - 1) / s.arrivalRps) * 1e6 : t['batching.max_delay_us'];
    const delayUs = Math.round(clamp(rawDelayUs, t['batching.min_delay_us'], t['batching.max_delay_us']) / 50) * 50;
    const delayMs = delayUs / 1000;
    // Once batched, a request waits at most for the batch in progress plus the queue delay (when capacity suffices).
    const expectedP95 = Math.max(compute.p95Ms, s.e2e.p95Ms - queue.p95Ms + delayMs + compute.p95Ms);
    const savedMeanMs = Math.max(0, queue.meanMs - (delayMs + compute.meanMs / 2));
    const perItem = fit
      ? `compute ≈ ${ms(fit.fixedMs)} + ${ms(fit.perItemMs)} per item at the batch sizes seen`
      : `compute ${statName(compute, 'p50')} = ${ms(compute.p50Ms)} per request${batchRecorded ? ' at batch size 1' : ''}`;
    // A batch size the source never recorded (Triton's traces, vLLM) is assumed, never stated as measured.
    const batchText = batchRecorded ? `mean batch size ${meanBatch.toFixed(1)} with` : 'batch size not recorded,';
    const capacity = fit ? maxBatchSize / ((fit.fixedMs + fit.perItemMs * maxBatchSize) / 1000) : undefined;
    const evidence = [
      {
        text: `queue ${statName(queue, 'p95')} = ${ms(queue.p95Ms)}, ${pct(queue.share)} of e2e; ${batchText} ${s.meanInFlight.toFixed(1)} requests in flight on average`,
        values: { [statKey('queue', queue, 'p95')]: round(queue.p95Ms), queue_share: round(queue.share), mean_batch_size: round(meanBatch), mean_in_flight: round(s.meanInFlight) },
      },
      {
        text: `requests wait longer than they run: queue ${statName(queue, 'p95')} ${ms(queue.p95Ms)} vs compute ${statName(compute, 'p95')} ${ms(compute.p95Ms)}; ${perItem}`,
        values: { [statKey('compute', compute, 'p95')]: round(compute.p95Ms), [statKey('compute', compute, 'p50')]: round(compute.p50Ms), queue_over_compute: round(queueOverCompute) },
      },
      {
        text: `arrival rate ${s.arrivalRps.toFixed(1)} requests/s${s.basis === 'requests' ? ' (request starts)' : ''}${capacity !== undefined ? `; a batch of ${maxBatchSize} would serve about ${Math.round(capacity)} requests/s` : ''}`,
        values: { arrival_rps: round(s.arrivalRps), ...(capacity !== undefined ? { batched_capacity_rps: round(capacity) } : {}) },
      },
      // Metrics have no spans to name: say what is missing in their terms.
      ...(batchRecorded ? [] : [{ text: s.basis === 'aggregates' ? 'the metrics record no batch size: batch size assumed to be 1' : 'no inference.batch.size on compute spans: batch size assumed to be 1', values: {} }]),
    ];
    return {
      inputs,
      reason: `queue ${pct(queue.share)} of e2e, exceeds compute (${statName(queue, 'p95')}), ${batchRecorded ? `batch ≈ ${meanBatch.toFixed(1)}` : 'batch size not recorded'}, ${s.meanInFlight.toFixed(1)} in flight`,
      finding: {
        confidence: confidenceFrom(queue.share / t['batching.min_queue_share'] - 1, s, batchRecorded ? 1 : 0.8),
        evidence,
        savedMeanMs,
        estimatedGain: {
          metric: isMean(s.e2e) ? 'mean_ms' : 'p95_ms',
          ...(s.e2e.statistic !== undefined ? { statistic: s.e2e.statistic } : {}),
          currentValue: round(s.e2e.p95Ms),
          expectedValue: round(expectedP95),
          basis: `queueing model: with batching a request waits at most for the batch in progress (compute ${statName(compute, 'p95')} ${ms(compute.p95Ms)}) plus the ${delayUs} µs queue delay, instead of queue ${statName(queue, 'p95')} ${ms(queue.p95Ms)}`,
        },
        nextStep: batchingNextStep({ model: s.model, maxBatchSize, delayUs, arrivalRps: s.arrivalRps, meanInFlight: s.meanInFlight, fromMean: s.requests.length === 0, preferred, delayCapped: rawDelayUs > t['batching.max_delay_us'], engine: engineOf(s, ctx.server), ...(s.runtime !== undefined ? { runtime: s.runtime } : {}), ...(ctx.server !== undefined ? { server: ctx.server } : {}) }),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('queue'), queue.p95Ms),
      },
    };
  },
});

/**
 * @module test/prometheus/scenarios
 * Replay scenarios for the server metric layouts: each drives a real capture from
 * test/fixtures/serving with traffic whose bottleneck is known, so the verdict can be checked.
 */
import { join } from 'node:path';
import type { ReplayScenario } from './replay-exporter.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'serving');

const TRITON_OBSERVE: ReplayScenario['observe'] = [
  { family: 'nv_inference_request_duration_us', of: ['queue', 'input', 'infer', 'output', 'core'], unit: 'us' },
  { family: 'nv_inference_queue_duration_us', of: ['queue'], unit: 'us' },
  { family: 'nv_inference_compute_input_duration_us', of: ['input'], unit: 'us' },
  { family: 'nv_inference_compute_infer_duration_us', of: ['infer'], unit: 'us' },
  { family: 'nv_inference_compute_output_duration_us', of: ['output'], unit: 'us' },
  // Summaries advance their _sum/_count too; their quantile lines stay as captured (never read).
  { family: 'nv_inference_request_summary_us', of: ['queue', 'input', 'infer', 'output', 'core'], unit: 'us' },
  { family: 'nv_inference_queue_summary_us', of: ['queue'], unit: 'us' },
];
const TRITON_COUNT: ReplayScenario['count'] = [{ family: 'nv_inference_request_success' }, { family: 'nv_inference_count' }, { family: 'nv_inference_exec_count' }];

/** Triton, model densenet_onnx: requests wait 40 ms in the queue for 8 ms of compute, one at a time. */
export function tritonQueue(seed: number): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'triton_metrics_datadog_fixture.prom'),
    labels: { model: 'densenet_onnx' },
    rps: 60,
    seed,
    phases: { queue: { medianMs: 40, sigma: 0.3 }, input: { medianMs: 0.8, sigma: 0.2 }, infer: { medianMs: 8, sigma: 0.2 }, output: { medianMs: 0.5, sigma: 0.2 }, core: { medianMs: 0.5, sigma: 0.2 } },
    // Histogram latencies on (--metrics-config histogram_latencies=true, default buckets 100, 500, 2000, 5000 ms):
    // a model that does not stream sends its first response with its whole response.
    observe: [...TRITON_OBSERVE, { family: 'nv_inference_first_response_histogram_ms', of: ['queue', 'input', 'infer', 'output', 'core'], unit: 'ms' }],
    count: TRITON_COUNT,
    extra: [{ name: 'nv_inference_first_response_histogram_ms', type: 'histogram', help: 'Duration from request to first response in milliseconds', labels: { model: 'densenet_onnx', version: '1' }, le: [100, 500, 2000, 5000] }],
  };
}

/** Triton replica with healthy (2 ms queue, 10 ms compute) or slow (40 ms compute) execution. */
export function tritonReplica(seed: number, inferMs: number): ReplayScenario {
  return {
    ...tritonQueue(seed),
    rps: 30,
    phases: { queue: { medianMs: 2, sigma: 0.3 }, input: { medianMs: 0.5, sigma: 0.2 }, infer: { medianMs: inferMs, sigma: 0.2 }, output: { medianMs: 0.5, sigma: 0.2 }, core: { medianMs: 0.5, sigma: 0.2 } },
  };
}

/** vLLM V1 buckets of e2e_request_latency_seconds (vllm/v1/metrics/loggers.py, see docs/prometheus.md). */
const VLLM_REQUEST_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const VLLM_MODEL = { model_name: 'meta-llama/Llama-3.1-8B-Instruct' };

/**
 * vLLM V1 (the test makes prefill and decode slow down at constant load: drift). The capture is
 * the design doc's excerpt (TTFT without +Inf or _sum, kept as-is); the per-request histograms
 * it elides are added with vLLM V1's documented names and buckets.
 */
export function vllmDrift(seed: number): ReplayScenario {
  const hist = (name: string, help: string): NonNullable<ReplayScenario['extra']>[number] => ({ name, type: 'histogram', help, labels: VLLM_MODEL, le: VLLM_REQUEST_BUCKETS });
  return {
    fixture: join(FIXTURES, 'vllm_v1_metrics_docs_design_excerpt.prom'),
    labels: VLLM_MODEL,
    rps: 12,
    seed,
    phases: { queue: { medianMs: 20, sigma: 0.2 }, prefill: { medianMs: 60, sigma: 0.1 }, decode: { medianMs: 140, sigma: 0.1 } },
    observe: [
      { family: 'vllm:e2e_request_latency_seconds', of: ['queue', 'prefill', 'decode'], unit: 's' },
      { family: 'vllm:request_queue_time_seconds', of: ['queue'], unit: 's' },
      { family: 'vllm:request_inference_time_seconds', of: ['prefill', 'decode'], unit: 's' },
      { family: 'vllm:time_to_first_token_seconds', of: ['queue', 'prefill'], unit: 's' },
    ],
    count: [],
    extra: [
      hist('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.'),
      hist('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.'),
      hist('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.'),
    ],
  };
}

/**
 * A vLLM V1 replica of short requests (5 ms queue, 5 ms prefill, `decodeMs` decode), all under the
 * 0.3 s lowest bucket of vLLM's request histograms: a healthy replica (10 ms) beside a slow one
 * (230 ms) differ twelvefold while the buckets give both the same p99.
 */
export function vllmShortReplica(seed: number, decodeMs: number): ReplayScenario {
  return { ...vllmDrift(seed), phases: { queue: { medianMs: 5, sigma: 0.2 }, prefill: { medianMs: 5, sigma: 0.1 }, decode: { medianMs: decodeMs, sigma: 0.1 } } };
}

/** TGI router: validation (tokenisation) takes 30 ms per request, inference 15 ms. */
export function tgiValidation(seed: number, rebucket = false): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'tgi_metrics_datadog_fixture_excerpt.prom'),
    labels: {},
    rps: 25,
    seed,
    phases: { validation: { medianMs: 30, sigma: 0.2 }, queue: { medianMs: 2, sigma: 0.3 }, inference: { medianMs: 15, sigma: 0.2 } },
    observe: [
      { family: 'tgi_request_duration', of: ['validation', 'queue', 'inference'], unit: 's' },
      { family: 'tgi_request_validation_duration', of: ['validation'], unit: 's' },
      { family: 'tgi_request_queue_duration', of: ['queue'], unit: 's' },
      { family: 'tgi_request_inference_duration', of: ['inference'], unit: 's' },
    ],
    count: [{ family: 'tgi_request_count' }, { family: 'tgi_request_success' }],
    // A replica on another version: same family, coarser buckets.
    ...(rebucket ? { rebucket: { family: 'tgi_request_duration', le: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] } } : {}),
  };
}

/** TGI router whose inference (60 ms) is nearly all of the request: compute-bound, on an LLM engine. */
export function tgiInference(seed: number): ReplayScenario {
  return { ...tgiValidation(seed), phases: { validation: { medianMs: 1, sigma: 0.2 }, queue: { medianMs: 1, sigma: 0.3 }, inference: { medianMs: 60, sigma: 0.2 } } };
}

/**
 * TGI router whose requests also fail, each kind under its own `err` value of tgi_request_failure
 * as TGI's router and backend count them (router/src/infer/mod.rs, backends/v3/src/backend.rs and
 * queue.rs): every 5th request's client goes away (`dropped`), every 10th is rejected by
 * validation (`validation`, the captured series), every 20th finds no permit (`overloaded`) and
 * every 50th fails in generation (`generation`).
 */
export function tgiFailures(seed: number): ReplayScenario {
  const base = tgiValidation(seed);
  const failure = 'tgi_request_failure';
  return {
    ...base,
    addSeries: [{ family: failure, labels: { err: 'dropped' } }, { family: failure, labels: { err: 'overloaded' } }, { family: failure, labels: { err: 'generation' } }],
    count: [
      ...base.count,
      { family: failure, per: 5, labels: { err: 'dropped' } },
      { family: failure, per: 10, labels: { err: 'validation' } },
      { family: failure, per: 20, labels: { err: 'overloaded' } },
      { family: failure, per: 50, labels: { err: 'generation' } },
    ],
  };
}

/** TorchServe, model resnet18: 60 ms in the queue for 10 ms in the handler. */
export function torchserveQueue(seed: number): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'torchserve_metrics_prometheus_mode.prom'),
    labels: { model_name: 'resnet18' },
    rps: 60,
    seed,
    phases: { queue: { medianMs: 60, sigma: 0.3 }, handler: { medianMs: 10, sigma: 0.2 } },
    observe: [
      { family: 'ts_inference_latency_microseconds', of: ['queue', 'handler'], unit: 'us' },
      { family: 'ts_queue_latency_microseconds', of: ['queue'], unit: 'us' },
    ],
    count: [{ family: 'ts_inference_requests_total' }],
  };
}

/** TGI's four request histograms served as native histograms (schema 3: 8 buckets per power of two, ≈ 9 % wide); every phase `slower` times as long. */
export function tgiNative(seed: number, slower = 1): ReplayScenario {
  const families = ['tgi_request_duration', 'tgi_request_validation_duration', 'tgi_request_queue_duration', 'tgi_request_inference_duration'];
  const base = tgiValidation(seed);
  const phases = Object.fromEntries(Object.entries(base.phases).map(([p, d]) => [p, { ...d, medianMs: d.medianMs * slower }]));
  return { ...base, phases, native: families.map((family) => ({ family, schema: 3, zeroThreshold: 1e-6 })) };
}

/** vLLM V1 at a steady pace whose requests above 240 ms (about the slowest fifth) leave an exemplar with their trace id on their e2e bucket. */
export function vllmExemplars(seed: number): ReplayScenario {
  return { ...vllmDrift(seed), exemplars: { family: 'vllm:e2e_request_latency_seconds', aboveMs: 240 } };
}

/**
 * KServe Python model server, model mnist (a synthetic capture of the documented layout, see
 * test/fixtures/serving/SOURCES.md): decoding and resizing the image in preprocess takes 25 ms
 * for 6 ms of predict and 1 ms of postprocess; slow predictions leave exemplars (OpenMetrics).
 */
export function kservePreprocess(seed: number): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'kserve_model_server_metrics.synthetic.prom'),
    labels: { model_name: 'mnist' },
    rps: 40,
    seed,
    phases: { preprocess: { medianMs: 25, sigma: 0.2 }, predict: { medianMs: 6, sigma: 0.2 }, postprocess: { medianMs: 1, sigma: 0.2 } },
    observe: [
      { family: 'request_preprocess_seconds', of: ['preprocess'], unit: 's' },
      { family: 'request_predict_seconds', of: ['predict'], unit: 's' },
      { family: 'request_postprocess_seconds', of: ['postprocess'], unit: 's' },
    ],
    count: [],
    // Trace ids on the predict buckets of the slowest predictions (about one in ten).
    exemplars: { family: 'request_predict_seconds', aboveMs: 7.7 },
  };
}

/**
 * SGLang (a synthetic capture of the documented layout, see test/fixtures/serving/SOURCES.md):
 * requests wait 1.2 s in the scheduler's queue for 0.4 s of forward pass (TTFT = queue + 80 ms
 * of prefill); one inter-token latency observation per request stands for its decode steps.
 */
export function sglangQueue(seed: number): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'sglang_metrics.synthetic.prom'),
    labels: VLLM_MODEL,
    rps: 10,
    seed,
    // Token counts are "phases" whose drawn value is the count: 200 prompt and 32 output tokens per request.
    phases: { queue: { medianMs: 1200, sigma: 0.2 }, prefill: { medianMs: 80, sigma: 0.1 }, decode: { medianMs: 320, sigma: 0.1 }, step: { medianMs: 10, sigma: 0.1 }, promptTokens: { medianMs: 200, sigma: 0.1 }, outputTokens: { medianMs: 32, sigma: 0.1 } },
    observe: [
      { family: 'sglang:e2e_request_latency_seconds', of: ['queue', 'prefill', 'decode'], unit: 's' },
      { family: 'sglang:queue_time_seconds', of: ['queue'], unit: 's' },
      { family: 'sglang:time_to_first_token_seconds', of: ['queue', 'prefill'], unit: 's' },
      { family: 'sglang:inter_token_latency_seconds', of: ['step'], unit: 's' },
    ],
    count: [{ family: 'sglang:num_requests' }, { family: 'sglang:prompt_tokens', of: 'promptTokens' }, { family: 'sglang:generation_tokens', of: 'outputTokens' }],
    // Two requests decode per step while twelve wait; the KV cache pool is far from full.
    gauges: { 'sglang:num_running_reqs': 2, 'sglang:num_queue_reqs': 12, 'sglang:token_usage': 0.35 },
  };
}

/** vLLM V1 buckets of time_to_first_token_seconds (22, 0.001 … 2560 s; see docs/prometheus.md). */
const VLLM_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
/** vLLM's token histograms: a 1-2-5 series up to max_model_len (here 16k). */
const VLLM_TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** vLLM's per-request latency histograms, each observing the phases it spans (queue, prefill, decode). */
const VLLM_REQUEST_OBSERVE: ReplayScenario['observe'] = [
      { family: 'vllm:e2e_request_latency_seconds', of: ['queue', 'prefill', 'decode'], unit: 's' },
      { family: 'vllm:request_queue_time_seconds', of: ['queue'], unit: 's' },
      { family: 'vllm:request_prefill_time_seconds', of: ['prefill'], unit: 's' },
      { family: 'vllm:request_decode_time_seconds', of: ['decode'], unit: 's' },
      { family: 'vllm:request_inference_time_seconds', of: ['prefill', 'decode'], unit: 's' },
      { family: 'vllm:time_to_first_token_seconds', of: ['queue', 'prefill'], unit: 's' },
];

/**
 * vLLM V1 with long prompts (3000 tokens at the median) whose prefill is most of TTFT: 400 ms of
 * prefill after 10 ms in the queue, then 64 tokens decoded at 5 ms each. V1's prefill and decode
 * histograms, its token histograms and a complete TTFT family (the capture's excerpt elides its
 * +Inf bucket and _sum) are served with their documented names and buckets.
 */
export function vllmLongPrompts(seed: number): ReplayScenario {
  const hist = (name: string, help: string, le: readonly number[] = VLLM_REQUEST_BUCKETS): NonNullable<ReplayScenario['extra']>[number] => ({ name, type: 'histogram', help, labels: VLLM_MODEL, le });
  return {
    fixture: join(FIXTURES, 'vllm_v1_metrics_docs_design_excerpt.prom'),
    labels: VLLM_MODEL,
    rps: 8,
    seed,
    phases: { queue: { medianMs: 10, sigma: 0.2 }, prefill: { medianMs: 400, sigma: 0.1 }, decode: { medianMs: 320, sigma: 0.1 }, tpot: { medianMs: 5, sigma: 0.1 }, promptTokens: { medianMs: 3000, sigma: 0.1 }, outputTokens: { medianMs: 64, sigma: 0.05 } },
    observe: [
      ...VLLM_REQUEST_OBSERVE,
      { family: 'vllm:request_time_per_output_token_seconds', of: ['tpot'], unit: 's' },
      { family: 'vllm:request_prompt_tokens', of: ['promptTokens'], unit: 'count' },
      { family: 'vllm:request_generation_tokens', of: ['outputTokens'], unit: 'count' },
    ],
    count: [{ family: 'vllm:generation_tokens', of: 'outputTokens' }],
    gauges: { 'vllm:num_requests_running': 3 },
    drop: ['vllm:time_to_first_token_seconds'],
    extra: [
      hist('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.'),
      hist('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.'),
      hist('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.'),
      hist('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.'),
      hist('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.'),
      hist('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', VLLM_TTFT_BUCKETS),
      hist('vllm:request_time_per_output_token_seconds', 'Histogram of time_per_output_token_seconds per request.', VLLM_TTFT_BUCKETS),
      hist('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', VLLM_TOKEN_BUCKETS),
      hist('vllm:request_generation_tokens', 'Number of generation tokens processed.', VLLM_TOKEN_BUCKETS),
    ],
  };
}

/**
 * vLLM V1 whose slots are the limit: requests wait 800 ms for 50 ms of prefill while two run per
 * decode step (vllm:num_requests_running 2), the KV cache a third used.
 */
export function vllmQueue(seed: number): ReplayScenario {
  const base = vllmLongPrompts(seed);
  return {
    ...base,
    rps: 10,
    phases: { queue: { medianMs: 800, sigma: 0.2 }, prefill: { medianMs: 50, sigma: 0.1 }, decode: { medianMs: 300, sigma: 0.1 }, tpot: { medianMs: 5, sigma: 0.1 }, promptTokens: { medianMs: 200, sigma: 0.1 }, outputTokens: { medianMs: 60, sigma: 0.05 } },
    gauges: { 'vllm:num_requests_running': 2 },
  };
}

/**
 * vllmQueue as vLLM 0.10 exports it: no per-request TPOT histogram, the between-tokens histogram
 * under its old name vllm:time_per_output_token_seconds (renamed inter_token_latency_seconds in
 * 0.11; trtllm-serve keeps the old name), one observation per decode step of 5 ms.
 */
export function vllmQueueV010(seed: number): ReplayScenario {
  const base = vllmQueue(seed);
  const old = 'vllm:time_per_output_token_seconds';
  return {
    ...base,
    observe: base.observe.map((o) => (o.family === 'vllm:request_time_per_output_token_seconds' ? { ...o, family: old } : o)),
    extra: (base.extra ?? []).map((e) => (e.name === 'vllm:request_time_per_output_token_seconds' ? { ...e, name: old, help: 'Histogram of time per output token in seconds.' } : e)),
  };
}

/**
 * vLLM V1 whose KV cache is full: 64 sequences per decode step, 98% of the KV cache in use, a
 * preemption every tenth request, and the queue growing (the test starts the drift of the queue
 * phase alone) while prefill and decode stay put.
 */
export function vllmKvFull(seed: number): ReplayScenario {
  const base = vllmQueue(seed);
  return {
    ...base,
    phases: { ...base.phases, queue: { medianMs: 300, sigma: 0.1 } },
    grow: ['queue'],
    count: [...base.count, { family: 'vllm:num_preemptions', per: 10 }],
    gauges: { 'vllm:num_requests_running': 64, 'vllm:kv_cache_usage_perc': 0.98 },
    extra: [
      ...(base.extra ?? []),
      { name: 'vllm:kv_cache_usage_perc', type: 'gauge', help: 'KV-cache usage. 1 means 100 percent usage.', labels: VLLM_MODEL },
      { name: 'vllm:num_preemptions', type: 'counter', help: 'Cumulative number of preemption from the engine.', labels: VLLM_MODEL },
    ],
  };
}

/**
 * Triton serving two models through its vLLM backend (a synthetic capture of the documented
 * layout, see test/fixtures/serving/SOURCES.md): vLLM's families carry Triton's `model` and
 * `version` labels, not `model_name`, and the KV cache gauge is `gpu_cache_usage_perc`. Each
 * replica advances one model: `vllm_model` waits 500 ms in vLLM's queue, `vllm_small` 5 ms.
 * Triton's own counters see the backend's execute call return in 0.5 ms, the request end with the
 * last token.
 */
export function tritonVllmBackend(seed: number, model: 'vllm_model' | 'vllm_small'): ReplayScenario {
  const slow = model === 'vllm_model';
  return {
    fixture: join(FIXTURES, 'triton_vllm_backend_metrics.synthetic.prom'),
    labels: { model },
    rps: 8,
    seed,
    phases: {
      queue: { medianMs: slow ? 500 : 5, sigma: 0.2 },
      prefill: { medianMs: 60, sigma: 0.1 },
      decode: { medianMs: 300, sigma: 0.1 },
      step: { medianMs: 5, sigma: 0.1 },
      execute: { medianMs: 0.5, sigma: 0.1 },
      promptTokens: { medianMs: 800, sigma: 0.1 },
      outputTokens: { medianMs: 60, sigma: 0.05 },
    },
    observe: [
      ...VLLM_REQUEST_OBSERVE,
      { family: 'vllm:time_per_output_token_seconds', of: ['step'], unit: 's' },
      { family: 'vllm:request_prompt_tokens', of: ['promptTokens'], unit: 'count' },
      { family: 'vllm:request_generation_tokens', of: ['outputTokens'], unit: 'count' },
      { family: 'nv_inference_request_duration_us', of: ['queue', 'prefill', 'decode'], unit: 'us' },
      { family: 'nv_inference_compute_infer_duration_us', of: ['execute'], unit: 'us' },
    ],
    count: [{ family: 'nv_inference_request_success' }, { family: 'nv_inference_count' }, { family: 'nv_inference_exec_count' }, { family: 'vllm:generation_tokens', of: 'outputTokens' }],
    gauges: { 'vllm:num_requests_running': 4, 'vllm:gpu_cache_usage_perc': slow ? 0.6 : 0.2 },
  };
}

/**
 * LoRAX router (a synthetic capture: TGI's real capture under the names LoRAX's router declares,
 * see test/fixtures/serving/SOURCES.md): requests wait 60 ms in the queue for 3 ms of validation
 * and 20 ms of inference; 12 requests in the queue, 4 in the running batch.
 */
export function loraxQueue(seed: number): ReplayScenario {
  const tgi = tgiValidation(seed);
  const lorax = (family: string): string => family.replace(/^tgi_/, 'lorax_');
  return {
    ...tgi,
    fixture: join(FIXTURES, 'lorax_router_metrics.synthetic.prom'),
    rps: 40,
    phases: { validation: { medianMs: 3, sigma: 0.2 }, queue: { medianMs: 60, sigma: 0.3 }, inference: { medianMs: 20, sigma: 0.2 } },
    observe: tgi.observe.map((o) => ({ ...o, family: lorax(o.family) })),
    count: tgi.count.map((c) => ({ ...c, family: lorax(c.family) })),
    gauges: { lorax_queue_length: 12, lorax_batch_current_size: 4 },
  };
}

/**
 * This project's tracer in a token-streaming service (`tracer.generate`), model tiny-lm: requests
 * wait 300 ms for a slot, then 20 ms of prefill and 31 decode steps of 20 ms (32 output tokens of
 * 200-token prompts). The tracer's own histograms: the phases (queue, prefill, decode), the
 * request, TTFT (queue + prefill), TPOT (one decode step) and the tokens per request by type.
 */
export function tracerGeneration(seed: number): ReplayScenario {
  const phase = (p: string): ReplayScenario['observe'][number] => ({ family: 'inference_phase_duration', of: [p], unit: 's', labels: { inference_phase: p } });
  return {
    fixture: join(FIXTURES, 'latency_doctor_tracer_generation.synthetic.prom'),
    labels: { inference_model_name: 'tiny-lm' },
    rps: 20,
    seed,
    phases: { queue: { medianMs: 300, sigma: 0.3 }, prefill: { medianMs: 20, sigma: 0.1 }, decode: { medianMs: 620, sigma: 0.1 }, step: { medianMs: 20, sigma: 0.1 }, prompt: { medianMs: 200, sigma: 0.1 }, output: { medianMs: 32, sigma: 0.1 } },
    observe: [
      phase('queue'),
      phase('prefill'),
      phase('decode'),
      { family: 'inference_request_duration', of: ['queue', 'prefill', 'decode'], unit: 's' },
      { family: 'inference_time_to_first_token', of: ['queue', 'prefill'], unit: 's' },
      { family: 'inference_time_per_output_token', of: ['step'], unit: 's' },
      { family: 'inference_tokens', of: ['prompt'], unit: 'count', labels: { inference_token_type: 'input' } },
      { family: 'inference_tokens', of: ['output'], unit: 'count', labels: { inference_token_type: 'output' } },
    ],
    count: [],
  };
}

/**
 * Ray Serve (SYNTHETIC capture in Ray's exposition layout, see test/fixtures/serving/SOURCES.md):
 * application `default`, deployment `Classifier`, one replica. Every request waits exactly 100 ms
 * at the proxy for the replica (max_ongoing_requests reached), takes 1 ms on the hop to it and
 * 30 ms in the replica (sigma 0: fixed times, so the percentiles interpolated from Ray's buckets
 * are known exactly); the proxy also answers a Kubernetes health probe (`/-/healthz`, no
 * application, 0.8 ms) per request. Six requests wait in the router, two run in the replica; every
 * 20th request fails.
 */
export function rayServeQueue(seed: number): ReplayScenario {
  const fixed = (medianMs: number): { medianMs: number; sigma: number } => ({ medianMs, sigma: 0 });
  const app = { application: 'default' };
  return {
    fixture: join(FIXTURES, 'ray_serve_metrics.synthetic.prom'),
    labels: {},
    rps: 40,
    seed,
    phases: { routing: fixed(100), hop: fixed(1), processing: fixed(30), probe: fixed(0.8) },
    observe: [
      { family: 'ray_serve_http_request_latency_ms', of: ['routing', 'hop', 'processing'], unit: 'ms', labels: app },
      { family: 'ray_serve_http_request_latency_ms', of: ['probe'], unit: 'ms', labels: { route: '/-/healthz' } },
      { family: 'ray_serve_deployment_processing_latency_ms', of: ['processing'], unit: 'ms' },
    ],
    // Every 20th request fails in the replica: the replica's, the proxy's and its per-deployment error counters count it.
    count: [
      { family: 'ray_serve_num_http_requests' },
      { family: 'ray_serve_num_router_requests' },
      { family: 'ray_serve_deployment_request_counter' },
      { family: 'ray_serve_num_http_error_requests', per: 20 },
      { family: 'ray_serve_num_deployment_http_error_requests', per: 20 },
      { family: 'ray_serve_deployment_error_counter', per: 20 },
    ],
    gauges: { ray_serve_deployment_queued_queries: 6, ray_serve_replica_processing_queries: 2 },
  };
}

/**
 * TensorRT-LLM's request families (SYNTHETIC capture, see test/fixtures/serving/SOURCES.md), model
 * Qwen/Qwen3-0.6B: requests wait 600 ms in the queue, then 50 ms of prefill and 900 ms of decode in
 * steps of 30 ms. `prefix` is the spelling served: `trtllm_` as captured (TensorRT-LLM's own
 * prefix, and NVIDIA Dynamo's), `trtllm:` (Dynamo before ai-dynamo/dynamo PR #4269) or none
 * (trtllm-serve before its collector took a prefix).
 */
export function trtllmQueue(seed: number, prefix: 'trtllm_' | 'trtllm:' | ''): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'trtllm_metrics.synthetic.prom'),
    labels: { model_name: 'Qwen/Qwen3-0.6B' },
    rps: 10,
    seed,
    phases: { queue: { medianMs: 600, sigma: 0.2 }, prefill: { medianMs: 50, sigma: 0.1 }, decode: { medianMs: 900, sigma: 0.1 }, step: { medianMs: 30, sigma: 0.1 } },
    observe: [
      { family: 'trtllm_e2e_request_latency_seconds', of: ['queue', 'prefill', 'decode'], unit: 's' },
      { family: 'trtllm_time_to_first_token_seconds', of: ['queue', 'prefill'], unit: 's' },
      { family: 'trtllm_time_per_output_token_seconds', of: ['step'], unit: 's' },
      { family: 'trtllm_request_queue_time_seconds', of: ['queue'], unit: 's' },
    ],
    count: [{ family: 'trtllm_request_success', labels: { finished_reason: 'stop' } }],
    ...(prefix === 'trtllm_' ? {} : { rename: { from: 'trtllm_', to: prefix } }),
  };
}

/** vLLM V1 (vllmDrift's traffic at constant latency) as newer Ray re-exports it: `vllm:` written `ray_vllm_`. */
export function rayVllmUnderscore(seed: number): ReplayScenario {
  return { ...vllmDrift(seed), rename: { from: 'vllm:', to: 'ray_vllm_' } };
}

/**
 * Ray Serve application `default` composing two deployments: its ingress `Classifier` calls
 * `Preprocessor` through a DeploymentHandle (10 ms), then runs the model (30 ms); requests wait
 * 20 ms at the proxy and 1 ms on the hop. Each deployment records its own processing, the nested
 * call inside the ingress's too: 40 + 10 ms per request, two observations.
 */
export function rayServeComposed(seed: number): ReplayScenario {
  const base = rayServeQueue(seed);
  const fixed = (medianMs: number): { medianMs: number; sigma: number } => ({ medianMs, sigma: 0 });
  const processing = 'ray_serve_deployment_processing_latency_ms';
  const preprocessor = { deployment: 'Preprocessor', replica: 'q3m8w2xe', WorkerId: '0d2f4a6c8e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a5c' };
  return {
    ...base,
    phases: { routing: fixed(20), hop: fixed(1), pre: fixed(10), model: fixed(30), probe: fixed(0.8) },
    observe: [
      { family: 'ray_serve_http_request_latency_ms', of: ['routing', 'hop', 'pre', 'model'], unit: 'ms', labels: { application: 'default' } },
      { family: 'ray_serve_http_request_latency_ms', of: ['probe'], unit: 'ms', labels: { route: '/-/healthz' } },
      { family: processing, of: ['pre', 'model'], unit: 'ms', labels: { deployment: 'Classifier' } },
      { family: processing, of: ['pre'], unit: 'ms', labels: { deployment: 'Preprocessor' } },
    ],
    addSeries: [{ family: processing, labels: preprocessor }],
    gauges: {},
  };
}

/**
 * Ray Serve LLM re-exporting vLLM's v0 engine metrics as `ray_vllm:*` (a real capture, an excerpt
 * that ends before the TTFT and end-to-end families): between tokens 30 ms, twelve requests
 * running and thirty waiting, the KV cache 97% used, as a Prometheus whose scrape dropped the
 * end-to-end histogram would hold it.
 */
export function rayServeVllmWithoutE2e(seed: number): ReplayScenario {
  return {
    fixture: join(FIXTURES, 'ray_serve_vllm_metrics_datadog_fixture_excerpt.prom'),
    labels: { model_name: 'neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8' },
    rps: 10,
    seed,
    phases: { tpot: { medianMs: 30, sigma: 0.2 }, promptTokens: { medianMs: 200, sigma: 0.1 }, outputTokens: { medianMs: 60, sigma: 0.05 } },
    observe: [{ family: 'ray_vllm:time_per_output_token_seconds', of: ['tpot'], unit: 's' }],
    count: [
      { family: 'ray_vllm:prompt_tokens_total', of: 'promptTokens' },
      { family: 'ray_vllm:generation_tokens_total', of: 'outputTokens' },
    ],
    gauges: { 'ray_vllm:num_requests_running': 12, 'ray_vllm:num_requests_waiting': 30, 'ray_vllm:gpu_cache_usage_perc': 0.97 },
  };
}

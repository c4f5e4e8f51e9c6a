/**
 * @module prometheus/sources
 * The one table of metric conventions `analyze --prometheus` reads: for each source (our
 * tracer, the Collector's span metrics, each inference server, each GPU exporter) the metric
 * names that reveal it and how each phase, the end-to-end latency and the request count are
 * measured. Adding a server is one entry here. Names and units follow
 * docs/prometheus.md, which cites each server's own code and docs.
 */
import type { Phase } from '../semconv.js';
import { ATTR, PHASES, SIDECAR_METRICS, SPANMETRICS, TRACER_METRICS, prometheusLabel, prometheusName } from '../semconv.js';
import type { ClockEventReason } from '../model/gpu.js';
import { THERMAL_REASONS, clockEventBit } from '../model/clock-events.js';

/**
 * How one quantity is measured.
 * - `histogram`: a classic (`_bucket`/`_sum`/`_count`) or native histogram; percentiles via
 *   histogram_quantile over `sum by (le, …)(rate(…))`, mean and time share via `_sum`/`_count`.
 * - `counter`: a cumulative time counter divided by a request counter (Triton's `*_duration_us`,
 *   TorchServe's `*_microseconds`): mean only, no percentiles.
 * - `difference`: mean of `minuend` minus the means of `subtrahends` (TorchServe backend time =
 *   inference latency − queue latency): mean only; requests counted by the minuend.
 * - `sum`: the means of `parts` added (KServe end-to-end = preprocess + predict + postprocess):
 *   mean only; requests counted by the first part.
 */
export type Measure =
  | { readonly kind: 'histogram'; readonly metric: string; readonly toMs: number; readonly matchers?: string }
  | { readonly kind: 'counter'; readonly metric: readonly string[]; readonly count: string; readonly toMs: number; readonly matchers?: string }
  | { readonly kind: 'difference'; readonly minuend: Measure; readonly subtrahends: readonly Measure[] }
  | { readonly kind: 'sum'; readonly parts: readonly [Measure, ...Measure[]] };

/** The measure whose observations count the requests of a composite one (itself for a histogram or counter). */
export function countingMeasure(m: Measure): Extract<Measure, { kind: 'histogram' | 'counter' }> {
  if (m.kind === 'difference') return countingMeasure(m.minuend);
  if (m.kind === 'sum') return countingMeasure(m.parts[0]);
  return m;
}

/** One source of latency metrics. */
export interface LatencySource {
  readonly id: string;
  readonly title: string;
  /** Label that names the model; '' when the server serves one model (the model is then the job). */
  readonly modelLabel: string;
  /**
   * Label that names the model on series without `modelLabel`, and the server next steps are then
   * worded for: Triton's vLLM backend re-exports vLLM's families with Triton's `model` label, and
   * takes vLLM's engine arguments from the model's model.json (server `triton-vllm`).
   */
  readonly modelLabelFallback?: { readonly label: string; readonly server: string };
  /** Any of these metric names present means the source is there. */
  readonly markers: readonly string[];
  /** End-to-end latency as this source sees it (server side). */
  readonly e2e: Measure;
  /** Phases the source measures, mapped onto ours. */
  readonly phases: Readonly<Partial<Record<Phase, Measure>>>;
  /** Completed requests per second: a counter, or the e2e histogram's `_count`. */
  readonly requests?: string;
  /** Mean requests per model execution: items counter ÷ executions counter (Triton). */
  readonly batch?: { readonly items: string; readonly executions: string };
  /** Batch-size histogram (the tracer's). */
  readonly batchHistogram?: string;
  /** Failed requests counter. */
  readonly errors?: string;
  /**
   * Where the failure counter's label says who ended a request: `label` values of requests the
   * client cancelled, and of requests rejected for the client's own error; every other value is
   * a server error. Absent: every failure counts as a server error.
   */
  readonly errorKinds?: { readonly label: string; readonly cancelled: readonly string[]; readonly client: readonly string[] };
  /** Gauges shown as evidence (queue depth, KV cache use); a list is read as its first metric present (renamed between versions). */
  readonly gauges?: Readonly<Record<string, string | readonly string[]>>;
  /** LLM generation latency: time to first token, time per output token (per request), between tokens (per token); a list is read as its first measure present (a metric renamed between versions). */
  readonly generation?: { readonly ttft?: Measure; readonly tpot?: Measure; readonly itl?: Measure | readonly Measure[] };
  /**
   * LLM token counts per request, in tokens (measures with `toMs` 1): the first measure present is
   * read, a histogram (percentiles) before a counter over the request counter (a mean only).
   * `cached` is a ratio of two counters: prompt tokens served from the prefix cache ÷ prompt tokens looked up.
   */
  readonly tokens?: { readonly in?: readonly Measure[]; readonly out?: readonly Measure[]; readonly cached?: { readonly hits: string; readonly queries: string } };
  /** LLM scheduler state: requests running per replica (the decode batch), KV cache use (0–1 gauge, the first of the list present), preemptions (counter). */
  readonly scheduler?: { readonly running?: string; readonly kvCacheUsage?: readonly string[]; readonly preemptions?: string };
  /** Phases that, when all are present, replace another (vLLM's prefill + decode replace compute, its RUNNING phase). */
  readonly split?: { readonly phase: Phase; readonly into: readonly Phase[] };
  /** The serving system next steps are worded for (the diagnosis' `server`, as the trace path's conventions name it); absent for our own metrics. */
  readonly server?: string;
  /** What the reader must know about this source's numbers. */
  readonly notes: readonly string[];
}

const S = 1000;
const US = 0.001;
const phaseLabel = prometheusLabel(ATTR.PHASE);
const modelLabel = prometheusLabel(ATTR.MODEL_NAME);
const tracerPhase = prometheusName(TRACER_METRICS.PHASE_DURATION);
const tracerRequest = prometheusName(TRACER_METRICS.REQUEST_DURATION);
const spanRequest = `${phaseLabel}="", ${SPANMETRICS.LABELS.SPAN_KIND}!="SPAN_KIND_CLIENT", span_name!="inference.batch"`;

function hist(metric: string, toMs: number, matchers?: string): Measure {
  return matchers === undefined ? { kind: 'histogram', metric, toMs } : { kind: 'histogram', metric, toMs, matchers };
}

function tracerPhases(metric: string, toMs: number, extra = ''): Partial<Record<Phase, Measure>> {
  const phases: Partial<Record<Phase, Measure>> = {};
  // Every phase of the convention, prefill and decode included (a tracer.generate service records them).
  for (const p of PHASES) phases[p] = hist(metric, toMs, `${phaseLabel}="${p}"${extra}`);
  return phases;
}

/** The tracer's tokens-per-request histogram of one token type (`inference.token.type`). */
function tracerTokens(type: 'input' | 'output'): Measure {
  return hist(prometheusName(TRACER_METRICS.TOKENS), 1, `${prometheusLabel(ATTR.TOKEN_TYPE)}="${type}"`);
}

/** A count per request from a counter over the request counter (tokens: a mean, no percentiles). */
function perRequest(metric: string, requests: string): Measure {
  return { kind: 'counter', metric: [metric], count: requests, toMs: 1 };
}

/** vLLM-style engines: the same families under several prefixes (vLLM, Ray Serve LLM, TRT-LLM, Dynamo). */
function vllmLike(id: string, title: string, prefix: string, server: string, notes: readonly string[], fallbackServer?: string): LatencySource {
  const success = `${prefix}request_success_total`;
  const kvCache = [`${prefix}kv_cache_usage_perc`, `${prefix}gpu_cache_usage_perc`];
  return {
    id,
    title,
    server,
    modelLabel: 'model_name',
    // Triton's vLLM backend labels the same families with Triton's model and version (vllm_backend src/utils/metrics.py).
    modelLabelFallback: { label: 'model', server: fallbackServer ?? server },
    markers: [`${prefix}e2e_request_latency_seconds_bucket`, `${prefix}e2e_request_latency_seconds_count`, `${prefix}time_to_first_token_seconds_bucket`],
    e2e: hist(`${prefix}e2e_request_latency_seconds`, S),
    // V1 splits the RUNNING phase (compute) into PREFILL and DECODE; V0 has only the first.
    phases: { queue: hist(`${prefix}request_queue_time_seconds`, S), prefill: hist(`${prefix}request_prefill_time_seconds`, S), decode: hist(`${prefix}request_decode_time_seconds`, S), compute: hist(`${prefix}request_inference_time_seconds`, S) },
    split: { phase: 'compute', into: ['prefill', 'decode'] },
    // Between tokens: vLLM 0.11 renamed time_per_output_token_seconds (the same data) to inter_token_latency_seconds;
    // vLLM ≤ 0.10 and trtllm-serve export only the old name (docs/prometheus.md, "Generation").
    generation: {
      ttft: hist(`${prefix}time_to_first_token_seconds`, S),
      tpot: hist(`${prefix}request_time_per_output_token_seconds`, S),
      itl: [hist(`${prefix}inter_token_latency_seconds`, S), hist(`${prefix}time_per_output_token_seconds`, S)],
    },
    tokens: {
      in: [hist(`${prefix}request_prompt_tokens`, 1), perRequest(`${prefix}prompt_tokens_total`, success)],
      out: [hist(`${prefix}request_generation_tokens`, 1), perRequest(`${prefix}generation_tokens_total`, success)],
      cached: { hits: `${prefix}prefix_cache_hits_total`, queries: `${prefix}prefix_cache_queries_total` },
    },
    // kv_cache_usage_perc replaced gpu_cache_usage_perc (deprecated in vLLM 0.9), which the v0 engine, Ray Serve LLM's
    // re-export and Triton's vLLM backend still write.
    scheduler: { running: `${prefix}num_requests_running`, kvCacheUsage: kvCache, preemptions: `${prefix}num_preemptions_total` },
    gauges: { running: `${prefix}num_requests_running`, waiting: `${prefix}num_requests_waiting`, kv_cache_usage: kvCache },
    notes,
  };
}

/** TGI-style routers: the same request families under the fork's prefix (TGI `tgi_`, LoRAX `lorax_`), written by metrics-exporter-prometheus. */
function tgiLike(id: string, title: string, prefix: string, queueGauge: string, notes: readonly string[], errorKinds?: LatencySource['errorKinds']): LatencySource {
  return {
    id,
    title,
    // Next steps in TGI's terms: a fork takes TGI's launcher flags.
    server: 'tgi',
    modelLabel: '',
    markers: [`${prefix}request_duration_bucket`, `${prefix}request_duration_count`],
    e2e: hist(`${prefix}request_duration`, S),
    phases: { preprocess: hist(`${prefix}request_validation_duration`, S), queue: hist(`${prefix}request_queue_duration`, S), compute: hist(`${prefix}request_inference_duration`, S) },
    requests: `${prefix}request_success`,
    errors: `${prefix}request_failure`,
    ...(errorKinds ? { errorKinds } : {}),
    // No TTFT histogram: TGI's tokens reach the generation block, not the rules' generation forms.
    tokens: { in: [hist(`${prefix}request_input_length`, 1)], out: [hist(`${prefix}request_generated_tokens`, 1)] },
    gauges: { waiting: queueGauge, batch: `${prefix}batch_current_size` },
    notes,
  };
}

/** Ray Serve's proxy and replica latency histograms (ms). */
const RAY_PROXY = 'ray_serve_http_request_latency_ms';
const RAY_REPLICA = 'ray_serve_deployment_processing_latency_ms';
// The proxy also times health checks, route listings and 404s, with no application (proxy.py, HandlerMetadata).
const rayProxy = hist(RAY_PROXY, 1, 'application!=""');

/** Every latency source, most specific first (the first one present with data is used per model). */
export const LATENCY_SOURCES: readonly LatencySource[] = [
  {
    id: 'tracer',
    title: "latency-doctor tracer (phase histograms)",
    modelLabel,
    markers: [`${tracerPhase}_bucket`, `${tracerRequest}_bucket`, tracerPhase],
    e2e: hist(tracerRequest, S),
    phases: tracerPhases(tracerPhase, S),
    batchHistogram: prometheusName(TRACER_METRICS.BATCH_SIZE),
    // tracer.generate's own histograms (src/tracer/generation.ts): TTFT, TPOT per request, tokens per request by type.
    generation: { ttft: hist(prometheusName(TRACER_METRICS.TIME_TO_FIRST_TOKEN), S), tpot: hist(prometheusName(TRACER_METRICS.TIME_PER_OUTPUT_TOKEN), S) },
    tokens: { in: [tracerTokens('input')], out: [tracerTokens('output')] },
    notes: ['phase percentiles are per span: a phase recorded twice in one request (serialize: decode and encode) counts twice'],
  },
  {
    id: 'spanmetrics',
    title: "OpenTelemetry Collector span metrics",
    modelLabel,
    markers: [`${SPANMETRICS.DURATION}_bucket`],
    e2e: hist(SPANMETRICS.DURATION, 1, `${spanRequest}, ${modelLabel}!=""`),
    phases: tracerPhases(SPANMETRICS.DURATION, 1),
    notes: ['span metrics are flushed by the Collector every metrics_flush_interval (15 s in collector/otelcol.yaml): use a range of minutes'],
  },
  vllmLike('vllm', 'vLLM', 'vllm:', 'vllm', ['vLLM histograms are per request; compute is the RUNNING phase, replaced by prefill and decode where V1 exports their histograms', 'the decode batch is vllm:num_requests_running averaged per replica (engine)'], 'triton-vllm'),
  vllmLike('ray-vllm', 'Ray Serve LLM (vLLM engine)', 'ray_vllm:', 'vllm', ['Ray Serve re-exports vLLM with a ray_ prefix and worker labels']),
  // Newer Ray writes vLLM's families as ray_vllm_* (Ray's Serve LLM dashboard panels, ray-project/ray
  // python/ray/dashboard/modules/metrics/dashboards/serve_llm_dashboard_panels.py, commit ef82d1d979d285dafd39767c4e82a6d4c1e1cf0d).
  vllmLike('ray-vllm-underscore', 'Ray Serve LLM (vLLM engine, ray_vllm_)', 'ray_vllm_', 'vllm', ['newer Ray writes the re-exported vLLM families with ray_vllm_ (older Ray: ray_vllm:)']),
  vllmLike('trtllm', 'TensorRT-LLM trtllm-serve', '', 'trtllm', ['trtllm-serve uses vLLM\'s names without a prefix']),
  // TensorRT-LLM under NVIDIA Dynamo: trtllm_ (ai-dynamo/dynamo components/src/dynamo/common/utils/prometheus.py, commit
  // 041ec8b0a9da970374a2d52190c4d7f2c6ec6090, add_prefix; also TensorRT-LLM's own collector's prefix in newer releases,
  // tensorrt_llm/metrics/collector.py, commit 050f80def8df236e326949c8bd9dee10fd896a83), trtllm: before ai-dynamo/dynamo PR #4269.
  vllmLike('dynamo-trtllm', 'TensorRT-LLM (trtllm_: NVIDIA Dynamo, newer trtllm-serve)', 'trtllm_', 'trtllm', ['TensorRT-LLM\'s families with the trtllm_ prefix NVIDIA Dynamo adds (and newer TensorRT-LLM writes itself)']),
  vllmLike('dynamo-trtllm-colon', 'TensorRT-LLM through NVIDIA Dynamo (trtllm:)', 'trtllm:', 'trtllm', ['TensorRT-LLM\'s families with the trtllm: prefix NVIDIA Dynamo added before it wrote trtllm_ (ai-dynamo/dynamo PR #4269)']),
  // After the engines: a model Triton serves through its vLLM backend is read from the engine's own families (TTFT,
  // prefill, decode), not from Triton's counters, whose compute is only the backend's execute call.
  {
    id: 'triton',
    title: 'NVIDIA Triton Inference Server',
    server: 'triton',
    modelLabel: 'model',
    markers: ['nv_inference_request_duration_us', 'nv_inference_request_success'],
    e2e: { kind: 'counter', metric: ['nv_inference_request_duration_us'], count: 'nv_inference_request_success', toMs: US },
    phases: {
      queue: { kind: 'counter', metric: ['nv_inference_queue_duration_us'], count: 'nv_inference_request_success', toMs: US },
      transfer: { kind: 'counter', metric: ['nv_inference_compute_input_duration_us', 'nv_inference_compute_output_duration_us'], count: 'nv_inference_request_success', toMs: US },
      compute: { kind: 'counter', metric: ['nv_inference_compute_infer_duration_us'], count: 'nv_inference_request_success', toMs: US },
    },
    requests: 'nv_inference_request_success',
    batch: { items: 'nv_inference_count', executions: 'nv_inference_exec_count' },
    errors: 'nv_inference_request_failure',
    gauges: { pending: 'nv_inference_pending_request_count' },
    generation: { ttft: hist('nv_inference_first_response_histogram_ms', 1) },
    notes: [
      'Triton exports cumulative µs counters, not histograms: phases have means, no percentiles',
      'compute per request equals its whole batch\'s compute time (per execution = rate(compute) ÷ rate(nv_inference_exec_count))',
      'the *_summary_us quantiles are per process and are never averaged across replicas; only their _sum/_count would aggregate, and they equal the counters read here',
    ],
  },
  {
    id: 'sglang',
    title: 'SGLang',
    server: 'sglang',
    modelLabel: 'model_name',
    markers: ['sglang:e2e_request_latency_seconds_bucket'],
    e2e: hist('sglang:e2e_request_latency_seconds', S),
    // SGLang times wait_queue → forward → completion (TimeStats): what is not queue is the forward
    // pass plus the tokenizer's work around it; there is no forward-time histogram to split it.
    phases: { queue: hist('sglang:queue_time_seconds', S), compute: { kind: 'difference', minuend: hist('sglang:e2e_request_latency_seconds', S), subtrahends: [hist('sglang:queue_time_seconds', S)] } },
    requests: 'sglang:num_requests_total',
    // Older SGLang releases name the inter-token histogram time_per_output_token_seconds.
    generation: { ttft: hist('sglang:time_to_first_token_seconds', S), itl: [hist('sglang:inter_token_latency_seconds', S), hist('sglang:time_per_output_token_seconds', S)] },
    tokens: {
      in: [perRequest('sglang:prompt_tokens_total', 'sglang:num_requests_total')],
      out: [perRequest('sglang:generation_tokens_total', 'sglang:num_requests_total')],
      cached: { hits: 'sglang:cached_tokens_total', queries: 'sglang:prompt_tokens_total' },
    },
    // token_usage is the share of the KV cache pool in use (SGLang Hyperparameter Tuning, https://docs.sglang.io/advanced_features/hyperparameter_tuning.html).
    scheduler: { running: 'sglang:num_running_reqs', kvCacheUsage: ['sglang:token_usage'] },
    gauges: { running: 'sglang:num_running_reqs', waiting: 'sglang:num_queue_reqs', kv_cache_usage: 'sglang:token_usage' },
    notes: [
      'SGLang measures e2e and queue time only: compute is e2e − queue (the forward pass with tokenisation and detokenisation around it), a mean without percentiles',
      'sglang:inter_token_latency_seconds counts tokens, not requests (its sum ÷ count is the mean per token); sglang:cache_hit_rate is a per-process gauge and is not read (the cached share is cached_tokens_total ÷ prompt_tokens_total)',
      'prompt and output tokens per request are counter means (prompt_tokens_total ÷ num_requests_total): no percentiles',
    ],
  },
  tgiLike(
    'tgi',
    'Hugging Face TGI',
    'tgi_',
    'tgi_queue_size',
    ['TGI serves one model per router: the model is named after the job', 'tgi_request_skipped_tokens is a summary and is not read', 'tgi_request_failure is split by its err label: dropped = cancelled by the client; validation, template = the client\'s error (HTTP 422); the rest (overloaded, generation, incomplete) = server errors'],
    // TGI's err values (Hugging Face text-generation-inference, https://github.com/huggingface/text-generation-inference:
    // router/src/infer/mod.rs, router/src/server.rs, backends/v3/src/backend.rs and queue.rs):
    // "dropped" when the client went away (its response channel closed); "validation" and "template" are answered
    // 422 Unprocessable Entity (InferError's status in server.rs), the request's own fault.
    { label: 'err', cancelled: ['dropped'], client: ['validation', 'template'] },
  ),
  // LoRAX (predibase/lorax, a TGI fork): the same router families under its own prefix (router/src/server.rs,
  // infer.rs, validation.rs), its queue gauge named lorax_queue_length (router/src/scheduler.rs).
  tgiLike('lorax', 'LoRAX', 'lorax_', 'lorax_queue_length', [
    'LoRAX serves one base model (and its adapters) per router: the model is named after the job; the metrics do not split requests by adapter',
    'next steps are worded for TGI, whose launcher flags LoRAX’s lorax-launcher shares (a fork)',
  ]),
  {
    id: 'torchserve',
    title: 'TorchServe',
    server: 'torchserve',
    modelLabel: 'model_name',
    markers: ['ts_inference_latency_microseconds'],
    e2e: { kind: 'counter', metric: ['ts_inference_latency_microseconds'], count: 'ts_inference_requests_total', toMs: US },
    phases: {
      queue: { kind: 'counter', metric: ['ts_queue_latency_microseconds'], count: 'ts_inference_requests_total', toMs: US },
      compute: {
        kind: 'difference',
        minuend: { kind: 'counter', metric: ['ts_inference_latency_microseconds'], count: 'ts_inference_requests_total', toMs: US },
        subtrahends: [{ kind: 'counter', metric: ['ts_queue_latency_microseconds'], count: 'ts_inference_requests_total', toMs: US }],
      },
    },
    requests: 'ts_inference_requests_total',
    notes: ['TorchServe exports cumulative µs counters: means only; compute is inference latency − queue latency (the handler: pre + inference + post)'],
  },
  {
    id: 'kserve',
    title: 'KServe model server',
    server: 'kserve',
    modelLabel: 'model_name',
    markers: ['request_predict_seconds_bucket'],
    // Every request passes preprocess, predict and postprocess (with a transformer, on two pods).
    e2e: { kind: 'sum', parts: [hist('request_predict_seconds', S), hist('request_preprocess_seconds', S), hist('request_postprocess_seconds', S)] },
    phases: { preprocess: hist('request_preprocess_seconds', S), compute: hist('request_predict_seconds', S), postprocess: hist('request_postprocess_seconds', S) },
    notes: ['KServe measures preprocess, predict and postprocess only: end-to-end is their sum, a mean without percentiles (the phases have theirs); time outside the model server (the ingress, the network) is not seen'],
  },
  // Ray Serve's own metrics (ray-project/ray, https://github.com/ray-project/ray): the proxy's end-to-end histogram
  // (python/ray/serve/_private/proxy.py, commit 00136b88cba2e3abefc8a76bb89ebb1f78c1eaa1: tag keys method, route,
  // application, status_code), the replica's processing histogram (python/ray/serve/_private/replica.py, commit
  // 000f7e6f72e28afc09d4af6b7862eb08bbaa8f84, with the deployment, replica and application tags ray/serve/metrics.py adds),
  // both in ms; exported under the `ray_` namespace, counters as `_total` beside a deprecated gauge of the old name
  // (python/ray/_private/metrics_agent.py, commit 05a9ed611f77e287b796ccdde360a6139c7ba8aa; ray PR #43795, Ray 2.10).
  {
    id: 'ray-serve',
    title: 'Ray Serve (proxy and replica metrics)',
    server: 'ray-serve',
    modelLabel: 'application',
    markers: [`${RAY_PROXY}_bucket`, `${RAY_PROXY}_count`],
    e2e: rayProxy,
    phases: { queue: { kind: 'difference', minuend: rayProxy, subtrahends: [hist(RAY_REPLICA, 1)] }, compute: hist(RAY_REPLICA, 1) },
    errors: 'ray_serve_num_http_error_requests_total',
    // queued_queries: requests the proxy's router holds for want of a replica (python/ray/serve/_private/router.py).
    gauges: { waiting: 'ray_serve_deployment_queued_queries', running: 'ray_serve_replica_processing_queries' },
    notes: [
      "the model is the Serve application (label application), the one label the proxy's histogram shares with the replica's (the proxy does not know the deployment); requests without an application (health checks, route listings, 404s) are left out",
      "compute is ray_serve_deployment_processing_latency_ms: the replica's time in the deployment's method, the user's code around the model (pre- and postprocessing in the deployment) included",
      'queue is the proxy latency − the replica processing (means only): the wait in the proxy for a replica below max_ongoing_requests (ray_serve_deployment_queued_queries), plus the hop from proxy to replica (network, serialization)',
      "an application that composes deployments (DeploymentHandle calls) adds every deployment's processing into compute, a nested call's twice, and the queue difference shrinks (left out when negative): read such an application per deployment in Ray's Serve Deployment dashboard",
    ],
  },
];

/** Where GPU state comes from. */
export interface GpuSource {
  readonly id: string;
  readonly title: string;
  readonly markers: readonly string[];
  /** PromQL selecting the value (0–1 or °C or MHz); `{SEL}` is replaced by the user's selector. */
  readonly utilization?: string;
  readonly temperatureC?: string;
  readonly smClockMhz?: string;
  readonly smClockMaxMhz?: string;
  readonly memoryUsedBytes?: string;
  /** 1 while thermally throttled (0–1 per sample). */
  readonly thermalThrottled?: string;
  /** 1 while the SW power cap holds the clocks down (0–1 per sample): normal under full load, it confounds nothing. */
  readonly powerThrottled?: string;
  /**
   * 1 while the HW power brake slows the GPU (NVML HwPowerBrakeSlowdown 0x80: an external
   * power-brake assertion, e.g. by the PSU or rack), 0–1 per sample. A hardware slowdown, not the
   * SW power cap: like thermal slowdown it confounds every software fix's estimate.
   */
  readonly hwPowerBrake?: string;
  /** 1 while HW slowdown is engaged (NVML HwSlowdown 0x8: clocks cut by 2× or more; set with the brake and HW thermal slowdown). */
  readonly hwSlowdown?: string;
}

/** `floor(mask / bit) % 2` of a DCGM clock-event bitmask (NVML's bits), under its old and new field names (dcgm-exporter exports either). */
function dcgmBit(reason: ClockEventReason): string {
  const bit = clockEventBit(reason);
  return ['DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS'].map((m) => `(floor(${m} / ${bit}) % 2)`).join(' or ');
}

/** A 0/1 gauge of nvidia_gpu_exporter under the R535+ name and the older one (`clocks_throttle_reasons.*`). */
function ngeReason(reason: string): string {
  return `nvidia_smi_clocks_event_reasons_${reason} or nvidia_smi_clocks_throttle_reasons_${reason}`;
}

const sc = prometheusName;

/** GPU exporters, ours first. */
export const GPU_SOURCES: readonly GpuSource[] = [
  {
    id: 'sidecar',
    title: 'latency-doctor GPU sidecar',
    markers: [sc(SIDECAR_METRICS.CLOCK_SM), sc(SIDECAR_METRICS.GPU_UTILIZATION)],
    utilization: sc(SIDECAR_METRICS.GPU_UTILIZATION),
    temperatureC: `${sc(SIDECAR_METRICS.TEMPERATURE)}{hw_sensor_location="gpu"}`,
    smClockMhz: sc(SIDECAR_METRICS.CLOCK_SM),
    smClockMaxMhz: sc(SIDECAR_METRICS.CLOCK_SM_MAX),
    memoryUsedBytes: sc(SIDECAR_METRICS.GPU_MEMORY_USAGE),
    thermalThrottled: `${sc(SIDECAR_METRICS.CLOCK_EVENT_ACTIVE)}{reason=~"${THERMAL_REASONS.join('|')}"}`,
    // One reason each: a pattern such as ".*power.*" would take the HW power brake for the SW power cap.
    powerThrottled: `${sc(SIDECAR_METRICS.CLOCK_EVENT_ACTIVE)}{reason="sw_power_cap"}`,
    hwPowerBrake: `${sc(SIDECAR_METRICS.CLOCK_EVENT_ACTIVE)}{reason="hw_power_brake_slowdown"}`,
    hwSlowdown: `${sc(SIDECAR_METRICS.CLOCK_EVENT_ACTIVE)}{reason="hw_slowdown"}`,
  },
  {
    id: 'dcgm',
    title: 'NVIDIA dcgm-exporter',
    markers: ['DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_GPU_UTIL'],
    utilization: 'DCGM_FI_DEV_GPU_UTIL / 100',
    temperatureC: 'DCGM_FI_DEV_GPU_TEMP',
    smClockMhz: 'DCGM_FI_DEV_SM_CLOCK',
    memoryUsedBytes: 'DCGM_FI_DEV_FB_USED * 1048576',
    // DCGM_FI_DEV_THERMAL_VIOLATION / POWER_VIOLATION count time held below application clocks by
    // thermal / power limits (NVML nvmlPerfPolicyType_t); only > 0 is read. The power counter does not
    // tell the brake from the cap, so the brake comes from the clock-event bitmask (HW_POWER_BRAKE
    // 0x80, HW_SLOWDOWN 0x8: DCGM API Field Constants,
    // https://docs.nvidia.com/datacenter/dcgm/3.1/dcgm-api/dcgm-api-field-constants.html).
    thermalThrottled: 'rate(DCGM_FI_DEV_THERMAL_VIOLATION[1m]) / 1e6',
    powerThrottled: 'rate(DCGM_FI_DEV_POWER_VIOLATION[1m]) / 1e6',
    hwPowerBrake: dcgmBit('hw_power_brake_slowdown'),
    hwSlowdown: dcgmBit('hw_slowdown'),
  },
  {
    id: 'nvidia_gpu_exporter',
    title: 'utkuozdemir/nvidia_gpu_exporter',
    markers: ['nvidia_smi_clocks_current_sm_clock_hz', 'nvidia_smi_utilization_gpu_ratio'],
    utilization: 'nvidia_smi_utilization_gpu_ratio',
    temperatureC: 'nvidia_smi_temperature_gpu',
    smClockMhz: 'nvidia_smi_clocks_current_sm_clock_hz / 1e6',
    smClockMaxMhz: 'nvidia_smi_clocks_max_sm_clock_hz / 1e6',
    memoryUsedBytes: 'nvidia_smi_memory_used_bytes',
    thermalThrottled: 'nvidia_smi_clocks_event_reasons_sw_thermal_slowdown + nvidia_smi_clocks_event_reasons_hw_thermal_slowdown',
    powerThrottled: 'nvidia_smi_clocks_event_reasons_sw_power_cap',
    hwPowerBrake: ngeReason('hw_power_brake_slowdown'),
    hwSlowdown: ngeReason('hw_slowdown'),
  },
];

/** True when one of the source's marker names is present; a histogram marker (`X_bucket`, `X_count`) also matches `X`, the native histogram. */
export function sourceDetected(source: LatencySource, names: ReadonlySet<string>): boolean {
  return source.markers.some((m) => names.has(m) || names.has(m.replace(/_(bucket|count)$/, '')));
}

/** The family a measure reads (a histogram by its base name), each part's for a composite one. */
function measureFamilies(m: Measure): string[] {
  if (m.kind === 'histogram') return [m.metric];
  if (m.kind === 'counter') return [...m.metric, m.count];
  if (m.kind === 'difference') return [...measureFamilies(m.minuend), ...m.subtrahends.flatMap(measureFamilies)];
  return m.parts.flatMap(measureFamilies);
}

/** The metric families a source reads: those its end-to-end latency is measured from, and every other (histograms by their base name), each once. */
export function sourceFamilies(source: LatencySource): { readonly e2e: readonly string[]; readonly others: readonly string[] } {
  const measures = (list: Measure | readonly Measure[] | undefined): Measure[] => (list === undefined ? [] : ([] as Measure[]).concat(list));
  const g = source.generation;
  const e2e = new Set(measureFamilies(source.e2e));
  const others = [
    ...Object.values(source.phases).flatMap((m) => (m ? measureFamilies(m) : [])),
    ...[...measures(g?.ttft), ...measures(g?.tpot), ...measures(g?.itl), ...measures(source.tokens?.in), ...measures(source.tokens?.out)].flatMap(measureFamilies),
    ...[source.requests, source.errors, source.batch?.items, source.batch?.executions, source.batchHistogram, source.tokens?.cached?.hits, source.tokens?.cached?.queries].filter((n): n is string => n !== undefined),
    ...[source.scheduler?.running, ...(source.scheduler?.kvCacheUsage ?? []), source.scheduler?.preemptions].filter((n): n is string => n !== undefined),
    ...Object.values(source.gauges ?? {}).flatMap((v) => ([] as string[]).concat(v)),
  ].filter((n) => !e2e.has(n));
  return { e2e: [...e2e], others: [...new Set(others)] };
}

/** True when `names` (metric names present) hold the family: itself (a counter, gauge or native histogram) or a classic histogram's series. */
export function familyPresent(family: string, names: ReadonlySet<string>): boolean {
  return names.has(family) || names.has(`${family}_bucket`) || names.has(`${family}_count`) || names.has(`${family}_sum`);
}

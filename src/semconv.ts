/**
 * @module semconv
 * The one place that names the span convention shared by the tracer, the sidecar and the
 * analyzer: phases, span attributes, metric names and the public fix ids. Everything else
 * imports these constants; dashboards, alert rules and docs are checked against them.
 */

/**
 * The phases of one inference request, in the order a request usually passes through them.
 * A generative (token-streaming) request splits its model time into `prefill` (the prompt's
 * forward pass, up to the first token) and `decode` (one step per further token); a
 * non-generative request keeps `compute`.
 */
export const PHASES = [
  'preprocess',
  'serialize',
  'network',
  'queue',
  'transfer',
  'compute',
  'prefill',
  'decode',
  'postprocess',
] as const;

/** One phase of the convention. */
export type Phase = (typeof PHASES)[number];

/** The phases a generative request's model time is split into (instead of `compute`). */
export const GENERATION_PHASES = ['prefill', 'decode'] as const satisfies readonly Phase[];

/** Time inside a request that no phase span covers; reported, never dropped. */
export const OTHER = 'other' as const;

/** A phase or the uncovered remainder. */
export type PhaseOrOther = Phase | typeof OTHER;

/** True when `value` names a phase of the convention. */
export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}

/** Span attribute keys of the convention. */
export const ATTR = {
  /** Marks a request span (and may appear on a client span). */
  MODEL_NAME: 'inference.model.name',
  MODEL_VERSION: 'inference.model.version',
  /** onnxruntime, tensorrt, pytorch, tensorflow, openvino, neuron, … */
  RUNTIME: 'inference.runtime',
  /** Execution provider / backend inside the runtime, e.g. CPUExecutionProvider, CUDAExecutionProvider, TensorrtExecutionProvider. */
  RUNTIME_PROVIDER: 'inference.runtime.provider',
  /** fp32, fp16, bf16, int8, … */
  PRECISION: 'inference.precision',
  /** cpu, cuda:0, … */
  DEVICE: 'inference.device',
  /** Request payload size in bytes. */
  REQUEST_SIZE: 'inference.request.size',
  /** Response payload size in bytes. */
  RESPONSE_SIZE: 'inference.response.size',
  /** Opt-in keyed hash of the normalized input, for cache analysis; never the input itself. */
  INPUT_HASH: 'inference.input.hash',
  CACHE_HIT: 'inference.cache.hit',
  /** Marks a phase span; one of PHASES. */
  PHASE: 'inference.phase',
  /** On compute spans (and batch spans): how many requests ran together. */
  BATCH_SIZE: 'inference.batch.size',
  /** `client` on the client span that wraps the outbound inference call. */
  ROLE: 'inference.role',
  /** Generative requests, on the request span: prompt tokens (after templating, as the model saw them). */
  TOKENS_INPUT: 'inference.tokens.input',
  /** Generative requests, on the request span: tokens generated. */
  TOKENS_OUTPUT: 'inference.tokens.output',
  /** Generative requests, on the request span: prompt tokens served from a prefix (KV) cache, where the server knows. */
  TOKENS_CACHED: 'inference.tokens.cached',
  /** On the token-count metric: `input`, `output` or `cached`. */
  TOKEN_TYPE: 'inference.token.type',
} as const;

/**
 * The attributes read from a phase span: its phase, role and model (which classify it) and its
 * batch size. Readers that keep only some attributes of phase spans keep these (formats/_otlp-fast.ts).
 */
export const PHASE_SPAN_ATTRIBUTES: readonly string[] = [ATTR.PHASE, ATTR.ROLE, ATTR.MODEL_NAME, ATTR.BATCH_SIZE];

/**
 * Name of the span event that marks a generative request's first output token, on the request
 * span. Without it, the end of the request's last `prefill` span marks the first token.
 */
export const FIRST_TOKEN_EVENT = 'inference.first_token';

/**
 * Internal, not part of the span convention: on request spans made by a source-convention
 * mapping (analyzer/conventions), the id of the convention (`triton`, `vllm`, `tgi`, …), so the
 * diagnosis can word next steps for that server. The Triton trace reader also marks its raw spans.
 */
export const SOURCE_ATTR = 'latency_doctor.source';

/** Value of ATTR.ROLE on a client span. */
export const ROLE_CLIENT = 'client';

/**
 * True for the convention's client span: `inference.role` = `client` on a span of kind CLIENT,
 * or of a kind that only says none was given: INTERNAL (what the OpenTelemetry SDKs record when
 * the caller names no kind, and what a Zipkin span without `kind` means) or UNSPECIFIED (OTLP's
 * 0). A SERVER, PRODUCER or CONSUMER span is not one, whatever its role. Every reader and the
 * assembler classify with this one test.
 */
export function isClientSpan(kind: string, role: unknown): boolean {
  return role === ROLE_CLIENT && (kind === 'client' || kind === 'internal' || kind === 'unspecified');
}

/**
 * OpenTelemetry's own names for a failed operation, used by the tracer when the wrapped call
 * throws ("Recording exceptions", https://opentelemetry.io/docs/specs/semconv/exceptions/exceptions-spans/,
 * and `error.type`, https://opentelemetry.io/docs/specs/semconv/registry/attributes/error/).
 * Messages and stack traces often quote the input ("invalid token 'xyz'"), so the tracer records
 * only the type unless the service opts in (`recordExceptionMessages`).
 */
export const EXCEPTION = {
  /** Span event name. */
  EVENT: 'exception',
  TYPE: 'exception.type',
  MESSAGE: 'exception.message',
  STACKTRACE: 'exception.stacktrace',
  /** Span attribute: the class of error the operation ended with. */
  ERROR_TYPE: 'error.type',
} as const;

/** Name of the span a batcher records once per batch, linked to its member requests. */
export const BATCH_SPAN_NAME = 'inference.batch';

/** Public recommendation ids (stable `--json` output). */
export const FIX_IDS = [
  'dynamic-batching',
  'quantization',
  'optimized-runtime',
  'prune-distill',
  'preprocessing-pipeline',
  'scale-and-cache',
  'latency-drift',
  'device-transfer',
  'hardware-limit',
  'replica-outlier',
] as const;

/** One public recommendation id. */
export type FixId = (typeof FIX_IDS)[number];

/** Instrument kinds used by the metric table below. */
export type InstrumentKind = 'histogram' | 'counter' | 'gauge' | 'updowncounter';

/** One metric of the convention: its OpenTelemetry name, unit and labels. */
export interface MetricSpec {
  /** OpenTelemetry instrument name. */
  readonly name: string;
  /** UCUM unit as OpenTelemetry writes it (`s`, `By`, `W`, `Cel`, `MHz`, `1`). */
  readonly unit: string;
  readonly kind: InstrumentKind;
  readonly description: string;
  /** Attribute keys (OpenTelemetry spelling) carried by every point. */
  readonly attributes: readonly string[];
}

/** Metrics the tracer records inside the service. */
export const TRACER_METRICS = {
  PHASE_DURATION: {
    name: 'inference.phase.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of one inference phase of one request.',
    attributes: [ATTR.PHASE, ATTR.MODEL_NAME],
  },
  REQUEST_DURATION: {
    name: 'inference.request.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Server-side duration of one inference request (the request span).',
    attributes: [ATTR.MODEL_NAME],
  },
  BATCH_SIZE: {
    name: 'inference.batch.size',
    unit: '{request}',
    kind: 'histogram',
    description: 'Requests per executed batch.',
    attributes: [ATTR.MODEL_NAME],
  },
  TIME_TO_FIRST_TOKEN: {
    name: 'inference.time_to_first_token',
    unit: 's',
    kind: 'histogram',
    description: 'Generative requests: request start to first output token (TTFT).',
    attributes: [ATTR.MODEL_NAME],
  },
  TIME_PER_OUTPUT_TOKEN: {
    name: 'inference.time_per_output_token',
    unit: 's',
    kind: 'histogram',
    description: 'Generative requests: (duration − TTFT) ÷ (output tokens − 1), one point per request with two or more output tokens (TPOT).',
    attributes: [ATTR.MODEL_NAME],
  },
  TOKENS: {
    name: 'inference.tokens',
    unit: '{token}',
    kind: 'histogram',
    description: 'Generative requests: tokens per request, by type (input, output, cached).',
    attributes: [ATTR.MODEL_NAME, ATTR.TOKEN_TYPE],
  },
  SPANS_DROPPED: {
    name: 'inference.tracer.spans.dropped',
    unit: '{span}',
    kind: 'counter',
    description: 'Spans the tracer dropped because the export queue was full or the exporter failed.',
    attributes: [],
  },
} as const satisfies Record<string, MetricSpec>;

/** GPU attribute keys on sidecar metrics (OpenTelemetry hardware semconv plus our gpu.* extension). */
export const GPU_ATTR = {
  ID: 'hw.id',
  NAME: 'hw.name',
  MODEL: 'hw.model',
  VENDOR: 'hw.vendor',
  DRIVER_VERSION: 'hw.driver_version',
  TYPE: 'hw.type',
  TASK: 'hw.gpu.task',
  SENSOR_LOCATION: 'hw.sensor_location',
  LIMIT_TYPE: 'hw.limit_type',
  PCI_BUS_ID: 'gpu.pci_bus_id',
  INDEX: 'gpu.index',
  REASON: 'reason',
  ERROR_TYPE: 'error.type',
} as const;

const GPU_LABELS = [GPU_ATTR.ID, GPU_ATTR.NAME, GPU_ATTR.MODEL] as const;

/** Metrics the sidecar serves; `hw.*` follow OpenTelemetry semconv, `gpu.*` is our documented extension. */
export const SIDECAR_METRICS = {
  GPU_UTILIZATION: { name: 'hw.gpu.utilization', unit: '1', kind: 'gauge', description: 'Fraction of time the GPU was busy (absent under MIG).', attributes: [...GPU_LABELS, GPU_ATTR.TASK] },
  GPU_MEMORY_USAGE: { name: 'hw.gpu.memory.usage', unit: 'By', kind: 'gauge', description: 'GPU memory used.', attributes: GPU_LABELS },
  GPU_MEMORY_LIMIT: { name: 'hw.gpu.memory.limit', unit: 'By', kind: 'gauge', description: 'GPU memory total.', attributes: GPU_LABELS },
  GPU_MEMORY_UTILIZATION: { name: 'hw.gpu.memory.utilization', unit: '1', kind: 'gauge', description: 'Fraction of GPU memory used (used / total).', attributes: GPU_LABELS },
  GPU_MEMORY_RESERVED: { name: 'gpu.memory.reserved', unit: 'By', kind: 'gauge', description: 'GPU memory reserved by the driver.', attributes: GPU_LABELS },
  GPU_MEMORY_BUSY: { name: 'gpu.memory.busy', unit: '1', kind: 'gauge', description: 'Fraction of time the memory controller was busy (nvidia-smi utilization.memory).', attributes: GPU_LABELS },
  POWER: { name: 'hw.power', unit: 'W', kind: 'gauge', description: 'GPU power draw (averaged by the driver).', attributes: [...GPU_LABELS, GPU_ATTR.TYPE] },
  POWER_INSTANT: { name: 'gpu.power.instant', unit: 'W', kind: 'gauge', description: 'Instantaneous GPU power draw, where the driver lists it.', attributes: GPU_LABELS },
  POWER_LIMIT: { name: 'gpu.power.limit', unit: 'W', kind: 'gauge', description: 'Enforced GPU power limit.', attributes: GPU_LABELS },
  TEMPERATURE: { name: 'hw.temperature', unit: 'Cel', kind: 'gauge', description: 'Temperature by sensor location (gpu, memory; host cpu).', attributes: [...GPU_LABELS, GPU_ATTR.TYPE, GPU_ATTR.SENSOR_LOCATION] },
  TEMPERATURE_LIMIT: { name: 'hw.temperature.limit', unit: 'Cel', kind: 'gauge', description: 'Temperature thresholds (throttled = slowdown, high.critical = shutdown).', attributes: [...GPU_LABELS, GPU_ATTR.LIMIT_TYPE] },
  TEMPERATURE_MARGIN: { name: 'gpu.temperature.tlimit_margin', unit: 'Cel', kind: 'gauge', description: 'Degrees left before thermal slowdown; 0 = throttling.', attributes: GPU_LABELS },
  CLOCK_SM: { name: 'gpu.clock.sm', unit: 'MHz', kind: 'gauge', description: 'Current SM clock.', attributes: GPU_LABELS },
  CLOCK_SM_MAX: { name: 'gpu.clock.sm.max', unit: 'MHz', kind: 'gauge', description: 'Maximum SM clock.', attributes: GPU_LABELS },
  CLOCK_MEMORY: { name: 'gpu.clock.memory', unit: 'MHz', kind: 'gauge', description: 'Current memory clock.', attributes: GPU_LABELS },
  CLOCK_MEMORY_MAX: { name: 'gpu.clock.memory.max', unit: 'MHz', kind: 'gauge', description: 'Maximum memory clock.', attributes: GPU_LABELS },
  PSTATE: { name: 'gpu.pstate', unit: '1', kind: 'gauge', description: 'Performance state, 0 (max) to 15 (min).', attributes: GPU_LABELS },
  CLOCK_EVENT_ACTIVE: { name: 'gpu.clock_event.active', unit: '1', kind: 'gauge', description: '1 while a clock-event (throttle) reason is active, per reason.', attributes: [...GPU_LABELS, GPU_ATTR.REASON] },
  CLOCK_EVENT_MASK: { name: 'gpu.clock_event.mask', unit: '1', kind: 'gauge', description: 'Raw clock-event reasons bitmask.', attributes: GPU_LABELS },
  CLOCK_EVENT_DURATION: { name: 'gpu.clock_event.duration', unit: 's', kind: 'counter', description: 'Cumulative time spent in each clock-event reason, where the driver lists the counters (580 and later seen).', attributes: [...GPU_LABELS, GPU_ATTR.REASON] },
  GPU_ERRORS: { name: 'hw.errors', unit: '{error}', kind: 'counter', description: 'GPU ECC errors since the driver loaded (volatile counts); XID errors are not exported, nvidia-smi cannot report them.', attributes: [...GPU_LABELS, GPU_ATTR.TYPE, GPU_ATTR.ERROR_TYPE] },
  MIG_MEMORY_USAGE: { name: 'gpu.mig.memory.usage', unit: 'By', kind: 'gauge', description: 'Memory used per MIG instance.', attributes: [...GPU_LABELS, 'gpu.mig.instance'] },
  HOST_CPU_UTILIZATION: { name: 'hw.host.cpu.utilization', unit: '1', kind: 'gauge', description: 'Host CPU load as a fraction of all cores.', attributes: [] },
  HOST_MEMORY_USAGE: { name: 'hw.host.memory.usage', unit: 'By', kind: 'gauge', description: 'Host memory in use.', attributes: [] },
  HOST_MEMORY_LIMIT: { name: 'hw.host.memory.limit', unit: 'By', kind: 'gauge', description: 'Host memory total.', attributes: [] },
  GPU_COUNT: { name: 'gpu.sidecar.gpus', unit: '{gpu}', kind: 'gauge', description: 'GPUs in the sample /metrics answers from (0 in host-only mode); a drop means a GPU left nvidia-smi\'s list, and with it its series.', attributes: [] },
  COLLECT_SUCCESS: { name: 'gpu.sidecar.collect.success', unit: '1', kind: 'gauge', description: '1 when the last collection succeeded and is fresh, else 0.', attributes: [] },
  COLLECT_DURATION: { name: 'gpu.sidecar.collect.duration', unit: 's', kind: 'gauge', description: 'Seconds the last collection took: query-gpu, from the first to the last row of the last streamed pass (0 with one GPU: the streaming child has no per-pass run to time); xml, one -q -x run.', attributes: ['source'] },
  COLLECT_FAILURES: { name: 'gpu.sidecar.collect.failures', unit: '{failure}', kind: 'counter', description: 'Collection failures by kind.', attributes: ['kind'] },
  SAMPLE_AGE: { name: 'gpu.sidecar.sample.age', unit: 's', kind: 'gauge', description: 'Age of the sample /metrics answers from; grows while collection is wedged.', attributes: [] },
  SAMPLE_STALE: { name: 'gpu.sidecar.sample.stale', unit: '1', kind: 'gauge', description: '1 while /metrics repeats the last good sample because collection is wedged or failing.', attributes: [] },
  SOURCE_EXIT_CODE: { name: 'gpu.sidecar.source.exit_code', unit: '1', kind: 'gauge', description: 'Exit code of the nvidia-smi child that last stopped; absent while a child streams samples.', attributes: [] },
} as const satisfies Record<string, MetricSpec>;

/**
 * Prometheus name of a metric as the OpenTelemetry JS Prometheus exporter (0.223) writes it:
 * dots become underscores, counters get `_total`; no unit suffix (that exporter adds none).
 * Histograms expose `_bucket`, `_sum` and `_count` series under this base name.
 */
export function prometheusName(metric: MetricSpec): string {
  const base = metric.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  return metric.kind === 'counter' && !base.endsWith('_total') ? `${base}_total` : base;
}

/** Prometheus label name of an attribute key, as the exporters sanitize it. */
export function prometheusLabel(attribute: string): string {
  return attribute.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Content marker of a sidecar sample line (JSON lines) so the analyzer can detect sample files. */
export const GPU_SAMPLE_SCHEMA = 'latency-doctor/gpu-sample@1';

/**
 * Series the Collector's span-metrics connector derives from our spans, as the Collector's
 * Prometheus exporter writes them (otelcol-contrib 0.136.0: default namespace
 * `traces.span.metrics` since 0.109, duration histogram unit `ms`, exporter default
 * `add_metric_suffixes: true`, so the unit and `_total` suffixes ARE appended here, unlike
 * the JS exporter above). Labels: the connector's default dimensions plus ours.
 */
export const SPANMETRICS = {
  /** Counter of spans per dimension set. */
  CALLS: 'traces_span_metrics_calls_total',
  /** Histogram base name; series are `_bucket`, `_sum`, `_count`, in milliseconds. */
  DURATION: 'traces_span_metrics_duration_milliseconds',
  /** Span attributes configured as extra dimensions in collector/otelcol.yaml. */
  DIMENSIONS: [ATTR.PHASE, ATTR.MODEL_NAME],
  /** Prometheus labels of the connector's default dimensions. */
  LABELS: { SERVICE: 'service_name', SPAN_NAME: 'span_name', SPAN_KIND: 'span_kind', STATUS_CODE: 'status_code' },
} as const;

/**
 * @module tracer/tracer-state
 * What one inference tracer computes once at creation so the per-request path only reuses it:
 * frozen attribute sets for spans and metrics, span names, the input hasher, and the OpenTelemetry
 * tracer of the currently registered provider.
 */
import { trace } from '@opentelemetry/api';
import type { Attributes, Tracer, TracerProvider } from '@opentelemetry/api';
import { ATTR, PHASES } from '../semconv.js';
import type { Phase } from '../semconv.js';
import { createInputHasher } from './input-hash.js';
import { presamplerFor } from './presampler-slot.js';
import type { Presampler } from './presampler-slot.js';
import type { InputHashOption, InputHasher } from './input-hash.js';
import { TRACER_NAME, TRACER_VERSION } from './tracer-identity.js';

/** Describes the model a tracer records; every request span carries these attributes. */
export interface InferenceTracerOptions {
  /** Model name (`inference.model.name`); required, it is what marks a request span. */
  readonly model: string;
  /** Model version (`inference.model.version`). Default: not recorded. */
  readonly version?: string;
  /** onnxruntime, tensorrt, pytorch, tensorflow, openvino, … (`inference.runtime`). Default: not recorded. */
  readonly runtime?: string;
  /** Execution provider inside the runtime, e.g. CUDAExecutionProvider (`inference.runtime.provider`). Default: not recorded. */
  readonly runtimeProvider?: string;
  /** fp32, fp16, bf16, int8, … (`inference.precision`). Default: not recorded. */
  readonly precision?: string;
  /** cpu, cuda:0, … (`inference.device`). Default: not recorded. */
  readonly device?: string;
  /** Opt-in `inference.input.hash` (HMAC-SHA256 of the normalized input). Default: off. */
  readonly hashInputs?: InputHashOption;
  /** Extra attributes on every request span. Default: none. */
  readonly attributes?: Attributes;
  /**
   * Opt-in: when the wrapped call throws, also record the error's message and stack trace
   * (`exception.message`, `exception.stacktrace`, the span status description). Default: off,
   * only its type (`exception.type`, `error.type`): messages often quote the model's input.
   */
  readonly recordExceptionMessages?: boolean;
}

/** Per-tracer constants shared by its requests (internal). */
export interface TracerState {
  readonly model: string;
  readonly requestSpanName: string;
  readonly clientSpanName: string;
  readonly requestAttributes: Attributes;
  readonly batchAttributes: Attributes;
  readonly phaseSpanAttributes: Readonly<Record<Phase, Attributes>>;
  readonly phaseMetricAttributes: Readonly<Record<Phase, Attributes>>;
  readonly modelMetricAttributes: Attributes;
  readonly hasher: InputHasher;
  readonly hashing: boolean;
  /** Record error messages and stack traces (the opt-in `recordExceptionMessages`). */
  readonly recordMessages: boolean;
  /** The OpenTelemetry tracer of the provider registered now (re-resolved after a new setup). */
  otelTracer(): Tracer;
  /** The presampler of the provider `otelTracer()` last resolved (call that first): one provider lookup per request. */
  presampler(): Presampler | undefined;
}

function definedOnly(entries: Record<string, string | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(entries)) {
    if (typeof value === 'string' && value !== '') out[key] = value;
  }
  return out;
}

/** Resolves tracer options into the per-tracer constants. */
export function createTracerState(options: InferenceTracerOptions): TracerState {
  const model = typeof options.model === 'string' && options.model !== '' ? options.model : 'unknown';
  const requestAttributes = Object.freeze({
    ...(options.attributes ?? {}),
    ...definedOnly({
      [ATTR.MODEL_NAME]: model,
      [ATTR.MODEL_VERSION]: options.version,
      [ATTR.RUNTIME]: options.runtime,
      [ATTR.RUNTIME_PROVIDER]: options.runtimeProvider,
      [ATTR.PRECISION]: options.precision,
      [ATTR.DEVICE]: options.device,
    }),
  });
  // Batch spans must not carry the model name: that attribute is what makes a request span.
  const batchAttributes = Object.freeze(
    definedOnly({ [ATTR.RUNTIME]: options.runtime, [ATTR.DEVICE]: options.device }),
  );
  // Plain objects (fast lookups on the per-phase path); unknown names are checked with isPhase.
  const phaseSpanAttributes = {} as Record<Phase, Attributes>;
  const phaseMetricAttributes = {} as Record<Phase, Attributes>;
  for (const phase of PHASES) {
    phaseSpanAttributes[phase] = Object.freeze({ [ATTR.PHASE]: phase });
    phaseMetricAttributes[phase] = Object.freeze({ [ATTR.PHASE]: phase, [ATTR.MODEL_NAME]: model });
  }
  let provider: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  return {
    model,
    requestSpanName: `infer ${model}`,
    clientSpanName: `call ${model}`,
    requestAttributes,
    batchAttributes,
    phaseSpanAttributes,
    phaseMetricAttributes,
    modelMetricAttributes: Object.freeze({ [ATTR.MODEL_NAME]: model }),
    hasher: createInputHasher(options.hashInputs),
    hashing: options.hashInputs !== undefined && options.hashInputs !== false,
    recordMessages: options.recordExceptionMessages === true,
    otelTracer() {
      // trace.disable() (our shutdown) installs a new proxy provider; old proxy tracers stay dead.
      const current = trace.getTracerProvider();
      if (current !== provider || tracer === undefined) {
        provider = current;
        tracer = current.getTracer(TRACER_NAME, TRACER_VERSION);
      }
      return tracer;
    },
    presampler() {
      return provider === undefined ? undefined : presamplerFor(provider);
    },
  };
}

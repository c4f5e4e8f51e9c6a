/**
 * @module model/request
 * One inference request's timings, rebuilt from its spans by `analyzer/assemble`.
 * This is what every later stage (measure, diagnose, render) works from.
 */
import type { Phase } from '../semconv.js';
import type { GenerationTiming } from './generation.js';

/**
 * Per-request phase timings and the request's attributes. Times in milliseconds.
 * Generative requests also carry the GenerationTiming fields (TTFT as an offset from
 * `startNs`, token counts); TPOT and tokens/s are derived from them in `model/generation`.
 */
export interface RequestTiming extends GenerationTiming {
  readonly traceId: string;
  /** Span id of the server's request span. */
  readonly requestSpanId: string;
  readonly service: string;
  readonly model: string;
  readonly modelVersion?: string;
  readonly runtime?: string;
  readonly runtimeProvider?: string;
  readonly precision?: string;
  readonly device?: string;
  /** The inference-server convention this request was read from (`triton`, `vllm`, `tgi`, …); absent for our own convention. */
  readonly source?: string;
  /** Start of the end-to-end interval (client span start when one exists), ns since epoch. */
  readonly startNs: bigint;
  /** End-to-end latency: the client span's duration when one exists, else the request span's. */
  readonly e2eMs: number;
  /** Duration of the server's request span. */
  readonly serverMs: number;
  /** Time per phase: the union of that phase's span intervals, clipped to the e2e interval. Phases with no span are absent. */
  readonly phases: Readonly<Partial<Record<Phase, number>>>;
  /** End-to-end time no phase span covers. */
  readonly otherMs: number;
  /** True when a client span wraps this request. */
  readonly hasClient: boolean;
  /** True when network time was derived as client duration − server duration (no explicit network spans). */
  readonly networkDerived: boolean;
  /** True when client and server clocks disagreed (server outside client); network was clamped at 0. */
  readonly clockSkew: boolean;
  /** Batch size of the compute (or decode) span(s) (max when several). */
  readonly batchSize?: number;
  readonly requestBytes?: number;
  readonly responseBytes?: number;
  readonly inputHash?: string;
  readonly cacheHit?: boolean;
  readonly error: boolean;
}

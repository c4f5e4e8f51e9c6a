/**
 * @module model/span
 * The normalized span every reader in `formats/` produces, whatever the input format.
 * Compact on purpose: the assembler holds many of these at once for open traces.
 */

/** Span kind, normalized from OTLP enums, Jaeger `span.kind` tags and Zipkin kinds. */
export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** An attribute value after normalization (arrays and maps are flattened to JSON strings). */
export type AttributeValue = string | number | boolean;

/** A timestamped event on a span (OTLP span event, Python console event, Jaeger log, Zipkin annotation); attributes are not kept. */
export interface SpanEvent {
  readonly name: string;
  /** Nanoseconds, on the same clock as the span's start and end. */
  readonly timeNs: bigint;
}

/**
 * The latest time a span may carry: OTLP's fixed64 nanoseconds (the year 2554). Later values
 * (1e300 µs in a damaged file) are not times, and would break every date shown downstream;
 * readers take no later value for a time, and the request table holds every time up to it.
 */
export const MAX_TIME_NS = 2n ** 64n - 1n;

/** One span, normalized. Ids are lowercase hex, left-padded to 32 (trace) and 16 (span) chars. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent for a root span (empty or all-zero parent ids are treated as absent). */
  readonly parentSpanId?: string;
  readonly name: string;
  /** `service.name` of the resource / Jaeger process / Zipkin localEndpoint; '' when unknown. */
  readonly service: string;
  readonly kind: SpanKind;
  /** Start and end as nanoseconds since the Unix epoch (exact where the input is exact). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Span attributes (resource attributes are not merged in, apart from `service`). */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** True when the span's status is ERROR (or the `error` tag is set). */
  readonly error: boolean;
  /** Span links (OTLP links, Jaeger FOLLOWS_FROM references to other spans). */
  readonly links?: readonly { readonly traceId: string; readonly spanId: string }[];
  /** Time of the span's `inference.first_token` event (the one span event the convention reads), ns since epoch. */
  readonly firstTokenNs?: bigint;
  /** Span events (name and time) where the format carries them, for source conventions (Triton's timestamps); absent when none. */
  readonly events?: readonly SpanEvent[];
  /** Zipkin client/server halves share one span id; the server half is marked `shared`. */
  readonly shared?: boolean;
}

/** The input formats the readers recognise. */
export type TraceFormat =
  | 'otlp-json'
  | 'otlp-jsonl'
  | 'otlp-proto'
  | 'jaeger-json'
  | 'zipkin-json'
  | 'python-console'
  | 'triton-trace'
  | 'gpu-samples';

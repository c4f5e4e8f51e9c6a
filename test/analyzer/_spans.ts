/**
 * Builders of normalized spans for analyzer tests: times in ms from a fixed epoch.
 */
import type { AttributeValue, SpanKind, SpanRecord } from '../../src/model/span.js';
import { ATTR, ROLE_CLIENT } from '../../src/semconv.js';
import type { Phase } from '../../src/semconv.js';

/** 2026-01-01T00:00:00Z in ns: real epoch times are beyond 2^53, as in real files. */
export const EPOCH_NS = 1_767_225_600_000_000_000n;

const ms = (t: number): bigint => EPOCH_NS + BigInt(Math.round(t * 1e6));

let counter = 0;
/** A fresh 16-hex span id. */
export function spanId(): string {
  counter++;
  return counter.toString(16).padStart(16, '0');
}

/** A 32-hex trace id from a number. */
export function traceId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

interface SpanInit {
  trace: string;
  id?: string;
  parent?: string | undefined;
  name?: string;
  service?: string;
  kind?: SpanKind;
  start: number;
  end: number;
  attributes?: Record<string, AttributeValue>;
  error?: boolean;
  shared?: boolean;
}

/** One SpanRecord, times in ms since EPOCH_NS. */
export function span(init: SpanInit): SpanRecord {
  const record: { -readonly [K in keyof SpanRecord]: SpanRecord[K] } = {
    traceId: init.trace,
    spanId: init.id ?? spanId(),
    name: init.name ?? 'span',
    service: init.service ?? 'svc',
    kind: init.kind ?? 'internal',
    startNs: ms(init.start),
    endNs: ms(init.end),
    attributes: init.attributes ?? {},
    error: init.error ?? false,
  };
  if (init.parent !== undefined) record.parentSpanId = init.parent;
  if (init.shared) record.shared = true;
  return record;
}

/** A server request span of `model`. */
export function requestSpan(trace: string, start: number, end: number, extra: Partial<SpanInit> & { model?: string } = {}): SpanRecord {
  return span({
    trace,
    name: 'infer',
    kind: 'server',
    start,
    end,
    ...extra,
    attributes: { [ATTR.MODEL_NAME]: extra.model ?? 'resnet50', ...(extra.attributes ?? {}) },
  });
}

/** A phase span under `parent`. */
export function phaseSpan(trace: string, parent: string, phase: Phase, start: number, end: number, attributes: Record<string, AttributeValue> = {}): SpanRecord {
  return span({ trace, parent, name: phase, start, end, attributes: { [ATTR.PHASE]: phase, ...attributes } });
}

/** A client span of the convention. */
export function clientSpan(trace: string, start: number, end: number, extra: Partial<SpanInit> = {}): SpanRecord {
  return span({ trace, name: 'client infer', kind: 'client', service: 'client', start, end, ...extra, attributes: { [ATTR.ROLE]: ROLE_CLIENT, ...(extra.attributes ?? {}) } });
}

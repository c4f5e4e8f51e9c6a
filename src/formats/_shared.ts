/**
 * @module formats/_shared
 * Internal helpers the format converters share: locations, time conversion, span kinds.
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import { MAX_TIME_NS } from '../model/span.js';

/** Joins a line (or '') and a JSON path into a location for warnings and errors. */
export function at(where: string, path: string): string {
  return where === '' ? path : `${where}: ${path}`;
}

/** A plain object (not null, not an array), for narrowing parsed JSON. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Microseconds (a JSON number or decimal string) as epoch nanoseconds; undefined when invalid. */
export function microsToNs(raw: unknown): bigint | undefined {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) return undefined;
    // µs since 1970 stay below 2^53 until the year 2255, so the double is exact.
    return inTimeRange(BigInt(Math.round(raw)) * 1000n);
  }
  if (typeof raw === 'string' && raw.length > 0) {
    const n = Number(raw);
    return Number.isFinite(n) && n >= 0 ? inTimeRange(BigInt(Math.round(n)) * 1000n) : undefined;
  }
  return undefined;
}

/**
 * Events from a list of objects timed in µs by their `timestamp` (Jaeger logs, Zipkin
 * annotations), each named by `nameOf`; those without a readable time are left out, as the OTLP
 * readers leave out events without one, and so are those `keep` (when given) does not name.
 */
export function microsEvents(list: unknown, nameOf: (item: Record<string, unknown>) => string, keep?: ReadonlySet<string>): SpanEvent[] | undefined {
  if (!Array.isArray(list)) return undefined;
  let events: SpanEvent[] | undefined;
  for (const item of list as unknown[]) {
    if (!isObject(item)) continue;
    const timeNs = microsToNs(item['timestamp']);
    if (timeNs === undefined) continue;
    const name = nameOf(item);
    if (keep === undefined || keep.has(name)) (events ??= []).push({ name, timeNs });
  }
  return events;
}

/** `ns` when it is a representable time (0 … MAX_TIME_NS), else undefined. */
export function inTimeRange(ns: bigint): bigint | undefined {
  return ns >= 0n && ns <= MAX_TIME_NS ? ns : undefined;
}

// A Map: an object literal would answer `constructor` or `__proto__` (a kind word from the input)
// with what it inherits, and a client span so named read as a request span of its own.
const LOWER_KINDS: ReadonlyMap<string, SpanKind> = new Map((['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'] as const).map((k) => [k, k]));

/** A kind written as a word in any case (`server`, `SERVER`, `SpanKind.SERVER`, `SPAN_KIND_SERVER`). */
export function kindFromName(name: string): SpanKind | undefined {
  const lower = name.toLowerCase();
  const direct = LOWER_KINDS.get(lower);
  if (direct !== undefined) return direct;
  const dot = lower.lastIndexOf('.');
  if (dot >= 0) return LOWER_KINDS.get(lower.slice(dot + 1));
  if (lower.startsWith('span_kind_')) return LOWER_KINDS.get(lower.slice(10));
  return undefined;
}

/** A SpanRecord while a reader fills it in: the same fields, settable, with mutable attributes and links. */
export type SpanDraft = { -readonly [K in keyof SpanRecord]: SpanRecord[K] } & {
  attributes: Record<string, AttributeValue>;
  links?: { traceId: string; spanId: string }[];
  events?: SpanEvent[];
};

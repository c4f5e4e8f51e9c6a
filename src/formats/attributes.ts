/**
 * @module formats/attributes
 * Turns each format's attribute encoding into plain `AttributeValue`s: OTLP `AnyValue`
 * (camelCase or snake_case, int64 as string or number), Jaeger typed tags, Zipkin string tags
 * and Python's plain maps. Arrays and maps become JSON strings (SpanRecord keeps scalars only).
 *
 * int64 policy: integers within ±2^53 become numbers; larger ones stay decimal strings so they
 * remain exact (Jaeger writes such values as strings; OTLP `intValue` is a string anyway).
 */

import type { AttributeValue } from '../model/span.js';

/** An int64 written as a string or a number: a number when exact, else the decimal string. */
export function int64Value(raw: string | number): AttributeValue {
  if (typeof raw === 'number') return raw;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : raw;
}

function doubleValue(raw: unknown): AttributeValue | undefined {
  if (typeof raw === 'number') return raw;
  // proto3 JSON allows "NaN", "Infinity", "-Infinity" and numeric strings for doubles.
  if (typeof raw === 'string') {
    const n = Number(raw);
    return Number.isNaN(n) && raw !== 'NaN' ? raw : n;
  }
  return undefined;
}

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

/** The scalar cases of AnyValue (camelCase first: the common spelling). */
function scalarValue(o: Record<string, unknown>): AttributeValue | undefined {
  const s = o['stringValue'];
  if (typeof s === 'string') return s;
  const i = o['intValue'];
  if (typeof i === 'string' || typeof i === 'number') return int64Value(i);
  const d = o['doubleValue'];
  if (d !== undefined) return doubleValue(d);
  const b = o['boolValue'];
  if (typeof b === 'boolean') return b;
  const bytes = o['bytesValue'] ?? o['bytes_value'];
  if (typeof bytes === 'string') return bytes;
  const s2 = o['string_value'];
  if (typeof s2 === 'string') return s2;
  const i2 = o['int_value'];
  if (typeof i2 === 'string' || typeof i2 === 'number') return int64Value(i2);
  const d2 = o['double_value'];
  if (d2 !== undefined) return doubleValue(d2);
  const b2 = o['bool_value'];
  if (typeof b2 === 'boolean') return b2;
  return undefined;
}

/**
 * Attribute values nested deeper than this (arrays in arrays, maps in maps) are cut and shown as
 * TOO_DEEP: no exporter nests a real attribute this deep, and the recursion that turns nested
 * values into text must not run out of stack on hostile or damaged input.
 */
export const MAX_VALUE_DEPTH = 64;

/** What stands in for a value nested deeper than MAX_VALUE_DEPTH. */
export const TOO_DEEP = `[nested deeper than ${MAX_VALUE_DEPTH} levels]`;

function anyValuePlain(v: unknown, depth: number): Plain {
  if (typeof v !== 'object' || v === null) return null;
  if (depth > MAX_VALUE_DEPTH) return TOO_DEEP;
  const o = v as Record<string, unknown>;
  const arr = (o['arrayValue'] ?? o['array_value']) as { values?: unknown } | undefined;
  if (arr !== undefined) return Array.isArray(arr?.values) ? arr.values.map((x) => anyValuePlain(x, depth + 1)) : [];
  const kv = (o['kvlistValue'] ?? o['kvlist_value']) as { values?: unknown } | undefined;
  if (kv !== undefined) {
    const out: { [key: string]: Plain } = {};
    if (Array.isArray(kv?.values)) {
      for (const entry of kv.values as { key?: unknown; value?: unknown }[]) {
        if (typeof entry?.key === 'string') out[entry.key] = anyValuePlain(entry.value, depth + 1);
      }
    }
    return out;
  }
  return scalarValue(o) ?? null;
}

/** True when a parsed JSON value nests arrays/objects deeper than `max` levels (iterative: any depth is safe). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/** A parsed JSON value as its JSON text, or TOO_DEEP when JSON.stringify's recursion could overflow. */
export function jsonText(value: unknown): string {
  return nestsDeeperThan(value, MAX_VALUE_DEPTH) ? TOO_DEEP : JSON.stringify(value);
}

/**
 * One OTLP `AnyValue` as an attribute value; undefined for an empty (unset) value.
 * Arrays and key-value lists become their JSON text; `bytesValue` stays base64 text.
 */
export function anyValue(v: unknown): AttributeValue | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const scalar = scalarValue(o);
  if (scalar !== undefined) return scalar;
  if ('arrayValue' in o || 'kvlistValue' in o || 'array_value' in o || 'kvlist_value' in o) {
    return JSON.stringify(anyValuePlain(o, 0));
  }
  return undefined;
}

/** An OTLP `KeyValue[]` as a plain map; unset values and malformed entries are left out. */
export function otlpAttributes(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!Array.isArray(list)) return out;
  for (let i = 0; i < list.length; i++) {
    const kv = list[i] as { key?: unknown; value?: unknown } | null;
    if (kv === null || typeof kv !== 'object') continue;
    const key = kv.key;
    if (typeof key !== 'string') continue;
    const value = anyValue(kv.value);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The string value of one key in an OTLP `KeyValue[]` (e.g. `service.name`), or undefined. */
export function otlpStringAttribute(list: unknown, key: string): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const kv of list as { key?: unknown; value?: unknown }[]) {
    if (kv !== null && typeof kv === 'object' && kv.key === key) {
      const value = anyValue(kv.value);
      return value === undefined ? undefined : String(value);
    }
  }
  return undefined;
}

/** A Jaeger typed tag value (`string`, `bool`, `int64`, `float64`, `binary`). */
export function jaegerTagValue(type: unknown, value: unknown): AttributeValue | undefined {
  switch (type) {
    case 'bool':
    case 'BOOL':
      return typeof value === 'string' ? value === 'true' : typeof value === 'boolean' ? value : undefined;
    case 'int64':
    case 'INT64':
      return typeof value === 'string' || typeof value === 'number' ? int64Value(value) : undefined;
    case 'float64':
    case 'FLOAT64':
      return doubleValue(value);
    default:
      // string, binary (base64 text) and untyped tags.
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
      return value === undefined || value === null ? undefined : jsonText(value);
  }
}

// Canonical decimal numbers only: "007" or "+1" stay strings (ids and codes with leading zeros).
const CANONICAL_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * A Zipkin tag (always a string on the wire) as the value it stands for: canonical decimal
 * numbers become numbers (integers only when exact), `true`/`false` become booleans, the rest
 * stays a string.
 */
export function zipkinTagValue(text: string): AttributeValue {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text.length === 0 || text.length > 32 || !CANONICAL_NUMBER.test(text)) return text;
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (Number.isInteger(n) && !/[.eE]/.test(text) && !Number.isSafeInteger(n)) return text;
  return n;
}

/** A plain JSON attribute value (Python console maps): scalars as is, the rest as JSON text. */
export function plainAttributeValue(value: unknown): AttributeValue | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === null || value === undefined) return undefined;
  return jsonText(value);
}

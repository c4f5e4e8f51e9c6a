/**
 * @module analyzer/conventions/_spans
 * Internal: building the convention spans a mapping emits — phase spans under a request span
 * from intervals, or from durations placed back to back when a source gives only durations
 * (vLLM), so the assembler's interval model holds either way.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import type { Phase } from '../../semconv.js';

/** One phase interval in the source's nanoseconds. */
export interface PhaseInterval {
  readonly phase: Phase;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** The source's name for the interval, kept as the span name. */
  readonly name: string;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/**
 * A span id for the k-th phase span under `requestSpanId`: a 64-bit FNV-1a hash of both, so ids
 * are 16 hex chars, stable from run to run, and do not collide for sequential request ids.
 */
export function phaseSpanId(requestSpanId: string, k: number): string {
  let hash = FNV_OFFSET;
  const key = `${requestSpanId}/${k}`;
  for (let i = 0; i < key.length; i++) hash = ((hash ^ BigInt(key.charCodeAt(i))) * FNV_PRIME) & MASK_64;
  return hash.toString(16).padStart(16, '0');
}

/** Phase spans (children of `request`) for the intervals; empty or reversed intervals are skipped. */
export function phaseSpans(request: SpanRecord, intervals: readonly PhaseInterval[], extra: Readonly<Record<string, AttributeValue>> = {}): SpanRecord[] {
  const out: SpanRecord[] = [];
  intervals.forEach((interval, k) => {
    if (interval.endNs <= interval.startNs) return;
    out.push({
      traceId: request.traceId,
      spanId: phaseSpanId(request.spanId, k),
      parentSpanId: request.spanId,
      name: interval.name,
      service: request.service,
      kind: 'internal',
      startNs: interval.startNs,
      endNs: interval.endNs,
      attributes: { [ATTR.PHASE]: interval.phase, ...(interval.phase === 'compute' ? extra : {}) },
      error: false,
    });
  });
  return out;
}

/** Seconds (a number or numeric string) as nanoseconds; undefined when absent or not a finite non-negative number. */
export function secondsToNs(value: AttributeValue | undefined): bigint | undefined {
  const s = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(s) || s < 0) return undefined;
  // Round at the nanosecond: seconds as doubles carry ~1e-16 relative error.
  return BigInt(Math.round(s * 1e9));
}

/**
 * Intervals for durations placed one after another from `startNs`, clipped at `endNs`: a source
 * that reports how long each phase took, but not when, still gets phases in their real order
 * inside the request span.
 */
export function placeInOrder(startNs: bigint, endNs: bigint, durations: readonly { readonly phase: Phase; readonly ns: bigint; readonly name: string }[]): PhaseInterval[] {
  const out: PhaseInterval[] = [];
  let cursor = startNs;
  for (const d of durations) {
    if (d.ns <= 0n || cursor >= endNs) continue;
    const end = cursor + d.ns > endNs ? endNs : cursor + d.ns;
    out.push({ phase: d.phase, startNs: cursor, endNs: end, name: d.name });
    cursor = end;
  }
  return out;
}

/** A number attribute (numbers or numeric strings, as Zipkin-style tags write them). */
export { numeric as numberOf } from '../_span-columns.js';

/**
 * @module analyzer/conventions/_spans
 * Internal: building the convention spans a mapping emits — phase spans under a request span
 * from intervals, or from durations placed back to back when a source gives only durations
 * (vLLM), so the assembler's interval model holds either way.
 * Also the order in which held traces, once whole, are let go (`takeClosed`), shared by the
 * mapper and the Triton row sink.
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

/** 32-bit FNV-1a of `text`, starting from `seed`. */
function fnv1a32(text: string, seed: number): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Two 32-bit halves of a request span id's hash, from which its phase span ids are drawn. */
export function idSeed(requestSpanId: string): readonly [number, number] {
  return [fnv1a32(requestSpanId, 0x811c9dc5), fnv1a32(requestSpanId, 0x050c5d1f)];
}

/** Char codes of the lowercase hex digits. */
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** The id of the k-th phase span of the request whose `idSeed` is `seed` (see `phaseSpanId`). */
export function idFrom(seed: readonly [number, number], k: number): string {
  // One more FNV round over k (as four bytes) per half.
  let a = seed[0];
  let b = seed[1];
  for (let shift = 0; shift < 32; shift += 8) {
    const byte = (k >>> shift) & 0xff;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x01000193);
  }
  // The 16 hex digits as char codes at once (as `toString(16).padStart(8, '0')` twice spells
  // them): number formatting and padding were most of the Triton mapping's own time.
  return String.fromCharCode(
    HEX[a >>> 28]!, HEX[(a >>> 24) & 15]!, HEX[(a >>> 20) & 15]!, HEX[(a >>> 16) & 15]!, HEX[(a >>> 12) & 15]!, HEX[(a >>> 8) & 15]!, HEX[(a >>> 4) & 15]!, HEX[a & 15]!,
    HEX[b >>> 28]!, HEX[(b >>> 24) & 15]!, HEX[(b >>> 20) & 15]!, HEX[(b >>> 16) & 15]!, HEX[(b >>> 12) & 15]!, HEX[(b >>> 8) & 15]!, HEX[(b >>> 4) & 15]!, HEX[b & 15]!,
  );
}

/**
 * A span id for the k-th phase span under `requestSpanId`: two 32-bit FNV-1a hashes (different
 * offsets) of the request's id and k, so ids are 16 hex chars, stable from run to run, and do not
 * collide for sequential request ids.
 */
export function phaseSpanId(requestSpanId: string, k: number): string {
  return idFrom(idSeed(requestSpanId), k);
}

/** Phase spans (children of `request`) for the intervals; empty or reversed intervals are skipped. */
export function phaseSpans(request: SpanRecord, intervals: readonly PhaseInterval[], extra: Readonly<Record<string, AttributeValue>> = {}): SpanRecord[] {
  const out: SpanRecord[] = [];
  const seed = idSeed(request.spanId);
  const hasExtra = Object.keys(extra).length > 0;
  intervals.forEach((interval, k) => {
    if (interval.endNs <= interval.startNs) return;
    out.push({
      traceId: request.traceId,
      spanId: idFrom(seed, k),
      parentSpanId: request.spanId,
      name: interval.name,
      service: request.service,
      kind: 'internal',
      startNs: interval.startNs,
      endNs: interval.endNs,
      attributes: hasExtra && interval.phase === 'compute' ? { [ATTR.PHASE]: interval.phase, ...extra } : { [ATTR.PHASE]: interval.phase },
      error: false,
    });
  });
  return out;
}

/** Seconds (a number or numeric string) as nanoseconds; undefined when absent, negative, or not finite (in seconds or in nanoseconds). */
export function secondsToNs(value: AttributeValue | undefined): bigint | undefined {
  const s = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  // Seconds past ~1.8e299 overflow as nanoseconds (a damaged value): unusable, like a negative one.
  const ns = s * 1e9;
  if (!Number.isFinite(ns) || s < 0) return undefined;
  // Round at the nanosecond: seconds as doubles carry ~1e-16 relative error.
  return BigInt(Math.round(ns));
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

/**
 * Takes out of `held` (in the order traces were first held) the traces its reader said are whole
 * (`traceIds`, formats/_closed-traces.ts), each once every trace held before it is out too, and
 * yields them: the order the end of input would have given, without holding each to the end.
 * `closed` remembers the whole ones still waiting behind an open one.
 */
export function* takeClosed<T>(held: Map<string, T>, closed: Set<string>, traceIds: readonly string[]): Generator<[string, T]> {
  for (const traceId of traceIds) if (held.has(traceId)) closed.add(traceId);
  while (closed.size > 0) {
    const first = held.entries().next();
    if (first.done === true || !closed.has(first.value[0])) return;
    const [traceId, entry] = first.value;
    held.delete(traceId);
    closed.delete(traceId);
    yield [traceId, entry];
  }
}

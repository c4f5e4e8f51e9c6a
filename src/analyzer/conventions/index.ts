/**
 * @module analyzer/conventions
 * The mapping layer between the readers and the assembler: spans written by inference servers
 * in their own conventions become spans in ours, so the assembler, the measurements and the
 * diagnosis work unchanged on them. Each convention is one module registered in CONVENTIONS;
 * a span that already follows our convention (request or phase attributes) is never touched.
 */
import type { SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import type { ConventionUse } from '../../model/analysis.js';
import type { MappedSpans, SourceConvention } from './convention.js';
import { tritonConvention } from './triton.js';

export type { ConventionNote, MappedSpans, SourceClock, SourceConvention } from './convention.js';
export { normalizeActivity, intervalsOf } from './triton.js';

/** Every convention read, in the order they are tried on a span. Adding one is one line here. */
export const CONVENTIONS: readonly SourceConvention[] = [tritonConvention];

export type { ConventionUse } from '../../model/analysis.js';

/** Traces held at once for trace-scoped conventions before the oldest is mapped anyway. */
const MAX_HELD_TRACES = 50_000;

/**
 * Streams span batches through the registered conventions. Span-scoped mappings happen at once;
 * trace-scoped ones hold the trace's spans until `finish` (or until too many traces are held).
 */
export class ConventionMapper {
  private readonly held = new Map<string, { readonly convention: SourceConvention; readonly spans: SpanRecord[] }>();
  private readonly used = new Map<string, ConventionUse>();

  constructor(private readonly conventions: readonly SourceConvention[] = CONVENTIONS) {}

  /** Maps one batch; returns the batch itself when no span in it belongs to a known convention. */
  map(batch: readonly SpanRecord[]): readonly SpanRecord[] {
    let out: SpanRecord[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i]!;
      const mapped = this.mapOne(span);
      if (mapped === span) {
        if (out !== undefined) out.push(span);
        continue;
      }
      out ??= batch.slice(0, i);
      for (const s of mapped as readonly SpanRecord[]) out.push(s);
    }
    return out ?? batch;
  }

  /** Maps every trace still held; call once at the end of input. */
  finish(): SpanRecord[] {
    const out: SpanRecord[] = [];
    for (const [traceId, entry] of this.held) {
      this.held.delete(traceId);
      for (const s of this.apply(entry.convention, entry.spans)) out.push(s);
    }
    return out;
  }

  /** The conventions recognised so far, most requests first. */
  uses(): ConventionUse[] {
    return [...this.used.values()].sort((a, b) => b.requests - a.requests);
  }

  private mapOne(span: SpanRecord): SpanRecord | readonly SpanRecord[] {
    const held = this.held.get(span.traceId);
    if (held !== undefined) {
      held.spans.push(span);
      return [];
    }
    const attributes = span.attributes;
    if (attributes[ATTR.MODEL_NAME] !== undefined || attributes[ATTR.PHASE] !== undefined) return span;
    for (const convention of this.conventions) {
      if (!convention.claims(span)) continue;
      if (convention.scope === 'span') return this.apply(convention, [span]);
      this.held.set(span.traceId, { convention, spans: [span] });
      return this.held.size > MAX_HELD_TRACES ? this.releaseOldest() : [];
    }
    return span;
  }

  private releaseOldest(): readonly SpanRecord[] {
    const [traceId, entry] = this.held.entries().next().value!;
    this.held.delete(traceId);
    return this.apply(entry.convention, entry.spans);
  }

  private apply(convention: SourceConvention, spans: readonly SpanRecord[]): readonly SpanRecord[] {
    const mapped: MappedSpans = convention.map(spans);
    const note = mapped.note;
    if (note !== undefined) {
      const key = `${convention.id}\u0000${note.label}`;
      const prior = this.used.get(key);
      this.used.set(key, { id: convention.id, ...note, requests: (prior?.requests ?? 0) + mapped.requests });
    }
    return mapped.spans;
  }
}

/** Maps a whole stream of span batches (the form `analyzeSpans` reads); `uses` fills as it goes. */
export async function* mapConventions(batches: AsyncIterable<readonly SpanRecord[]> | Iterable<readonly SpanRecord[]>, mapper = new ConventionMapper()): AsyncGenerator<readonly SpanRecord[]> {
  for await (const batch of batches) {
    const mapped = mapper.map(batch);
    if (mapped.length > 0) yield mapped;
  }
  const rest = mapper.finish();
  if (rest.length > 0) yield rest;
}

/** Adds up uses of the same convention and layout (from several readers). */
export function mergeConventionUses(uses: readonly ConventionUse[]): ConventionUse[] {
  const merged = new Map<string, ConventionUse>();
  for (const use of uses) {
    const key = `${use.id}\u0000${use.label}`;
    const prior = merged.get(key);
    merged.set(key, prior === undefined ? use : { ...prior, requests: prior.requests + use.requests });
  }
  return [...merged.values()].sort((a, b) => b.requests - a.requests);
}

/** True when any recognised convention uses a monotonic clock (no wall-clock dates, no rates from a single request). */
export function monotonicClock(uses: readonly ConventionUse[]): boolean {
  return uses.some((u) => u.clock === 'monotonic');
}

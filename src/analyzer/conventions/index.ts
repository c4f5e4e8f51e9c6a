/**
 * @module analyzer/conventions
 * The mapping layer between the readers and the assembler: spans written by inference servers
 * in their own conventions become spans in ours, so the assembler, the measurements and the
 * diagnosis work unchanged on them. Each convention is one module registered in CONVENTIONS;
 * a span that already follows our convention (request or phase attributes) is never touched.
 */
import type { RequestTable } from '../../model/request-table.js';
import type { SpanRecord } from '../../model/span.js';
import type { ScannedSpans } from '../../formats/_scanned-spans.js';
import type { EventFilter } from '../../formats/_context.js';
import { closedTraces } from '../../formats/_closed-traces.js';
import { takeClosed } from './_spans.js';
import { ATTR, SOURCE_ATTR } from '../../semconv.js';
import type { ConventionUse } from '../../model/analysis.js';
import { addFailures } from '../../model/summary.js';
import type { RequestFailures } from '../../model/summary.js';
import { ALL_RULE_INPUTS } from '../diagnose/rule.js';
import type { RuleInput } from '../diagnose/rule.js';
import { MAX_HELD_TRACES } from './convention.js';
import type { MappedSpans, SourceConvention, TraceContext } from './convention.js';
import { genAiClientConvention } from './genai-client.js';
import { openInferenceConvention } from './openinference.js';
import { sglangConvention } from './sglang.js';
import { tgiConvention, tgiOutcomeConvention } from './tgi.js';
import { tgiHeadersConvention } from './tgi-headers.js';
import { tritonConvention } from './triton.js';
import { vllmConvention, vllmSamplesConvention } from './vllm.js';

export type { ConventionNote, MappedSpans, SourceClock, SourceConvention, TraceContext } from './convention.js';
export { rustDurationNs } from './tgi.js';
export { normalizeActivity, intervalsOf, tritonRows } from './triton.js';

/**
 * Every convention read, in the order they are tried on a span; the first that claims a span has
 * it. Adding one is one line here. SGLang comes before vLLM: its later request spans carry the
 * same `gen_ai.latency.*` attributes as vLLM's `llm_request`, with other meanings. OpenInference
 * comes before GenAI clients: a span carrying both families' attributes is read once, as OpenInference's.
 */
export const CONVENTIONS: readonly SourceConvention[] = [tritonConvention, sglangConvention, vllmSamplesConvention, vllmConvention, tgiConvention, tgiOutcomeConvention, tgiHeadersConvention, openInferenceConvention, genAiClientConvention];

export type { ConventionUse } from '../../model/analysis.js';

/**
 * The span events the conventions read (SourceConvention.events): the names they read on any
 * span, and every event of error spans when one reads those; undefined (every event) when one
 * reads any event of any span.
 */
function conventionEvents(conventions: readonly SourceConvention[]): EventFilter | undefined {
  if (conventions.some((c) => c.events === 'any')) return undefined;
  const names = new Set<string>();
  let errorSpans = false;
  for (const { events } of conventions) {
    if (events === 'error-spans') errorSpans = true;
    else if (events !== undefined && events !== 'any') for (const name of events) names.add(name);
  }
  return { names, errorSpans };
}

/** conventionEvents of the registered conventions: what the analyzer asks the Jaeger and Zipkin readers to keep. */
export const CONVENTION_EVENTS: EventFilter | undefined = conventionEvents(CONVENTIONS);

/** Ids of the conventions whose time outside the request span, under a client span, is not the wire alone (SourceConvention.outsideSpan). */
function outsideUnattributed(conventions: readonly SourceConvention[]): ReadonlySet<string> {
  return new Set(conventions.filter((c) => c.outsideSpan === 'unattributed').map((c) => c.id));
}

/** outsideUnattributed of the registered conventions. */
export const OUTSIDE_UNATTRIBUTED = outsideUnattributed(CONVENTIONS);


/**
 * Streams span batches through the registered conventions. Span-scoped mappings happen at once;
 * trace-scoped ones hold the trace's spans until `finish` (or until too many traces are held, or
 * until the reader says the trace is whole: formats/_closed-traces.ts).
 */
export class ConventionMapper {
  private readonly held = new Map<string, { readonly convention: SourceConvention; readonly spans: SpanRecord[] }>();
  /** Held traces their reader said are whole, waiting for the traces held before them. */
  private readonly closed = new Set<string>();
  private readonly used = new Map<string, ConventionUse>();
  /** Traces in which a request span has passed (bounded), with its convention's id ('' for ours), for trace-scoped conventions that pair with a server span. */
  private readonly requestTraces = new Map<string, string>();
  /** Ids of the conventions whose time outside the request span is not the wire alone. */
  private readonly outside: ReadonlySet<string>;
  private traceScopedSeen = false;
  /** Spans a span-scoped convention mapped, by trace, span id and kind (bounded): see `firstMapping`. */
  private readonly mappedAlone = new Set<string>();

  /** The registered conventions' ids: a request span carrying one was mapped already. */
  private readonly ids: ReadonlySet<string>;

  constructor(private readonly conventions: readonly SourceConvention[] = CONVENTIONS) {
    this.outside = outsideUnattributed(conventions);
    this.ids = new Set(conventions.map((c) => c.id));
  }

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
    const closed = this.held.size === 0 ? undefined : closedTraces(batch);
    if (closed !== undefined) {
      out ??= batch.slice();
      for (const spans of this.releaseClosed(closed)) for (const s of spans) out.push(s);
    }
    return out ?? batch;
  }

  /**
   * Maps the held traces its reader said are whole (formats/_closed-traces.ts) once every trace
   * held before them is out too: the order and the spans `finish` (or the held-trace bound)
   * would have given, without holding each trace to the end of input.
   */
  private *releaseClosed(traceIds: readonly string[]): Generator<readonly SpanRecord[]> {
    for (const [traceId, entry] of takeClosed(this.held, this.closed, traceIds)) {
      const spans = this.release(entry, traceId);
      if (spans.length > 0) yield spans;
    }
  }

  /** Maps every trace still held; call once at the end of input. */
  finish(): SpanRecord[] {
    const out: SpanRecord[] = [];
    for (const spans of this.drain()) for (const s of spans) out.push(s);
    return out;
  }

  /**
   * `finish` one held trace at a time, in the same order: a consumer that takes each trace's
   * spans as they come holds neither all the mapped traces at once nor the held ones already
   * mapped (a 60 MB Triton trace file held ~50 000 traces, mapped all together at the end).
   */
  *drain(): Generator<readonly SpanRecord[]> {
    this.closed.clear();
    for (const [traceId, entry] of this.held) {
      this.held.delete(traceId);
      const spans = this.release(entry, traceId);
      if (spans.length > 0) yield spans;
    }
  }

  /** The conventions recognised so far, most requests first (`first-use`: in the order first met, for merging). */
  uses(order: 'requests' | 'first-use' = 'requests'): ConventionUse[] {
    const uses = [...this.used.values()];
    return order === 'first-use' ? uses : uses.sort((a, b) => b.requests - a.requests);
  }

  /**
   * True once a trace-scoped convention claimed a span: from then on a trace's spans wait for the
   * end of input, so mapping parts of one input apart would not give what mapping it whole gives.
   */
  get holdsTraces(): boolean {
    return this.traceScopedSeen;
  }

  /**
   * Maps a scanned batch (formats/_scanned-spans.ts) row by row in file order, as `map` maps its
   * rows as records: a row in our convention passes to `to.addScanned` unchanged (noting a
   * request span's trace as `map` does) unless a trace-scoped convention holds its trace (then it
   * goes through `map` as its record, as it would have); runs of records go through `map` to
   * `to.add`. (A sink object rather than two callbacks: the calls stay monomorphic.)
   */
  mapScanned(batch: ScannedSpans, to: ScannedSink): void {
    for (const use of batch.uses) this.noteUse(use);
    const kept = batch.records;
    const n = batch.length;
    let run = -1;
    // One pass to n inclusive, so the last run of records is flushed by the same compare as the
    // others: a compare after the loop, run only on leaving the optimized loop, had no type
    // feedback there, and Node 24 left that code at it on every batch (253 deopts at 200 MB).
    for (let i = 0; i <= n; i++) {
      if (i < n && kept[i] !== undefined) {
        if (run < 0) run = i;
        continue;
      }
      if (run >= 0) {
        to.add(this.map(kept.slice(run, i) as SpanRecord[]));
        run = -1;
      }
      if (i === n) break;
      const traceId = batch.traceIds[i]!;
      if (this.held.size !== 0 && this.held.has(traceId)) {
        to.add(this.map([batch.record(i)]));
        continue;
      }
      if (this.traceScopedSeen && batch.phases[i]! < 0) this.noteRequestTrace(traceId);
      to.addScanned(batch, i);
    }
  }

  /** `map`, or `mapScanned` into one list: records, and rows of the scanned batch as their numbers (for `toColumns`). */
  mapEntries(batch: readonly SpanRecord[] | ScannedSpans): readonly (SpanRecord | number)[] {
    if (Array.isArray(batch)) return this.map(batch);
    const entries = new EntryList();
    this.mapScanned(batch as ScannedSpans, entries);
    return entries.entries;
  }

  private mapOne(span: SpanRecord): SpanRecord | readonly SpanRecord[] {
    const held = this.held.size === 0 ? undefined : this.held.get(span.traceId);
    if (held !== undefined) {
      // Span-scoped mappings still apply inside a held trace, so the trace-scoped one sees their
      // result; a span the holding convention claims itself is its own (SGLang's request span,
      // which vLLM's span-scoped mapping would otherwise take for an llm_request).
      const mapped = held.convention.claims(span) ? span : this.mapSpanScoped(span);
      if (mapped === span) held.spans.push(span);
      else for (const s of mapped as readonly SpanRecord[]) held.spans.push(s);
      return [];
    }
    const attributes = span.attributes;
    if (attributes[ATTR.MODEL_NAME] !== undefined || attributes[ATTR.PHASE] !== undefined) {
      // Our own request spans are remembered only once a trace-scoped span was seen (a Set add per
      // request was most of the layer's cost on our own convention); mapped ones always are.
      if (this.traceScopedSeen && attributes[ATTR.PHASE] === undefined) this.noteRequestTrace(span.traceId);
      return span;
    }
    for (const convention of this.conventions) {
      if (!convention.claims(span)) continue;
      if (convention.scope === 'span') {
        this.noteRequestTrace(span.traceId, convention.id);
        return this.apply(convention, [span]);
      }
      this.traceScopedSeen = true;
      this.held.set(span.traceId, { convention, spans: [span] });
      return this.held.size > MAX_HELD_TRACES ? this.releaseOldest() : [];
    }
    return span;
  }

  private mapSpanScoped(span: SpanRecord): SpanRecord | readonly SpanRecord[] {
    const attributes = span.attributes;
    if (attributes[ATTR.MODEL_NAME] !== undefined || attributes[ATTR.PHASE] !== undefined) return span;
    for (const convention of this.conventions) {
      if (!convention.claims(span)) continue;
      // A trace-scoped convention tried first takes it with the held trace (see `release`).
      return convention.scope === 'span' ? this.apply(convention, [span]) : span;
    }
    return span;
  }

  /**
   * Maps a held trace: by every trace-scoped convention that claims one of its spans not yet in
   * our convention, in registration order (a vLLM server span before the GenAI client span whose
   * mapping depends on it), each seeing what the ones before it made. The convention that held
   * the trace is one of them; another's span may have joined it after the hold began.
   */
  private release(entry: { readonly convention: SourceConvention; readonly spans: readonly SpanRecord[] }, traceId: string): readonly SpanRecord[] {
    const { unique, copies } = splitCopies(entry.spans);
    let spans = unique;
    for (const convention of this.conventions) {
      if (convention.scope !== 'trace') continue;
      if (convention !== entry.convention && !spans.some((s) => s.attributes[ATTR.MODEL_NAME] === undefined && s.attributes[ATTR.PHASE] === undefined && convention.claims(s))) continue;
      spans = this.apply(convention, spans, traceId);
    }
    return copies.length === 0 ? spans : withCopies(spans, copies);
  }

  /**
   * False for a copy of a span mapped on its own already (same trace, span id and kind: a file
   * given twice), so its requests are counted once in what was recognised, as the assembler
   * counts them. Up to MAX_HELD_TRACES such spans are remembered, forgotten all at once when the
   * set is full (as `requestTraces` is).
   */
  private firstMapping(span: SpanRecord): boolean {
    const key = `${span.traceId}\u0000${copyKey(span)}`;
    if (this.mappedAlone.has(key)) return false;
    if (this.mappedAlone.size >= MAX_HELD_TRACES) this.mappedAlone.clear();
    this.mappedAlone.add(key);
    return true;
  }

  private noteRequestTrace(traceId: string, source = ''): void {
    if (this.requestTraces.size >= MAX_HELD_TRACES) this.requestTraces.clear();
    this.requestTraces.set(traceId, source);
  }

  /** What a trace-scoped mapping knows of the request spans of its trace beyond the held spans. */
  private traceContext(traceId: string, spans: readonly SpanRecord[]): TraceContext {
    const passed = this.requestTraces.get(traceId);
    const outsideUnattributed =
      this.outside.size > 0 &&
      ((passed !== undefined && this.outside.has(passed)) ||
        spans.some((s) => {
          const source = s.attributes[SOURCE_ATTR];
          return typeof source === 'string' && this.outside.has(source);
        }));
    return { hasRequest: passed !== undefined, outsideUnattributed };
  }

  /** Counts what a mapping recognised (here, or where a reader mapped a source's spans as it read them: ScannedSpans.uses). */
  private noteUse(use: ConventionUse): void {
    const key = `${use.id}\u0000${use.label}`;
    const prior = this.used.get(key);
    this.used.set(key, prior === undefined ? use : addUses(prior, use));
  }

  private releaseOldest(): readonly SpanRecord[] {
    const [traceId, entry] = this.held.entries().next().value!;
    this.held.delete(traceId);
    this.closed.delete(traceId);
    return this.release(entry, traceId);
  }

  private apply(convention: SourceConvention, spans: readonly SpanRecord[], traceId?: string): readonly SpanRecord[] {
    const mapped: MappedSpans = convention.map(spans, traceId === undefined ? undefined : this.traceContext(traceId, spans));
    const note = mapped.note;
    if (note !== undefined && (traceId !== undefined || this.firstMapping(spans[0]!))) {
      this.noteUse({ id: convention.id, ...note, requests: mapped.requests, ...(mapped.model !== undefined ? { byModel: countsByModel([[mapped.model, mapped.requests]]) } : {}) });
    }
    // Request spans carry the convention's id, so the diagnosis knows which server to word next steps for;
    // another convention's (passed on unchanged, in a trace mapped by several: see `release`) keep theirs.
    return mapped.spans.map((s) =>
      s.attributes[ATTR.MODEL_NAME] !== undefined && s.attributes[ATTR.PHASE] === undefined && s.attributes[SOURCE_ATTR] !== convention.id && !this.ids.has(s.attributes[SOURCE_ATTR] as string)
        ? { ...s, attributes: { ...s.attributes, [SOURCE_ATTR]: convention.id } }
        : s,
    );
  }
}

/** A span's identity as the assembler dedupes it: span id and kind (Zipkin's client and server halves share an id). */
function copyKey(span: SpanRecord): string {
  return `${span.spanId}\u0000${span.kind}`;
}

/**
 * A held trace's spans less the copies of a span already held (same span id and kind: a file given
 * twice, overlapping exports). A trace-scoped mapping must see each span once: it reads a set of
 * spans, so copies of vLLM's llm_request span read as parallel samples (output tokens doubled,
 * TPOT halved) and copies of a TGI handler span as more failed requests, while the assembler,
 * which dedupes what comes after, said the duplicates were counted once.
 */
function splitCopies(spans: readonly SpanRecord[]): { readonly unique: readonly SpanRecord[]; readonly copies: readonly SpanRecord[] } {
  if (spans.length < 2) return { unique: spans, copies: [] };
  const seen = new Set<string>();
  const unique: SpanRecord[] = [];
  const copies: SpanRecord[] = [];
  for (const s of spans) {
    const key = copyKey(s);
    if (seen.has(key)) copies.push(s);
    else {
      seen.add(key);
      unique.push(s);
    }
  }
  return { unique: copies.length === 0 ? spans : unique, copies };
}

/** The mapped spans, and again the mapped span of each copy left out (where the mapping kept its id), so the assembler still counts the copies as duplicates. */
function withCopies(mapped: readonly SpanRecord[], copies: readonly SpanRecord[]): readonly SpanRecord[] {
  const byKey = new Map(mapped.map((s) => [copyKey(s), s]));
  const out = mapped.slice();
  for (const c of copies) {
    const kept = byKey.get(copyKey(c));
    if (kept !== undefined) out.push(kept);
  }
  return out;
}

/** Where `mapScanned` hands spans: mapped records, and rows of the batch that pass unchanged (RequestAssembler is one). */
export interface ScannedSink {
  add(records: readonly SpanRecord[]): void;
  addScanned(batch: ScannedSpans, i: number): void;
}

/** A ScannedSink that lists what it is given, rows as their numbers. */
class EntryList implements ScannedSink {
  readonly entries: (SpanRecord | number)[] = [];

  add(records: readonly SpanRecord[]): void {
    for (const r of records) this.entries.push(r);
  }

  addScanned(_batch: ScannedSpans, i: number): void {
    this.entries.push(i);
  }
}

/** The server most of these requests were read from (a convention id), if any. */
export function serverOf(requests: RequestTable): string | undefined {
  const counts = new Map<string, number>();
  for (let i = 0; i < requests.length; i++) {
    const source = requests.text('source', i);
    if (source !== undefined) counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [id, n] of counts) if (best === undefined || n > counts.get(best)!) best = id;
  return best;
}

/** The diagnosis inputs requests of this server give: all of them, less what its convention lacks. */
export function availableInputs(server: string | undefined): ReadonlySet<RuleInput> {
  const lacks = CONVENTIONS.find((c) => c.id === server)?.lacks ?? [];
  if (lacks.length === 0) return ALL_RULE_INPUTS;
  return new Set([...ALL_RULE_INPUTS].filter((i) => !lacks.includes(i)));
}

/** Maps a whole stream of span batches (the form `analyzeSpans` reads); `uses` fills as it goes. */
export async function* mapConventions(batches: AsyncIterable<readonly SpanRecord[]> | Iterable<readonly SpanRecord[]>, mapper = new ConventionMapper()): AsyncGenerator<readonly SpanRecord[]> {
  for await (const batch of batches) {
    const mapped = mapper.map(batch);
    if (mapped.length > 0) yield mapped;
  }
  yield* mapper.drain();
}

/** Adds up uses of the same convention and layout (from several readers). */
export function mergeConventionUses(uses: readonly ConventionUse[]): ConventionUse[] {
  const merged = new Map<string, ConventionUse>();
  for (const use of uses) {
    const key = `${use.id}\u0000${use.label}`;
    const prior = merged.get(key);
    merged.set(key, prior === undefined ? use : addUses(prior, use));
  }
  return [...merged.values()].sort((a, b) => b.requests - a.requests);
}

/** Two uses of the same convention and layout as one: requests added, in all and by model. */
function addUses(a: ConventionUse, b: ConventionUse): ConventionUse {
  const sum: ConventionUse = { ...a, requests: a.requests + b.requests };
  if (a.byModel === undefined && b.byModel === undefined) return sum;
  return { ...sum, byModel: countsByModel([...Object.entries(a.byModel ?? {}), ...Object.entries(b.byModel ?? {})]) };
}

/**
 * Counts keyed by model name, added up, on an object with no prototype: a model is any string a
 * trace names (TGI's router service name), and `constructor` or `__proto__` must count as any
 * other (on `{}` they read Object's own members: a failure count became "function Object() …5").
 */
function countsByModel(entries: Iterable<readonly [string, number]>): Record<string, number> {
  const out = Object.create(null) as Record<string, number>;
  for (const [model, n] of entries) out[model] = (Object.hasOwn(out, model) ? out[model]! : 0) + n;
  return out;
}

/**
 * The requests counted without a latency (uses with `ended`: TGI's router spans of failed and
 * cancelled requests), by model and by who ended them, as the model summaries count them.
 */
export function failuresByModel(uses: readonly ConventionUse[]): Map<string, RequestFailures> {
  const out = new Map<string, RequestFailures>();
  const field = { 'server-error': 'server', 'client-error': 'client', cancelled: 'cancelled' } as const;
  for (const use of uses) {
    if (use.ended === undefined || use.byModel === undefined) continue;
    for (const [model, n] of Object.entries(use.byModel)) out.set(model, addFailures(out.get(model), { server: 0, client: 0, cancelled: 0, [field[use.ended]]: n }));
  }
  return out;
}

/** True when any recognised convention uses a monotonic clock (no wall-clock dates, no rates from a single request). */
export function monotonicClock(uses: readonly ConventionUse[]): boolean {
  return uses.some((u) => u.clock === 'monotonic');
}

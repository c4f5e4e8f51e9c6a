/**
 * @module formats/_context
 * Internal. Per-file reading state shared by the format converters: the id decoder, counts of
 * skipped spans by reason (turned into warnings at the end, or into an error in strict mode),
 * counts of the leniencies applied, and a bounded duplicate-id check.
 */

import type { SpanKind, SpanRecord } from '../model/span.js';
import { TraceFormatError } from './errors.js';
import { IdDecoder } from './ids.js';
import type { IdLeniencies } from './ids.js';
import { formatCount } from '../model/count.js';

/**
 * Which span events the Jaeger and Zipkin readers make (ReadOptions.events): those `names` names
 * on every span and, with `errorSpans`, every event of a span with an error status
 * (SpanRecord.error: Jaeger's `error` / `otel.status_code=ERROR` tags, Zipkin's `error` tag),
 * whose event names may be free text (an error message, an exception).
 */
export interface EventFilter {
  readonly names: ReadonlySet<string>;
  readonly errorSpans?: boolean;
}

/** A warning about part of a file that was skipped or is suspicious, with how often it happened. */
export interface ReadWarning {
  /** The file as the user named it. */
  readonly file: string;
  /** Where the first occurrence was (line, line:column, JSON path). */
  readonly location?: string;
  /** One line: what happened and what was expected. */
  readonly message: string;
  /** How many times it happened in this file. */
  readonly count: number;
}

/** What a ReadContext gathered, as plain data (posted by a thread that read part of a file). */
export interface ContextState {
  readonly skipped: number;
  readonly duplicateSpans: number;
  readonly problems: readonly (readonly [string, Problem])[];
  readonly notes: readonly (readonly [string, number])[];
  readonly ids: IdLeniencies;
}

/** One kind of problem: how often, and where and what the first time. */
export interface Problem {
  count: number;
  location: string;
  got: string | undefined;
  readonly skips: boolean;
}

/**
 * Duplicate ids are tracked for the first 200k spans of a file (about 20 MB of keys); past that
 * the assembler's own de-duplication still applies but the reader stops reporting.
 */
const DUPLICATE_CHECK_LIMIT = 200_000;

/** Reading state of one file. */
export class ReadContext {
  readonly ids = new IdDecoder();
  /** Spans skipped (not yielded). */
  skipped = 0;
  /** Duplicate span ids reported (the spans are kept; the assembler counts them once). */
  duplicateSpans = 0;
  /** The last part skipped (`skip`): where, what was expected and what was there. */
  lastSkip: { readonly location: string; readonly expected: string; readonly got: string | undefined } | undefined;
  private readonly problems = new Map<string, Problem>();
  private readonly notes = new Map<string, number>();
  // span id → trace id, one map per span kind: a duplicate is what the assembler counts once,
  // the same trace, span id and kind (Zipkin's client and server halves share an id, whether or
  // not the server half says `shared`). Keyed by the (flat) span id string alone because hashing
  // a concatenated trace+span key cost 7% of JSON lines reading.
  private readonly seen = new Map<SpanKind, Map<string, string>>();
  private seenIds = 0;

  /** The span events to keep from Jaeger logs and Zipkin annotations on every span (ReadOptions.events); undefined: every one. */
  readonly eventNames: ReadonlySet<string> | undefined;
  /** Every event of a span with an error status is kept too (EventFilter.errorSpans). */
  readonly errorSpanEvents: boolean;

  constructor(
    readonly file: string,
    readonly strict: boolean,
    events?: ReadonlySet<string> | EventFilter,
  ) {
    const filter = events === undefined || !('names' in events) ? undefined : events;
    this.eventNames = filter === undefined ? (events as ReadonlySet<string> | undefined) : filter.names;
    this.errorSpanEvents = filter?.errorSpans === true;
  }

  /**
   * The events to keep of a span whose error status is `error` (undefined: every one): the
   * filter's names, or all of them on an error span when the filter asks for error spans' events.
   */
  eventsToKeep(error: boolean): ReadonlySet<string> | undefined {
    return error && this.errorSpanEvents ? undefined : this.eventNames;
  }

  /** True when which events a span keeps depends on its error status (so a reader that meets its events before its tags must wait for them). */
  get keepDependsOnError(): boolean {
    return this.errorSpanEvents && this.eventNames !== undefined;
  }

  /**
   * Records a span (or another part of the file: a line, a resource) that could not be used.
   * `expected` says what a valid one has; in strict mode this throws at once instead.
   */
  skip(location: string, expected: string, got?: string, what: 'span' | 'line' | 'record' = 'span'): void {
    if (what === 'span') this.skipped++;
    if (this.strict) throw new TraceFormatError(this.file, location, expected, got);
    this.lastSkip = { location, expected, got };
    this.count(`${what}|skipped: expected ${expected}`, location, got, true, 1);
  }

  /** Records something suspicious that was kept (duplicates), `n` times; never fatal, even in strict mode. */
  warn(location: string, message: string, n = 1): void {
    this.count(message, location, undefined, false, n);
  }

  /** Counts one applied leniency (e.g. "base64 ids"), reported in ReadStats.leniencies. */
  note(leniency: string, n = 1): void {
    this.notes.set(leniency, (this.notes.get(leniency) ?? 0) + n);
  }

  /** False once the duplicate check has reached its limit. */
  get checkingDuplicates(): boolean {
    return this.seenIds < DUPLICATE_CHECK_LIMIT;
  }

  /** Reports a span seen before in this file (the same trace, span id and kind). */
  checkDuplicate(span: Pick<SpanRecord, 'traceId' | 'spanId' | 'kind'>, location: string): void {
    if (this.seenIds >= DUPLICATE_CHECK_LIMIT) return;
    let seen = this.seen.get(span.kind);
    if (seen === undefined) this.seen.set(span.kind, (seen = new Map()));
    const trace = seen.get(span.spanId);
    if (trace === span.traceId) {
      this.duplicateSpans++;
      this.warn(location, 'duplicate span id (same trace, span id and kind as an earlier span; counted once)');
      return;
    }
    if (trace === undefined) this.seenIds++;
    seen.set(span.spanId, span.traceId);
  }

  private count(key: string, location: string, got: string | undefined, skips: boolean, n: number): void {
    const problem = this.problems.get(key);
    if (problem) problem.count += n;
    else this.problems.set(key, { count: n, location, got, skips });
  }

  /** What this context gathered, as plain data for `absorb`. */
  state(): ContextState {
    return { skipped: this.skipped, duplicateSpans: this.duplicateSpans, problems: [...this.problems], notes: [...this.notes], ids: { ...this.ids.counts } };
  }

  /**
   * Adds what another context gathered on a later part of the same file, as if this one had read
   * it: counts add up, and a kind of problem first seen there keeps its first place, moved by
   * `relocate` (that part numbered its lines from 1).
   */
  absorb(state: ContextState, relocate: (location: string) => string): void {
    this.skipped += state.skipped;
    this.duplicateSpans += state.duplicateSpans;
    for (const [key, p] of state.problems) {
      const problem = this.problems.get(key);
      if (problem) problem.count += p.count;
      else this.problems.set(key, { ...p, location: relocate(p.location) });
    }
    for (const [what, n] of state.notes) this.note(what, n);
    const counts = this.ids.counts;
    for (const k of Object.keys(counts) as (keyof IdLeniencies)[]) counts[k] += state.ids[k];
  }

  /** The warnings collected so far, one per kind of problem. */
  warnings(): ReadWarning[] {
    return [...this.problems].map(([key, p]) => ({
      file: this.file,
      ...(p.location === '' ? {} : { location: p.location }),
      message: p.skips ? skipMessage(key, p) : `${formatCount(p.count)}× ${key}`,
      count: p.count,
    }));
  }

  /** The leniencies applied, as short human-readable lines. */
  leniencies(): string[] {
    const out = [...this.notes].map(([what, n]) => `${what}: ${n}`);
    const c = this.ids.counts;
    if (c.base64 > 0) out.push(`base64 ids decoded: ${c.base64}`);
    if (c.padded > 0) out.push(`short ids left-padded with zeros: ${c.padded}`);
    if (c.uppercase > 0) out.push(`upper-case hex ids: ${c.uppercase}`);
    if (c.prefixed > 0) out.push(`0x-prefixed ids: ${c.prefixed}`);
    if (c.opaque > 0) out.push(`opaque (non-hex) ids kept as written: ${c.opaque}`);
    return out;
  }
}

function skipMessage(key: string, p: Problem): string {
  const bar = key.indexOf('|');
  const what = key.slice(0, bar);
  return `${formatCount(p.count)} ${p.count === 1 ? what : `${what}s`} ${key.slice(bar + 1)}${p.got === undefined ? '' : ` (first: got ${p.got})`}`;
}

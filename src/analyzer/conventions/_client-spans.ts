/**
 * @module analyzer/conventions/_client-spans
 * Internal: the one mapping of client-side model-call spans (OpenTelemetry GenAI client spans,
 * OpenInference LLM spans), which differ only in their attribute names. Each such span is a
 * request of its own (end-to-end time, tokens, the first token where the instrumentation saw
 * it), or, when the server's request span is in the same trace, that request's client span
 * (network = client − server). A dialect says which spans are calls and where their facts are.
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR, ROLE_CLIENT, SOURCE_ATTR } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { RuleInput } from '../diagnose/rule.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';

/**
 * How a span is a model call: `remote`, a call to a model served elsewhere (always a request,
 * the client span of the server's request when that is in the trace); `local`, an inference span
 * of a model run in-process, a request only when read alone and not above another call (then
 * it is part of the traced request, or a framework's wrapper around the call below it).
 */
export type CallKind = 'remote' | 'local';

/** The facts one client span carries, in its dialect's attributes. */
export interface CallFacts {
  readonly model: AttributeValue | undefined;
  readonly tokensIn: AttributeValue | undefined;
  readonly tokensOut: AttributeValue | undefined;
  /** Prompt tokens read from the provider's prompt cache. */
  readonly tokensCached?: AttributeValue | undefined;
  /** Start → first token (or first streamed chunk), where the instrumentation recorded it. */
  readonly firstTokenNs: bigint | undefined;
}

/** The labels of one dialect's notes (`Read as`). */
export interface ClientNotes {
  /** With the server's request span in the trace. */
  readonly paired: ConventionNote;
  /** With a server span whose time outside it is not the wire alone (vLLM's). */
  readonly pairedUnsplit: ConventionNote;
  /** Alone: end-to-end only, and with a first token. */
  readonly alone: readonly [ConventionNote, ConventionNote];
  /** Every request of the trace an in-process model's (`local`) call; defaults to `alone`. */
  readonly local?: readonly [ConventionNote, ConventionNote];
}

/** One instrumentation family's spelling of a client-side model call. */
export interface ClientDialect {
  readonly id: string;
  readonly lacks: readonly RuleInput[];
  /** The span events `facts` reads (SourceConvention.events). */
  readonly events: readonly string[];
  /** Whether the span is a model call of this dialect, and which kind; a cheap content test. */
  call(span: SpanRecord): CallKind | undefined;
  /** A `remote` call above another call is a framework's wrapper around it, not a request of its own (LangChain's LLM span over the OpenAI SDK's). */
  readonly innermost: boolean;
  facts(span: SpanRecord): CallFacts;
  readonly notes: ClientNotes;
}

/** The notes of client spans read alone: end-to-end only, or with the first chunk's time (a streamed response). */
export function aloneNotes(what: string, inside: string): readonly [ConventionNote, ConventionNote] {
  return [
    { label: `${what}: end-to-end only)`, clock: 'epoch', unseen: [inside, 'batch size', 'time to first token'] },
    { label: `${what}: end-to-end and time to first chunk)`, clock: 'epoch', unseen: [inside, 'batch size'] },
  ];
}

/** The notes of a dialect's spans paired with the server's request span (`what` names the span). */
export function pairedNotes(what: string): Pick<ClientNotes, 'paired' | 'pairedUnsplit'> {
  return {
    paired: { label: `${what} (with the server span: network = client − server)`, clock: 'epoch', unseen: [] },
    // A server span that leaves more than the wire outside it (vLLM's): client − server is not network; its note says what it holds.
    pairedUnsplit: { label: `${what} (with the server span: client − server unattributed, the server records no split)`, clock: 'epoch', unseen: [] },
  };
}

/** The first event named `name` as a time from the span's start; undefined without one (or one before the start). */
export function firstEventNs(span: SpanRecord, name: string): bigint | undefined {
  if (span.events === undefined) return undefined;
  let first: bigint | undefined;
  for (const e of span.events) if (e.name === name && (first === undefined || e.timeNs < first)) first = e.timeNs;
  return first === undefined || first < span.startNs ? undefined : first - span.startNs;
}

/**
 * Every dialect made into a convention: a span that is a call in any of them is a call, so a
 * wrapper of one family above a call of another (OpenInference's LangChain span over an
 * OpenLLMetry client span) is seen as a wrapper, and the call counts once.
 */
const DIALECTS: ClientDialect[] = [];

/** A model call of any dialect, or a span a dialect mapped already (in a trace mapped by several). */
function isCall(span: SpanRecord): boolean {
  const source = span.attributes[SOURCE_ATTR];
  if (typeof source === 'string' && DIALECTS.some((d) => d.id === source)) return true;
  return span.attributes[ATTR.MODEL_NAME] === undefined && DIALECTS.some((d) => d.call(span) !== undefined);
}

const NO_WRAPPERS: ReadonlySet<string> = new Set();

/** Ids of the spans above a model call in this trace. */
function wrappersOfCalls(spans: readonly SpanRecord[]): Set<string> {
  const out = new Set<string>();
  const parentOf = new Map(spans.map((s) => [s.spanId, s.parentSpanId]));
  for (const s of spans) {
    if (!isCall(s)) continue;
    // Bounded walk: a parent cycle in damaged input must not loop.
    for (let id = s.parentSpanId, hops = 0; id !== undefined && hops < 64 && !out.has(id); id = parentOf.get(id), hops++) out.add(id);
  }
  return out;
}

/** A request span of a server (or of our own convention) in the trace, not a client call mapped by a dialect. */
function isServerRequest(span: SpanRecord): boolean {
  const a = span.attributes;
  return a[ATTR.MODEL_NAME] !== undefined && a[ATTR.PHASE] === undefined && a[ATTR.ROLE] === undefined && !isCall(span);
}

/** The convention of a dialect's spans; trace-scoped because the server span decides what a client span is. */
export function clientSpanConvention(dialect: ClientDialect): SourceConvention {
  DIALECTS.push(dialect);
  const [alone, aloneStreamed] = dialect.notes.alone;
  const [local, localStreamed] = dialect.notes.local ?? dialect.notes.alone;
  const claims = (span: SpanRecord): boolean => span.attributes[ATTR.ROLE] === undefined && dialect.call(span) !== undefined;
  const mayWrap = (span: SpanRecord): boolean => {
    const kind = claims(span) ? dialect.call(span) : undefined;
    return kind === 'local' || (kind === 'remote' && dialect.innermost);
  };
  return {
    id: dialect.id,
    lacks: dialect.lacks,
    scope: 'trace',
    events: dialect.events,
    claims,
    map(spans, context) {
      const serverInTrace = context?.hasRequest === true || spans.some(isServerRequest);
      let requests = 0;
      let streamed = 0;
      let locals = 0;
      // Only a local call, or a call of a dialect that counts the innermost, can be a wrapper: most traces have none.
      const wrappers = spans.some(mayWrap) ? wrappersOfCalls(spans) : NO_WRAPPERS;
      const out = spans.map((span): SpanRecord => {
        // Mapped already (by a dialect tried before, in a trace mapped by several), or ours.
        if (span.attributes[ATTR.MODEL_NAME] !== undefined || !claims(span)) return span;
        const kind = dialect.call(span)!;
        // An in-process model call inside a traced request is part of that request, not a request of its own;
        // a span above another call (a framework's wrapper around it) is not one either.
        if (kind === 'local' ? serverInTrace || wrappers.has(span.spanId) : dialect.innermost && wrappers.has(span.spanId)) return span;
        requests++;
        if (kind === 'local') locals++;
        const facts = dialect.facts(span);
        const attributes: Record<string, AttributeValue> = { ...span.attributes, [ATTR.MODEL_NAME]: typeof facts.model === 'string' && facts.model !== '' ? facts.model : span.name };
        if (serverInTrace) attributes[ATTR.ROLE] = ROLE_CLIENT;
        const tokensIn = tokenCount(facts.tokensIn);
        const tokensOut = tokenCount(facts.tokensOut);
        const tokensCached = tokenCount(facts.tokensCached);
        if (tokensIn !== undefined) attributes[ATTR.TOKENS_INPUT] = tokensIn;
        if (tokensOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = tokensOut;
        if (tokensCached !== undefined) attributes[ATTR.TOKENS_CACHED] = tokensCached;
        const firstNs = span.firstTokenNs === undefined ? facts.firstTokenNs : undefined;
        if (firstNs === undefined) return { ...span, attributes };
        streamed++;
        return { ...span, attributes, firstTokenNs: span.startNs + firstNs };
      });
      if (requests === 0) return { spans, requests: 0 };
      const note = serverInTrace
        ? context?.outsideUnattributed === true
          ? dialect.notes.pairedUnsplit
          : dialect.notes.paired
        : locals === requests
          ? streamed > 0
            ? localStreamed
            : local
          : streamed > 0
            ? aloneStreamed
            : alone;
      const mapped: MappedSpans = { spans: out, requests, note };
      return mapped;
    },
  };
}

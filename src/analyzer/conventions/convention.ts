/**
 * @module analyzer/conventions/convention
 * The contract of one source convention: how an inference server's own telemetry (Triton's
 * timestamps, vLLM's `llm_request` span, TGI's router spans, GenAI client spans) is recognised
 * from content and turned into spans that follow the project's convention (a request span with
 * `inference.model.name`, phase spans with `inference.phase`), which the assembler then reads
 * like any other. Our own convention needs no mapping: it is the reference.
 */
import type { SpanRecord } from '../../model/span.js';
import type { RuleInput } from '../diagnose/rule.js';
import type { ConventionNote } from '../../model/analysis.js';

export type { ConventionNote, SourceClock } from '../../model/analysis.js';

/** Traces held at once for trace-scoped conventions before the oldest is mapped anyway. */
export const MAX_HELD_TRACES = 50_000;

/** The spans a convention made from its input, and what it recognised. */
export interface MappedSpans {
  readonly spans: readonly SpanRecord[];
  /** Requests the mapping produced. */
  readonly requests: number;
  /** Absent when nothing was recognised after all (the input is passed on unchanged). */
  readonly note?: ConventionNote;
  /**
   * The model of the requests counted, where no request span is left to carry it: requests
   * counted without a latency (`note.ended`), whose failures the model's summary then counts.
   */
  readonly model?: string;
}

/** One source convention. */
export interface SourceConvention {
  /** Stable id, e.g. `triton`, `vllm`; the diagnosis words next steps for it. */
  readonly id: string;
  /** Diagnosis inputs this source never carries (e.g. `batch-sizes`): rules needing them say they could not run. */
  readonly lacks: readonly RuleInput[];
  /**
   * What the time between a client span and this source's request span is. `network` (the
   * default): the wire, derived as client − server. `unattributed`: the server's own work outside
   * its span is in it too and the source records no split (vLLM's API server before the engine's
   * arrival time), so it is left out of every phase (`other`) and the source's `unseen` says what it holds.
   */
  readonly outsideSpan?: 'network' | 'unattributed';
  /**
   * `span`: every claimed span is mapped on its own. `trace`: once a span of a trace is claimed,
   * the trace's spans are held and mapped together (the facts are spread over several spans).
   */
  readonly scope: 'span' | 'trace';
  /**
   * The span events it reads (`SpanRecord.events`), if any: the analyzer has the Jaeger and Zipkin
   * readers make only these of a span's logs and annotations (ReadOptions.events). A list: the
   * names it reads, on any span. `'error-spans'`: every event of a span with an error status
   * (`SpanRecord.error`), whose names are free text (error messages); it reads no other span's.
   * `'any'`: every event of every span.
   */
  readonly events?: readonly string[] | 'error-spans' | 'any';
  /** Cheap content test run on every span that does not follow our convention already. */
  claims(span: SpanRecord): boolean;
  /** Maps one claimed span (`span` scope) or every held span of one trace (`trace` scope). */
  map(spans: readonly SpanRecord[], context?: TraceContext): MappedSpans;
}

/** What the mapper knows about a held trace beyond its held spans. */
export interface TraceContext {
  /** A request span of this trace passed through before the trace was held. */
  readonly hasRequest: boolean;
  /** A request span of this trace, held or passed, is of a convention whose time outside it is not the wire alone (`outsideSpan: 'unattributed'`). */
  readonly outsideUnattributed: boolean;
}

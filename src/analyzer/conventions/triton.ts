/**
 * @module analyzer/conventions/triton
 * NVIDIA Triton Inference Server's timestamps → request and phase spans, one table for every
 * layout Triton writes:
 * - the trace file, 2.x (records grouped by `id`, uppercase names) and 1.x (TensorRT Inference
 *   Server up to v1.15: one record per request, lowercase spaced names); the file reader
 *   (`formats/triton-trace`) hands each id over as one span with its timestamps as events (to
 *   the mapper; a large file read alone for the analyzer, to `tritonRows`, which maps them into
 *   rows of our convention as they are read, formats/_scanned-spans.ts);
 * - OpenTelemetry mode (`--trace-config mode=opentelemetry`): `InferRequest` (frontend events)
 *   → model span (`triton.model_name`; REQUEST_START, QUEUE_START, REQUEST_END) → `compute`
 *   (COMPUTE_* events), ensembles and BLS nesting further model spans.
 *
 * Phase arithmetic after Triton's own `qa/common/trace_summary.py`
 * (https://github.com/triton-inference-server/server/blob/main/qa/common/trace_summary.py) and
 * the trace docs (https://github.com/triton-inference-server/server/blob/main/docs/user_guide/trace.md).
 * gRPC's wait-read (GRPC_WAITREAD_START → _END) is the handler waiting for the client to send:
 * client idle time, so the request starts at GRPC_WAITREAD_END (as trace_summary.py does since
 * v2.43). Trace-file times are Triton's steady clock, not the epoch.
 */
import type { AttributeValue, SpanEvent, SpanRecord } from '../../model/span.js';
import { normalizeActivity, SCANNED, SCANNED_KINDS, setHalves, TRITON_SOURCE, TRITON_SOURCE_ATTR } from '../../formats/index.js';
import type { ScannedSpans, TritonRows, TritonSpanSink } from '../../formats/index.js';
import { ATTR, PHASES } from '../../semconv.js';
import type { Phase } from '../../semconv.js';
import { MAX_HELD_TRACES } from './convention.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { idFrom as phaseIdFrom, idSeed as phaseIdSeed, numberOf, phaseSpans, takeClosed } from './_spans.js';
import type { PhaseInterval } from './_spans.js';

const SOURCE_ATTR = TRITON_SOURCE_ATTR;
const TRITON_TRACE_FILE_SOURCE = TRITON_SOURCE;

/**
 * Phase intervals between Triton activities: [phase, from, to, name]. Compute is split into
 * input copy / infer / output copy when the backend reports COMPUTE_INPUT_END and
 * COMPUTE_OUTPUT_START; otherwise it is COMPUTE_START → COMPUTE_END (see `intervalsOf`).
 */
const STAGES: readonly (readonly [Phase, string, string, string])[] = [
  ['network', 'HTTP_RECV_START', 'HTTP_RECV_END', 'HTTP receive'],
  ['serialize', 'HTTP_RECV_END', 'REQUEST_START', 'request parse'],
  ['serialize', 'GRPC_WAITREAD_END', 'REQUEST_START', 'request parse'],
  ['preprocess', 'REQUEST_START', 'QUEUE_START', 'core (before queue)'],
  ['queue', 'QUEUE_START', 'COMPUTE_START', 'queue'],
  ['transfer', 'COMPUTE_START', 'COMPUTE_INPUT_END', 'compute input'],
  ['transfer', 'COMPUTE_OUTPUT_START', 'COMPUTE_END', 'compute output'],
  ['postprocess', 'COMPUTE_END', 'REQUEST_END', 'core (after compute)'],
  ['serialize', 'REQUEST_END', 'HTTP_SEND_START', 'response serialize'],
  ['serialize', 'REQUEST_END', 'GRPC_SEND_START', 'response serialize'],
  ['network', 'HTTP_SEND_START', 'HTTP_SEND_END', 'HTTP send'],
  ['network', 'GRPC_SEND_START', 'GRPC_SEND_END', 'gRPC send'],
];
/** Where a request starts, earliest first. GRPC_WAITREAD_START is deliberately absent (client idle). */
const STARTS = ['HTTP_RECV_START', 'GRPC_WAITREAD_END', 'REQUEST_START', 'QUEUE_START', 'COMPUTE_START'];
const ENDS = ['HTTP_SEND_END', 'GRPC_SEND_END', 'INFER_RESPONSE_COMPLETE', 'REQUEST_END', 'COMPUTE_END'];
const KNOWN = new Set([...STAGES.flatMap(([, from, to]) => [from, to]), ...STARTS, ...ENDS, 'GRPC_WAITREAD_START', 'COMPUTE_INPUT_END', 'COMPUTE_OUTPUT_START']);

// The 1.x spelling is normalised where the trace file is read, so its reader's checks and this mapping agree.
export { normalizeActivity };

/** True when the events use the 1.x lowercase spelling. */
function isLegacySpelling(events: readonly SpanEvent[]): boolean {
  return events.some((e) => e.name.includes(' ') && KNOWN.has(normalizeActivity(e.name)));
}

/** Below this, time between COMPUTE_END and REQUEST_END is the core's own work whatever the backend's compute. */
const RESPONDS_LATER_MIN_NS = 10_000_000n;

/**
 * True when the request was released long after the backend's execute returned: longer than the
 * backend's whole compute (COMPUTE_START→COMPUTE_END) and over 10 ms. Ordinary backends respond
 * and release within microseconds of COMPUTE_END (0.1 ms in Triton's docs example); an LLM or
 * decoupled backend (TensorRT-LLM's in-flight batcher, vLLM, a decoupled Python model) returns
 * from execute and generates afterwards (server issue #6923: 300-600 ms between COMPUTE_END and
 * REQUEST_END on TensorRT-LLM, https://github.com/triton-inference-server/server/issues/6923),
 * and the HTTP frontend formats a JSON response in that window too. The trace cannot tell which,
 * so that time is not called post-processing.
 */
export function respondsAfterExecute(times: ActivityTimes): boolean {
  const start = times.get('COMPUTE_START');
  const end = times.get('COMPUTE_END');
  const released = times.get('REQUEST_END');
  if (start === undefined || end === undefined || released === undefined) return false;
  const after = released - end;
  return after > RESPONDS_LATER_MIN_NS && after > end - start;
}

/** The phase intervals one Triton request's activity times give. */
export function intervalsOf(times: ActivityTimes): PhaseInterval[] {
  const out: PhaseInterval[] = [];
  const later = respondsAfterExecute(times);
  for (const [phase, from, to, name] of STAGES) {
    if (later && from === 'COMPUTE_END') continue;
    const start = times.get(from);
    const end = times.get(to);
    if (start !== undefined && end !== undefined && end > start) out.push({ phase, startNs: start, endNs: end, name });
  }
  const computeStart = times.get('COMPUTE_INPUT_END') ?? times.get('COMPUTE_START');
  const computeEnd = times.get('COMPUTE_OUTPUT_START') ?? times.get('COMPUTE_END');
  if (computeStart !== undefined && computeEnd !== undefined && computeEnd > computeStart) {
    const split = times.has('COMPUTE_INPUT_END') || times.has('COMPUTE_OUTPUT_START');
    out.push({ phase: 'compute', startNs: computeStart, endNs: computeEnd, name: split ? 'compute infer' : 'compute' });
  }
  return out;
}

/** Start and end of the request: earliest start activity, latest end activity. */
function extentOf(times: ActivityTimes): { startNs: bigint; endNs: bigint } | undefined {
  let startNs: bigint | undefined;
  let endNs: bigint | undefined;
  for (const n of STARTS) {
    const t = times.get(n);
    if (t !== undefined && (startNs === undefined || t < startNs)) startNs = t;
  }
  for (const n of ENDS) {
    const t = times.get(n);
    if (t !== undefined && (endNs === undefined || t > endNs)) endNs = t;
  }
  return startNs === undefined || endNs === undefined || endNs < startNs ? undefined : { startNs, endNs };
}

/** One request's activity times by (normalized) name, as the mapping reads them. */
export interface ActivityTimes {
  get(name: string): bigint | undefined;
  has(name: string): boolean;
}

/** Each activity the mapping reads (KNOWN): its slot in SlotTimes. */
const SLOTS = new Map<string, number>([...KNOWN].map((name, k) => [name, k]));

/**
 * ActivityTimes in a slot per activity the mapping reads (the others are never asked for): a
 * Map per request, grown as its times were set, was a tenth of what a Triton file's analysis
 * allocated.
 */
class SlotTimes implements ActivityTimes {
  private readonly slots = new Array<bigint | undefined>(SLOTS.size).fill(undefined);

  get(name: string): bigint | undefined {
    const k = SLOTS.get(name);
    return k === undefined ? undefined : this.slots[k];
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, t: bigint): void {
    const k = SLOTS.get(name);
    if (k !== undefined) this.slots[k] = t;
  }
}

function timesOf(events: readonly SpanEvent[], into = new SlotTimes()): SlotTimes {
  for (const e of events) {
    const name = normalizeActivity(e.name);
    // A stream's first response is the one that counts (the gRPC stream handler records only it; others may record each).
    if (name === FIRST_RESPONSE && into.has(name) && into.get(name)! <= e.timeNs) continue;
    into.set(name, e.timeNs);
  }
  return into;
}

const FIRST_RESPONSE = 'INFER_RESPONSE_COMPLETE';

/**
 * The first response of a stream, when the request was released long after it (over 10 ms): a
 * decoupled model streaming its answer (ModelStreamInferHandler records INFER_RESPONSE_COMPLETE
 * for the first response only, server src/grpc/stream_infer_handler.cc), so it is the request's
 * first token, "server-side TTFT for decoupled gRPC streams". A response sent just before the
 * release is the whole answer, not a first token.
 */
function firstTokenOf(times: ActivityTimes): bigint | undefined {
  const first = times.get(FIRST_RESPONSE);
  const released = times.get('REQUEST_END');
  if (first === undefined || released === undefined || !respondsAfterExecute(times)) return undefined;
  return released - first > RESPONDS_LATER_MIN_NS ? first : undefined;
}

function modelOf(attributes: Readonly<Record<string, AttributeValue>>): string | undefined {
  const model = attributes['triton.model_name'] ?? attributes['model_name'];
  return typeof model === 'string' && model !== '' ? model : undefined;
}

/** One Triton (sub)request before it becomes spans. */
interface TritonView {
  /** Gives the request span its ids, parent, service and attributes. */
  readonly base: SpanRecord;
  readonly model: string | undefined;
  readonly times: ActivityTimes;
  readonly extent: { readonly startNs: bigint; readonly endNs: bigint };
  /** The view this one is a step of (ensemble, BLS), by request span id. */
  readonly parentId: string | undefined;
}

/** Where `emitViews` puts each request span and the phase intervals under it (with the batch size its compute phases carry, if any). */
type ViewEmitter = (request: SpanRecord, intervals: readonly PhaseInterval[], batch: number | undefined) => void;

/**
 * Request and phase spans for each view. An ensemble or BLS parent has no queue or compute of
 * its own (trace_summary.py: "missing for ensemble model"); its steps are its children, so it
 * also gets their phase intervals (the children stay requests of their own models too).
 */
function emitViews(views: readonly TritonView[], emit: ViewEmitter): void {
  const withSteps = views.length > SMALL_TRACE ? stepsByMaps(views) : stepsByScans(views);
  for (const v of views) {
    // Copied key by key (not spread, then deleted): `delete` turns the object into a slow dictionary.
    const attributes: Record<string, AttributeValue> = {};
    for (const key in v.base.attributes) if (key !== SOURCE_ATTR) attributes[key] = v.base.attributes[key]!;
    attributes[ATTR.MODEL_NAME] = v.model ?? 'unknown';
    const version = v.base.attributes['triton.model_version'];
    if (version !== undefined && version !== -1 && version !== '-1') attributes[ATTR.MODEL_VERSION] = String(version);
    const base = v.base;
    const firstToken = firstTokenOf(v.times);
    const request: SpanRecord = {
      traceId: base.traceId,
      spanId: base.spanId,
      ...(base.parentSpanId !== undefined ? { parentSpanId: base.parentSpanId } : {}),
      name: v.model ?? base.name,
      service: base.service,
      kind: 'server',
      startNs: v.extent.startNs,
      endNs: v.extent.endNs,
      attributes,
      error: base.error,
      ...(firstToken !== undefined ? { firstTokenNs: firstToken } : {}),
    };
    emit(request, withSteps(v.base.spanId, 0), numberOf(v.base.attributes['triton.batch_size']));
  }
}

/** Views past which a trace's steps are found through maps (below, by scanning its views: no map per trace). */
const SMALL_TRACE = 8;

/**
 * The phase intervals of the view with span id `id` (the last so named), then those of its steps
 * (the views whose parent it is, in order, each with its own steps, 32 levels down at most).
 */
type Steps = (id: string, depth: number) => PhaseInterval[];

function stepsByMaps(views: readonly TritonView[]): Steps {
  const intervals = new Map<string, PhaseInterval[]>(views.map((v) => [v.base.spanId, intervalsOf(v.times)]));
  const children = new Map<string, TritonView[]>();
  for (const v of views) {
    if (v.parentId === undefined || !intervals.has(v.parentId)) continue;
    const list = children.get(v.parentId);
    if (list === undefined) children.set(v.parentId, [v]);
    else list.push(v);
  }
  const withSteps = (id: string, depth: number): PhaseInterval[] => {
    const own = intervals.get(id) ?? [];
    if (depth > 32) return own;
    const steps = (children.get(id) ?? []).flatMap((c) => withSteps(c.base.spanId, depth + 1));
    return steps.length === 0 ? own : [...own, ...steps];
  };
  return withSteps;
}

/** `stepsByMaps` for a few views, by scanning them. */
function stepsByScans(views: readonly TritonView[]): Steps {
  const intervals = views.map((v) => intervalsOf(v.times));
  const withSteps = (id: string, depth: number): PhaseInterval[] => {
    let own: PhaseInterval[] = [];
    for (let k = views.length - 1; k >= 0; k--) {
      if (views[k]!.base.spanId !== id) continue;
      own = intervals[k]!;
      break;
    }
    if (depth > 32) return own;
    let all = own;
    for (const c of views) {
      if (c.parentId !== id) continue;
      const steps = withSteps(c.base.spanId, depth + 1);
      if (steps.length > 0) all = all === own ? [...own, ...steps] : (all.push(...steps), all);
    }
    return all;
  };
  return withSteps;
}

/** `emitViews` into records: each request span, then its phase spans. */
function emitRecords(views: readonly TritonView[]): SpanRecord[] {
  const out: SpanRecord[] = [];
  emitViews(views, (request, intervals, batch) => out.push(request, ...phaseSpans(request, intervals, batch === undefined ? {} : { [ATTR.BATCH_SIZE]: batch })));
  return out;
}

/** What Triton's traces never carry, for the diagnosis to say plainly. */
const UNSEEN = ['batch size (Triton traces do not record it; see nv_inference_exec_count)', 'response cache hits'];

const FILE_NOTE_2: ConventionNote = { label: 'Triton trace file 2.x', clock: 'monotonic', unseen: UNSEEN };
const FILE_NOTE_1: ConventionNote = { label: 'Triton trace file 1.x (TensorRT Inference Server)', clock: 'monotonic', unseen: UNSEEN };
const OTEL_NOTE: ConventionNote = { label: 'Triton OpenTelemetry trace', clock: 'epoch', unseen: UNSEEN };
const LATER =
  ', released long after the backend’s execute returned (an LLM or decoupled backend generating, such as TensorRT-LLM or vLLM, or a large HTTP JSON response being formatted: that time, COMPUTE_END → REQUEST_END, is not attributed; a stream’s first response, INFER_RESPONSE_COMPLETE, is its first token)';
const LATER_UNSEEN = [...UNSEEN, 'what the backend did after its execute returned'];
const LATER_NOTES = new Map<ConventionNote, ConventionNote>(
  [FILE_NOTE_2, FILE_NOTE_1, OTEL_NOTE].map((n) => [n, { label: n.label + LATER, clock: n.clock, unseen: LATER_UNSEEN }]),
);

/** The note for a trace's requests: its own, or its variant when a request responded long after execute. */
function noteFor(note: ConventionNote, views: readonly TritonView[]): ConventionNote {
  return views.some((v) => respondsAfterExecute(v.times)) ? LATER_NOTES.get(note)! : note;
}

/** Triton trace file and Triton OpenTelemetry mode. */
export const tritonConvention: SourceConvention = {
  id: 'triton',
  lacks: ['batch-sizes'],
  scope: 'trace',
  // OpenTelemetry mode's names: upper case (the 1.x spelling is only in trace files, whose events are all kept).
  events: [...KNOWN],
  claims(span) {
    if (span.attributes[SOURCE_ATTR] === TRITON_TRACE_FILE_SOURCE || span.name === 'InferRequest' || 'triton.model_name' in span.attributes) return true;
    const events = span.events;
    return span.name === 'compute' && events !== undefined && events.some((e) => e.name === 'COMPUTE_START');
  },
  map(spans) {
    return mapTritonTrace(spans);
  },
};

/** Maps the spans of one trace that holds Triton spans. */
function mapTritonTrace(spans: readonly SpanRecord[]): MappedSpans {
  const fileSpans = spans.filter((s) => s.attributes[SOURCE_ATTR] === TRITON_TRACE_FILE_SOURCE);
  if (fileSpans.length > 0) return mapFileSpans(spans, fileSpans);
  return mapOpenTelemetry(spans);
}

/** Trace-file spans: one per Triton id, every activity an event on it. */
function mapFileSpans(spans: readonly SpanRecord[], fileSpans: readonly SpanRecord[]): MappedSpans {
  const { views, note } = fileViews(fileSpans);
  const out: SpanRecord[] = spans.filter((s) => s.attributes[SOURCE_ATTR] !== TRITON_TRACE_FILE_SOURCE);
  out.push(...emitRecords(views));
  return { spans: out, requests: views.length, note };
}

/** The views of one trace's trace-file spans (those with a start and an end), and the note they give. */
function fileViews(fileSpans: readonly SpanRecord[]): { views: TritonView[]; note: ConventionNote } {
  const views: TritonView[] = [];
  let legacy = false;
  for (const span of fileSpans) {
    const events = span.events ?? [];
    if (isLegacySpelling(events)) legacy = true;
    const times = timesOf(events);
    const extent = extentOf(times);
    if (extent === undefined) continue;
    views.push({ base: span, model: modelOf(span.attributes), times, extent, parentId: span.parentSpanId });
  }
  return { views, note: noteFor(legacy ? FILE_NOTE_1 : FILE_NOTE_2, views) };
}

/**
 * The Triton trace file's spans as they are read (ReadOptions.tritonRows), mapped into rows of
 * our convention (formats/_scanned-spans.ts) with no record of the spans the mapping makes: the
 * request and phase spans `mapFileSpans` makes, in the order the convention mapper gives them
 * (ConventionMapper: a trace held from its first span until its reader says it is whole, then
 * mapped once every trace held before it is; the oldest mapped anyway past MAX_HELD_TRACES;
 * the rest at the end), and its use counted as the mapper counts it (ScannedSpans.uses). A
 * reader makes one span per request id, so a held trace holds no copies of a span.
 */
class TritonRowSink implements TritonSpanSink {
  private readonly held = new Map<string, SpanRecord[]>();
  /** Held traces said whole, waiting for the traces held before them. */
  private readonly closed = new Set<string>();

  constructor(private readonly rows: ScannedSpans) {}

  add(span: SpanRecord): void {
    const spans = this.held.get(span.traceId);
    if (spans !== undefined) {
      spans.push(span);
      return;
    }
    this.held.set(span.traceId, [span]);
    if (this.held.size <= MAX_HELD_TRACES) return;
    const [traceId, oldest] = this.held.entries().next().value!;
    this.held.delete(traceId);
    this.closed.delete(traceId);
    this.write(oldest);
  }

  close(traceIds: readonly string[]): void {
    for (const [, spans] of takeClosed(this.held, this.closed, traceIds)) this.write(spans);
  }

  end(): void {
    this.closed.clear();
    for (const spans of this.held.values()) this.write(spans);
    this.held.clear();
  }

  /** One trace's rows, and its use. */
  private write(spans: readonly SpanRecord[]): void {
    const { views, note } = fileViews(spans);
    emitViews(views, this.emit);
    this.rows.uses.push({ id: tritonConvention.id, ...note, requests: views.length });
  }

  /** A request row (its attributes named as the mapper names a convention's requests: SOURCE_ATTR), then its phase rows, as `phaseSpans` makes them. */
  private readonly emit: ViewEmitter = (request, intervals, batch) => {
    const rows = this.rows;
    const attributes = request.attributes as Record<string, AttributeValue>;
    attributes[SOURCE_ATTR] = tritonConvention.id;
    const r = rows.next();
    rows.records[r] = undefined;
    rows.traceIds[r] = request.traceId;
    rows.ids[r] = request.spanId;
    rows.parents[r] = request.parentSpanId;
    rows.names[r] = request.name;
    rows.services[r] = request.service;
    rows.kinds[r] = SERVER_KIND;
    rows.phases[r] = -1;
    rows.attributes[r] = attributes;
    rows.batchValues[r] = undefined;
    rows.roles[r] = undefined;
    rows.models[r] = undefined;
    setHalves(rows.startHi, rows.startLo, r, request.startNs);
    setHalves(rows.endHi, rows.endLo, r, request.endNs);
    const firstToken = request.firstTokenNs;
    if (firstToken !== undefined) setHalves(rows.firstHi, rows.firstLo, r, firstToken);
    rows.flags[r] = SCANNED.REQUEST | (firstToken !== undefined ? SCANNED.FIRST_TOKEN : 0);
    rows.length = r + 1;
    rows.direct++;
    const seed = phaseIdSeed(request.spanId);
    for (let k = 0; k < intervals.length; k++) {
      const interval = intervals[k]!;
      if (interval.endNs <= interval.startNs) continue;
      const compute = batch !== undefined && interval.phase === 'compute';
      const i = rows.next();
      rows.records[i] = undefined;
      rows.traceIds[i] = request.traceId;
      rows.ids[i] = phaseIdFrom(seed, k);
      rows.parents[i] = request.spanId;
      rows.names[i] = interval.name;
      rows.services[i] = request.service;
      rows.kinds[i] = INTERNAL_KIND;
      rows.flags[i] = 0;
      rows.phases[i] = PHASE_CODES.get(interval.phase)!;
      rows.attributes[i] = null;
      rows.batchValues[i] = compute ? batch : undefined;
      rows.roles[i] = undefined;
      rows.models[i] = undefined;
      // `inference.phase`, then `inference.batch.size` (see ScannedSpans.orders).
      rows.orders[i] = compute ? PHASE_THEN_BATCH : PHASE_ONLY;
      setHalves(rows.startHi, rows.startLo, i, interval.startNs);
      setHalves(rows.endHi, rows.endLo, i, interval.endNs);
      rows.length = i + 1;
      rows.direct++;
    }
  };
}

/** `ReadOptions.tritonRows`: a Triton trace file's spans mapped into rows as they are read. */
export const tritonRows: TritonRows = (rows) => new TritonRowSink(rows);

const SERVER_KIND = SCANNED_KINDS.indexOf('server');
const INTERNAL_KIND = SCANNED_KINDS.indexOf('internal');
const PHASE_CODES = new Map<Phase, number>(PHASES.map((p, i) => [p, i]));
/** ScannedSpans.orders of a phase row: base-5 digits of PHASE_ROW_KEYS indexes + 1 (`inference.phase` is the first, `inference.batch.size` the fourth). */
const PHASE_ONLY = 1;
const PHASE_THEN_BATCH = 1 * 5 + 4;

/**
 * OpenTelemetry mode. Each model span is a (sub)request; its `compute` children add their
 * COMPUTE_* events. A top-level model span under `InferRequest` takes the frontend's events and
 * extent, and the request span takes `InferRequest`'s place (same id and parent), so
 * network/serialize count inside the request; the model span stays as a plain span under it so
 * nested (ensemble, BLS) model spans keep their parent chain.
 */
function mapOpenTelemetry(spans: readonly SpanRecord[]): MappedSpans {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const childrenOf = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    if (s.parentSpanId === undefined) continue;
    const list = childrenOf.get(s.parentSpanId);
    if (list === undefined) childrenOf.set(s.parentSpanId, [s]);
    else list.push(s);
  }
  const views: TritonView[] = [];
  const dropped = new Set<string>();
  const kept = new Map<string, SpanRecord>();
  for (const model of spans) {
    const name = modelOf(model.attributes);
    if (name === undefined) continue;
    const times = timesOf(model.events ?? []);
    for (const child of childrenOf.get(model.spanId) ?? []) {
      if (child.name === 'compute' && modelOf(child.attributes) === undefined) timesOf(child.events ?? [], times);
    }
    const parent = model.parentSpanId === undefined ? undefined : byId.get(model.parentSpanId);
    const frontend = parent !== undefined && parent.name === 'InferRequest' && modelOf(parent.attributes) === undefined ? parent : undefined;
    if (frontend !== undefined) timesOf(frontend.events ?? [], times);
    const own = extentOf(times);
    // Without events, the span's own times are all there is.
    const extent = frontend !== undefined ? { startNs: minBig(frontend.startNs, own?.startNs), endNs: maxBig(frontend.endNs, own?.endNs) } : (own ?? { startNs: model.startNs, endNs: model.endNs });
    const outer = frontend ?? model;
    // The request takes the outer span's place, its parent too (the model span's parent is that outer span itself).
    views.push({ base: { ...outer, attributes: { ...model.attributes } }, model: name, times, extent, parentId: outer.parentSpanId });
    dropped.add(outer.spanId);
    if (frontend !== undefined) {
      // The model span stays as a plain child of the request, so nested model spans keep their parent chain.
      const plain: Record<string, AttributeValue> = {};
      for (const [k, v] of Object.entries(model.attributes)) if (k !== 'triton.model_name') plain[k] = v;
      kept.set(model.spanId, { ...model, attributes: plain });
    }
  }
  if (views.length === 0) return { spans, requests: 0 };
  // A nested model span's step parent is the request that took its parent's place.
  const frontOf = new Map(views.filter((v) => v.base.spanId !== undefined).map((v) => [v.base.spanId, v]));
  const resolved = views.map((v) => {
    if (v.parentId === undefined || frontOf.has(v.parentId)) return v;
    const parent = byId.get(v.parentId);
    const grand = parent?.parentSpanId;
    return grand !== undefined && frontOf.has(grand) && kept.has(v.parentId) ? { ...v, parentId: grand } : v;
  });
  const out: SpanRecord[] = [];
  for (const s of spans) if (!dropped.has(s.spanId)) out.push(kept.get(s.spanId) ?? s);
  out.push(...emitRecords(resolved));
  return { spans: out, requests: views.length, note: noteFor(OTEL_NOTE, resolved) };
}

function minBig(a: bigint, b: bigint | undefined): bigint {
  return b !== undefined && b < a ? b : a;
}

function maxBig(a: bigint, b: bigint | undefined): bigint {
  return b !== undefined && b > a ? b : a;
}

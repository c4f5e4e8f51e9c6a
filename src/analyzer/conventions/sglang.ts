/**
 * @module analyzer/conventions/sglang
 * SGLang's own request traces (`--enable-trace --otlp-traces-endpoint`, `--trace-level 1-3` in
 * later releases): per request a root span named `{role} Req {rid[:8]}` (role `prefill` or
 * `decode` under prefill-decode disaggregation, empty otherwise) with a `rid` attribute; under it
 * one span per thread that handled the request (name `{label} [TP n] (host:… | pid:…)`,
 * attributes `thread_label`, `host_id`, `pid`, `tp_rank`); under those, "slice" spans named after
 * the request's stages (`tokenize`, `request_process`, `prefill_waiting`, `prefill_forward`,
 * `decode_loop`, …), each linked to the slice before it. The stage slices are the phase times;
 * nested slices (`chunked_prefill` inside `prefill_forward`, speculative steps, `run_batch_cpu`)
 * lie inside their parent and are not read on their own.
 *
 * Three layouts, all read:
 * - later releases (`python/sglang/srt/observability/trace.py`): the root span has `module`
 *   `sglang::request` and, once finished, `gen_ai.usage.*` and `gen_ai.latency.*`
 *   (`time_to_first_token`, `e2e`, …, measured in the tokenizer manager); a disaggregated root
 *   has `bootstrap_room` (hex); nodes join one trace through W3C `traceparent`;
 * - `--enable-trace` with bootstrap room spans (`python/sglang/srt/tracing/trace.py`): a
 *   `Bootstrap Room 0x…` span (`bootstrap_room`) above the node roots, one per request, shared by
 *   the router, prefill and decode roots of a disaggregated request;
 * - the first layout: root `Req {rid[:8]}` with `rid` and `bootstrap_room` on it, no room span.
 *
 * Stage names and intervals: `RequestStage` in `python/sglang/srt/observability/req_time_stats.py`
 * and `python/sglang/srt/tracing/trace_metric_wrapper.py`. Sources (sgl-project/sglang, Apache-2.0):
 * https://github.com/sgl-project/sglang/blob/b8e5a7c39773b60a4d1f77647b8fda1fee65bba1/python/sglang/srt/observability/trace.py,
 * https://github.com/sgl-project/sglang/blob/602413bc230f597e24cda749c7cc2f6ba92bff85/python/sglang/srt/observability/req_time_stats.py,
 * https://github.com/sgl-project/sglang/blob/021a89235fcc8d4bff2069b2530ad34886974c04/python/sglang/srt/tracing/trace.py,
 * https://github.com/sgl-project/sglang/blob/bad7b92eb04300e1ce398d1fa470f82e22ecb763/python/sglang/srt/tracing/trace.py,
 * https://github.com/sgl-project/sglang/blob/1c800b4191c37b0b2cee695c33ee93cd040f8878/docs/references/production_request_trace.md
 * (docs/formats.md has the whole table and why each stage goes where it goes).
 */
import type { AttributeValue, SpanRecord } from '../../model/span.js';
import { ATTR } from '../../semconv.js';
import type { Phase } from '../../semconv.js';
import { tokenCount } from '../../model/generation.js';
import type { ConventionNote, MappedSpans, SourceConvention } from './convention.js';
import { phaseSpans, secondsToNs } from './_spans.js';
import type { PhaseInterval } from './_spans.js';

/**
 * Stage slice → phase. `null`: a stage read as no phase (its time stays in `other`): the decode
 * node's `quick_finish` (a request ended without decoding) and the router's `wait_pd_finish`
 * (the router waiting for the nodes, whose own slices say what that time was).
 */
const STAGES: Readonly<Record<string, Phase | null>> = {
  // Tokenizer manager and DP controller: tokenisation and handing the request to a scheduler.
  tokenize: 'preprocess',
  dispatch: 'preprocess',
  api_server_dispatch: 'preprocess',
  dc_dispatch: 'preprocess',
  dpc_dispatch: 'preprocess',
  // Scheduler: from receiving the request to its entry into a queue.
  request_process: 'preprocess',
  prefill_prepare: 'preprocess',
  decode_prepare: 'preprocess',
  // Waiting: for a batch slot, and (disaggregated) for the peer's handshake and KV memory; no data moves.
  prefill_waiting: 'queue',
  decode_waiting: 'queue',
  prefill_bootstrap: 'queue',
  decode_bootstrap: 'queue',
  prefill_forward: 'prefill',
  chunked_prefill: 'prefill',
  // KV cache sent by the prefill node, awaited by the decode node.
  prefill_transfer_kv_cache: 'transfer',
  decode_transferred: 'transfer',
  // The decode node's prebuilt step emits the prefill's token; then one step per token.
  fake_output: 'decode',
  decode_forward: 'decode',
  decode_loop: 'decode',
  // The first layout's scheduler slices (PR #9962, as its description shows the call sites:
  // one anonymous slice named `prefill` when the request's prefill is done, then one `decode
  // loop` slice per decode step). Its `prefill` starts when the scheduler takes the request, so
  // a wait for a batch slot is inside it (said in the layout's note).
  prefill: 'prefill',
  'decode loop': 'decode',
  // The Python router (mini LB) choosing and launching a prefill-decode pair.
  mini_lb_launch: 'preprocess',
  wait_PD_finish: null,
  wait_pd_finish: null,
  quick_finish: null,
};

// A Map, not the object: a span named `constructor` or `toString` is no stage.
const STAGE_PHASES: ReadonlyMap<string, Phase | null> = new Map(Object.entries(STAGES));

const ROOT_NAME = /(?:^|\s)req \S+$/i;
const ROOM_NAME = /^bootstrap room /i;
const ROLE = /^\s*(prefill|decode|router)\s+req /i;

function isRoot(span: SpanRecord): boolean {
  return span.attributes['rid'] !== undefined && ROOT_NAME.test(span.name);
}

function isThread(span: SpanRecord): boolean {
  const a = span.attributes;
  return a['thread_label'] !== undefined && a['host_id'] !== undefined && a['pid'] !== undefined;
}

function isRoom(span: SpanRecord): boolean {
  return span.attributes['bootstrap_room'] !== undefined && ROOM_NAME.test(span.name);
}

// Stage names common enough elsewhere to claim only from SGLang's own service (process_tracing_init
// names it `sglang`): a claimed span holds its trace to the end of input, which costs other traces.
const COMMON = new Set(['tokenize', 'dispatch', 'prefill', 'decode loop']);

function isStage(span: SpanRecord): boolean {
  return (span.kind === 'internal' || span.kind === 'unspecified') && STAGE_PHASES.has(span.name);
}

/** A stage slice worth holding its trace for (inside a held trace, every stage-named span is read). */
function claimsSlice(span: SpanRecord): boolean {
  return isStage(span) && (!COMMON.has(span.name) || span.service.startsWith('sglang'));
}

// The tokenizer manager starts the request span when it creates the request (after the HTTP
// server parsed it) and ends it when it has the last output, before the response is written.
const FRONTEND =
  'how the time between a client span and the SGLang request span divides between the network and SGLang’s HTTP server: the span starts when the tokenizer manager creates the request and ends when it has the last output, so the HTTP handling before and the response writing after are outside it, and no SGLang span splits them from the wire; that time is left unattributed (other), not counted as network';
const UNSEEN = [
  'batch size (SGLang puts it only on span events of scheduled batches, `batch_size` on `schedule` at --trace-level 3, which are not read)',
  'detokenization on its own (no slice: the time after the scheduler’s last decode step is read as postprocess, the detokenizer and the tokenizer manager’s output handling together)',
  FRONTEND,
];
const UNSEEN_OLD = [...UNSEEN, 'model name and token counts (before the gen_ai.* attributes, root spans carry none; the service name stands in)'];

type Layout = 'level' | 'room' | 'first';
const UNSEEN_BY_LAYOUT: Readonly<Record<Layout, readonly string[]>> = {
  level: UNSEEN,
  room: UNSEEN_OLD,
  first: [...UNSEEN_OLD, 'queueing apart from prefill where the scheduler names one `prefill` slice for its part before decoding (the first layout): a wait for a batch slot is read as prefill'],
};
const LAYOUT_LABEL: Readonly<Record<Layout, string>> = {
  level: 'SGLang request trace (--trace-level)',
  room: 'SGLang request trace (--enable-trace, bootstrap room spans)',
  first: 'SGLang request trace (--enable-trace, first layout)',
};
type Pd = 'unified' | 'pair' | 'node';
const PD_LABEL: Readonly<Record<Pd, string>> = {
  unified: '',
  pair: ', prefill-decode disaggregated: the nodes’ slices of one bootstrap room as one request',
  node: ', one node of a prefill-decode pair (its partner is not in this trace)',
};
const NOTES = new Map<string, ConventionNote>();

function noteFor(layout: Layout, pd: Pd): ConventionNote {
  const label = LAYOUT_LABEL[layout] + PD_LABEL[pd];
  let note = NOTES.get(label);
  if (note === undefined) {
    note = { label, clock: 'epoch', unseen: UNSEEN_BY_LAYOUT[layout] };
    NOTES.set(label, note);
  }
  return note;
}

/** SGLang request traces: root, thread and stage slice spans, every layout. */
export const sglangConvention: SourceConvention = {
  id: 'sglang',
  lacks: ['batch-sizes'],
  outsideSpan: 'unattributed',
  scope: 'trace',
  claims(span) {
    return claimsSlice(span) || isRoot(span) || isThread(span) || isRoom(span);
  },
  map(spans) {
    return mapTrace(spans);
  },
};

/** One node's request span and the phase intervals read from its thread spans' slices. */
interface Node {
  readonly root: SpanRecord;
  /** `router`: the Python router (mini LB), whose root spans the client's whole request. */
  readonly role: 'prefill' | 'decode' | 'router' | '';
  readonly intervals: PhaseInterval[];
  /** End of its decode node's prebuilt step (`fake_output`): where the first token leaves the decode scheduler. */
  readonly fakeOutputEndNs?: bigint;
}

function mapTrace(spans: readonly SpanRecord[]): MappedSpans {
  const byId = new Map<string, SpanRecord>();
  for (const s of spans) byId.set(s.spanId, s);
  const threadsOf = new Map<string, SpanRecord[]>();
  const slicesOf = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const s of spans) {
    if (isRoot(s)) roots.push(s);
    else if (s.parentSpanId === undefined) continue;
    else if (isThread(s)) push(threadsOf, s.parentSpanId, s);
    else if (isStage(s)) push(slicesOf, s.parentSpanId, s);
  }
  if (roots.length === 0) return { spans, requests: 0 };
  // Nodes of one request share a bootstrap room; a request that is not disaggregated has its own.
  const groups = new Map<string, Node[]>();
  for (const root of roots) {
    push(groups, roomOf(root, byId) ?? `span:${root.spanId}`, nodeOf(root, threadsOf, slicesOf));
  }
  const replaced = new Map<string, SpanRecord>();
  const made: SpanRecord[] = [];
  let requests = 0;
  let layout: Layout = 'first';
  let pd: Pd = 'unified';
  for (const [room, nodes] of groups) {
    const request = requestOf(nodes);
    replaced.set(request.span.spanId, request.span);
    made.push(...phaseSpans(request.span, request.intervals));
    requests++;
    const l = layoutOf(request.primary, byId);
    if (l === 'level' || (l === 'room' && layout === 'first')) layout = l;
    const roles = new Set(nodes.map((n) => n.role));
    // The first layout names no role: a lone root with a bootstrap room is one node of a pair too.
    const lone = roles.has('prefill') || roles.has('decode') || roles.has('router') || (nodes.length === 1 && room.startsWith('room:'));
    const p: Pd = roles.has('prefill') && roles.has('decode') ? 'pair' : lone ? 'node' : 'unified';
    if (p === 'node' || (p === 'pair' && pd === 'unified')) pd = p;
  }
  const out: SpanRecord[] = spans.map((s) => replaced.get(s.spanId) ?? s);
  for (const s of made) out.push(s);
  return { spans: out, requests, note: noteFor(layout, pd) };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** The bootstrap room a root belongs to (0, `0x0` and `None` are SGLang's "no room"), from the root or its room span. */
function roomOf(root: SpanRecord, byId: ReadonlyMap<string, SpanRecord>): string | undefined {
  const own = realRoom(root.attributes['bootstrap_room']);
  if (own !== undefined) return `room:${own}`;
  const parent = root.parentSpanId === undefined ? undefined : byId.get(root.parentSpanId);
  if (parent === undefined || !isRoom(parent)) return undefined;
  return realRoom(parent.attributes['bootstrap_room']) === undefined ? undefined : `span:${parent.spanId}`;
}

function realRoom(value: AttributeValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (text === '' || text === 'None') return undefined;
  const n = /^0x[0-9a-f]+$/i.test(text) ? BigInt(text) : /^\d+$/.test(text) ? BigInt(text) : undefined;
  return n === 0n ? undefined : n !== undefined ? n.toString(16) : text;
}

function layoutOf(root: SpanRecord, byId: ReadonlyMap<string, SpanRecord>): Layout {
  const module = root.attributes['module'];
  if (typeof module === 'string' && module.startsWith('sglang::')) return 'level';
  const parent = root.parentSpanId === undefined ? undefined : byId.get(root.parentSpanId);
  return parent !== undefined && isRoom(parent) ? 'room' : 'first';
}

/**
 * A root's phase intervals: its threads' top-level slices (nested ones lie inside their parent).
 * A root without slices (none above the trace level, or lost) is still a request, timed end to end.
 */
function nodeOf(root: SpanRecord, threadsOf: ReadonlyMap<string, SpanRecord[]>, slicesOf: ReadonlyMap<string, SpanRecord[]>): Node {
  const threads = threadsOf.get(root.spanId) ?? [];
  const intervals: PhaseInterval[] = [];
  let fakeOutputEndNs: bigint | undefined;
  for (const thread of threads) {
    for (const slice of slicesOf.get(thread.spanId) ?? []) {
      const phase = STAGE_PHASES.get(slice.name);
      if (slice.name === 'fake_output' && (fakeOutputEndNs === undefined || slice.endNs < fakeOutputEndNs)) fakeOutputEndNs = slice.endNs;
      if (phase === null || phase === undefined || slice.endNs <= slice.startNs) continue;
      intervals.push({ phase, startNs: slice.startNs, endNs: slice.endNs, name: slice.name });
    }
  }
  const role = ROLE.exec(root.name)?.[1]?.toLowerCase();
  return { root, role: role === 'prefill' || role === 'decode' || role === 'router' ? role : '', intervals, ...(fakeOutputEndNs !== undefined ? { fakeOutputEndNs } : {}) };
}

/**
 * One request of a bootstrap room's nodes. The node that answers the client (decode, or the only
 * node) is the request span, from the earliest node's start to its own end. A later node's
 * slices count only where an earlier one's do not (prefill node, then the answering node, then
 * the router): while the prefill node queues, prefills and sends the KV cache, the decode node's
 * `decode_transferred` waits for it, and that time is the prefill node's, not a transfer's.
 */
function requestOf(nodes: readonly Node[]): { span: SpanRecord; intervals: PhaseInterval[]; primary: SpanRecord } {
  const rank = (n: Node): number => (n.role === 'prefill' ? 0 : n.role === 'router' ? 2 : 1);
  const ordered = [...nodes].sort((a, b) => rank(a) - rank(b));
  const primary = nodes.find((n) => n.role === 'decode') ?? nodes.find((n) => n.role === '') ?? ordered[0]!;
  const root = primary.root;
  let startNs = root.startNs;
  for (const n of nodes) if (n.root.startNs < startNs) startNs = n.root.startNs;
  // The client's answer comes from the decode node, through the router when there is one.
  let endNs = root.endNs;
  for (const n of nodes) if (n.role === 'router' && n.root.endNs > endNs) endNs = n.root.endNs;
  const intervals: PhaseInterval[] = [];
  let covered: (readonly [bigint, bigint])[] = [];
  for (const node of ordered) {
    const own = node === primary ? [...node.intervals, ...postprocessOf(node)] : node.intervals;
    for (const iv of own) for (const [s, e] of subtract(iv.startNs, iv.endNs, covered)) intervals.push({ ...iv, startNs: s, endNs: e });
    covered = merge([...covered, ...own.map((iv) => [iv.startNs, iv.endNs] as const)]);
  }
  const a = root.attributes;
  const model = a['gen_ai.response.model'];
  const attributes: Record<string, AttributeValue> = {
    ...a,
    [ATTR.MODEL_NAME]: typeof model === 'string' && model !== '' ? model : root.service !== '' && !root.service.startsWith('unknown_service') ? root.service : 'sglang',
  };
  const tokensIn = tokenCount(a['gen_ai.usage.prompt_tokens']);
  const tokensOut = tokenCount(a['gen_ai.usage.completion_tokens']);
  const tokensCached = tokenCount(a['gen_ai.usage.cached_tokens']);
  if (tokensIn !== undefined) attributes[ATTR.TOKENS_INPUT] = tokensIn;
  if (tokensOut !== undefined) attributes[ATTR.TOKENS_OUTPUT] = tokensOut;
  if (tokensCached !== undefined) attributes[ATTR.TOKENS_CACHED] = tokensCached;
  // TTFT as SGLang's tokenizer manager measured it (created → first output); else, disaggregated,
  // the decode node's prebuilt step; else the assembler's rule (the end of the last prefill span).
  const ttft = secondsToNs(a['gen_ai.latency.time_to_first_token']);
  const firstTokenNs = ttft !== undefined && ttft > 0n ? root.startNs + ttft : primary.fakeOutputEndNs;
  const span: SpanRecord = {
    ...root,
    kind: 'server',
    startNs,
    endNs,
    attributes,
    ...(firstTokenNs !== undefined ? { firstTokenNs } : {}),
  };
  return { span, intervals, primary: root };
}

/**
 * The answering node's time from its last decode step to the request's end: the detokenizer and
 * the tokenizer manager's output handling. Only after a decode slice: when the trace level left
 * decode steps out, that time is decoding too, and stays unattributed.
 */
function postprocessOf(node: Node): PhaseInterval[] {
  let last: PhaseInterval | undefined;
  for (const iv of node.intervals) if (last === undefined || iv.endNs > last.endNs) last = iv;
  if (last === undefined || last.phase !== 'decode' || last.endNs >= node.root.endNs) return [];
  return [{ phase: 'postprocess', startNs: last.endNs, endNs: node.root.endNs, name: 'after the last decode step (detokenizer, tokenizer manager)' }];
}

/** Sorted, non-overlapping union of intervals. */
function merge(intervals: readonly (readonly [bigint, bigint])[]): (readonly [bigint, bigint])[] {
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of sorted) {
    const top = out[out.length - 1];
    if (top !== undefined && s <= top[1]) {
      if (e > top[1]) top[1] = e;
    } else out.push([s, e]);
  }
  return out;
}

/** [start, end) less the (sorted, merged) covered intervals. */
function subtract(startNs: bigint, endNs: bigint, covered: readonly (readonly [bigint, bigint])[]): (readonly [bigint, bigint])[] {
  const out: (readonly [bigint, bigint])[] = [];
  let cursor = startNs;
  for (const [s, e] of covered) {
    if (e <= cursor) continue;
    if (s >= endNs) break;
    if (s > cursor) out.push([cursor, s]);
    if (e > cursor) cursor = e;
    if (cursor >= endNs) return out;
  }
  if (cursor < endNs) out.push([cursor, endNs]);
  return out;
}

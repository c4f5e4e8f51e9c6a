/**
 * @module tracer/inference-tracer
 * The wrap step for one model: `infer` records a request span around the user's function and
 * hands it a request with phase helpers; `runBatch` records what a dynamic batcher does (each
 * member's queue wait, the shared compute, one batch span linked to the members).
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import type { Attributes, Context, HrTime, Link, Span, SpanOptions } from '@opentelemetry/api';
import { ATTR, BATCH_SPAN_NAME } from '../semconv.js';
import { monotonicMs, toHrTime } from './clock.js';
import { traceClientCall, tracedFetch } from './client-call.js';
import type { ClientCallOptions, FetchInit, FetchInput } from './client-call.js';
import { contextFromHeaders } from './headers.js';
import type { HeaderCarrier } from './headers.js';
import { currentInstruments, recordSeconds } from './phase-metrics.js';
import type { PhaseInstruments } from './phase-metrics.js';
import { RequestScope, Ticket } from './request-scope.js';
import { runGeneration } from './generation.js';
import type { GenerationRequest } from './generation.js';
import type { InferenceRequest, QueueTicket } from './request-scope.js';
import { recordFailure, runWrapped, WrappedRun } from './run-in-span.js';
import { contextWithSpan } from './span-context.js';
import { deferToStream } from './stream-end.js';
import { createTracerState } from './tracer-state.js';
import type { InferenceTracerOptions, TracerState } from './tracer-state.js';
import { reportFailure, warnOnce } from './warn-once.js';

/** Options of one traced request. */
export interface InferOptions {
  /** Request span name. Default: `infer <model>`. */
  readonly name?: string;
  /** Request payload size in bytes (`inference.request.size`). Default: not recorded. */
  readonly requestSize?: number;
  /** Extra request span attributes. Default: none. */
  readonly attributes?: Attributes;
  /** Continue the trace carried by these incoming headers. Default: the active context. */
  readonly headers?: HeaderCarrier;
}

/** A tracer for one model. */
export interface InferenceTracer {
  /** The model name every request span carries. */
  readonly model: string;
  /**
   * Runs `fn` as one request: a request span (SERVER when it starts a trace or continues a remote
   * one, INTERNAL under a local parent) with the model's attributes; `fn` gets the phase helpers.
   * Returns exactly what `fn` returns or throws (a Promise only if `fn` returns one).
   */
  infer<T>(fn: (req: InferenceRequest) => T, options?: InferOptions): T;
  /**
   * Runs one batch of enqueued requests: writes each member's `queue` span (enqueue → now), one
   * `compute` span per member with `inference.batch.size`, and one `inference.batch` span linked to
   * the members' request spans, active while `fn` runs. Returns what `fn` returns.
   */
  runBatch<T>(tickets: readonly QueueTicket[], fn: () => T): T;
  /**
   * `infer` for a token-streaming request: `fn` also gets `prefill`/`decode` helpers and token
   * counters (src/tracer/generation.ts). Token counts, TTFT and TPOT are recorded when `fn` is done.
   */
  generate<T>(fn: (req: GenerationRequest) => T, options?: InferOptions): T;
  /** `traceClientCall` with this tracer's model on the client span. */
  clientCall<T>(fn: (headers: Record<string, string>) => T, options?: ClientCallOptions): T;
  /** `tracedFetch` with this tracer's model on the client span. */
  fetch(input: FetchInput, init?: FetchInit, options?: ClientCallOptions): Promise<Response>;
}

/** Creates the tracer for one model. Works before `setupTracing` (as a no-op) and never throws. */
export function createInferenceTracer(options: InferenceTracerOptions): InferenceTracer {
  const state = createTracerState(options);
  return {
    model: state.model,
    infer: (fn, inferOptions) => infer(state, fn, inferOptions),
    runBatch: (tickets, fn) => runBatch(state, tickets, fn),
    generate: (fn, inferOptions) => infer(state, (req) => runGeneration(req, fn), inferOptions),
    clientCall: (fn, callOptions) =>
      traceClientCall(fn, { model: state.model, name: state.clientSpanName, recordExceptionMessages: state.recordMessages, ...callOptions }, state.otelTracer()),
    fetch: (input, init, callOptions) =>
      tracedFetch(input, init, { model: state.model, name: state.clientSpanName, recordExceptionMessages: state.recordMessages, ...callOptions }, state.otelTracer()),
  };
}

/**
 * The request span's options. Its start time is read only when the SDK records the span, so an
 * unsampled request does not pay for a clock read; read, it is taken once and kept. (An SDK that
 * copied the options with a spread would not see the getter and would time the span itself;
 * OpenTelemetry JS 2.x and 3.x read `options.startTime` after sampling.)
 */
class RequestSpanOptions implements SpanOptions {
  /** The start, in performance.now() ms; -1 until the SDK asked for it. */
  startMs = -1;
  constructor(
    readonly kind: SpanKind,
    readonly attributes: Attributes,
  ) {}
  get startTime(): HrTime {
    if (this.startMs < 0) this.startMs = monotonicMs();
    return toHrTime(this.startMs);
  }
}

function infer<T>(state: TracerState, fn: (req: InferenceRequest) => T, options: InferOptions | undefined): T {
  const tracer = state.otelTracer();
  const instruments = currentInstruments();
  const parentCtx = options?.headers === undefined ? context.active() : contextFromHeaders(options.headers);
  let span: Span | undefined;
  let recording = false;
  let spanOptions: RequestSpanOptions | undefined;
  try {
    const parent = trace.getSpanContext(parentCtx);
    const kind = parent === undefined || parent.isRemote === true ? SpanKind.SERVER : SpanKind.INTERNAL;
    const name = options?.name ?? state.requestSpanName;
    const presampler = state.presampler();
    if (presampler === undefined) {
      spanOptions = new RequestSpanOptions(kind, state.requestAttributes);
      span = tracer.startSpan(name, spanOptions, parentCtx);
    } else {
      // setupTracing's SDK: the decision first, so a dropped request never reaches the SDK (presample.ts).
      span = presampler.dropped(parentCtx, parent, name, kind, state.requestAttributes);
      if (span === undefined) {
        try {
          spanOptions = new RequestSpanOptions(kind, presampler.attributes);
          span = tracer.startSpan(name, spanOptions, parentCtx);
        } finally {
          presampler.release();
        }
      }
    }
    recording = span.isRecording();
  } catch (error) {
    reportFailure('starting a request span', error);
    span = undefined;
    recording = false;
  }
  if (recording && span !== undefined) {
    try {
      const size = options?.requestSize;
      if (typeof size === 'number' && Number.isFinite(size) && size >= 0) span.setAttribute(ATTR.REQUEST_SIZE, size);
      if (options?.attributes !== undefined) span.setAttributes(options.attributes);
    } catch (error) {
      // Bad attributes are dropped; the span itself is kept.
      reportFailure('setting request span attributes', error);
    }
  }
  const ctx = span === undefined ? parentCtx : contextWithSpan(parentCtx, span);
  const metricsOn = instruments?.enabled === true;
  const req = new RequestScope(state, tracer, span, ctx, recording, instruments);
  if (!recording && !metricsOn) {
    if (span === undefined) return fn(req);
    // Unsampled: nothing to record, but the span's context is made active so that calls made
    // inside follow the sampling decision (and the trace) of this request.
    return runUnrecorded(ctx, fn, req);
  }
  // The start the span got; the SDK did not ask (or failed): the request starts now.
  const startMs = spanOptions !== undefined && spanOptions.startMs >= 0 ? spanOptions.startMs : monotonicMs();
  return runWrapped(ctx, fn, req, new RequestRun(state, req, span, startMs, metricsOn ? instruments : undefined));
}

/** The end of one recorded (or measured) request. */
class RequestRun extends WrappedRun {
  constructor(
    private readonly state: TracerState,
    private readonly req: RequestScope,
    private readonly span: Span | undefined,
    private readonly startMs: number,
    private readonly instruments: PhaseInstruments | undefined,
  ) {
    super();
  }
  finish(failed: boolean, outcome: unknown): void {
    const endMs = monotonicMs();
    this.req.ended = true;
    const span = this.span;
    if (span !== undefined) {
      if (failed) recordFailure(span, outcome, this.state.recordMessages);
      span.end(toHrTime(endMs));
    }
    if (this.instruments !== undefined) recordSeconds(this.instruments.requestDuration, endMs - this.startMs, this.state.modelMetricAttributes);
  }
  /** A generation that returns its token stream (or a Promise of it) ends when the stream ends. */
  override defer(result: object): boolean {
    return deferToStream(result, this.req, (failed, outcome) => this.finish(failed, outcome));
  }
}

function enterRequest<T>(fn: (req: InferenceRequest) => T, req: RequestScope): T {
  req.entered = true;
  return fn(req);
}

/** Runs `fn(req)` with `ctx` active and records nothing; a failing context manager runs it untraced. */
function runUnrecorded<T>(ctx: Context, fn: (req: InferenceRequest) => T, req: RequestScope): T {
  try {
    return context.with(ctx, enterRequest<T>, undefined, fn, req);
  } catch (error) {
    if (req.entered) throw error;
    reportFailure('activating the request context', error);
    return fn(req);
  }
}

/** One `runBatch` call: its compute spans are written after the work, with the exact entry time. */
class BatchRun extends WrappedRun {
  constructor(
    private readonly members: readonly RequestScope[],
    private readonly computeAttributes: Attributes,
    private readonly batchSpan: Span | undefined,
    private readonly recordMessages: boolean,
  ) {
    super(true);
  }
  finish(failed: boolean, outcome: unknown): void {
    const endMs = monotonicMs();
    // Not entered: the context manager failed and fn runs untraced after this.
    const startMs = this.entered ? this.enteredAtMs : endMs;
    const end = toHrTime(endMs);
    for (const scope of this.members) {
      scope.open -= 1;
      if (endMs > scope.lastEndMs) scope.lastEndMs = endMs;
      if (!this.entered) continue;
      if (scope.recording) {
        const span = scope.startPhaseSpan('compute', startMs, this.computeAttributes);
        if (span !== undefined) {
          if (failed) recordFailure(span, outcome, scope.state.recordMessages);
          span.end(end);
        }
      }
      if (scope.instruments?.enabled === true) scope.recordPhaseMetric('compute', endMs - startMs);
    }
    if (this.batchSpan !== undefined) {
      if (failed) recordFailure(this.batchSpan, outcome, this.recordMessages);
      this.batchSpan.end(end);
    }
  }
}

/** The members of a batch whose spans may be written (see RequestScope.mayRecord). */
function batchMembers(tickets: readonly QueueTicket[]): Ticket[] {
  if (!Array.isArray(tickets)) {
    warnOnce('runBatch() expects an array of tickets from req.enqueue(); the batch ran untraced', 'batch-tickets');
    return [];
  }
  const members: Ticket[] = [];
  let foreign = 0;
  for (const ticket of tickets) {
    if (!(ticket instanceof Ticket)) foreign += 1;
    else if (ticket.scope.mayRecord('runBatch')) members.push(ticket);
  }
  if (foreign > 0) {
    warnOnce(
      `runBatch() got ${foreign} ticket(s) that did not come from req.enqueue() of a latency-doctor tracer; they were left out of the batch's spans`,
      'batch-tickets',
    );
  }
  return members;
}

function runBatch<T>(state: TracerState, tickets: readonly QueueTicket[], fn: () => T): T {
  // The end of every member's queue wait: the batch is picked now, before any bookkeeping.
  const pickedMs = monotonicMs();
  let members: Ticket[];
  try {
    members = batchMembers(tickets);
  } catch (error) {
    reportFailure('reading the tickets of a batch', error);
    return fn();
  }
  if (members.length === 0) return fn();
  const batchSize = members.length;
  const scopes: RequestScope[] = [];
  let batchSpan: Span | undefined;
  try {
    const links: Link[] = [];
    for (const member of members) {
      const scope = member.scope;
      if (!member.consumed) {
        member.consumed = true;
        // A phase the request ran after enqueue() (and before the batch) is not queue time too.
        const queueStart = Math.min(Math.max(member.enqueuedAtMs, scope.lastEndMs), pickedMs);
        scope.recordInterval('queue', queueStart, pickedMs);
      }
      scope.open += 1;
      scopes.push(scope);
      if (scope.recording && scope.span !== undefined) links.push({ context: scope.span.spanContext() });
    }
    if (links.length > 0) {
      // A batch serves requests of many traces: it gets its own trace, linked to each member
      // (as OpenTelemetry's messaging conventions do for batch receives).
      batchSpan = state.otelTracer().startSpan(BATCH_SPAN_NAME, {
        root: true,
        kind: SpanKind.INTERNAL,
        links,
        attributes: { ...state.batchAttributes, [ATTR.BATCH_SIZE]: batchSize },
        startTime: toHrTime(pickedMs),
      });
    }
    const instruments = currentInstruments();
    if (instruments?.enabled === true) instruments.batchSize.record(batchSize, state.modelMetricAttributes);
  } catch (error) {
    // Whatever failed above, the batch itself must still run.
    reportFailure('recording a batch', error);
  }
  const ctx = batchSpan === undefined ? context.active() : trace.setSpan(context.active(), batchSpan);
  return runWrapped(ctx, fn, undefined, new BatchRun(scopes, { [ATTR.BATCH_SIZE]: batchSize }, batchSpan, state.recordMessages));
}

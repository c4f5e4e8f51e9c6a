/**
 * @module tracer/request-scope
 * The record step for one request: the object `infer` hands to the user's function, with a helper
 * per phase of the convention. Phase spans are children of the request span whatever context is
 * active when the helper is called, and the phase span is the active one inside the helper.
 */
import { context } from '@opentelemetry/api';
import type { AttributeValue, Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { ATTR, isPhase } from '../semconv.js';
import type { Phase } from '../semconv.js';
import { monotonicMs, toHrTime } from './clock.js';
import { recordSeconds } from './phase-metrics.js';
import type { PhaseInstruments } from './phase-metrics.js';
import { recordFailure, runWrapped, WrappedRun } from './run-in-span.js';
import { contextWithSpan } from './span-context.js';
import { deferToStream } from './stream-end.js';
import type { TracerState } from './tracer-state.js';
import { reportFailure, warnOnce } from './warn-once.js';

/** A request's place in a batcher's queue, from `req.enqueue()` until `tracer.runBatch()`. */
export interface QueueTicket {
  /** When the request entered the queue, in `performance.now()` milliseconds. */
  readonly enqueuedAtMs: number;
  /** The model of the request that was enqueued. */
  readonly model: string;
}

/** One traced request, as passed to the function given to `infer`. */
export interface InferenceRequest {
  /** Trace id of the request span (for logs); '' when not traced. */
  readonly traceId: string;
  /** Runs `fn` as a `preprocess` phase span. Returns what `fn` returns (a Promise only if `fn` returns one). */
  preprocess<T>(fn: () => T): T;
  /** Runs `fn` as a `serialize` phase span (decoding the request or encoding the response). */
  serialize<T>(fn: () => T): T;
  /** Runs `fn` as a `network` phase span. */
  network<T>(fn: () => T): T;
  /** Runs `fn` as a `queue` phase span (for a queue the request waits in alone; batchers use `enqueue`). */
  queue<T>(fn: () => T): T;
  /** Runs `fn` as a `transfer` phase span (host↔device copies). */
  transfer<T>(fn: () => T): T;
  /** Runs `fn` as a `compute` phase span; `batchSize` sets `inference.batch.size`. */
  compute<T>(fn: () => T, batchSize?: number): T;
  /** Runs `fn` as a `postprocess` phase span. */
  postprocess<T>(fn: () => T): T;
  /** Runs `fn` as a span of any phase of the convention, with extra span attributes. */
  phase<T>(phase: Phase, fn: () => T, attributes?: Attributes): T;
  /** Records the request payload size in bytes (`inference.request.size`). */
  setRequestSize(bytes: number): void;
  /** Records the response payload size in bytes (`inference.response.size`). */
  setResponseSize(bytes: number): void;
  /** Records whether a prediction cache answered this request (`inference.cache.hit`). */
  setCacheHit(hit: boolean): void;
  /**
   * Records `inference.input.hash` of the normalized input when the tracer was created with
   * `hashInputs`; returns the hash (usable as a cache key), or undefined when hashing is off.
   */
  hashInput(normalizedInput: ArrayBufferView | string): string | undefined;
  /**
   * Records a hash the service already computed (e.g. its prediction-cache key) as
   * `inference.input.hash`; recorded only when the tracer was created with `hashInputs`.
   */
  setInputHash(hash: string): void;
  /** Sets one more attribute on the request span; invalid values are ignored. */
  setAttribute(key: string, value: AttributeValue): void;
  /** Marks the moment the request enters a batcher's queue; hand the ticket to `tracer.runBatch`. */
  enqueue(): QueueTicket;
}

/** Internal: the ticket with what runBatch needs. */
export class Ticket implements QueueTicket {
  /** Set once its queue span is written, so a ticket reused in a second batch is not counted twice. */
  consumed = false;
  constructor(
    readonly enqueuedAtMs: number,
    readonly scope: RequestScope,
  ) {}
  get model(): string {
    return this.scope.state.model;
  }
}

function validBytes(bytes: number): boolean {
  return typeof bytes === 'number' && Number.isFinite(bytes) && bytes >= 0;
}

/** One phase helper call: ends the phase span and records the phase metric. */
class PhaseRun extends WrappedRun {
  constructor(
    private readonly scope: RequestScope,
    private readonly phase: Phase,
    private readonly span: Span | undefined,
    private readonly startMs: number,
    private readonly metricsOn: boolean,
  ) {
    super();
  }
  finish(failed: boolean, outcome: unknown): void {
    const endMs = monotonicMs();
    const scope = this.scope;
    scope.open -= 1;
    if (endMs > scope.lastEndMs) scope.lastEndMs = endMs;
    if (this.span !== undefined) {
      if (failed) recordFailure(this.span, outcome, scope.state.recordMessages);
      this.span.end(toHrTime(endMs));
    }
    if (this.metricsOn) scope.recordPhaseMetric(this.phase, endMs - this.startMs);
  }
  /** `req.decode(() => req.stream(…))` returned to the caller: the phase lasts until the stream ends. */
  override defer(result: object): boolean {
    return deferToStream(result, this.scope.owner, (failed, outcome) => this.finish(failed, outcome));
  }
}

/** Internal implementation of InferenceRequest. */
export class RequestScope implements InferenceRequest {
  /** Phases of this request running now (helpers, or a batch it is a member of). */
  open = 0;
  /** Set when `infer` is over: later helpers record nothing. */
  ended = false;
  /** End of the latest phase, so a later queue interval cannot overlap it. */
  lastEndMs = 0;
  /** Set when `infer` called the user's function (tells its errors from a broken context manager). */
  entered = false;
  /** The request this scope speaks for: itself, or the request a generation scope extends. */
  owner: RequestScope = this;
  /** False when there is nothing to record (unsampled, no metrics): the helpers just call `fn`. */
  private readonly active: boolean;
  /** Whether phase histograms are recorded (a metrics SDK is registered). */
  private readonly metricsOn: boolean;

  constructor(
    readonly state: TracerState,
    readonly tracer: Tracer,
    /** The request span; undefined when tracing it failed. */
    readonly span: Span | undefined,
    /** Context with the request span active. */
    readonly ctx: Context,
    readonly recording: boolean,
    readonly instruments: PhaseInstruments | undefined,
  ) {
    this.metricsOn = instruments?.enabled === true;
    this.active = recording || this.metricsOn;
  }

  get traceId(): string {
    if (this.span === undefined || !this.recording) return '';
    try {
      return this.span.spanContext().traceId;
    } catch (error) {
      reportFailure('reading the trace id', error);
      return '';
    }
  }

  // The helpers: one check when there is nothing to record, so an unsampled request's phases
  // cost a call of `fn`.
  preprocess<T>(fn: () => T): T {
    return this.active ? this.run('preprocess', fn, undefined) : fn();
  }
  serialize<T>(fn: () => T): T {
    return this.active ? this.run('serialize', fn, undefined) : fn();
  }
  network<T>(fn: () => T): T {
    return this.active ? this.run('network', fn, undefined) : fn();
  }
  queue<T>(fn: () => T): T {
    return this.active ? this.run('queue', fn, undefined) : fn();
  }
  transfer<T>(fn: () => T): T {
    return this.active ? this.run('transfer', fn, undefined) : fn();
  }
  compute<T>(fn: () => T, batchSize?: number): T {
    if (!this.active) return fn();
    return this.run('compute', fn, batchSize === undefined ? undefined : { [ATTR.BATCH_SIZE]: batchSize });
  }
  postprocess<T>(fn: () => T): T {
    return this.active ? this.run('postprocess', fn, undefined) : fn();
  }

  phase<T>(phase: Phase, fn: () => T, attributes?: Attributes): T {
    if (!isPhase(phase)) {
      warnOnce(`unknown phase ${JSON.stringify(String(phase))} ignored (expected one of the convention's phases)`, `phase:${String(phase)}`);
      return fn();
    }
    return this.active ? this.run(phase, fn, attributes) : fn();
  }

  /** Runs `fn` as a phase of a request that records: the span is started last, ended first. */
  private run<T>(phase: Phase, fn: () => T, attributes: Attributes | undefined): T {
    if (!this.mayRecord(phase)) return fn();
    this.open += 1;
    const startMs = monotonicMs();
    const span = this.recording ? this.startPhaseSpan(phase, startMs, attributes) : undefined;
    const ctx = span === undefined ? context.active() : contextWithSpan(this.ctx, span);
    return runWrapped(ctx, fn, undefined, new PhaseRun(this, phase, span, startMs, this.metricsOn));
  }

  /**
   * Whether a phase may be recorded now. Phases of one request never overlap, so their sum never
   * exceeds the request: a phase inside (or alongside) another one, or one after `infer`
   * returned, runs untraced and is reported once.
   */
  mayRecord(caller: Phase | 'runBatch'): boolean {
    if (!this.ended && this.open === 0) return true;
    // The message is built only when there is something to say.
    const what = caller === 'runBatch' ? 'runBatch()' : `req.${caller}()`;
    if (this.ended) {
      warnOnce(
        `${what} was called for a request whose infer() had returned; it ran untraced (use req and its tickets only while infer's function runs)`,
        'phase-after-infer',
      );
      return false;
    }
    if (this.open > 0) {
      warnOnce(
        `${what} was called while another phase of the same request was running; it ran untraced and its time ` +
          'counts to the phase already running (phases of one request do not nest or overlap; see docs/tracer.md)',
        'phase-nested',
      );
      return false;
    }
    return true;
  }

  /** Starts a phase span of this request at `startMs`; undefined if the SDK failed. */
  startPhaseSpan(phase: Phase, startMs: number, attributes?: Attributes): Span | undefined {
    let span: Span;
    try {
      span = this.tracer.startSpan(
        phase,
        { attributes: this.state.phaseSpanAttributes[phase], startTime: toHrTime(startMs) },
        this.ctx,
      );
    } catch (error) {
      reportFailure(`starting a ${phase} span`, error);
      return undefined;
    }
    if (attributes !== undefined) {
      try {
        span.setAttributes(attributes);
      } catch (error) {
        // Bad attributes are dropped; the span itself is kept.
        reportFailure(`setting ${phase} span attributes`, error);
      }
    }
    return span;
  }

  /** Records a phase that already happened (a batcher's queue wait): span and metric. */
  recordInterval(phase: Phase, startMs: number, endMs: number, attributes?: Attributes): void {
    if (this.recording) {
      const span = this.startPhaseSpan(phase, startMs, attributes);
      try {
        span?.end(toHrTime(endMs));
      } catch (error) {
        reportFailure(`ending a ${phase} span`, error);
      }
    }
    if (this.instruments?.enabled === true) this.recordPhaseMetric(phase, endMs - startMs);
  }

  recordPhaseMetric(phase: Phase, ms: number): void {
    if (this.instruments !== undefined) {
      recordSeconds(this.instruments.phaseDuration, ms, this.state.phaseMetricAttributes[phase]);
    }
  }

  setRequestSize(bytes: number): void {
    if (validBytes(bytes)) this.setAttribute(ATTR.REQUEST_SIZE, bytes);
  }
  setResponseSize(bytes: number): void {
    if (validBytes(bytes)) this.setAttribute(ATTR.RESPONSE_SIZE, bytes);
  }
  setCacheHit(hit: boolean): void {
    if (typeof hit === 'boolean') this.setAttribute(ATTR.CACHE_HIT, hit);
  }
  hashInput(normalizedInput: ArrayBufferView | string): string | undefined {
    if (!this.state.hashing) return undefined;
    const hash = this.state.hasher(normalizedInput);
    if (hash !== undefined) this.setAttribute(ATTR.INPUT_HASH, hash);
    return hash;
  }
  setInputHash(hash: string): void {
    if (this.state.hashing && typeof hash === 'string' && hash !== '') this.setAttribute(ATTR.INPUT_HASH, hash);
  }
  setAttribute(key: string, value: AttributeValue): void {
    if (!this.recording || this.span === undefined) return;
    try {
      this.span.setAttribute(key, value);
    } catch (error) {
      // Bad attributes are dropped, never thrown.
      reportFailure(`setting attribute ${key}`, error);
    }
  }
  enqueue(): QueueTicket {
    return new Ticket(monotonicMs(), this);
  }
}

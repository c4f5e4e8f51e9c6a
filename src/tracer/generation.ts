/**
 * @module tracer/generation
 * Token-streaming requests (docs/tracer.md, "Generation"): `tracer.generate(fn)` runs `fn` as
 * one request like `infer`, and hands it a request that also has `prefill` and `decode` phase
 * helpers and token counters. A token is a counter increment, never a span: the first one
 * records the `inference.first_token` event on the request span; the total, TTFT and TPOT
 * (model/generation) are written once, when the request ends.
 */
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Attributes, Histogram, MeterProvider } from '@opentelemetry/api';
import { ATTR, FIRST_TOKEN_EVENT, TRACER_METRICS } from '../semconv.js';
import { timePerOutputTokenMs } from '../model/generation.js';
import { monotonicMs, toHrTime } from './clock.js';
import { DURATION_BUCKETS_SECONDS } from './phase-metrics.js';
import { RequestScope } from './request-scope.js';
import { errorType, isNativePromise } from './run-in-span.js';
import { deferToStream, registerStream, StreamEnd } from './stream-end.js';
import type { InferenceRequest } from './request-scope.js';
import { TRACER_NAME, TRACER_VERSION } from './tracer-identity.js';
import { reportFailure } from './warn-once.js';

/** One traced token-streaming request, as passed to the function given to `generate`. */
export interface GenerationRequest extends InferenceRequest {
  /** Runs `fn` as a `prefill` phase span (the prompt's forward pass, up to the first token). */
  prefill<T>(fn: () => T): T;
  /** Runs `fn` as a `decode` phase span (a whole decode loop, or one step of it); `batchSize`: sequences decoding together. */
  decode<T>(fn: () => T, batchSize?: number): T;
  /** Counts one output token as it is streamed out; the first marks the first token. */
  token(): void;
  /** Counts `n` output tokens (a chunk); the first call with n > 0 marks the first token. */
  tokens(n: number): void;
  /** Records the prompt's token count (`inference.tokens.input`). */
  setInputTokens(n: number): void;
  /** Records how many prompt tokens a prefix cache served (`inference.tokens.cached`). */
  setCachedTokens(n: number): void;
  /**
   * Passes `source` through, counting each item as one token (or `count(item)` tokens), so a
   * model's async iterator or a server's chunk stream is traced by wrapping it. Returned from
   * `generate`'s function (or a `decode`), the request (or phase) ends when the stream ends.
   */
  stream<T>(source: AsyncIterable<T> | Iterable<T>, count?: (item: T) => number): AsyncIterable<T>;
  /** Output tokens counted so far. */
  readonly outputTokens: number;
}

/** The generation histograms on one MeterProvider. */
interface GenerationInstruments {
  readonly ttft: Histogram;
  readonly tpot: Histogram;
  readonly tokens: Histogram;
  readonly enabled: boolean;
}

/** Token-count buckets: powers of four from 1 to 65 536, as OpenTelemetry's GenAI token histogram advises. */
const TOKEN_BUCKETS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];
const NOOP_METER_CLASS = createNoopMeter().constructor;
let cachedProvider: MeterProvider | undefined;
let cachedInstruments: GenerationInstruments | undefined;

function generationInstruments(): GenerationInstruments | undefined {
  try {
    const provider = metrics.getMeterProvider();
    if (provider === cachedProvider && cachedInstruments !== undefined) return cachedInstruments;
    const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION);
    const durations = { advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] } };
    const m = TRACER_METRICS;
    cachedProvider = provider;
    cachedInstruments = {
      ttft: meter.createHistogram(m.TIME_TO_FIRST_TOKEN.name, { unit: m.TIME_TO_FIRST_TOKEN.unit, description: m.TIME_TO_FIRST_TOKEN.description, ...durations }),
      tpot: meter.createHistogram(m.TIME_PER_OUTPUT_TOKEN.name, { unit: m.TIME_PER_OUTPUT_TOKEN.unit, description: m.TIME_PER_OUTPUT_TOKEN.description, ...durations }),
      tokens: meter.createHistogram(m.TOKENS.name, { unit: m.TOKENS.unit, description: m.TOKENS.description, advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] } }),
      enabled: meter.constructor !== NOOP_METER_CLASS,
    };
    return cachedInstruments;
  } catch (error) {
    reportFailure('creating the generation metric instruments', error);
    return undefined;
  }
}

function validCount(n: number): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

/** Internal implementation of GenerationRequest: a RequestScope plus counters. */
class GenerationScope extends RequestScope implements GenerationRequest {
  outputTokens = 0;
  private readonly startMs = monotonicMs();
  private firstTokenMs: number | undefined;
  /** When the last prefill ended: the first token's time when no token was counted. */
  private prefillEndMs: number | undefined;
  private inputTokens: number | undefined;
  private cachedTokens: number | undefined;
  private closed = false;

  prefill<T>(fn: () => T): T {
    return onSettled(this.phase('prefill', fn), () => (this.prefillEndMs = monotonicMs()));
  }
  decode<T>(fn: () => T, batchSize?: number): T {
    return this.phase('decode', fn, batchSize === undefined ? undefined : { [ATTR.BATCH_SIZE]: batchSize });
  }

  // The hot path: one increment and one compare per token.
  token(): void {
    if (this.outputTokens++ === 0) this.markFirstToken();
  }
  tokens(n: number): void {
    // Rounded first: a count that rounds to none (0.4) is no token, so it marks no first token.
    const count = validCount(n) ? Math.round(n) : 0;
    if (count === 0) return;
    const before = this.outputTokens;
    this.outputTokens = before + count;
    if (before === 0) this.markFirstToken();
  }
  setInputTokens(n: number): void {
    if (validCount(n)) this.inputTokens = Math.round(n);
  }
  setCachedTokens(n: number): void {
    if (validCount(n)) this.cachedTokens = Math.round(n);
  }

  stream<T>(source: AsyncIterable<T> | Iterable<T>, count?: (item: T) => number): AsyncIterable<T> {
    const end = new StreamEnd(this.owner);
    const onItem = count === undefined ? (): void => this.token() : (item: T): void => this.tokens(safeCount(count, item));
    // An async source is forwarded call by call (an async generator in between would queue the
    // consumer's return() behind a pending next(): cancelling a stream that waits for its next
    // token would wait for that token); a sync one is iterated as for-await does.
    const iterator = isAsyncIterable(source) ? new CountedStream(source, onItem, end) : passSync(source, onItem, end);
    registerStream(iterator, end);
    return iterator;
  }

  private markFirstToken(): void {
    if (this.closed) return;
    const now = monotonicMs();
    this.firstTokenMs = now;
    if (!this.recording || this.span === undefined) return;
    try {
      this.span.addEvent(FIRST_TOKEN_EVENT, toHrTime(now));
    } catch (error) {
      // Best effort: the token is still counted and TTFT still recorded.
      reportFailure('recording the first-token event', error);
    }
  }

  /** Writes the token attributes and the generation metrics; called once, before the request span ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const endMs = monotonicMs();
    const out = this.outputTokens;
    const counted = out > 0 || this.firstTokenMs !== undefined;
    if (counted) this.setAttribute(ATTR.TOKENS_OUTPUT, out);
    if (this.inputTokens !== undefined) this.setAttribute(ATTR.TOKENS_INPUT, this.inputTokens);
    if (this.cachedTokens !== undefined) this.setAttribute(ATTR.TOKENS_CACHED, this.cachedTokens);
    const instruments = generationInstruments();
    if (instruments === undefined || !instruments.enabled) return;
    const attributes = this.state.modelMetricAttributes;
    try {
      const first = this.firstTokenMs ?? this.prefillEndMs;
      if (first !== undefined) {
        const ttftMs = first - this.startMs;
        instruments.ttft.record(ttftMs / 1000, attributes);
        const tpot = timePerOutputTokenMs(endMs - this.startMs, ttftMs, counted ? out : undefined);
        if (tpot !== undefined) instruments.tpot.record(tpot / 1000, attributes);
      }
      if (counted) instruments.tokens.record(out, tokenAttributes(this.state.model, 'output'));
      if (this.inputTokens !== undefined) instruments.tokens.record(this.inputTokens, tokenAttributes(this.state.model, 'input'));
      if (this.cachedTokens !== undefined) instruments.tokens.record(this.cachedTokens, tokenAttributes(this.state.model, 'cached'));
    } catch (error) {
      // Metrics are best effort.
      reportFailure('recording the generation metrics', error);
    }
  }
}

/** A sync source as a stream, each item counted by `onItem`; its end (exhausted, failed, or stopped by the consumer) is `end`'s. */
async function* passSync<T>(source: Iterable<T>, onItem: (item: T) => void, end: StreamEnd): AsyncGenerator<T> {
  let failed = false;
  let error: unknown;
  try {
    for await (const item of source) {
      onItem(item);
      yield item;
    }
  } catch (thrown) {
    failed = true;
    error = thrown;
    throw thrown;
  } finally {
    end.end(failed, error);
  }
}

function isAsyncIterable<T>(source: AsyncIterable<T> | Iterable<T>): source is AsyncIterable<T> {
  return typeof (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] === 'function';
}

/**
 * An async source passed through: each call goes straight to the source's iterator (opened on the
 * first next()), each item is counted, and the stream's end is recorded when the source is done,
 * fails, or the consumer stops it (return() or throw()).
 */
class CountedStream<T> implements AsyncIterableIterator<T> {
  private iterator: AsyncIterator<T> | undefined;
  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly onItem: (item: T) => void,
    private readonly end: StreamEnd,
  ) {}
  [Symbol.asyncIterator](): this {
    return this;
  }
  async next(): Promise<IteratorResult<T>> {
    let result: IteratorResult<T>;
    try {
      this.iterator ??= this.source[Symbol.asyncIterator]();
      result = await this.iterator.next();
    } catch (error) {
      this.end.end(true, error);
      throw error;
    }
    if (result.done === true) this.end.end(false, undefined);
    else this.onItem(result.value);
    return result;
  }
  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.end.end(false, undefined);
    const iterator = this.iterator;
    if (iterator?.return === undefined) return { done: true, value: value as T };
    return iterator.return(value);
  }
  async throw(error?: unknown): Promise<IteratorResult<T>> {
    this.end.end(true, error);
    const iterator = this.iterator;
    if (iterator?.throw !== undefined) return iterator.throw(error);
    await iterator?.return?.();
    throw error;
  }
}

const tokenAttributeCache = new Map<string, Attributes>();
function tokenAttributes(model: string, type: 'input' | 'output' | 'cached'): Attributes {
  const key = `${type}\u0000${model}`;
  let attributes = tokenAttributeCache.get(key);
  if (attributes === undefined) {
    attributes = Object.freeze({ [ATTR.MODEL_NAME]: model, [ATTR.TOKEN_TYPE]: type });
    if (tokenAttributeCache.size < 1000) tokenAttributeCache.set(key, attributes);
  }
  return attributes;
}

function safeCount<T>(count: (item: T) => number, item: T): number {
  try {
    return count(item);
  } catch (error) {
    // The item still goes through; it counts as no tokens. The counter's error is about a piece of
    // the model's output and its message may quote it: only its type is logged.
    reportFailure('counting the tokens of a streamed item', `${errorType(error)} (its message is not logged: it may quote the model's output)`);
    return 0;
  }
}

/**
 * Runs the user's generation function on the request `infer` started: hands it a
 * GenerationRequest and closes it (token attributes, metrics) when `fn` is done, before the
 * request span ends. What `fn` returns or throws reaches the caller unchanged.
 */
export function runGeneration<T>(req: InferenceRequest, fn: (req: GenerationRequest) => T): T {
  let scope: GenerationScope | undefined;
  try {
    const base = req as RequestScope;
    scope = new GenerationScope(base.state, base.tracer, base.span, base.ctx, base.recording, base.instruments);
    scope.owner = base;
  } catch (error) {
    reportFailure('starting a generation request', error);
    scope = undefined;
  }
  if (scope === undefined) return fn(req as GenerationRequest);
  const g = scope;
  let result: T;
  try {
    result = fn(g);
  } catch (error) {
    g.close();
    throw error;
  }
  // A returned token stream (or a Promise of it) is consumed after fn: close when it ends.
  const close = (): void => g.close();
  return onSettled(result, (failed, value) => {
    if (failed || !deferToStream(value, g.owner, close)) close();
  });
}

/**
 * Calls `done` (which must not throw) once `result` is settled, with the value or the error: at
 * once for a plain value, when a plain native Promise settles otherwise (isNativePromise),
 * passing its value or error through unchanged.
 */
function onSettled<T>(result: T, done: (failed: boolean, outcome: unknown) => void): T {
  if (!isNativePromise(result)) {
    done(false, result);
    return result;
  }
  return result.then(
    (value: unknown) => {
      done(false, value);
      return value;
    },
    (error: unknown) => {
      done(true, error);
      throw error;
    },
  ) as T;
}

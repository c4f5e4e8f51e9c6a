/**
 * @module tracer/run-in-span
 * The wrap step: run the user's function inside a span's context and end the span when the
 * function is done (synchronously, or when its Promise settles). The function's value and error
 * reach the caller unchanged; whatever the tracer itself does wrong is swallowed.
 */
import { context, SpanStatusCode } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import { EXCEPTION } from '../semconv.js';
import { monotonicMs } from './clock.js';
import { describeError, reportFailure } from './warn-once.js';

/**
 * A plain native Promise, the only kind followed to settlement. A subclass is returned untouched
 * like any thenable: SDK promises override `then` to start work (the OpenAI and Anthropic clients'
 * APIPromise parses the response body in `then`, and carries `withResponse()`/`asResponse()`,
 * which a Promise made by following it would lose).
 */
export function isNativePromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise && Object.getPrototypeOf(value) === Promise.prototype && value.then === Promise.prototype.then;
}

/** Called once when the wrapped work is over, with the error it threw or else the value it produced. */
export type FinishHook = (failed: boolean, outcome: unknown) => void;

/**
 * Records `error` on `span`: status ERROR, `error.type` and an `exception` event with
 * `exception.type`. Its message and stack trace (which often quote the model's input: "invalid
 * token 'xyz'") only when `withMessage`, the service's opt-in (`recordExceptionMessages`).
 * Never throws.
 */
export function recordFailure(span: Span, error: unknown, withMessage: boolean): void {
  // Read from the error before touching the span, by helpers that never throw: a thrown value
  // whose prototype or getters throw (a revoked Proxy) once stopped this before the status was set,
  // and the failed request then read as a success.
  const type = errorType(error);
  const message = withMessage ? messageOf(error) : undefined;
  const stack = withMessage ? stackOf(error) : undefined;
  try {
    span.setStatus(message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message });
    span.setAttribute(EXCEPTION.ERROR_TYPE, type);
    if (message === undefined) {
      span.addEvent(EXCEPTION.EVENT, { [EXCEPTION.TYPE]: type });
      return;
    }
    span.addEvent(EXCEPTION.EVENT, { [EXCEPTION.TYPE]: type, [EXCEPTION.MESSAGE]: message, ...(stack !== undefined ? { [EXCEPTION.STACKTRACE]: stack } : {}) });
  } catch (failure) {
    // Recording is best effort: a poisoned error object must not replace the user's error.
    reportFailure('recording an error on a span', failure);
  }
}

/** Longest type name recorded: a class name, not a place for text. */
const MAX_TYPE_LENGTH = 128;

/**
 * The error's class as OpenTelemetry's `exception.type` means it: `name` when it says more than
 * `Error` (RangeError, AbortError, a name the service set), else the constructor's name (a
 * subclass that kept `name`), else `Error`; for a thrown non-Error, its constructor or `typeof`.
 * Never the message.
 */
export function errorType(error: unknown): string {
  try {
    if (error === null) return 'null';
    if (typeof error !== 'object' && typeof error !== 'function') return typeof error;
    const name = error instanceof Error ? error.name : undefined;
    if (typeof name === 'string' && name !== '' && name !== 'Error') return name.slice(0, MAX_TYPE_LENGTH);
    const ctor = (Object.getPrototypeOf(error) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    if (typeof ctor === 'string' && ctor !== '') return ctor.slice(0, MAX_TYPE_LENGTH);
    return error instanceof Error ? 'Error' : 'Object';
  } catch {
    // A throwing getter or a revoked proxy: the type is unknown, the failure is still recorded.
    return 'unknown';
  }
}

function stackOf(error: unknown): string | undefined {
  try {
    return error instanceof Error && typeof error.stack === 'string' ? error.stack : undefined;
  } catch {
    return undefined;
  }
}

/** The opt-in message: an Error's message, a thrown string, else the value as text. Never throws. */
function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? describeError(error) : typeof error === 'string' ? error : safeString(error);
  } catch {
    // `instanceof` itself threw (a Proxy's getPrototypeOf trap).
    return 'unprintable error';
  }
}

function safeString(value: unknown): string {
  const text = describeError(value);
  return text === 'unprintable error' ? 'non-Error value thrown' : text;
}

/** One run of a wrapped function: knows whether the function was entered, and how to finish. */
export abstract class WrappedRun {
  /** Set when the function was called; distinguishes its errors from a broken context manager. */
  entered = false;
  /**
   * When `fn` was entered (performance.now() ms), taken as the last step before the call so that
   * none of the tracer's own work falls inside a phase that starts here; 0 unless `stampsStart`.
   */
  enteredAtMs = 0;
  /** The wrapped function and its argument, held here so the context manager passes one argument. */
  fn: ((arg: unknown) => unknown) | undefined = undefined;
  arg: unknown = undefined;
  /** True for runs whose spans are written after the work and need the exact entry time. */
  constructor(readonly stampsStart: boolean = false) {}
  /** Ends the span(s) and records metrics; `outcome` is the error when `failed`, else the value. */
  abstract finish(failed: boolean, outcome: unknown): void;
  /**
   * Whether the run ends later than the function's return, with `result` (an object): true when
   * it is the request's own token stream, whose end then finishes the run (stream-end.ts).
   */
  defer(_result: object): boolean {
    return false;
  }
}

/** Whether `run` finishes when `result` (a stream) ends, rather than now. Never throws. */
function deferred(run: WrappedRun, result: unknown): boolean {
  if (typeof result !== 'object' || result === null) return false;
  try {
    return run.defer(result);
  } catch (error) {
    reportFailure('following a returned stream', error);
    return false;
  }
}

// Receives the run as an argument, not as `this`: a thisArg makes the context manager bind().
function enterAndCall(run: WrappedRun): unknown {
  run.entered = true;
  if (run.stampsStart) run.enteredAtMs = monotonicMs();
  // Called unbound: the user's function must not see the run as `this`.
  const fn = run.fn!;
  return fn(run.arg);
}

/**
 * Runs `fn` with `ctx` active and calls `run.finish` exactly once when it is over. A plain native
 * Promise returned by `fn` (isNativePromise) is followed to settlement and a Promise resolving to the same value (or
 * rejecting with the same error) is returned; any other value, thenables and Promise subclasses included, is returned
 * as is and finishes at once (calling `then` on a foreign thenable may start work twice), except the request's own
 * token stream (`run.defer`), which finishes the run when it ends.
 * If activating the context fails, `fn` still runs exactly once, untraced. `fn` gets `arg`
 * (so a caller need not make a closure per call).
 */
export function runWrapped<A, T>(ctx: Context, fn: (arg: A) => T, arg: A, run: WrappedRun): T {
  let result: T;
  try {
    run.fn = fn as (arg: unknown) => unknown;
    run.arg = arg;
    result = context.with(ctx, enterAndCall, undefined, run) as T;
  } catch (error) {
    if (!run.entered) {
      safeFinish(run, false, undefined);
      return fn(arg);
    }
    safeFinish(run, true, error);
    throw error;
  }
  if (isNativePromise(result)) {
    return result.then(
      (value: unknown) => {
        if (!deferred(run, value)) safeFinish(run, false, value);
        return value;
      },
      (error: unknown) => {
        safeFinish(run, true, error);
        throw error;
      },
    ) as T;
  }
  if (!deferred(run, result)) safeFinish(run, false, result);
  return result;
}

class HookRun extends WrappedRun {
  constructor(private readonly hook: FinishHook) {
    super();
  }
  finish(failed: boolean, outcome: unknown): void {
    this.hook(failed, outcome);
  }
}

/** `runWrapped` with a plain callback, for the paths that are not per-phase hot. */
export function runInContext<T>(ctx: Context, fn: () => T, finish: FinishHook): T {
  return runWrapped(ctx, fn, undefined, new HookRun(finish));
}

function safeFinish(run: WrappedRun, failed: boolean, outcome: unknown): void {
  try {
    run.finish(failed, outcome);
  } catch (error) {
    // The tracer's bookkeeping must never surface in the caller.
    reportFailure('ending a span', error);
  }
}

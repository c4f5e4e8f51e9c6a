/**
 * @module tracer/run-in-span
 * The wrap step: run the user's function inside a span's context and end the span when the
 * function is done (synchronously, or when its Promise settles). The function's value and error
 * reach the caller unchanged; whatever the tracer itself does wrong is swallowed.
 */
import { context, SpanStatusCode } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';

/** Called once when the wrapped work is over, with the error it threw or else the value it produced. */
export type FinishHook = (failed: boolean, outcome: unknown) => void;

/** Records `error` on `span` as an exception with status ERROR. Never throws. */
export function recordFailure(span: Span, error: unknown): void {
  try {
    if (error instanceof Error) {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    } else {
      const message = typeof error === 'string' ? error : safeString(error);
      span.recordException(message);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
  } catch {
    // Recording is best effort: a poisoned error object must not replace the user's error.
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'non-Error value thrown';
  }
}

/**
 * Runs `fn` with `ctx` active and calls `finish` exactly once when it is over. A native Promise
 * returned by `fn` is followed to settlement and a Promise resolving to the same value (or
 * rejecting with the same error) is returned; any other value, thenables included, is returned
 * as is and ends the span at once (calling `then` on a foreign thenable may start work twice).
 * If activating the context fails, `fn` still runs exactly once, untraced.
 */
export function runInContext<T>(ctx: Context, fn: () => T, finish: FinishHook): T {
  let entered = false;
  let result: T;
  try {
    result = context.with(ctx, () => {
      entered = true;
      return fn();
    });
  } catch (error) {
    if (!entered) {
      callFinish(finish, false, undefined);
      return fn();
    }
    callFinish(finish, true, error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        callFinish(finish, false, value);
        return value;
      },
      (error: unknown) => {
        callFinish(finish, true, error);
        throw error;
      },
    ) as T;
  }
  callFinish(finish, false, result);
  return result;
}

function callFinish(finish: FinishHook, failed: boolean, outcome: unknown): void {
  try {
    finish(failed, outcome);
  } catch {
    // The tracer's bookkeeping must never surface in the caller.
  }
}

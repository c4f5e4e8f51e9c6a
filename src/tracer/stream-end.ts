/**
 * @module tracer/stream-end
 * A request or phase whose function returns the request's own token stream (`req.stream(…)`, or a
 * Promise of it) is not over when the function returns: the tokens flow when the caller iterates.
 * The stream made by `req.stream` is registered here, and the request and phase runs that return
 * it wait for its end (exhausted, failed, or stopped early by the consumer) instead of ending at once.
 */
import type { FinishHook } from './run-in-span.js';
import { reportFailure } from './warn-once.js';

/** The end of one stream made by `req.stream`. */
export class StreamEnd {
  ended = false;
  private readonly hooks: FinishHook[] = [];
  /** `request`: the request (its RequestScope) whose `req.stream` made the stream. */
  constructor(readonly request: object) {}
  /** Registers `hook` for the end; false when the stream already ended. */
  add(hook: FinishHook): boolean {
    if (this.ended) return false;
    this.hooks.push(hook);
    return true;
  }
  /** Calls every hook once, in the order they were added (innermost phase first, the request last). */
  end(failed: boolean, outcome: unknown): void {
    if (this.ended) return;
    this.ended = true;
    for (const hook of this.hooks.splice(0)) {
      try {
        hook(failed, outcome);
      } catch (error) {
        // The consumer's iteration must not see the tracer's bookkeeping fail.
        reportFailure('ending a streamed request', error);
      }
    }
  }
}

const ends = new WeakMap<object, StreamEnd>();

/** Marks `stream` as made by `req.stream` of `request`. */
export function registerStream(stream: object, end: StreamEnd): void {
  ends.set(stream, end);
}

/**
 * When `value` is a stream made by `req.stream` of `request` and not yet over, `hook` is called at
 * its end and true is returned; otherwise false (the caller finishes at once).
 */
export function deferToStream(value: unknown, request: object, hook: FinishHook): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const end = ends.get(value);
  return end !== undefined && end.request === request && end.add(hook);
}

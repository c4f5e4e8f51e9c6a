/**
 * @module tracer/warn-once
 * The tracer's only voice: one line per distinct problem for the lifetime of the process, so a
 * collector that stays down for an hour produces one warning, not one per span or per batch.
 */
/** Receives the tracer's warnings; defaults to `console.warn`. */
export type WarningSink = (message: string) => void;

const PREFIX = 'latency-doctor tracer: ';
const seen = new Set<string>();
let sink: WarningSink = (message) => console.warn(message);

/** Routes tracer warnings somewhere else (e.g. the service's logger); returns the previous sink. */
export function setWarningSink(next: WarningSink): WarningSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Reports `message` once per `key` (defaults to the message). Never throws. */
export function warnOnce(message: string, key: string = message): void {
  if (seen.has(key)) return;
  seen.add(key);
  try {
    sink(PREFIX + message);
  } catch {
    // A logger that throws must not turn a warning into an outage.
  }
}

/** Forgets which warnings were given (tests, and a fresh `setupTracing` after `shutdown`). */
export function resetWarnings(): void {
  seen.clear();
}

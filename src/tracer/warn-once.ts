/**
 * @module tracer/warn-once
 * The tracer's only voice: one line per distinct problem for the lifetime of the process, so a
 * collector that stays down for an hour produces one warning, not one per span or per batch.
 * Failures the tracer absorbs to protect the caller go to OpenTelemetry's `diag` logger.
 */
import { diag } from '@opentelemetry/api';

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
  } catch (error) {
    // A logger that throws must not turn a warning into an outage.
    reportFailure('the warning sink', error);
  }
}

/** Forgets which warnings were given (tests, and a fresh `setupTracing` after `shutdown`). */
export function resetWarnings(): void {
  seen.clear();
}

/**
 * Reports a failure of the tracer's own work that was kept away from the caller, through
 * OpenTelemetry's `diag` logger (silent unless the service set one, e.g. with OTEL_LOG_LEVEL).
 * Never throws.
 */
export function reportFailure(what: string, error: unknown): void {
  toDiag('warn', `${PREFIX}${what} failed: ${describeError(error)}`);
}

/** One line for an error of any shape (a poisoned error object gives a placeholder). */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    // A throwing toString or message getter: the placeholder stands in, and diag says why.
    toDiag('debug', `${PREFIX}an error object could not be turned into text (its toString or message threw)`);
    return 'unprintable error';
  }
}

/** Set while a line is being handed to diag, so a logger that fails cannot make this recurse. */
let reporting = false;

/**
 * Hands one line to `diag`. A diag logger that throws must not reach the caller either: that is
 * said once through the warning sink, the tracer's other voice. Never throws.
 */
function toDiag(level: 'warn' | 'debug', line: string): void {
  if (reporting) return;
  reporting = true;
  try {
    diag[level](line);
  } catch (loggerError) {
    warnOnce(
      `the OpenTelemetry diag logger threw (${describeError(loggerError)}); tracer failures reported to it may be missing`,
      'diag-logger',
    );
  } finally {
    reporting = false;
  }
}

/**
 * @module tracer/clock
 * One monotonic timeline for every span the tracer writes. The SDK stamps span starts with
 * `Date.now()` (millisecond steps) and adds a precise duration, so two spans started in the same
 * millisecond can be misaligned by up to 1 ms: enough to blur sub-millisecond phases. We pass
 * explicit times derived from `performance.now()` and one fixed time origin instead.
 */
import { performance } from 'node:perf_hooks';
import type { HrTime } from '@opentelemetry/api';

const originMs = performance.timeOrigin;
const originSeconds = Math.floor(originMs / 1000);
const originNanos = Math.round((originMs - originSeconds * 1000) * 1e6);

/** Milliseconds on the monotonic clock (performance.now()). */
export function monotonicMs(): number {
  return performance.now();
}

/** Epoch time as OpenTelemetry's [seconds, nanoseconds] of a monotonic timestamp. */
export function toHrTime(monotonic: number): HrTime {
  const wholeMs = Math.floor(monotonic);
  let nanos = originNanos + wholeMs % 1000 * 1e6 + Math.round((monotonic - wholeMs) * 1e6);
  let seconds = originSeconds + Math.floor(wholeMs / 1000);
  if (nanos >= 1e9) {
    seconds += Math.floor(nanos / 1e9);
    nanos %= 1e9;
  }
  return [seconds, nanos];
}

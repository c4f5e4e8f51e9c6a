/**
 * @module sidecar/clock-events
 * The clock-event (throttle) reasons bitmask as the sidecar decodes it. The bit table lives in
 * src/model/clock-events.ts, where the Prometheus reader and the analyzer read it too; this
 * module keeps the sidecar's names for it.
 */
export { CLOCK_EVENT_BITS, THROTTLE_REASONS, THERMAL_REASONS, POWER_REASONS, decodeClockEventMask, encodeClockEventMask, maskToNumber } from '../model/clock-events.js';
export type { DecodedClockEvents } from '../model/clock-events.js';

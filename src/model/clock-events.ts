/**
 * @module model/clock-events
 * The clock-event (throttle) reasons bitmask: bit table from NVML's `nvml.h` (API 13,
 * `nvmlClocksEventReason*`, cross-checked with dcgm-exporter's clock-events collector), decoded
 * with BigInt because bit 63 (Unknown, older headers) does not fit a JS number. Shared data: the
 * sidecar decodes nvidia-smi's mask with it, the Prometheus reader picks bits out of
 * dcgm-exporter's, and the analyzer groups the reasons (src/sidecar re-exports it unchanged).
 */
import type { ClockEventReason } from './gpu.js';

/** Every named reason's NVML bit; a record, so a reason added to ClockEventReason without its bit does not compile. */
const BIT_OF: Readonly<Record<ClockEventReason, bigint>> = {
  gpu_idle: 0x1n,
  applications_clocks_setting: 0x2n,
  sw_power_cap: 0x4n,
  hw_slowdown: 0x8n,
  sync_boost: 0x10n,
  sw_thermal_slowdown: 0x20n,
  hw_thermal_slowdown: 0x40n,
  hw_power_brake_slowdown: 0x80n,
  display_clocks_setting: 0x100n,
};

/** Every named reason with its NVML bit. Public health scripts have 0x40 wrong (as 0x4); this table is the source. */
export const CLOCK_EVENT_BITS: ReadonlyArray<{ readonly reason: ClockEventReason; readonly bit: bigint }> = (Object.entries(BIT_OF) as Array<[ClockEventReason, bigint]>).map(
  ([reason, bit]) => ({ reason, bit }),
);

/** The NVML bit of a named reason as a number (every named bit fits one), for PromQL over a bitmask gauge. */
export function clockEventBit(reason: ClockEventReason): number {
  return Number(BIT_OF[reason]);
}

/** Reasons that slow a working GPU down (power cap, HW slowdown, SW/HW thermal, power brake): 0x4|0x8|0x20|0x40|0x80. */
export const THROTTLE_REASONS: readonly ClockEventReason[] = [
  'sw_power_cap',
  'hw_slowdown',
  'sw_thermal_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
];

/** Thermal reasons (0x20, 0x40). */
export const THERMAL_REASONS: readonly ClockEventReason[] = ['sw_thermal_slowdown', 'hw_thermal_slowdown'];

/** Power reasons (0x4 SW power cap, 0x80 external power brake). HW slowdown (0x8) is an umbrella and counts in neither. */
export const POWER_REASONS: readonly ClockEventReason[] = ['sw_power_cap', 'hw_power_brake_slowdown'];

/** A decoded mask: the exact hex text and the named reasons set in it. */
export interface DecodedClockEvents {
  /** `0x` + 16 hex digits, lower case. */
  readonly mask: string;
  readonly reasons: readonly ClockEventReason[];
  /** True when bit 63 (Unknown, old headers) is set. */
  readonly unknown: boolean;
}

const UNKNOWN_BIT = 1n << 63n;

/** Decodes `0x00000000000001FF`-style masks; undefined when the cell is not a hex mask. */
export function decodeClockEventMask(text: string | undefined): DecodedClockEvents | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(trimmed)) return undefined;
  const value = BigInt(trimmed);
  const reasons = CLOCK_EVENT_BITS.filter(({ bit }) => (value & bit) !== 0n).map(({ reason }) => reason);
  return { mask: `0x${value.toString(16).padStart(16, '0')}`, reasons, unknown: (value & UNKNOWN_BIT) !== 0n };
}

/** The mask as a number when it fits exactly (all named bits do), for a Prometheus gauge. */
export function maskToNumber(mask: string): number | undefined {
  const value = BigInt(mask);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** Builds a mask from named reasons (XML reports per-reason Active/Not Active, never a mask). */
export function encodeClockEventMask(reasons: readonly ClockEventReason[]): string {
  let value = 0n;
  for (const { reason, bit } of CLOCK_EVENT_BITS) if (reasons.includes(reason)) value |= bit;
  return `0x${value.toString(16).padStart(16, '0')}`;
}

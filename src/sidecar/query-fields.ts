/**
 * @module sidecar/query-fields
 * Which `--query-gpu` fields to ask for, chosen once from `nvidia-smi --help-query-gpu`
 * (an unknown field fails the whole query), and how one CSV row of them becomes a GpuState.
 */
import type { ClockEventReason, GpuState } from '../model/gpu.js';
import { decodeClockEventMask } from '../model/clock-events.js';
import { mibToBytes, parseEnabled, parseNumber, parsePstate, parseTimestamp, percentToFraction, presentText } from './values.js';

/** The field names (and aliases) a driver accepts, parsed from `--help-query-gpu`. */
export function parseHelpQueryGpu(help: string): Set<string> {
  const names = new Set<string>();
  for (const line of help.split(/\r?\n/)) {
    // Field lines are only quoted names: `"clocks.current.sm" or "clocks.sm"`; description lines such as `"0: Default" means …` are not.
    if (!/^"[^"]+"(?:\s+or\s+"[^"]+")*\s*$/.test(line.trim())) continue;
    for (const match of line.matchAll(/"([^"]+)"/g)) if (match[1] !== undefined) names.add(match[1]);
  }
  return names;
}

/**
 * The query plan. `fields` is the streamed (`-lms`) query: values that change. `staticFields` is a
 * one-shot query repeated slowly: identity, limits and modes. Measured on an H200 (driver 580),
 * `-lms 1000` with all 34 fields cost 1.1 % of a core, with the 19 changing ones 0.17 % (+0.37 %
 * for the five reason counters): the static fields are the expensive ones, so they are not
 * streamed. `name` is last in the static query, so a comma in a product name cannot shift columns.
 */
export interface QueryPlan {
  readonly fields: readonly string[];
  readonly staticFields: readonly string[];
  /** `clocks_event_reasons` (R535+) or `clocks_throttle_reasons` (older). */
  readonly reasonPrefix: 'clocks_event_reasons' | 'clocks_throttle_reasons' | undefined;
  readonly hasCounters: boolean;
}

/** Reason counters nvidia-smi lists under `clocks_event_reasons_counters.*` (R590+, and 580 on the H200), in µs. */
const COUNTER_REASONS: readonly ClockEventReason[] = [
  'sw_power_cap',
  'sync_boost',
  'sw_thermal_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
];

// Hot-path fields, streamed every period (docs/sidecar.md, "Only changing values are streamed"). Short clock names are accepted by old and new drivers alike.
const WISHED_STREAMED = [
  'timestamp',
  'uuid',
  'index',
  'pstate',
  'temperature.gpu',
  'temperature.memory',
  'temperature.gpu.tlimit',
  'memory.used',
  'memory.reserved',
  'utilization.gpu',
  'utilization.memory',
  'power.draw',
  'power.draw.average',
  'power.draw.instant',
  'clocks.sm',
  'clocks.mem',
  'ecc.errors.corrected.volatile.total',
  'ecc.errors.uncorrected.volatile.total',
] as const;

// Identity, limits and modes: asked once at start and then with the slow queries.
const WISHED_STATIC = [
  'uuid',
  'index',
  'count',
  'pci.bus_id',
  'driver_version',
  'memory.total',
  'enforced.power.limit',
  'clocks.max.sm',
  'clocks.max.mem',
  'persistence_mode',
  'mig.mode.current',
] as const;

/** Thrown (as a value) when the help text lacks what the sidecar cannot do without. */
export class QueryPlanError extends Error {
  override readonly name = 'QueryPlanError';
}

/** Intersects the wish lists with the fields the driver lists; requires `uuid`. */
export function planQuery(available: ReadonlySet<string>): QueryPlan {
  if (!available.has('uuid')) throw new QueryPlanError('nvidia-smi --help-query-gpu does not list "uuid"; cannot key GPUs');
  const fields: string[] = WISHED_STREAMED.filter((field) => available.has(field));
  const reasonPrefix = available.has('clocks_event_reasons.active')
    ? 'clocks_event_reasons'
    : available.has('clocks_throttle_reasons.active')
      ? 'clocks_throttle_reasons'
      : undefined;
  if (reasonPrefix !== undefined) fields.push(`${reasonPrefix}.active`);
  let hasCounters = false;
  for (const reason of COUNTER_REASONS) {
    const field = `clocks_event_reasons_counters.${reason}`;
    if (available.has(field)) {
      fields.push(field);
      hasCounters = true;
    }
  }
  const staticFields: string[] = WISHED_STATIC.filter((field) => available.has(field));
  if (available.has('name')) staticFields.push('name');
  return { fields, staticFields, reasonPrefix, hasCounters };
}

/** One decoded CSV row. */
export interface QueryRow {
  /** Row time from nvidia-smi's `timestamp` (local time), when present. */
  readonly timeMs?: number;
  /** GPUs in the system (`count`), to know when a pass is complete. */
  readonly count?: number;
  readonly gpu: GpuState;
}

/** Why a line is not a row. */
export type RowProblem = 'truncated' | 'garbage';

/** Result of decoding one line. */
export type RowResult = { readonly ok: true; readonly row: QueryRow } | { readonly ok: false; readonly problem: RowProblem; readonly detail: string };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const ROW_UUID = /\b(?:GPU|MIG)-[0-9a-fA-F][0-9a-fA-F-]*/;

/**
 * Of a run of lines, the newest row per GPU uuid and the last `otherLines` lines that are not rows
 * (NVML or lost-GPU texts), in arrival order; how many rows were superseded. Finding the uuid is a
 * regex match, far cheaper than decoding, so a flood costs one decode per GPU.
 */
export function latestRowPerGpu(lines: readonly string[], otherLines = 8): { readonly kept: string[]; readonly dropped: number } {
  const seen = new Set<string>();
  const kept: string[] = [];
  let others = 0;
  let dropped = 0;
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const uuid = ROW_UUID.exec(line)?.[0];
    if (uuid === undefined ? others++ < otherLines : !seen.has(uuid)) {
      if (uuid !== undefined) seen.add(uuid);
      kept.push(line);
    } else {
      dropped += 1;
    }
  }
  return { kept: kept.reverse(), dropped };
}

/** Decodes one `--format=csv,noheader,nounits` line for `fields`. */
export function decodeQueryRow(line: string, fields: readonly string[]): RowResult {
  const cells = line.split(',');
  if (cells.length < fields.length) {
    // A cut-off row still starts like a row (its uuid column, when reached, holds a uuid); anything else is garbage.
    const uuidAt = fields.indexOf('uuid');
    const rowLike = cells.length >= 2 && (uuidAt >= cells.length || /^\s*(GPU|MIG)-[0-9a-fA-F-]+\s*$/.test(cells[uuidAt] ?? ''));
    return { ok: false, problem: rowLike ? 'truncated' : 'garbage', detail: `expected ${fields.length} columns, got ${cells.length}` };
  }
  // Only the last field (name) may contain commas.
  const lastIndex = fields.length - 1;
  const values = new Map<string, string>();
  fields.forEach((field, i) => values.set(field, i === lastIndex ? cells.slice(i).join(',') : (cells[i] ?? '')));
  if (cells.length > fields.length && fields[lastIndex] !== 'name') {
    return { ok: false, problem: 'garbage', detail: `expected ${fields.length} columns, got ${cells.length}` };
  }
  const uuid = presentText(values.get('uuid'));
  if (uuid === undefined || !/^(GPU|MIG)-[0-9a-fA-F-]+$/.test(uuid)) {
    return { ok: false, problem: 'garbage', detail: `no GPU uuid in ${JSON.stringify(line.slice(0, 80))}` };
  }
  const gpu: Mutable<GpuState> = { uuid };
  const num = (field: string): number | undefined => parseNumber(values.get(field));
  const set = <K extends keyof GpuState>(key: K, value: GpuState[K] | undefined): void => {
    if (value !== undefined) gpu[key] = value;
  };
  set('index', num('index'));
  set('name', presentText(values.get('name')));
  set('pciBusId', presentText(values.get('pci.bus_id')));
  set('driverVersion', presentText(values.get('driver_version')));
  set('pstate', parsePstate(values.get('pstate')));
  set('temperatureC', num('temperature.gpu'));
  set('memoryTemperatureC', num('temperature.memory'));
  set('temperatureMarginC', num('temperature.gpu.tlimit'));
  set('memoryUsedBytes', mibToBytes(num('memory.used')));
  set('memoryTotalBytes', mibToBytes(num('memory.total')));
  set('memoryReservedBytes', mibToBytes(num('memory.reserved')));
  set('utilization', percentToFraction(num('utilization.gpu')));
  set('memoryBusy', percentToFraction(num('utilization.memory')));
  set('powerW', num('power.draw') ?? num('power.draw.average'));
  set('powerInstantW', num('power.draw.instant'));
  set('powerLimitW', num('enforced.power.limit'));
  set('smClockMhz', num('clocks.sm'));
  set('smClockMaxMhz', num('clocks.max.sm'));
  set('memClockMhz', num('clocks.mem'));
  set('memClockMaxMhz', num('clocks.max.mem'));
  set('persistenceMode', parseEnabled(values.get('persistence_mode')));
  set('migMode', parseEnabled(values.get('mig.mode.current')));
  set('eccErrorsCorrected', num('ecc.errors.corrected.volatile.total'));
  set('eccErrorsUncorrected', num('ecc.errors.uncorrected.volatile.total'));
  const maskField = fields.find((field) => field.endsWith('_reasons.active'));
  const decoded = decodeClockEventMask(presentText(maskField === undefined ? undefined : values.get(maskField)));
  if (decoded !== undefined) {
    gpu.clockEventMask = decoded.mask;
    gpu.clockEvents = decoded.reasons;
  }
  const counters: Partial<Record<ClockEventReason, number>> = {};
  let anyCounter = false;
  for (const reason of COUNTER_REASONS) {
    const micros = num(`clocks_event_reasons_counters.${reason}`);
    if (micros !== undefined) {
      counters[reason] = micros / 1e6;
      anyCounter = true;
    }
  }
  if (anyCounter) gpu.clockEventSeconds = counters;
  const row: Mutable<QueryRow> = { gpu };
  const timeMs = parseTimestamp(values.get('timestamp'));
  if (timeMs !== undefined) row.timeMs = timeMs;
  const count = num('count');
  if (count !== undefined) row.count = count;
  return { ok: true, row };
}

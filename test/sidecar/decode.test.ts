import { beforeAll, describe, expect, it } from 'vitest';
import { decodeClockEventMask, encodeClockEventMask, maskToNumber } from '../../src/sidecar/clock-events.js';
import { decodeQueryRow, parseHelpQueryGpu, planQuery, QueryPlanError } from '../../src/sidecar/query-fields.js';
import { parseNumber, parsePstate, presentText } from '../../src/sidecar/values.js';
import type { GpuState } from '../../src/model/gpu.js';
import { checkGpuRanges } from '../../src/model/gpu-ranges.js';
import { CSV_HELP, fakeEnv, fixture, fixtures, mapLimited, runFake, runFakeAsync } from './support.js';

const helpCache = new Map<string, string>();
/** `--help-query-gpu` as the fake answers it for a help source (capture or help__ file). */
function helpFrom(source: Readonly<Record<string, string>>): string {
  const key = JSON.stringify(source);
  let help = helpCache.get(key);
  if (help === undefined) helpCache.set(key, (help = runFake(['--help-query-gpu'], fakeEnv('decode', { ...source }))));
  return help;
}
const captureHelp = (capture: string) => ({ FAKE_NVSMI_CAPTURE: fixture(capture) });
const helpOf = (capture: string) => helpFrom(captureHelp(capture));

function planFields(helpSource: Readonly<Record<string, string>>): string[] {
  const plan = planQuery(parseHelpQueryGpu(helpFrom(helpSource)));
  // Streamed and static fields in one query (the decoder takes any field list; name stays last).
  return [...plan.fields, ...plan.staticFields.filter((f) => !plan.fields.includes(f))];
}
const queryArgs = (fields: readonly string[]) => [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
const queryCache = new Map<string, string>();

/** Decodes what the fake answers for our own query plan, from a capture section or a csv__ file. */
function decodeVia(helpSource: Readonly<Record<string, string>>, settings: Record<string, string>): GpuState {
  const fields = planFields(helpSource);
  expect(fields.at(-1)).toBe('name');
  const env = { ...helpSource, ...settings };
  const out = queryCache.get(JSON.stringify(env)) ?? runFake(queryArgs(fields), fakeEnv('decode', env));
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  const result = decodeQueryRow(lines[0] ?? '', fields);
  if (!result.ok) throw new Error(result.detail);
  return result.row.gpu;
}

// Every fake answer the tests below need, fetched up front a few at a time (each is a Node start).
const HELP_SOURCES: Array<Record<string, string>> = [
  ...fixtures('capture__').map(captureHelp),
  ...fixtures('help__').map((h) => ({ FAKE_NVSMI_HELP: fixture(h) })),
];
const QUERY_CASES: Array<[Record<string, string>, Record<string, string>]> = [
  ...fixtures('capture__').flatMap((c): Array<[Record<string, string>, Record<string, string>]> => [
    [captureHelp(c), { FAKE_NVSMI_SECTIONS: 'idle' }],
    [captureHelp(c), { FAKE_NVSMI_SECTIONS: 'load' }],
  ]),
  ...fixtures('csv__').map((csv): [Record<string, string>, Record<string, string>] => [{ ...(CSV_HELP[csv] ?? {}) }, { FAKE_NVSMI_CSV: fixture(csv) }]),
];
beforeAll(async () => {
  await mapLimited(HELP_SOURCES, 4, async (source) => {
    helpCache.set(JSON.stringify(source), await runFakeAsync(['--help-query-gpu'], fakeEnv('decode', { ...source })));
  });
  await mapLimited(QUERY_CASES, 4, async ([helpSource, settings]) => {
    const env = { ...helpSource, ...settings };
    queryCache.set(JSON.stringify(env), await runFakeAsync(queryArgs(planFields(helpSource)), fakeEnv('decode', env)));
  });
}, 120_000);

describe('cell values', () => {
  it('treats every nvidia-smi sentinel and the empty cell as absent, never 0', () => {
    for (const sentinel of ['N/A', '[N/A]', '[Not Supported]', '[Insufficient Permissions]', '[Unknown Error]', '', '  ', '[Requested functionality has been deprecated]', 'Requested functionality has been deprecated']) {
      expect(presentText(sentinel)).toBeUndefined();
      expect(parseNumber(sentinel)).toBeUndefined();
    }
  });
  it('strips units and padding, keeps a real 0', () => {
    expect(parseNumber(' 37 C ')).toBe(37);
    expect(parseNumber('1032 MiB')).toBe(1032);
    expect(parseNumber('26.78 W')).toBe(26.78);
    expect(parseNumber('0 MHz')).toBe(0);
    expect(parseNumber('31637354094 us')).toBe(31637354094);
    expect(parseNumber('Enabled')).toBeUndefined();
    expect(parsePstate('P8')).toBe(8);
    expect(parsePstate('[N/A]')).toBeUndefined();
  });
});

describe('clock-event mask', () => {
  it('decodes the NVML bits by name (0x40 is HW thermal, not 0x4)', () => {
    expect(decodeClockEventMask('0x0000000000000004')?.reasons).toEqual(['sw_power_cap']);
    expect(decodeClockEventMask('0x0000000000000040')?.reasons).toEqual(['hw_thermal_slowdown']);
    expect(decodeClockEventMask('0x0000000000000080')?.reasons).toEqual(['hw_power_brake_slowdown']);
    expect(decodeClockEventMask('0x00000000000000A8')?.reasons).toEqual(['hw_slowdown', 'sw_thermal_slowdown', 'hw_power_brake_slowdown']);
    expect(decodeClockEventMask('0x00000000000001FF')?.reasons).toHaveLength(9);
  });
  it('keeps bit 63 exact with BigInt', () => {
    const decoded = decodeClockEventMask('0x8000000000000001');
    expect(decoded?.unknown).toBe(true);
    expect(decoded?.reasons).toEqual(['gpu_idle']);
    expect(decoded?.mask).toBe('0x8000000000000001');
    expect(maskToNumber('0x8000000000000001')).toBeUndefined();
    expect(maskToNumber('0x00000000000001ff')).toBe(511);
  });
  it('rejects cells that are not masks and round-trips named reasons', () => {
    expect(decodeClockEventMask('[N/A]')).toBeUndefined();
    expect(decodeClockEventMask('Active')).toBeUndefined();
    expect(encodeClockEventMask(['sw_power_cap', 'hw_slowdown'])).toBe('0x000000000000000c');
  });
});

describe('field discovery from --help-query-gpu', () => {
  const helpSources: Array<[string, Record<string, string>]> = [
    ...fixtures('capture__').map((c): [string, Record<string, string>] => [c, captureHelp(c)]),
    ...fixtures('help__').map((h): [string, Record<string, string>] => [h, { FAKE_NVSMI_HELP: fixture(h) }]),
  ];
  it.each(helpSources)('%s: plans clocks_event_reasons, counters and instant power', (_name, source) => {
    const available = parseHelpQueryGpu(helpFrom(source));
    expect(available.has('clocks.sm')).toBe(true);
    expect(available.has('0: Default')).toBe(false);
    const plan = planQuery(available);
    expect(plan.reasonPrefix).toBe('clocks_event_reasons');
    expect(plan.hasCounters).toBe(true);
    expect(plan.fields[0]).toBe('timestamp');
    expect(plan.staticFields.at(-1)).toBe('name');
    expect(plan.fields).toContain('power.draw.instant');
    // Identity, limits and modes are not streamed (they made -lms 6x dearer on an H200).
    for (const f of ['name', 'driver_version', 'pci.bus_id', 'memory.total', 'clocks.max.sm', 'persistence_mode', 'mig.mode.current', 'enforced.power.limit']) {
      expect(plan.fields).not.toContain(f);
      expect(plan.staticFields).toContain(f);
    }
  });
  it('falls back to clocks_throttle_reasons and drops counters on a pre-R535 field list', () => {
    const modern = helpOf('capture__h100-80gb-hbm3__drv590.48.01__idle-load.txt');
    // Pre-R535 help lists only the throttle names, no counters, no instant power (as in the older driver captures in test/fixtures/nvidia-smi).
    const old = modern
      .split('\n')
      .filter((l) => !l.includes('clocks_event_reasons_counters') && !l.includes('power.draw.instant'))
      .map((l) => l.replace(/"clocks_event_reasons\.([a-z_]+)" or /, ''))
      .join('\n');
    const plan = planQuery(parseHelpQueryGpu(old));
    expect(plan.reasonPrefix).toBe('clocks_throttle_reasons');
    expect(plan.hasCounters).toBe(false);
    expect(plan.fields).toContain('clocks_throttle_reasons.active');
    expect(plan.fields).not.toContain('power.draw.instant');
  });
  it('refuses a field list without uuid', () => {
    expect(() => planQuery(new Set(['timestamp', 'name']))).toThrow(QueryPlanError);
  });
});

describe('query-gpu rows from every capture section and csv fixture', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>]> = [];
  for (const capture of fixtures('capture__')) for (const section of ['idle', 'load']) cases.push([`${capture} ${section}`, captureHelp(capture), { FAKE_NVSMI_SECTIONS: section }]);
  for (const csv of fixtures('csv__')) cases.push([csv, { ...(CSV_HELP[csv] ?? {}) }, { FAKE_NVSMI_CSV: fixture(csv) }]);

  it.each(cases)('%s decodes with a uuid, no NaN and nothing out of range', (_label, helpSource, settings) => {
    expect(Object.keys(helpSource)).toHaveLength(1);
    const gpu = decodeVia(helpSource, settings);
    expect(gpu.uuid).toMatch(/^GPU-/);
    expect(gpu.name).toMatch(/NVIDIA/);
    for (const value of Object.values(gpu)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
    expect(gpu.clockEventMask).toMatch(/^0x[0-9a-f]{16}$/);
    expect(gpu.temperatureC).toBeGreaterThan(0);
    // The range check (model/gpu-ranges) must never drop a value a real GPU reported.
    expect(checkGpuRanges(gpu).rejected).toEqual([]);
  });

  it('H100 under load (hand-checked against the capture)', () => {
    const gpu = decodeVia(captureHelp('capture__h100-80gb-hbm3__drv590.48.01__idle-load.txt'), { FAKE_NVSMI_CSV: fixture('csv__h100-80gb-hbm3__drv590.48.01__load__all-fields.csv') });
    expect(gpu).toMatchObject({
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      pciBusId: '00000000:00:09.0',
      driverVersion: '590.48.01',
      pstate: 0,
      temperatureC: 59,
      memoryTemperatureC: 54,
      temperatureMarginC: 26,
      memoryUsedBytes: 19818 * 2 ** 20,
      memoryTotalBytes: 81559 * 2 ** 20,
      memoryReservedBytes: 479 * 2 ** 20,
      utilization: 1,
      memoryBusy: 0.11,
      powerW: 631.95,
      powerInstantW: 625.68,
      powerLimitW: 700,
      smClockMhz: 1980,
      smClockMaxMhz: 1980,
      memClockMhz: 2619,
      memClockMaxMhz: 2619,
      persistenceMode: true,
      migMode: false,
      clockEventMask: '0x0000000000000000',
      clockEvents: [],
      eccErrorsCorrected: 0,
      eccErrorsUncorrected: 0,
    });
    expect(gpu.clockEventSeconds).toEqual({ sw_power_cap: 0, sync_boost: 0, sw_thermal_slowdown: 0, hw_thermal_slowdown: 0, hw_power_brake_slowdown: 0 });
  });

  it('H100 with MIG: utilization is absent, not 0', () => {
    const gpu = decodeVia(captureHelp('capture__h100-mig-4-instances__drv590.48.01__idle-load.txt'), { FAKE_NVSMI_CSV: fixture('csv__h100-mig__drv590.48.01__load__all-fields-util-na.csv') });
    expect(gpu.migMode).toBe(true);
    expect(gpu).not.toHaveProperty('utilization');
    expect(gpu).not.toHaveProperty('memoryBusy');
    expect(gpu.temperatureC).toBe(53);
    expect(gpu.powerW).toBe(433.78);
    expect(gpu.memoryUsedBytes).toBe(11125 * 2 ** 20);
  });

  it('RTX 2080 SUPER idle: SW power cap 0x4 at P8, absent tlimit and memory temperature', () => {
    const gpu = decodeVia(captureHelp('capture__rtx2080super__drv595.71.05__idle-sw-power-cap.txt'), { FAKE_NVSMI_CSV: fixture('csv__rtx2080super__drv595.71.05__idle__sw-power-cap-0x4.csv') });
    expect(gpu.clockEvents).toEqual(['sw_power_cap']);
    expect(gpu.pstate).toBe(8);
    expect(gpu.utilization).toBe(0);
    expect(gpu.temperatureC).toBe(40);
    expect(gpu).not.toHaveProperty('temperatureMarginC');
    expect(gpu).not.toHaveProperty('memoryTemperatureC');
    expect(gpu).not.toHaveProperty('eccErrorsCorrected');
    expect(gpu.persistenceMode).toBe(false);
    expect(gpu.clockEventSeconds?.sw_power_cap).toBeCloseTo(212.553937, 6);
    expect(gpu.smClockMhz).toBe(765);
    expect(gpu.smClockMaxMhz).toBe(2145);
  });
});

describe('H200 recorded here (driver 580.159.04)', () => {
  it('idle at P0 with the GPU-idle flag; counters present on 580', () => {
    const gpu = decodeVia({ FAKE_NVSMI_HELP: fixture('help__h200__drv580.159.04.txt') }, { FAKE_NVSMI_CSV: fixture('csv__h200__drv580.159.04__idle__all-fields.csv') });
    expect(gpu).toMatchObject({ name: 'NVIDIA H200', driverVersion: '580.159.04', pstate: 0, utilization: 0, smClockMhz: 345, smClockMaxMhz: 1980, powerLimitW: 700, clockEvents: ['gpu_idle'] });
    expect(gpu.clockEventSeconds?.sw_power_cap).toBeCloseTo(25.343972, 6);
  });
});

describe('row problems', () => {
  const fields = ['timestamp', 'uuid', 'index', 'temperature.gpu', 'name'];
  it('reports truncated rows and garbage instead of inventing values', () => {
    const truncated = decodeQueryRow('2026/07/14 08:12:53.353, GPU-00000000-0000-0000-0000-000000000000', fields);
    expect(truncated).toMatchObject({ ok: false, problem: 'truncated' });
    const garbage = decodeQueryRow('Unable to determine the device handle for gpu 0000:00:09.0: GPU is lost, a, b, c, d', fields);
    expect(garbage).toMatchObject({ ok: false, problem: 'garbage' });
  });
  it('keeps commas inside the product name (the last column)', () => {
    const result = decodeQueryRow('2026/07/14 08:12:53.353, GPU-00000000-0000-0000-0000-000000000000, 0, 41, Odd, Name', fields);
    expect(result.ok && result.row.gpu.name).toBe('Odd, Name');
  });
});

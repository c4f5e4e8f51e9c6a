import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkGpuRanges } from '../../src/model/gpu-ranges.js';
import { parseXmlReport, XmlReportError } from '../../src/sidecar/xml-report.js';
import { fixture, fixtures } from './support.js';

const read = (name: string) => parseXmlReport(readFileSync(fixture(name), 'utf8'));

describe('nvidia-smi -q -x across DTD v10–v13', () => {
  it.each(fixtures('xml__'))('%s: every <gpu> decodes, keyed by uuid, no NaN, nothing out of range', (name) => {
    const report = read(name);
    expect(report.gpus.length).toBeGreaterThan(0);
    for (const gpu of report.gpus) {
      expect(gpu.uuid).toMatch(/^GPU-[0-9a-f-]+$/);
      expect(gpu.driverVersion).toBe(report.driverVersion);
      expect(gpu.clockEventMask).toMatch(/^0x[0-9a-f]{16}$/);
      for (const value of Object.values(gpu)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
      expect(gpu.memoryTotalBytes).toBeGreaterThan(0);
      // The range check (model/gpu-ranges) must never drop a value a real GPU reported.
      expect(checkGpuRanges(gpu).rejected, gpu.uuid).toEqual([]);
    }
  });

  it('A100 MIG (535, event naming): four instances with their memory, thresholds, no utilization', () => {
    const report = read('xml__a100-sxm4-80gb-mig__drv535.54.03__v12__event-reasons-4-mig.xml');
    // attached_gpus says 4, but the upstream file was trimmed to one <gpu>.
    expect(report.attachedGpus).toBe(4);
    expect(report.gpus).toHaveLength(1);
    const gpu = report.gpus[0]!;
    expect(gpu).toMatchObject({ migMode: true, slowdownTemperatureC: 89, shutdownTemperatureC: 92, persistenceMode: false, powerW: 67.03, powerLimitW: 500, temperatureC: 27 });
    expect(gpu).not.toHaveProperty('utilization');
    expect(gpu.migInstances).toEqual(['3', '4', '5', '6'].map((id) => ({ id, memoryUsedBytes: 12 * 2 ** 20, memoryTotalBytes: 19968 * 2 ** 20 })));
  });

  it('K80 x4 (430): index follows document (PCI) order, not minor_number; applications clocks flag', () => {
    const report = read('xml__tesla-k80-x4__drv430.26__v10__out-of-order-apps-clocks.xml');
    expect(report.gpus.map((g) => [g.index, g.uuid.slice(0, 12), g.pciBusId])).toEqual([
      [0, 'GPU-c3b26f7a', '00001580:00:00.0'],
      [1, 'GPU-b01b80eb', '00002DF7:00:00.0'],
      [2, 'GPU-30bc2701', '00004968:00:00.0'],
      [3, 'GPU-3341aba2', '0000F8D6:00:00.0'],
    ]);
    const first = report.gpus[0]!;
    expect(first).toMatchObject({ utilization: 0.99, temperatureC: 64, powerW: 135.72, powerLimitW: 149, smClockMhz: 810, smClockMaxMhz: 875, clockEvents: ['applications_clocks_setting'] });
  });

  it('RTX 2080 Ti x2 (410, throttle naming): SW power cap on the idle second GPU', () => {
    const [a, b] = read('xml__rtx2080ti-x2__drv410.73__v10__sw-power-cap.xml').gpus;
    expect(a?.clockEvents).toEqual(['gpu_idle']);
    expect(b?.clockEvents).toContain('sw_power_cap');
    expect(b).toMatchObject({ pstate: 8, utilization: 0, powerW: 19.11 });
    expect(a).not.toHaveProperty('eccErrorsCorrected');
  });

  it('RTX 3090 (525): an SM clock of 0 MHz stays 0 (a real value, not a sentinel)', () => {
    const gpu = read('xml__rtx3090__drv525.147.05__v12__throttle-reasons.xml').gpus[0]!;
    expect(gpu.smClockMhz).toBe(0);
    expect(gpu.pstate).toBe(8);
  });

  it('RTX 3060 (570): average/instant power instead of power_draw', () => {
    const gpu = read('xml__rtx3060__drv570.124.04__v12__avg-instant-power.xml').gpus[0]!;
    expect(gpu.powerW).toBe(11.6);
    expect(gpu.powerInstantW).toBe(11.63);
    expect(gpu.powerLimitW).toBe(170);
  });

  it('A5000 x2 (590): cumulative per-reason counters in seconds', () => {
    const report = read('xml__rtx-a5000-x2__drv590.44.01__v13__llama-server-event-counters.xml');
    expect(report.gpus).toHaveLength(2);
    expect(report.gpus[0]?.clockEventSeconds).toEqual({ sw_power_cap: 31637.354094, sync_boost: 0, sw_thermal_slowdown: 0, hw_thermal_slowdown: 0, hw_power_brake_slowdown: 0 });
    expect(report.gpus[0]?.memoryUsedBytes).toBe(22437 * 2 ** 20);
  });

  it('RTX 3080 under load (595): P2, 65 %, persistence off', () => {
    const gpu = read('xml__rtx3080__drv595.58.03__v13__load-65pct.xml').gpus[0]!;
    expect(gpu).toMatchObject({ pstate: 2, utilization: 0.65, powerW: 139.62, powerInstantW: 142.33, persistenceMode: false, smClockMhz: 1950 });
  });

  it('rejects what is not an nvidia-smi log with one error type', () => {
    expect(() => parseXmlReport('<html><body>nope</body></html>')).toThrow(XmlReportError);
    expect(() => parseXmlReport('Failed to initialize NVML: Driver/library version mismatch')).toThrow(XmlReportError);
  });
});

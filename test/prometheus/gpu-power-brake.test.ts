/**
 * @module test/prometheus/gpu-power-brake.test
 * The HW power brake on the Prometheus path. A real Prometheus (Debian's 2.42) scrapes a TGI
 * router replaying its real capture (validation 30 ms of 47: preprocessing-pipeline, a software
 * fix) beside a GPU exporter whose GPU state is that of a real incident: eight H100s with HW
 * slowdown and the HW power brake asserted, SM clock pinned at 86 MHz (nvidia-smi -q, driver
 * 535.161.08, leptonai/gpud, test/fixtures/nvidia-smi/SOURCES.md). The brake is a hardware
 * slowdown: as on the trace path it fires hardware-limit, ranks first and confounds the software
 * fix's gain, where the SW power cap (0x4) under the same load defers to the software fix and
 * only qualifies its gain (a caveat on the first screen). Each exporter layout the analysis reads
 * is checked: our sidecar (the fake nvidia-smi replaying the H100 590 load capture with the
 * incident's clock-event mask and SM clock; the incident GPUs were idle, so the load is the
 * capture's), dcgm-exporter (the clock-event bitmask) and nvidia_gpu_exporter (0/1 gauges, the
 * pre-R535 `clocks_throttle_reasons` name for the brake).
 */
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import type { AnalysisResult } from '../../src/analyzer/index.js';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { renderVerdictText } from '../../src/report/diagnosis-text.js';
import { start, waitForOutput, type Started } from '../stack/_processes.js';
import { startPrometheus, waitForScrapes } from './_prometheus.js';
import { startReplay, type ReplayExporter, type ReplayScenario } from './replay-exporter.js';
import { tgiValidation } from './scenarios.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TRAFFIC_S = 8;

/** The first GPU of the incident's `nvidia-smi -q`: its active clock-event reasons as a mask (NVML bits), and its SM clock. */
function incidentGpu(): { mask: number; smMhz: number } {
  const text = readFileSync(join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'q__h100-x8__drv535.161.08__hw-slowdown-power-brake.txt'), 'utf8');
  const gpu = text.split(/^GPU [0-9A-F:.]+$/m)[1] ?? '';
  const bits: Record<string, number> = { Idle: 0x1, 'SW Power Cap': 0x4, 'HW Slowdown': 0x8, 'SW Thermal Slowdown': 0x20, 'HW Thermal Slowdown': 0x40, 'HW Power Brake Slowdown': 0x80 };
  let mask = 0;
  for (const [words, bit] of Object.entries(bits)) if (new RegExp(`^\\s+${words}\\s+: Active$`, 'm').test(gpu)) mask |= bit;
  const sm = /^ {4}Clocks\n(?: {8}.*\n)*? {8}SM\s+: (\d+) MHz$/m.exec(gpu);
  return { mask, smMhz: Number(sm?.[1]) };
}

const { mask: BRAKE_MASK, smMhz: BRAKE_SM_MHZ } = incidentGpu();

type Result = AnalysisResult & { readonly prometheus: NonNullable<AnalysisResult['prometheus']> };

/** A TGI router replay, with GPU gauges of an exporter layout added to its page (one target serves both). */
function tgiWith(gpu: readonly { readonly name: string; readonly value: number; readonly labels: Readonly<Record<string, string>> }[]): ReplayScenario {
  const base = tgiValidation(61);
  return {
    ...base,
    extra: gpu.map((g) => ({ name: g.name, type: 'gauge' as const, help: 'GPU state of the replayed incident', labels: g.labels })),
    gauges: Object.fromEntries(gpu.map((g) => [g.name, g.value])),
  };
}

/** Scrapes `replay` (and the sidecar, when given its fake nvidia-smi settings) for TRAFFIC_S seconds, then analyses the range. */
async function run(replay: ReplayScenario, sidecarSet?: string): Promise<Result> {
  const started: Started[] = [];
  let exporter: ReplayExporter | undefined;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    const jobs: Record<string, string[]> = {};
    if (sidecarSet !== undefined) {
      const sidecar = start(process.execPath, ['--import', 'tsx', 'test/sidecar/run-sidecar.ts', 'sidecar', '--host', '127.0.0.1', '--port', '0', '--period', '250', '--xml-period', '0'], {
        cwd: ROOT,
        env: { ...process.env, PATH: `${join(ROOT, 'test', 'sidecar', 'fake-nvidia-smi')}${delimiter}${process.env['PATH'] ?? ''}`, FAKE_NVSMI_SET: sidecarSet },
      });
      started.push(sidecar);
      const url = await waitForOutput(sidecar, /serving (http:\/\/[^\s]+)\/metrics/, 60_000);
      jobs['gpu-sidecar'] = [new URL(url[1] ?? '').host];
    }
    exporter = await startReplay(replay);
    jobs['tgi'] = [new URL(exporter.url).host];
    prometheus = await startPrometheus(jobs);
    await waitForScrapes(prometheus.url, Object.keys(jobs));
    const startS = Math.floor(Date.now() / 1000);
    await new Promise((r) => setTimeout(r, TRAFFIC_S * 1000));
    const endS = Math.floor(Date.now() / 1000);
    return (await analyzePrometheus({ url: prometheus.url, startS, endS, stepS: 1 })) as Result;
  } finally {
    await prometheus?.stop();
    await exporter?.close();
    for (const s of started) await s.stop();
  }
}

/** nvidia-smi overrides: a clock-event mask with its reason flags, and the SM clock where given. */
function nvidiaSmiSet(mask: number, smMhz?: number): string {
  const bits: Record<string, number> = { sw_power_cap: 0x4, hw_slowdown: 0x8, hw_power_brake_slowdown: 0x80 };
  const flags = Object.entries(bits).map(([r, bit]) => `clocks_event_reasons.${r}=${(mask & bit) !== 0 ? 'Active' : 'Not Active'}`);
  return [`clocks_event_reasons.active=0x${mask.toString(16).padStart(16, '0')}`, ...flags, ...(smMhz !== undefined ? [`clocks.sm=${smMhz}`] : [])].join(';');
}

const DCGM_LABELS = { gpu: '0', UUID: 'GPU-00000000-0000-0000-0000-000000000100', modelName: 'NVIDIA H100 80GB HBM3' };
const NGE_LABELS = { uuid: 'GPU-00000000-0000-0000-0000-000000000100' };

const results: Partial<Record<'sidecarBrake' | 'sidecarCap' | 'dcgmBrake' | 'ngeBrake', Result>> = {};

beforeAll(async () => {
  // Two at a time: the machine is shared.
  [results.sidecarBrake, results.sidecarCap] = await Promise.all([run(tgiValidation(61), nvidiaSmiSet(BRAKE_MASK, BRAKE_SM_MHZ)), run(tgiValidation(62), nvidiaSmiSet(0x4))]);
  [results.dcgmBrake, results.ngeBrake] = await Promise.all([
    run(
      tgiWith([
        { name: 'DCGM_FI_DEV_SM_CLOCK', value: BRAKE_SM_MHZ, labels: DCGM_LABELS },
        { name: 'DCGM_FI_DEV_GPU_UTIL', value: 100, labels: DCGM_LABELS },
        { name: 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', value: BRAKE_MASK, labels: DCGM_LABELS },
      ]),
    ),
    run(
      tgiWith([
        { name: 'nvidia_smi_clocks_current_sm_clock_hz', value: BRAKE_SM_MHZ * 1e6, labels: NGE_LABELS },
        { name: 'nvidia_smi_utilization_gpu_ratio', value: 1, labels: NGE_LABELS },
        { name: 'nvidia_smi_clocks_event_reasons_sw_power_cap', value: 0, labels: NGE_LABELS },
        { name: 'nvidia_smi_clocks_event_reasons_hw_slowdown', value: 1, labels: NGE_LABELS },
        { name: 'nvidia_smi_clocks_throttle_reasons_hw_power_brake_slowdown', value: 1, labels: NGE_LABELS },
      ]),
    ),
  ]);
}, 240_000);


function diagnosisOf(r: Result | undefined): Diagnosis {
  const d = r?.models[0]?.diagnosis;
  if (d === undefined) throw new Error('no diagnosis');
  return d;
}

/** The brake fires hardware-limit first, and the software fix's gain says it was measured on the slowed GPU. */
function expectBrakeConfounds(r: Result | undefined, gpuSource: string): void {
  expect(r?.prometheus.sources.map((s) => s.id)).toEqual(['tgi', gpuSource]);
  expect(r?.device[0]?.reasons.hw_power_brake_slowdown, JSON.stringify(r?.device[0])).toBeGreaterThan(0.5);
  expect(r?.device[0]?.reasons.sw_power_cap).toBeUndefined();
  const d = diagnosisOf(r);
  expect(d.recommendations.map((x) => x.fix), d.headline).toEqual(['hardware-limit', 'preprocessing-pipeline']);
  expect(d.recommendations[0]?.evidence[0]?.text).toMatch(/HW power brake slowdown \d+%, HW slowdown \d+%/);
  expect(d.recommendations[1]?.estimatedGain?.confoundedBy).toEqual({ fix: 'hardware-limit', note: 'measured while the GPU was slowed by a thermal or hardware slowdown most of the time; re-measure once it runs at full clocks' });
  expect(d.caveats).toBeUndefined();
}

describe('HW power brake vs SW power cap, from GPU exporters in a real Prometheus', { timeout: 60_000 }, () => {
  it('replays the incident as nvidia-smi reported it: HW slowdown and HW power brake (0x88), SM clock 86 MHz', () => {
    expect([BRAKE_MASK, BRAKE_SM_MHZ]).toEqual([0x88, 86]);
  });

  it('the sidecar: the brake is its own reason (never the SW power cap), a hardware slowdown that confounds the software fix', () => {
    expectBrakeConfounds(results.sidecarBrake, 'sidecar');
    const queries = results.sidecarBrake?.prometheus.queries.map((q) => q.expr).join('\n') ?? '';
    expect(queries).toContain('gpu_clock_event_active{reason="hw_power_brake_slowdown"}');
    expect(queries).toContain('gpu_clock_event_active{reason="sw_power_cap"}');
    expect(queries).not.toContain('.*power.*');
  });

  it('the sidecar: the SW power cap under the same load defers to the software fix, and the first screen says its gain assumes the cap stays', () => {
    const r = results.sidecarCap;
    expect(r?.device[0]?.reasons.sw_power_cap).toBeGreaterThan(0.5);
    expect(r?.device[0]?.reasons.hw_power_brake_slowdown).toBeUndefined();
    const d = diagnosisOf(r);
    expect(d.recommendations.map((x) => x.fix), d.headline).toEqual(['preprocessing-pipeline']);
    expect(d.recommendations[0]?.estimatedGain?.confoundedBy).toBeUndefined();
    expect(d.caveats?.map((c) => [c.rule, c.kind])).toEqual([['hardware-limit', 'power-cap']]);
    const verdict = renderVerdictText(d);
    const at = verdict.findIndex((l) => l.startsWith('  Power cap: '));
    expect(verdict[at - 1]).toMatch(/^ {4}|^ {2}Fix preprocessing-pipeline: expected/);
    expect(verdict.slice(at).join(' ').replace(/\s+/g, ' ')).toMatch(/^ Power cap: the GPU was at its SW power cap in \d+% of loaded samples; the expected gain assumes the cap stays\.$/);
  });

  it('dcgm-exporter: the brake from the clock-event bitmask (0x80 of DCGM_FI_DEV_CLOCK_THROTTLE_REASONS)', () => {
    expectBrakeConfounds(results.dcgmBrake, 'dcgm');
  });

  it('nvidia_gpu_exporter: the brake from its 0/1 gauge, under the pre-R535 name too', () => {
    expectBrakeConfounds(results.ngeBrake, 'nvidia_gpu_exporter');
  });
});

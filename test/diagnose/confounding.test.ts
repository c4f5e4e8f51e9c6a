/**
 * A cause that confounds the other rules' estimates (a throttling GPU) ranks first, and the other
 * findings' gains say they were measured under it. Traces and GPU samples are written to files
 * as the tracer and the sidecar write them, and read back through analyzeFiles.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { rankFindings } from '../../src/analyzer/diagnose/rank.js';
import { RULES } from '../../src/analyzer/diagnose/rules.js';
import type { ClockEventReason, GpuState } from '../../src/model/gpu.js';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { renderDiagnosisText, renderVerdictText } from '../../src/report/diagnosis-text.js';
import { diagnosisToJson } from '../../src/report/diagnosis-json.js';
import { renderDiagnosisMarkdown } from '../../src/report/diagnosis-markdown.js';
import { verdictCard } from '../../src/report/html/analysis.js';
import { writeAs } from '../support/synth.js';
import { generate } from './gen.js';
import type { GenSpec } from './gen.js';
import { HALF_THROTTLED } from './scenarios.js';
import { gpuSamplesFor, recordedSamplesOver, samplesOver, toSpans } from './to-spans.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-confound-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


let counter = 0;
async function analyzeWithSamples(spec: GenSpec, reasons: (frac: number) => readonly ClockEventReason[]): Promise<Diagnosis> {
  return analyzeWith(spec, (requests) => gpuSamplesFor(requests, reasons));
}

async function analyzeWith(spec: GenSpec, samplesFor: (requests: ReturnType<typeof generate>) => string): Promise<Diagnosis> {
  const requests = generate(spec);
  const traces = join(dir, `t${counter}.jsonl`);
  writeFileSync(traces, writeAs('otlp-jsonl', toSpans(requests)));
  const samples = join(dir, `t${counter++}.gpu.jsonl`);
  writeFileSync(samples, samplesFor(requests));
  return (await analyzeFiles([traces, samples])).models[0]!.diagnosis!;
}

/** The same FP16 PyTorch model, its GPU throttled (or not) the whole run: compute stays level, so latency does not drift. */
const LEVEL: GenSpec = { ...HALF_THROTTLED, phases: { preprocess: 2, queue: 1, compute: ({ rand }) => 30 * (0.9 + 0.2 * rand()) } };

/**
 * The sidecar's own samples of an H200 under a 25 s fp16 matmul burn (driver 580.159.04, every
 * 500 ms; SW power cap active at ~692 of 700 W, SM clock ~1400 of 1980 MHz, the `sw_power_cap`
 * counter +0.5 s per sample), recorded for this project: test/fixtures/nvidia-smi/SOURCES.md.
 */
const H200_BURN = join(import.meta.dirname, '..', 'fixtures', 'nvidia-smi', 'samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl');

/**
 * The H200 burn as if the GPU ran too hot (no public nvidia-smi record of a thermal slowdown under
 * load was found, so the real load rows are edited): SW thermal slowdown (0x20) in place of the
 * SW power cap, its counter accruing as the cap's did, 16 °C hotter, which puts the
 * T.Limit margin at −2 °C, the H200's slowdown point (`gpu_temp_slow_tlimit_threshold` −2 C in
 * test/fixtures/nvidia-smi/xml__h200__drv580.159.04__v13__idle.xml).
 */
function thermallySlowed(g: GpuState): GpuState {
  const slowed = (g.clockEvents ?? []).includes('sw_power_cap');
  if (!slowed) return g;
  const counters = g.clockEventSeconds ?? {};
  return {
    ...g,
    temperatureC: (g.temperatureC ?? 0) + 16,
    temperatureMarginC: (g.temperatureMarginC ?? 0) - 16,
    clockEventMask: '0x0000000000000020',
    clockEvents: ['sw_thermal_slowdown'],
    clockEventSeconds: { ...counters, sw_power_cap: 25.343972, sw_thermal_slowdown: (counters.sw_power_cap ?? 0) - 25.343972 },
  };
}

/**
 * One of the eight H100s of a real HGX incident, as `nvidia-smi -q` reported it (leptonai/gpud,
 * pkg/nvidia-query/testdata/nvidia-smi-query.535.161.08.out.0.valid at 2175d7d, Apache-2.0,
 * https://github.com/leptonai/gpud): P0, HW slowdown and HW power brake active, SM clock pinned
 * at 86 of 1980 MHz, 29 °C, 67.74 W of 700 W, 0 of 81559 MiB used.
 */
const H100_POWER_BRAKE: GpuState = {
  uuid: 'GPU-00000000-0000-0000-0000-000000000100',
  index: 0,
  name: 'NVIDIA H100 80GB HBM3',
  driverVersion: '535.161.08',
  pstate: 0,
  temperatureC: 29,
  memoryUsedBytes: 0,
  memoryTotalBytes: 81559 * 1024 * 1024,
  utilization: 0,
  powerW: 67.74,
  powerLimitW: 700,
  smClockMhz: 86,
  smClockMaxMhz: 1980,
  clockEventMask: '0x0000000000000088',
  clockEvents: ['hw_slowdown', 'hw_power_brake_slowdown'],
  persistenceMode: true,
};

describe('a throttling GPU confounds the other estimates', () => {
  it('thermal throttling half the run ranks first, above a larger runtime-swap saving measured on the throttled GPU', async () => {
    const d = await analyzeWithSamples(HALF_THROTTLED, (f) => (f > 0.5 ? ['sw_thermal_slowdown'] : []));
    // Slowed in just over half the loaded samples, the GPU is also sustainedly slowed: both confounders lead, the larger saving first.
    expect(d.recommendations.map((r) => r.fix)).toEqual(['latency-drift', 'hardware-limit', 'optimized-runtime']);
    expect(d.primary).toBe('latency-drift');
    expect(d.recommendations[0]?.cause).toBe('thermal-throttling');
    expect(d.headline).toMatch(/thermally throttling/);
    // The runtime swap is still offered, its gain marked as measured while throttled, after the first confounder.
    const runtime = d.recommendations[2]!;
    expect(runtime.estimatedGain?.confoundedBy).toEqual({ fix: 'latency-drift', note: 'measured while the GPU was thermally throttled; re-measure after fixing cooling' });
    expect(d.recommendations[0]?.estimatedGain?.confoundedBy).toBeUndefined();
    expect(d.recommendations[1]?.estimatedGain?.confoundedBy).toBeUndefined();
    const text = renderDiagnosisText(d).join(' ').replace(/\s+/g, ' ');
    expect(text).toMatch(/3\. Switch to a hardware-specific runtime .*expected mean [\d.]+ ms → [\d.]+ ms; measured while the GPU was thermally throttled; re-measure after fixing cooling \(see latency-drift\)\)/);
    const markdown = renderDiagnosisMarkdown(d).join('\n');
    expect(markdown).toMatch(/#### 3\. Switch to a hardware-specific runtime[^#]*\*\*Expected:\*\* mean [\d.]+ ms → [\d.]+ ms \(.*\); measured while the GPU was thermally throttled; re-measure after fixing cooling \(see latency-drift\)\n/);
    expect(markdown).toMatch(/#### 1\. Latency drifts up[^#]*\*\*Expected:\*\* p95 [\d.]+ ms → [\d.]+ ms \(removing the cause brings latency back to the level of the first window\)\n/);
    const json = diagnosisToJson(d);
    expect(json.recommendations[2]?.estimated_gain?.confounded_by).toEqual({ fix: 'latency-drift', note: runtime.estimatedGain!.confoundedBy!.note });
    expect(json.recommendations[0]?.estimated_gain?.confounded_by).toBeNull();
  });

  it('a power cap names its own caveat', async () => {
    const d = await analyzeWithSamples(HALF_THROTTLED, (f) => (f > 0.5 ? ['sw_power_cap'] : []));
    expect(d.recommendations.map((r) => [r.fix, r.cause ?? null])).toEqual([['latency-drift', 'power-throttling'], ['optimized-runtime', null]]);
    expect(d.recommendations[1]?.estimatedGain?.confoundedBy?.note).toBe('measured while the GPU was power-capped; re-measure after fixing the power limit');
  });

  it('drift from growing GPU memory does not confound: ranking by saving stays', async () => {
    // Same latencies and no throttling: the drift has no GPU cause, so the larger saving leads and no gain carries a caveat.
    const d = await analyzeWithSamples(HALF_THROTTLED, () => []);
    expect(d.recommendations.map((r) => r.fix)).toEqual(['optimized-runtime', 'latency-drift']);
    expect(d.recommendations.every((r) => r.estimatedGain?.confoundedBy === undefined)).toBe(true);
  });
});

describe('a GPU slowed the whole run, latency level (no drift), a software fix applying', () => {
  const note = 'measured while the GPU was slowed by a thermal or hardware slowdown most of the time; re-measure once it runs at full clocks';

  it('sustained thermal slowdown: hardware-limit fires and ranks first, the runtime swap’s gain carries its caveat', async () => {
    const d = await analyzeWith(LEVEL, (requests) => recordedSamplesOver(requests, H200_BURN, thermallySlowed));
    expect(d.recommendations.map((r) => r.fix)).toEqual(['hardware-limit', 'optimized-runtime']);
    expect(d.rules.find((r) => r.rule === 'latency-drift')?.fired).toBe(false);
    const hw = d.recommendations[0]!;
    expect(hw.evidence[0]?.text).toMatch(/^the GPU was slowed in 100% of loaded samples \(SW thermal slowdown 100%\); the software fixes' estimates \(optimized-runtime\) were measured on the slowed GPU; compute p95 = /);
    expect(hw.estimatedGain?.confoundedBy).toBeUndefined();
    expect(d.recommendations[1]?.estimatedGain?.confoundedBy).toEqual({ fix: 'hardware-limit', note });
    const text = renderDiagnosisText(d).join(' ').replace(/\s+/g, ' ');
    expect(text).toContain(`${note} (see hardware-limit)`);
  });

  it('sustained HW slowdown with the HW power brake (a real H100 incident): the same', async () => {
    const d = await analyzeWith(LEVEL, (requests) => samplesOver(requests, () => H100_POWER_BRAKE, 500));
    expect(d.recommendations.map((r) => r.fix)).toEqual(['hardware-limit', 'optimized-runtime']);
    expect(d.recommendations[0]?.evidence[0]?.text).toMatch(/\(HW power brake slowdown 100%, HW slowdown 100%\)/);
    expect(d.recommendations[1]?.estimatedGain?.confoundedBy?.fix).toBe('hardware-limit');
  });

  it('sustained SW power cap under full load (the real H200 burn): normal, the software fix ranks first with no caveat', async () => {
    const d = await analyzeWith(LEVEL, (requests) => recordedSamplesOver(requests, H200_BURN));
    expect(d.recommendations.map((r) => r.fix)).toEqual(['optimized-runtime']);
    expect(d.recommendations[0]?.estimatedGain?.confoundedBy).toBeUndefined();
    const hw = d.rules.find((r) => r.rule === 'hardware-limit')!;
    expect(hw.inputs['throttled_share']).toBeGreaterThan(0.9);
    expect(hw.inputs['slowdown_share']).toBe(0);
    expect(hw.reason).toMatch(/^throttling is sustained \(\d+%\), but by the SW power cap \(\d+% of loaded samples\), normal under full load on a datacenter GPU, not by a thermal or hardware slowdown \(0% < 50%\): software fixes apply first \(optimized-runtime\)$/);
    // Said on the first screen, under the verdict, not only in --explain: the gain was measured at capped clocks.
    const share = d.caveats?.[0]?.values['power_cap_share'] ?? 0;
    expect(share).toBeGreaterThan(0.9);
    expect(d.caveats).toEqual([{ rule: 'hardware-limit', kind: 'power-cap', text: `Power cap: the GPU was at its SW power cap in ${Math.round(share * 100)}% of loaded samples; the expected gain assumes the cap stays.`, values: { power_cap_share: share } }]);
    const verdict = renderVerdictText(d);
    expect(verdict.findIndex((l) => l.startsWith('  Power cap: the GPU was at its SW power cap'))).toBe(verdict.findIndex((l) => l.startsWith('  Fix optimized-runtime: expected')) + 1);
    for (const line of verdict) expect(line.length).toBeLessThanOrEqual(80);
    expect(verdict.join(' ').replace(/\s+/g, ' ')).toContain('the expected gain assumes the cap stays.');
    expect(renderDiagnosisMarkdown(d).join('\n')).toContain(`> ${d.headline.replace(/[|*_`<>[\]\\]/g, (ch) => `\\${ch}`)}\n\n**Note:** Power cap: the GPU was at its SW power cap in ${Math.round(share * 100)}% of loaded samples; the expected gain assumes the cap stays.\n`);
    expect(diagnosisToJson(d).caveats).toEqual([{ rule: 'hardware-limit', kind: 'power-cap', text: d.caveats![0]!.text, values: { power_cap_share: share } }]);
    expect(verdictCard(d)).toContain(`<p class="note" data-field="caveat" data-kind="power-cap">Power cap: the GPU was at its SW power cap in ${Math.round(share * 100)}% of loaded samples; the expected gain assumes the cap stays.</p>`);
  });

  it('no caveat where the GPU was not capped, nor where the cap itself is the finding', async () => {
    const level = await analyzeWith(LEVEL, (requests) => samplesOver(requests, () => ({ ...H100_POWER_BRAKE, clockEventMask: '0x0000000000000000', clockEvents: [], smClockMhz: 1980, utilization: 1 }), 500));
    expect(level.recommendations.map((r) => r.fix)).toEqual(['optimized-runtime']);
    expect(level.caveats).toBeUndefined();
    expect(diagnosisToJson(level).caveats).toEqual([]);
    const brake = await analyzeWith(LEVEL, (requests) => samplesOver(requests, () => H100_POWER_BRAKE, 500));
    expect(brake.caveats).toBeUndefined();
  });
});

describe('rankFindings reads the registry', () => {
  it('only rules that declare a confounding kind lift a finding of that kind', () => {
    const confounding = RULES.filter((r) => r.confounds !== undefined).map((r) => [r.id, Object.keys(r.confounds!)]);
    expect(confounding).toEqual([
      ['latency-drift', ['thermal-throttling', 'power-throttling']],
      ['hardware-limit', ['throttling']],
    ]);
    const finding = (savedMeanMs: number, kind?: string) => ({
      confidence: 0.9,
      evidence: [],
      savedMeanMs,
      estimatedGain: { metric: 'mean_ms' as const, currentValue: 100, expectedValue: 100 - savedMeanMs, basis: 'b' },
      nextStep: { text: 'n' },
      exampleTraceIds: [],
      ...(kind !== undefined ? { kind } : {}),
    });
    const rule = (id: string) => RULES.find((r) => r.id === id)!;
    // A drift whose kind is not declared (memory growth) ranks by saving as before.
    const plain = rankFindings([
      { rule: rule('latency-drift'), finding: finding(5, 'gpu-memory-growth') },
      { rule: rule('quantization'), finding: finding(40) },
    ]);
    expect(plain.map((r) => r.fix)).toEqual(['quantization', 'latency-drift']);
    expect(plain[0]?.estimatedGain?.confoundedBy).toBeUndefined();
    // Sustained throttling behind hardware-limit goes above a larger retraining saving.
    const lifted = rankFindings([
      { rule: rule('prune-distill'), finding: finding(40) },
      { rule: rule('hardware-limit'), finding: finding(5, 'throttling') },
    ]);
    expect(lifted.map((r) => r.fix)).toEqual(['hardware-limit', 'prune-distill']);
    expect(lifted[1]?.estimatedGain?.confoundedBy?.fix).toBe('hardware-limit');
  });
});

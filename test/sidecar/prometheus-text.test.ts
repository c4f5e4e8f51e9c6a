import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GpuSample } from '../../src/model/gpu.js';
import type { CollectorSnapshot } from '../../src/sidecar/collector.js';
import { renderPrometheus } from '../../src/sidecar/prometheus-text.js';

const base: CollectorSnapshot = { mode: 'gpu', nowMs: 0, stale: false, failures: {}, durationS: {}, samplesCollected: 1, inventory: [] };

describe('Prometheus text', () => {
  it('emits no series for absent values (never 0) and escapes label values', () => {
    const text = renderPrometheus({
      ...base,
      sample: { schema: 'latency-doctor/gpu-sample@1', timeMs: 0, gpus: [{ uuid: 'GPU-1', index: 0, name: 'Odd "GPU"\\ name', temperatureC: 40, migMode: true }] },
      sampleAgeS: 0.5,
    });
    expect(text).toContain('hw_temperature{hw_id="GPU-1",hw_name="gpu0",hw_model="Odd \\"GPU\\"\\\\ name",hw_type="gpu",hw_sensor_location="gpu"} 40');
    expect(text).not.toContain('hw_gpu_utilization');
    expect(text).not.toContain('hw_power');
    expect(text).not.toContain('sensor_location="memory"');
    expect(text).not.toContain('gpu_clock_event_active');
    expect(text).toContain('gpu_sidecar_collect_success 1');
    expect(text.match(/^# TYPE hw_temperature gauge$/gm)).toHaveLength(1);
    expect(text).toMatch(/^# TYPE gpu_sidecar_collect_failures_total counter$/m);
    expect(text).toContain('gpu_sidecar_collect_failures_total{kind="gpu_lost"} 0');
  });

  it('decodes the mask into nine 0/1 series and keeps the raw mask', () => {
    const text = renderPrometheus({
      ...base,
      sample: { schema: 'latency-doctor/gpu-sample@1', timeMs: 0, gpus: [{ uuid: 'GPU-1', index: 0, clockEventMask: '0x0000000000000044', clockEvents: ['sw_power_cap', 'hw_thermal_slowdown'] }] },
    });
    expect(text.match(/^gpu_clock_event_active\{/gm)).toHaveLength(9);
    expect(text).toMatch(/reason="hw_thermal_slowdown"\} 1$/m);
    expect(text).toMatch(/reason="sw_thermal_slowdown"\} 0$/m);
    expect(text).toMatch(/^gpu_clock_event_mask\{.*\} 68$/m);
  });

  it('says so when it serves a stale sample, and has only health series before the first sample', () => {
    const stale = renderPrometheus({ ...base, stale: true, sampleAgeS: 42, sample: { schema: 'latency-doctor/gpu-sample@1', timeMs: 0, stale: true, gpus: [{ uuid: 'GPU-1', temperatureC: 70 }] } });
    expect(stale).toContain('gpu_sidecar_sample_stale 1');
    expect(stale).toContain('gpu_sidecar_collect_success 0');
    expect(stale).toContain('gpu_sidecar_sample_age 42');
    expect(stale).toMatch(/^hw_temperature\{.*\} 70$/m);
    const starting = renderPrometheus({ ...base, mode: 'starting', samplesCollected: 0, lastExitCode: 18, failures: { nvml: 2 } });
    expect(starting).toContain('gpu_sidecar_collect_success 0');
    expect(starting).toContain('gpu_sidecar_source_exit_code 18');
    expect(starting).toContain('gpu_sidecar_collect_failures_total{kind="nvml"} 2');
    expect(starting).not.toMatch(/^hw_/m);
  });

  it('HELP says what the series hold, on the H200 recorded on driver 580', () => {
    const line = readFileSync(new URL('../fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl', import.meta.url), 'utf8').split('\n')[0]!;
    const sample = JSON.parse(line) as GpuSample;
    expect(sample.gpus[0]?.driverVersion).toBe('580.159.04');
    const text = renderPrometheus({ ...base, sample, sampleAgeS: 0.5, durationS: { 'query-gpu': 0 } });
    // Driver 580 lists the reason counters: the HELP must not say they need 590+.
    expect(text).toMatch(/^gpu_clock_event_duration_total\{.*reason="sw_power_cap"\} 25\.343972$/m);
    expect(text).not.toMatch(/^# HELP gpu_clock_event_duration_total .*590/m);
    // ECC only: no XID series exists, so the HELP does not promise one.
    expect(text).toMatch(/^hw_errors_total\{.*error_type="ecc_corrected"\} 0$/m);
    expect(text).not.toMatch(/^# HELP hw_errors_total (?!.*XID errors are not exported).*XID/m);
    // A one-GPU pass has no spread of rows: 0 is not a collection time, and the HELP says so.
    expect(text).toMatch(/^# HELP gpu_sidecar_collect_duration .*0 with one GPU/m);
  });
});

/**
 * Range checks on GPU samples: the one table in model/gpu-ranges, as applied by the sample-file
 * reader the analyzer uses (the sidecar applies the same before serving; test/sidecar/chaos).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGpuSamples } from '../../src/formats/gpu-samples.js';
import { checkGpuRanges } from '../../src/model/gpu-ranges.js';
import type { GpuState } from '../../src/model/gpu.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-gpu-samples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GIB = 2 ** 30;

describe('checkGpuRanges', () => {
  it('keeps a plausible H100 reading untouched (same object)', () => {
    const gpu: GpuState = { uuid: 'GPU-1', temperatureC: 59, powerW: 631.95, utilization: 1, memoryUsedBytes: 19 * GIB, memoryTotalBytes: 80 * GIB, smClockMhz: 1980, temperatureMarginC: -3 };
    const checked = checkGpuRanges(gpu);
    expect(checked.rejected).toEqual([]);
    expect(checked.gpu).toBe(gpu);
  });

  it('drops impossible values, non-numbers, used memory above the total, negative reason seconds and MIG memory above its size', () => {
    const gpu = {
      uuid: 'GPU-1',
      temperatureC: 1e308,
      powerW: -1,
      utilization: 1e19,
      smClockMhz: 'fast',
      memoryUsedBytes: 90 * GIB,
      memoryTotalBytes: 80 * GIB,
      memClockMhz: 2619,
      clockEventSeconds: { sw_power_cap: -5, hw_slowdown: 2 },
      migInstances: [{ id: '1', memoryUsedBytes: 20 * GIB, memoryTotalBytes: 10 * GIB }, { id: '2', memoryUsedBytes: GIB, memoryTotalBytes: 10 * GIB }],
    } as unknown as GpuState;
    const { gpu: clean, rejected } = checkGpuRanges(gpu);
    expect(rejected).toEqual([
      'temperatureC=1e+308',
      'utilization=10000000000000000000',
      'powerW=-1',
      'smClockMhz="fast"',
      `memoryUsedBytes=${90 * GIB} > memoryTotalBytes=${80 * GIB}`,
      'clockEventSeconds.sw_power_cap=-5',
      `migInstances[1].memoryUsedBytes=${20 * GIB}`,
    ]);
    expect(clean).toEqual({
      uuid: 'GPU-1',
      memoryTotalBytes: 80 * GIB,
      memClockMhz: 2619,
      clockEventSeconds: { hw_slowdown: 2 },
      migInstances: [{ id: '1', memoryTotalBytes: 10 * GIB }, { id: '2', memoryUsedBytes: GIB, memoryTotalBytes: 10 * GIB }],
    });
  });

  it('utilization 0–100 % is a 0–1 fraction: 1 is kept, 1.01 is not', () => {
    expect(checkGpuRanges({ uuid: 'GPU-1', utilization: 1, memoryBusy: 0 }).rejected).toEqual([]);
    expect(checkGpuRanges({ uuid: 'GPU-1', utilization: 1.01 }).rejected).toEqual(['utilization=1.01']);
  });
});

describe('readGpuSamples range check', () => {
  it('drops out-of-range values the analyzer would otherwise trust, and names file:line for each such line', async () => {
    const file = join(dir, 'samples.jsonl');
    const line = (timeMs: number, gpu: Record<string, unknown>) => JSON.stringify({ schema: 'latency-doctor/gpu-sample@1', timeMs, gpus: [{ uuid: 'GPU-1', ...gpu }] });
    writeFileSync(file, [line(1, { temperatureC: 60, powerW: 300 }), line(2, { temperatureC: 1e308, powerW: 300 }), line(3, { temperatureC: 61, utilization: 1e21 })].join('\n'));
    const reported: Array<[string, readonly string[]]> = [];
    const samples = await readGpuSamples(file, { onOutOfRange: (place, rejected) => reported.push([place, rejected]) });
    expect(samples.map((s) => s.gpus[0])).toEqual([
      { uuid: 'GPU-1', temperatureC: 60, powerW: 300 },
      { uuid: 'GPU-1', powerW: 300 },
      { uuid: 'GPU-1', temperatureC: 61 },
    ]);
    expect(reported).toEqual([
      [`${file}:2`, ['GPU-1 temperatureC=1e+308']],
      [`${file}:3`, ['GPU-1 utilization=1e+21']],
    ]);
  });
});

describe('readGpuSamples on damaged files', () => {
  it('a tail of NUL bytes with no newline (what a power loss leaves after the last write) is one skipped line, never held whole', async () => {
    // The sidecar's real sample file, then 17 MiB of zeros (filesystems fill the unwritten end of
    // a file with them): before, the reader re-split everything read so far at every chunk.
    const real = readFileSync(new URL('../fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl', import.meta.url));
    const file = join(dir, 'power-loss.jsonl');
    writeFileSync(file, Buffer.concat([real, Buffer.alloc(17 * 2 ** 20)]));
    const warnings: string[] = [];
    const samples = await readGpuSamples(file, { onWarning: (w) => warnings.push(`${w.location}: ${w.message}`) });
    expect(samples).toHaveLength(84);
    expect(warnings).toEqual(['85: 1 line skipped: expected one JSON GPU sample per line (first: got a line longer than 16 MiB)']);
    await expect(readGpuSamples(file, { strict: true })).rejects.toThrow(/power-loss\.jsonl:85: expected one JSON GPU sample per line, got a line longer than 16 MiB/);
  });

  it('CRLF line endings, a BOM and a cut last line read as the sidecar wrote them', async () => {
    const real = readFileSync(new URL('../fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl', import.meta.url), 'utf8');
    const file = join(dir, 'windows.jsonl');
    writeFileSync(file, '\uFEFF' + real.replace(/\n/g, '\r\n').slice(0, -300));
    const warnings: string[] = [];
    const samples = await readGpuSamples(file, { onWarning: (w) => warnings.push(`${w.location}: ${w.message}`) });
    expect(samples).toHaveLength(83);
    expect(samples[0]!.gpus[0]!.name).toBe('NVIDIA H200');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^84: 1 line skipped: expected one JSON GPU sample per line/);
  });
});

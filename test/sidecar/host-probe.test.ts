import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostProbe, readCpuTemperature } from '../../src/sidecar/host-probe.js';

function sysfs(files: Record<string, string>): string {
  const root = mkdtempSync(join(os.tmpdir(), 'ld-sysfs-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('host probe', () => {
  it('reads memory and, from the second read on, CPU load as a fraction', async () => {
    const probe = new HostProbe();
    const first = await probe.read();
    expect(first.memoryTotalBytes).toBeGreaterThan(0);
    expect(first.memoryUsedBytes).toBeGreaterThan(0);
    expect(first.memoryUsedBytes).toBeLessThanOrEqual(first.memoryTotalBytes ?? 0);
    expect(first).not.toHaveProperty('cpuUtilization');
    const end = Date.now() + 150;
    while (Date.now() < end); // some CPU work between the two reads
    const second = await probe.read();
    expect(second.cpuUtilization).toBeGreaterThanOrEqual(0);
    expect(second.cpuUtilization).toBeLessThanOrEqual(1);
  });

  it('finds the CPU package temperature in hwmon (coretemp), skipping other sensors', async () => {
    const root = sysfs({
      'hwmon/hwmon0/name': 'nvme\n',
      'hwmon/hwmon0/temp1_input': '38850\n',
      'hwmon/hwmon1/name': 'coretemp\n',
      'hwmon/hwmon1/temp1_input': '52000\n',
    });
    try {
      expect(await readCpuTemperature(root)).toBe(52);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('falls back to the x86_pkg_temp thermal zone, and says nothing when there is no sensor', async () => {
    const root = sysfs({
      'thermal/thermal_zone0/type': 'acpitz\n',
      'thermal/thermal_zone0/temp': '27800\n',
      'thermal/thermal_zone1/type': 'x86_pkg_temp\n',
      'thermal/thermal_zone1/temp': '61000\n',
    });
    const empty = sysfs({});
    try {
      expect(await readCpuTemperature(root)).toBe(61);
      expect(await readCpuTemperature(empty)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

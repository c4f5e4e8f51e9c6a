/**
 * @module sidecar/host-probe
 * Host side of a sample: CPU load, CPU temperature where readable, memory; and, when nvidia-smi
 * is absent, systeminformation's GPU inventory. Memory uses systeminformation's asynchronous
 * /proc/meminfo read. CPU load comes from os.cpus() deltas and the temperature from an
 * asynchronous sysfs read (hwmon, then thermal zones, every 30 s), because systeminformation's
 * currentLoad() and cpuTemperature() run synchronous shells (`execSync`) that block the event
 * loop: a profile showed ~90 ms of spawnSync per cpuTemperature() call.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import si from 'systeminformation';
import type { HostState } from '../model/gpu.js';

/** One GPU systeminformation found (inventory only: no throttle, P-state or UUID there). */
export interface GpuInventoryItem {
  readonly vendor?: string;
  readonly model?: string;
  readonly vramMiB?: number;
  readonly driverVersion?: string;
}

const TEMPERATURE_EVERY_MS = 30_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Reads the host state; keep one instance so CPU load is a delta between calls. */
export class HostProbe {
  private lastTimes: { idle: number; total: number } | undefined;
  private temperature: number | undefined;
  private temperatureReadAt = 0;
  private temperatureRunning = false;

  /** Host state now; never throws (unreadable parts are absent). */
  async read(): Promise<HostState> {
    const state: Mutable<HostState> = {};
    const cpu = this.cpuUtilization();
    if (cpu !== undefined) state.cpuUtilization = cpu;
    try {
      const mem = await si.mem();
      // `active` excludes buffers/cache, like `free`'s "used".
      if (Number.isFinite(mem.active) && mem.total > 0) {
        state.memoryUsedBytes = mem.active;
        state.memoryTotalBytes = mem.total;
      }
    } catch {
      state.memoryUsedBytes = os.totalmem() - os.freemem();
      state.memoryTotalBytes = os.totalmem();
    }
    this.refreshTemperature();
    if (this.temperature !== undefined) state.cpuTemperatureC = this.temperature;
    return state;
  }

  private cpuUtilization(): number | undefined {
    let idle = 0;
    let total = 0;
    for (const cpu of os.cpus()) {
      const t = cpu.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    const last = this.lastTimes;
    this.lastTimes = { idle, total };
    if (last === undefined || total <= last.total) return undefined;
    return Math.min(1, Math.max(0, 1 - (idle - last.idle) / (total - last.total)));
  }

  private refreshTemperature(): void {
    const now = Date.now();
    if (this.temperatureRunning || now - this.temperatureReadAt < TEMPERATURE_EVERY_MS) return;
    this.temperatureRunning = true;
    this.temperatureReadAt = now;
    readCpuTemperature()
      .then((t) => {
        this.temperature = t;
      })
      .catch(() => {
        this.temperature = undefined;
      })
      .finally(() => {
        this.temperatureRunning = false;
      });
  }

  /** GPUs systeminformation sees (used only when nvidia-smi is absent; its NVIDIA path needs lspci). */
  async gpuInventory(): Promise<GpuInventoryItem[]> {
    try {
      const graphics = await si.graphics();
      return graphics.controllers.map((c) => {
        const item: Mutable<GpuInventoryItem> = {};
        if (c.vendor) item.vendor = c.vendor;
        if (c.model) item.model = c.model;
        if (typeof c.vram === 'number' && c.vram > 0) item.vramMiB = c.vram;
        if (c.driverVersion) item.driverVersion = c.driverVersion;
        return item;
      });
    } catch {
      return [];
    }
  }
}

// hwmon drivers that report the CPU package temperature as temp1 (Intel, AMD, ARM SoCs).
const CPU_HWMON = new Set(['coretemp', 'k10temp', 'zenpower', 'cpu_thermal', 'soc_thermal']);
// Thermal-zone types that mean the CPU package.
const CPU_ZONES = ['x86_pkg_temp', 'cpu-thermal', 'cpu_thermal', 'soc_thermal', 'acpitz'];

async function readMilliCelsius(file: string): Promise<number | undefined> {
  const value = Number((await readFile(file, 'utf8')).trim());
  return Number.isFinite(value) && value > 0 ? value / 1000 : undefined;
}

/** CPU package temperature from sysfs, or undefined (containers and VMs usually have none). */
export async function readCpuTemperature(sysfs = '/sys/class'): Promise<number | undefined> {
  const hwmons = await readdir(`${sysfs}/hwmon`).catch(() => [] as string[]);
  for (const hwmon of hwmons.sort()) {
    const name = (await readFile(`${sysfs}/hwmon/${hwmon}/name`, 'utf8').catch(() => '')).trim();
    if (!CPU_HWMON.has(name)) continue;
    const celsius = await readMilliCelsius(`${sysfs}/hwmon/${hwmon}/temp1_input`).catch(() => undefined);
    if (celsius !== undefined) return celsius;
  }
  const zones = (await readdir(`${sysfs}/thermal`).catch(() => [] as string[])).filter((z) => z.startsWith('thermal_zone')).sort();
  const types = await Promise.all(zones.map((z) => readFile(`${sysfs}/thermal/${z}/type`, 'utf8').then((t) => t.trim(), () => '')));
  for (const wanted of CPU_ZONES) {
    const index = types.indexOf(wanted);
    if (index < 0) continue;
    const celsius = await readMilliCelsius(`${sysfs}/thermal/${zones[index]}/temp`).catch(() => undefined);
    if (celsius !== undefined) return celsius;
  }
  return undefined;
}

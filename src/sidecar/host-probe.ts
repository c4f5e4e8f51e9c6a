/**
 * @module sidecar/host-probe
 * Host side of a sample: CPU load, CPU temperature where readable, memory; and, when nvidia-smi
 * is absent, systeminformation's GPU inventory. CPU load comes from os.cpus() deltas because
 * systeminformation's currentLoad() runs a synchronous shell (`cat /proc/stat`) per call, which
 * blocks the event loop; the temperature (also a synchronous shell there) is read at most every
 * 30 s; memory uses systeminformation's asynchronous /proc/meminfo read.
 */
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
    si.cpuTemperature()
      .then((t) => {
        this.temperature = typeof t.main === 'number' && Number.isFinite(t.main) && t.main > 0 ? t.main : undefined;
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

/**
 * The sidecar under a misbehaving nvidia-smi (the scripted fake in test/sidecar/fake-nvidia-smi):
 * endless lines, floods, impossible values, a hung `-q -x` with a grandchild, a tool that appears
 * only later, and a bug in an event handler. Every wait is a bounded poll for an event, never a
 * timed assertion.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readGpuSamples } from '../../src/formats/gpu-samples.js';
import { Collector } from '../../src/sidecar/collector.js';
import type { HostState } from '../../src/model/gpu.js';
import { HostProbe } from '../../src/sidecar/host-probe.js';
import { classifyFailure, NvidiaSmiProbe, type NvidiaSmiProbeOptions } from '../../src/sidecar/nvidia-smi-probe.js';
import type { FailureKind, ProbeEvents, ProbePass } from '../../src/sidecar/probe.js';
import { startSidecar, type RunningSidecar } from '../../src/sidecar/sidecar.js';
import { latestRowPerGpu } from '../../src/sidecar/query-fields.js';
import { LineSplitter } from '../../src/sidecar/supervised-child.js';
import { FAKE_NVIDIA_SMI, fakeEnv, processesWithMarker, waitFor } from './support.js';

let counter = 0;
const cleanups: Array<() => Promise<void>> = [];
const markers: string[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // Every child, and every process in its group, is gone once stop()/close() resolved.
  for (const marker of markers.splice(0)) expect(processesWithMarker(marker)).toEqual([]);
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ld-chaos-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function newMarker(): string {
  const marker = `chaos-test-${process.pid}-${++counter}`;
  markers.push(marker);
  return marker;
}

interface Recorded {
  readonly passes: ProbePass[];
  readonly failures: Array<{ kind: FailureKind; message: string }>;
  readonly warnings: string[];
  readonly unavailable: string[];
}

/** Starts the probe alone against the fake, recording what it reports. */
function startProbe(settings: Record<string, string>, options: NvidiaSmiProbeOptions = {}, override: Partial<ProbeEvents> = {}): { probe: NvidiaSmiProbe; recorded: Recorded; log: string } {
  const marker = newMarker();
  const log = join(scratch(), 'invocations.jsonl');
  const probe = new NvidiaSmiProbe({ periodMs: 200, xmlPeriodMs: 0, staticPeriodMs: 0, startupAllowanceMs: 1000, env: fakeEnv(marker, { FAKE_NVSMI_LOG: log, ...settings }), ...options });
  const recorded: Recorded = { passes: [], failures: [], warnings: [], unavailable: [] };
  probe.start({
    pass: (pass) => recorded.passes.push(pass),
    failure: (kind, message) => recorded.failures.push({ kind, message }),
    exit: () => undefined,
    unavailable: (message) => recorded.unavailable.push(message),
    warning: (message) => recorded.warnings.push(message),
    secondary: () => undefined,
    ...override,
  });
  cleanups.push(() => probe.stop());
  return { probe, recorded, log };
}

async function startFakeSidecar(settings: Record<string, string>, samplesFile?: string): Promise<RunningSidecar> {
  const marker = newMarker();
  const sidecar = await startSidecar({
    port: 0,
    periodMs: 200,
    xmlPeriodMs: 0,
    startupAllowanceMs: 5000,
    env: fakeEnv(marker, settings),
    warn: () => undefined,
    ...(samplesFile !== undefined ? { samplesFile } : {}),
  });
  cleanups.push(() => sidecar.close());
  return sidecar;
}

function invocations(log: string): string[][] {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** The pid the fake's `-q -x` wrote for its grandchild, once written. */
function grandchildPid(pidFile: string): Promise<number> {
  return waitFor('the grandchild', () => {
    try {
      const text = readFileSync(pidFile, 'utf8');
      return text === '' ? undefined : Number(text);
    } catch {
      return undefined;
    }
  });
}

const H100_UUID = 'GPU-00000000-0000-0000-0000-000000000000';

describe('line length cap', () => {
  it('holds at most the cap of an endless line, drops it whole and counts it, then reads the next line', () => {
    const splitter = new LineSplitter(1024);
    let overflows = 0;
    const block = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) {
      const { lines, overflows: n } = splitter.push(block);
      expect(lines).toEqual([]);
      overflows += n;
      expect(splitter.heldChars).toBeLessThanOrEqual(1024);
    }
    expect(overflows).toBe(1);
    const after = splitter.push('tail of the long line\nrow one\r\nrow ');
    expect(after).toEqual({ lines: ['row one'], overflows: 0 });
    expect(splitter.push('two\n')).toEqual({ lines: ['row two'], overflows: 0 });
    // A complete line over the cap inside one chunk is dropped as well.
    expect(splitter.push(`${'y'.repeat(2000)}\nok\n`)).toEqual({ lines: ['ok'], overflows: 1 });
  });

  it('a child writing 32 MiB without a newline: counted as garbage, the sidecar keeps serving and reads the rows after it', async () => {
    const sidecar = await startFakeSidecar({ FAKE_NVSMI_MODE: 'long-line', FAKE_NVSMI_ARG: '32' });
    await waitFor('rows after the long line', () => (sidecar.collector.snapshot().samplesCollected >= 2 ? true : undefined), 30_000);
    const snapshot = sidecar.collector.snapshot();
    expect(snapshot.failures.garbage).toBe(1);
    expect(snapshot.sample?.gpus[0]?.temperatureC).toBe(59);
    const metrics = await fetch(`${sidecar.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^gpu_sidecar_collect_failures_total\{kind="garbage"\} 1$/m);
  }, 40_000);
});

describe('process groups', () => {
  it('a timed-out -q -x is killed with its process group: its grandchild is gone too', async () => {
    const pidFile = join(scratch(), 'grandchild.pid');
    const { recorded } = startProbe({ FAKE_NVSMI_MODE: 'xml-hang', FAKE_NVSMI_GRANDCHILD: pidFile }, { xmlPeriodMs: 60_000, xmlTimeoutMs: 1500 });
    const pid = await grandchildPid(pidFile);
    expect(isAlive(pid)).toBe(true);
    await waitFor('the -q -x timeout', () => recorded.failures.find((f) => f.kind === 'timeout' && f.message.startsWith('nvidia-smi -q -x')));
    await waitFor('the grandchild to be gone', () => (isAlive(pid) ? undefined : true), 5000);
  });

  it('stop() ends a hung -q -x with its grandchild', async () => {
    const pidFile = join(scratch(), 'grandchild.pid');
    const { probe } = startProbe({ FAKE_NVSMI_MODE: 'xml-hang', FAKE_NVSMI_GRANDCHILD: pidFile }, { xmlPeriodMs: 60_000, xmlTimeoutMs: 60_000, killGraceMs: 500 });
    const pid = await grandchildPid(pidFile);
    await probe.stop();
    await waitFor('the grandchild to be gone', () => (isAlive(pid) ? undefined : true), 5000);
  });
});

describe('impossible values', () => {
  it('are dropped and counted as garbage before /metrics or the sample file see them; the analyzer reader gets none', async () => {
    const samplesFile = join(scratch(), 'gpu.jsonl');
    const sidecar = await startFakeSidecar({ FAKE_NVSMI_SET: 'temperature.gpu=1e308;power.draw=-1;utilization.gpu=1e21;memory.used=90000' }, samplesFile);
    await waitFor('samples', () => (sidecar.collector.snapshot().samplesCollected >= 3 ? true : undefined));
    const snapshot = sidecar.collector.snapshot();
    expect(snapshot.failures.garbage).toBeGreaterThanOrEqual(3);
    for (const part of ['out-of-range nvidia-smi values', 'temperatureC=1e+308', 'powerW=-1', `utilization=${String(1e21 / 100)}`, `memoryUsedBytes=${90000 * 2 ** 20} > memoryTotalBytes=${81559 * 2 ** 20}`]) {
      expect(snapshot.lastError).toContain(part);
    }
    const gpu = snapshot.sample?.gpus[0];
    expect(gpu?.uuid).toBe(H100_UUID);
    for (const field of ['temperatureC', 'powerW', 'utilization', 'memoryUsedBytes'] as const) expect(gpu).not.toHaveProperty(field);
    // The plausible fields of the same rows are kept.
    expect(gpu?.memoryTemperatureC).toBe(54);
    expect(gpu?.smClockMhz).toBe(1980);
    const text = await (await fetch(`${sidecar.url}/metrics`)).text();
    expect(text).not.toMatch(/^hw_temperature\{[^}]*hw_sensor_location="gpu"\}/m);
    expect(text).not.toMatch(/^hw_power\{/m);
    expect(text).not.toMatch(/^hw_gpu_utilization\{/m);
    await sidecar.close();
    const read = await readGpuSamples(samplesFile);
    expect(read.length).toBeGreaterThanOrEqual(3);
    for (const sample of read) {
      expect(sample.gpus[0]).not.toHaveProperty('temperatureC');
      expect(sample.gpus[0]?.smClockMhz).toBe(1980);
    }
  });
});

describe('a flood of valid rows', () => {
  it('parses only the newest row per GPU and period, not every row', async () => {
    const dir = scratch();
    const rowsFile = join(dir, 'rows');
    const { recorded } = startProbe({ FAKE_NVSMI_MODE: 'flood', FAKE_NVSMI_ARG: '2000', FAKE_NVSMI_ROWS: rowsFile });
    const written = await waitFor('20000 rows written', () => {
      try {
        const n = Number(readFileSync(rowsFile, 'utf8'));
        return n >= 20_000 ? n : undefined;
      } catch {
        return undefined;
      }
    }, 30_000);
    await waitFor('a pass', () => (recorded.passes.length > 0 ? true : undefined));
    // Without the gate every row is its own pass (a repeated uuid ends a pass): ≥ 20000 here.
    expect(recorded.passes.length).toBeLessThan(written / 100);
    expect(recorded.warnings.some((w) => w.includes('faster than its -lms period'))).toBe(true);
    for (const pass of recorded.passes) expect(pass.gpus.map((g) => g.uuid)).toEqual([H100_UUID]);
  }, 40_000);
});

describe('slow queries', () => {
  it('at most one slow query (identity or -q -x) in flight next to the stream', async () => {
    const { recorded, log } = startProbe({ FAKE_NVSMI_MODE: 'xml-hang' }, { xmlPeriodMs: 60_000, xmlTimeoutMs: 60_000, staticPeriodMs: 200 });
    await waitFor('a held-back identity query', () => recorded.warnings.find((w) => w.includes('-q -x query still running; the identity query waits')), 15_000);
    // The fake logs its argv once Node has started it, so the held-back warning can come first.
    const calls = await waitFor('the -q -x call in the log', () => {
      const logged = invocations(log);
      return logged.some((args) => args.includes('-x')) ? logged : undefined;
    });
    const xmlAt = calls.findIndex((args) => args.includes('-x'));
    expect(xmlAt).toBeGreaterThan(0);
    const identity = (args: string[]) => args.some((a) => a.startsWith('--query-gpu=')) && !args.includes('-lms');
    expect(calls.slice(0, xmlAt).filter(identity)).toHaveLength(1);
    expect(calls.slice(xmlAt).filter(identity)).toEqual([]);
    expect(calls.filter((args) => args.includes('-x'))).toHaveLength(1);
  }, 30_000);
});

describe('nvidia-smi appearing later', () => {
  it('host-only at first, then GPU samples once the tool is on PATH (re-checked with backoff)', async () => {
    const bin = scratch();
    const marker = newMarker();
    const probe = new NvidiaSmiProbe({ periodMs: 200, xmlPeriodMs: 0, staticPeriodMs: 0, rediscoverMinMs: 100, rediscoverMaxMs: 400, env: { ...fakeEnv(marker), PATH: `${bin}:${dirname(process.execPath)}` } });
    const warnings: string[] = [];
    const collector = new Collector(probe, new HostProbe(), { periodMs: 200, warn: (m) => warnings.push(m) });
    collector.start();
    cleanups.push(() => collector.close());
    await waitFor('host-only', () => (collector.snapshot().mode === 'host-only' ? true : undefined));
    symlinkSync(FAKE_NVIDIA_SMI, join(bin, 'nvidia-smi'));
    await waitFor('gpu mode', () => (collector.snapshot().mode === 'gpu' ? true : undefined), 15_000);
    expect(collector.snapshot().sample?.gpus[0]?.uuid).toBe(H100_UUID);
    expect(warnings.filter((w) => w.includes('not found'))).toHaveLength(1);
  }, 30_000);
});

describe('nvidia-smi returning during a host read', () => {
  it('the first GPU pass is served, not replaced by the host-only sample whose read it overtook', async () => {
    // Scripted probe and a host probe whose read is held open: the order of events is set by the test, not by timers.
    let events: ProbeEvents | undefined;
    const probe = { start: (e: ProbeEvents) => void (events = e), stop: async () => undefined };
    const releases: Array<() => void> = [];
    class HeldHostProbe extends HostProbe {
      override async read(): Promise<HostState> {
        const state = await super.read();
        await new Promise<void>((resolve) => releases.push(resolve));
        return state;
      }
    }
    const collector = new Collector(probe, new HeldHostProbe(), { periodMs: 20, warn: () => undefined });
    collector.start();
    cleanups.push(async () => {
      for (const release of releases.splice(0)) release();
      await collector.close();
    });
    events?.unavailable('nvidia-smi not found');
    // The start's own read, then a host-only tick's read: both held.
    await waitFor('a host-only tick reading the host', () => (releases.length >= 2 ? true : undefined));
    expect(collector.snapshot().mode).toBe('host-only');
    events?.pass({ timeMs: Date.now(), gpus: [{ uuid: H100_UUID, temperatureC: 60 }], durationS: 0.01 });
    for (const release of releases.splice(0)) release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const snapshot = collector.snapshot();
    expect(snapshot.mode).toBe('gpu');
    expect(snapshot.sample?.gpus.map((g) => g.uuid)).toEqual([H100_UUID]);
  });
});

describe('errors inside the probe', () => {
  it('an event handler that throws becomes a counted failure, never an uncaught exception', async () => {
    const { recorded } = startProbe(
      {},
      {},
      {
        pass: () => {
          throw new Error('boom in pass handler');
        },
      },
    );
    await waitFor('the fault', () => recorded.failures.find((f) => f.message.includes('boom in pass handler')), 15_000);
  });

  it('classifyFailure: one truth table for every query', () => {
    expect(classifyFailure('anything', true, 'xml')).toBe('timeout');
    expect(classifyFailure('Unable to determine the device handle for gpu 0000:00:09.0: GPU is lost', false, 'xml')).toBe('gpu_lost');
    expect(classifyFailure('Failed to initialize NVML: Driver/library version mismatch', false, 'discovery')).toBe('nvml');
    expect(classifyFailure('some other text', false, 'discovery')).toBe('discovery');
    expect(classifyFailure('some other text', false, 'garbage')).toBe('garbage');
  });
});

describe('latestRowPerGpu', () => {
  it('keeps the newest row of each GPU and the last non-row lines, in arrival order, without knowing the GPU count', () => {
    const row = (gpu: string, t: number) => `2026/07/14 08:12:${String(t).padStart(2, '0')}.000, GPU-0000000${gpu}-0000-0000-0000-000000000000, ${gpu}, 40`;
    const lines = [row('0', 1), row('1', 1), row('2', 1), row('0', 2), 'Failed to initialize NVML: Unknown Error', row('1', 2), row('2', 2), ''];
    expect(latestRowPerGpu(lines)).toEqual({ kept: [row('0', 2), 'Failed to initialize NVML: Unknown Error', row('1', 2), row('2', 2)], dropped: 3 });
    // A normal multi-GPU pass loses nothing.
    expect(latestRowPerGpu([row('0', 1), row('1', 1), row('2', 1)]).dropped).toBe(0);
    const noise = Array.from({ length: 20 }, (_, i) => `noise ${i}`);
    expect(latestRowPerGpu(noise, 8).kept).toEqual(noise.slice(12));
  });
});

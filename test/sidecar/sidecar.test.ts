import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readGpuSamples } from '../../src/formats/gpu-samples.js';
import type { GpuSample } from '../../src/model/gpu.js';
import { startSidecar, type RunningSidecar, type SidecarOptions } from '../../src/sidecar/sidecar.js';
import { fakeEnv, fixture, processesWithMarker, REPO_ROOT, SIDECAR_TEST_DIR, waitFor } from './support.js';

const running: Array<{ sidecar: RunningSidecar; marker: string; dir: string }> = [];
let counter = 0;

interface Started {
  readonly sidecar: RunningSidecar;
  readonly warnings: string[];
  readonly dir: string;
  readonly log: string;
  metrics(): Promise<string>;
  /** Value of the first series whose text starts with `prefix` (name plus label text). */
  value(prefix: string): Promise<number | undefined>;
}

async function start(settings: Record<string, string>, options: SidecarOptions = {}): Promise<Started> {
  const marker = `sidecar-test-${process.pid}-${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), 'ld-sidecar-'));
  const log = join(dir, 'invocations.jsonl');
  const warnings: string[] = [];
  const sidecar = await startSidecar({
    port: 0,
    periodMs: 200,
    xmlPeriodMs: 0,
    startupAllowanceMs: 1000,
    env: fakeEnv(marker, { FAKE_NVSMI_LOG: log, ...settings }),
    warn: (m) => warnings.push(m),
    ...options,
  });
  running.push({ sidecar, marker, dir });
  const metrics = async () => {
    const res = await fetch(`${sidecar.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  const value = async (prefix: string) => {
    const line = (await metrics()).split('\n').find((l) => l.startsWith(prefix));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { sidecar, warnings, dir, log, metrics, value };
}

function invocations(log: string): string[][] {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
  } catch {
    return [];
  }
}

const streams = (log: string) => invocations(log).filter((args) => args.includes('-lms'));

afterEach(async () => {
  for (const { sidecar, marker, dir } of running.splice(0)) {
    await sidecar.close();
    // Every nvidia-smi child (and its process group) is gone once close() resolves.
    expect(processesWithMarker(marker)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }
});

const H100_TEMP = 'hw_temperature{hw_id="GPU-00000000-0000-0000-0000-000000000000",hw_name="gpu0",hw_model="NVIDIA H100 80GB HBM3",hw_type="gpu",hw_sensor_location="gpu"}';

describe('sidecar against the fake nvidia-smi', () => {
  it('streams one long-lived -lms child, serves /metrics, /healthz, /samples and writes the sample file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-samples-'));
    const samplesFile = join(dir, 'gpu.jsonl');
    try {
      const s = await start({ FAKE_NVSMI_SECTIONS: 'idle,load' }, { samplesFile });
      await waitFor('5 samples', () => (s.sidecar.collector.snapshot().samplesCollected >= 5 ? true : undefined));
      const samples = (await (await fetch(`${s.sidecar.url}/samples`)).json()) as GpuSample[];
      expect(samples.length).toBeGreaterThanOrEqual(5);
      // idle and load rows alternate: 41 °C idle, 59 °C load in the H100 capture.
      expect(new Set(samples.map((x) => x.gpus[0]?.temperatureC))).toEqual(new Set([41, 59]));
      expect(samples.every((x) => x.gpus.length === 1 && x.schema === 'latency-doctor/gpu-sample@1')).toBe(true);
      const limited = (await (await fetch(`${s.sidecar.url}/samples?limit=2`)).json()) as GpuSample[];
      expect(limited).toHaveLength(2);
      expect((await fetch(`${s.sidecar.url}/samples?limit=x`)).status).toBe(400);
      expect([41, 59]).toContain(await s.value(H100_TEMP));
      expect(await s.value('gpu_sidecar_collect_success')).toBe(1);
      expect(await s.value('gpu_sidecar_sample_stale')).toBe(0);
      const health = (await (await fetch(`${s.sidecar.url}/healthz`)).json()) as { status: string; gpus: unknown[] };
      expect(health.status).toBe('ok');
      expect(health.gpus).toHaveLength(1);
      // Discovery once, the identity query once at start, then a single streaming child for the whole run.
      expect(invocations(s.log).filter((a) => a.includes('--help-query-gpu'))).toHaveLength(1);
      const identity = invocations(s.log).filter((a) => a.some((x) => x.startsWith('--query-gpu=')) && !a.includes('-lms'));
      expect(identity).toHaveLength(1);
      expect(identity[0]?.[0]).toMatch(/^--query-gpu=uuid,.*,name$/);
      const stream = streams(s.log);
      expect(stream).toHaveLength(1);
      expect(stream[0]).toEqual(expect.arrayContaining(['--format=csv,noheader,nounits', '-lms', '200']));
      await s.sidecar.close();
      const fromFile = await readGpuSamples(samplesFile);
      expect(fromFile.length).toBeGreaterThanOrEqual(5);
      expect(fromFile[0]?.gpus[0]?.uuid).toBe('GPU-00000000-0000-0000-0000-000000000000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keys GPUs by uuid and groups one sample per pass on a multi-GPU host', async () => {
    const s = await start({ FAKE_NVSMI_GPUS: '3' });
    await waitFor('3 samples', () => (s.sidecar.collector.snapshot().samplesCollected >= 3 ? true : undefined));
    const samples = s.sidecar.collector.recent();
    for (const sample of samples) expect(sample.gpus.map((g) => g.index)).toEqual([0, 1, 2]);
    expect(new Set(samples[0]?.gpus.map((g) => g.uuid)).size).toBe(3);
    const text = await s.metrics();
    expect(text.match(/^hw_power\{/gm)).toHaveLength(3);
    expect(await s.value('gpu_sidecar_gpus')).toBe(3);
  });

  it('without nvidia-smi: host-only mode, one warning, host metrics still served', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ld-nopath-'));
    try {
      const s = await start({ PATH: empty });
      await waitFor('host sample', () => (s.sidecar.collector.snapshot().samplesCollected >= 2 ? true : undefined));
      expect(s.warnings.filter((w) => w.includes('not found'))).toHaveLength(1);
      const text = await s.metrics();
      expect(text).toMatch(/^hw_host_memory_limit \d+/m);
      expect(text).not.toMatch(/^hw_temperature\{hw_id="GPU/m);
      expect(await s.value('gpu_sidecar_collect_success')).toBe(1);
      // No GPU in the served sample: what GpuMissing compares with the host's past count.
      expect(await s.value('gpu_sidecar_gpus')).toBe(0);
      const health = (await (await fetch(`${s.sidecar.url}/healthz`)).json()) as { status: string };
      expect(health.status).toBe('host-only');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('kills and restarts an nvidia-smi that hangs (watchdog), counting timeouts', async () => {
    const s = await start({ FAKE_NVSMI_MODE: 'hang' });
    await waitFor('a restart', () => (streams(s.log).length >= 2 ? true : undefined), 15_000);
    expect(await s.value('gpu_sidecar_collect_failures_total{kind="timeout"}')).toBeGreaterThanOrEqual(1);
    expect(s.sidecar.collector.snapshot().lastError).toMatch(/silent/);
  }, 30_000);

  it('serves the last good sample marked stale while collection is wedged, then recovers', async () => {
    // The first child wedges after 3 passes; the restarted one needs 4 s for its first row (within
    // the startup allowance), so there is a stale phase between the two.
    const wedge = join(mkdtempSync(join(tmpdir(), 'ld-wedge-')), 'wedged');
    const s = await start({ FAKE_NVSMI_MODE: 'hang-after', FAKE_NVSMI_ARG: '3', FAKE_NVSMI_WEDGE: wedge, FAKE_NVSMI_RECOVER_MS: '4000' }, { startupAllowanceMs: 6000 });
    await waitFor('first samples', () => (s.sidecar.collector.snapshot().samplesCollected >= 3 ? true : undefined));
    const text = await waitFor('stale', async () => {
      const t = await s.metrics();
      return /^gpu_sidecar_sample_stale 1$/m.test(t) ? t : undefined;
    }, 10_000);
    // Still the last good values, and says so (all read from one answer).
    expect(text).toContain(`${H100_TEMP} 59`);
    expect(text).toMatch(/^gpu_sidecar_collect_success 0$/m);
    expect(Number(/^gpu_sidecar_sample_age (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(0.6);
    // The watchdog restarts the child, which delivers fresh rows again.
    await waitFor('fresh again', async () => ((await s.value('gpu_sidecar_sample_stale')) === 0 ? true : undefined), 20_000);
    expect(streams(s.log).length).toBeGreaterThanOrEqual(2);
    expect(s.sidecar.collector.snapshot().failures.timeout).toBeGreaterThanOrEqual(1);
    rmSync(join(wedge, '..'), { recursive: true, force: true });
  }, 40_000);

  it('/healthz answers 503 while the served sample is stale', async () => {
    const wedge = join(mkdtempSync(join(tmpdir(), 'ld-wedge-')), 'wedged');
    // After the first child wedges, the restarted one stays silent (within its long startup allowance).
    const s = await start({ FAKE_NVSMI_MODE: 'hang-after', FAKE_NVSMI_ARG: '2', FAKE_NVSMI_WEDGE: wedge, FAKE_NVSMI_RECOVER_MS: '60000' }, { startupAllowanceMs: 60_000 });
    const health = await waitFor('a stale 503', async () => {
      const res = await fetch(`${s.sidecar.url}/healthz`);
      const body = (await res.json()) as { status: string; stale: boolean };
      return res.status === 503 ? body : undefined;
    }, 15_000);
    expect(health).toMatchObject({ status: 'stale', stale: true });
    rmSync(join(wedge, '..'), { recursive: true, force: true });
  }, 30_000);

  it('NVML error exit (18, message on stdout): counted with its text and exit code, never a crash', async () => {
    const s = await start({ FAKE_NVSMI_MODE: 'nvml-error' });
    // Two failed attempts (backoff 1 s), said once: one line on stderr with NVML's own words.
    await waitFor('nvml failures', async () => ((await s.value('gpu_sidecar_collect_failures_total{kind="nvml"}')) ?? 0) >= 2 ? true : undefined, 10_000);
    expect(s.warnings.filter((w) => w.includes('GPU sampling'))).toEqual([
      'GPU sampling failed (nvml): nvidia-smi --help-query-gpu: Failed to initialize NVML: Driver/library version mismatch / NVML library version: 590.48; retrying with backoff (/healthz and gpu_sidecar_collect_failures_total follow it)',
    ]);
    expect(await s.value('gpu_sidecar_source_exit_code')).toBe(18);
    expect(s.sidecar.collector.snapshot().lastError).toContain('Driver/library version mismatch');
    expect(await s.value('gpu_sidecar_collect_success')).toBe(0);
    const health = await fetch(`${s.sidecar.url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe('failing');
  });

  it('garbage lines and stderr noise: counted, samples keep coming', async () => {
    const s = await start({ FAKE_NVSMI_MODE: 'garbage' });
    await waitFor('samples', () => (s.sidecar.collector.snapshot().samplesCollected >= 3 ? true : undefined));
    expect(await s.value('gpu_sidecar_collect_failures_total{kind="garbage"}')).toBeGreaterThanOrEqual(1);
    expect(await s.value(H100_TEMP)).toBe(59);
    const noisy = await start({ FAKE_NVSMI_MODE: 'stderr-noise' });
    await waitFor('samples', () => (noisy.sidecar.collector.snapshot().samplesCollected >= 3 ? true : undefined));
    expect(await noisy.value('gpu_sidecar_collect_success')).toBe(1);
    expect(streams(noisy.log)).toHaveLength(1);
  });

  it('truncated rows: counted as truncated, never turned into values', async () => {
    const s = await start({ FAKE_NVSMI_MODE: 'truncated' });
    await waitFor('truncated', async () => ((await s.value('gpu_sidecar_collect_failures_total{kind="truncated"}')) ?? 0) >= 1 ? true : undefined);
    for (const sample of s.sidecar.collector.recent()) expect(sample.gpus[0]?.temperatureC).toBe(59);
  });

  it('a slow first sample within the startup allowance is waited for, not killed', async () => {
    const s = await start({ FAKE_NVSMI_MODE: 'slow-first', FAKE_NVSMI_ARG: '2500' }, { startupAllowanceMs: 4000 });
    expect(s.sidecar.collector.snapshot().mode).toBe('starting');
    await waitFor('first sample', () => (s.sidecar.collector.snapshot().samplesCollected >= 1 ? true : undefined), 8000);
    expect(s.sidecar.collector.snapshot().failures.timeout ?? 0).toBe(0);
    expect(streams(s.log)).toHaveLength(1);
  });

  it('a GPU falling off the bus: counted as gpu_lost, last good sample kept and marked stale', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'ld-lost-')), 'lost');
    const s = await start({ FAKE_NVSMI_MODE: 'gpu-lost', FAKE_NVSMI_ARG: '3', FAKE_NVSMI_STATE: state });
    await waitFor('gpu lost', async () => ((await s.value('gpu_sidecar_collect_failures_total{kind="gpu_lost"}')) ?? 0) >= 1 ? true : undefined);
    await waitFor('stale', async () => ((await s.value('gpu_sidecar_sample_stale')) === 1 ? true : undefined), 10_000);
    expect(await s.value(H100_TEMP)).toBe(59);
    expect(await s.value('gpu_sidecar_source_exit_code')).toBe(15);
    expect(s.sidecar.collector.snapshot().lastError).toMatch(/GPU is lost/);
    rmSync(join(state, '..'), { recursive: true, force: true });
  }, 20_000);

  it('a GPU that comes back (driver reset): collection recovers and the exit code of the lost run is no longer served', async () => {
    // Lost from the start (every nvidia-smi call fails with 15 while the state file exists), then back.
    const state = join(mkdtempSync(join(tmpdir(), 'ld-back-')), 'lost');
    writeFileSync(state, 'lost');
    const s = await start({ FAKE_NVSMI_STATE: state });
    await waitFor('exit 15', async () => ((await s.value('gpu_sidecar_source_exit_code')) === 15 ? true : undefined), 10_000);
    expect(await s.value('gpu_sidecar_collect_failures_total{kind="gpu_lost"}')).toBeGreaterThanOrEqual(1);
    rmSync(state);
    await waitFor('recovered', async () => ((await s.value('gpu_sidecar_collect_success')) === 1 ? true : undefined), 15_000);
    // The lost GPU was one line on stderr however often the retries failed, and so is its return.
    const said = s.warnings.filter((w) => w.includes('GPU sampling'));
    expect(said).toHaveLength(2);
    expect(said[0]).toMatch(/^GPU sampling failed \(gpu_lost\): .*Unable to determine the device handle for gpu 0000:00:09\.0: GPU is lost/);
    expect(said[1]).toMatch(/^GPU sampling recovered: fresh samples again after \d+ failures$/);
    // (Without hw_model until the next identity query: the one at start failed with the GPU lost.)
    expect(await s.metrics()).toMatch(/^hw_temperature\{hw_id="GPU-00000000-0000-0000-0000-000000000000",.*hw_sensor_location="gpu"\} 59$/m);
    expect(await s.value('gpu_sidecar_source_exit_code')).toBeUndefined();
    const health = await fetch(`${s.sidecar.url}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string; lastExitCode: number | null }).lastExitCode).toBeNull();
    rmSync(join(state, '..'), { recursive: true, force: true });
  }, 30_000);

  it('-q -x fills thresholds, MIG instances and ECC; warns once when persistence mode is off', async () => {
    // The A100 MIG document's uuid, put on the streamed rows so the two sources meet.
    const uuid = 'GPU-513536b6-7d19-9063-b049-1e69664bb298';
    const s = await start(
      { FAKE_NVSMI_CAPTURE: fixture('capture__h100-mig-4-instances__drv590.48.01__idle-load.txt'), FAKE_NVSMI_SET: `uuid=${uuid};persistence_mode=Disabled`, FAKE_NVSMI_XML: fixture('xml__a100-sxm4-80gb-mig__drv535.54.03__v12__event-reasons-4-mig.xml') },
      { xmlPeriodMs: 300 },
    );
    await waitFor('mig memory', async () => ((await s.metrics()).includes('gpu_mig_memory_usage{') ? true : undefined));
    const text = await s.metrics();
    expect(text.match(/^gpu_mig_memory_usage\{/gm)).toHaveLength(4);
    expect(text).toContain(`gpu_mig_memory_usage{hw_id="${uuid}",hw_name="gpu0",hw_model="NVIDIA H100 80GB HBM3",gpu_mig_instance="3"} 12582912`);
    expect(text).toMatch(/^hw_temperature_limit\{.*hw_limit_type="throttled"\} 89$/m);
    expect(text).toMatch(/^hw_temperature_limit\{.*hw_limit_type="high.critical"\} 92$/m);
    // MIG: utilization absent, not 0.
    expect(text).not.toMatch(/^hw_gpu_utilization\{/m);
    expect(await s.value('gpu_sidecar_collect_duration{source="xml"}')).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.warnings.filter((w) => w.includes('persistence mode is off'))).toHaveLength(1);
  });

  it('a failing -q -x is counted as xml with its message, while streaming goes on', async () => {
    const s = await start({}, { xmlPeriodMs: 100 });
    await waitFor('xml failure', async () => ((await s.value('gpu_sidecar_collect_failures_total{kind="xml"}')) ?? 0) >= 1 ? true : undefined);
    expect(s.sidecar.collector.snapshot().lastError).toMatch(/FAKE_NVSMI_XML not set/);
    // The stream's first row may come after the first -q -x failure on a busy machine: wait for rows while -q -x keeps failing.
    await waitFor('samples', () => (s.sidecar.collector.snapshot().samplesCollected >= 2 ? true : undefined));
    expect(s.sidecar.collector.snapshot().failures.xml).toBeGreaterThanOrEqual(1);
  });

  it('refuses a bad period or a busy port with one SidecarError line', async () => {
    await expect(startSidecar({ periodMs: 10 })).rejects.toThrow(/--period/);
    const s = await start({});
    const port = Number(new URL(s.sidecar.url).port);
    await expect(startSidecar({ port, env: fakeEnv('busy') })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  });

  it('refuses a --samples-file it cannot write (a missing directory, a directory) at start, before any nvidia-smi runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-sidecar-'));
    const log = join(dir, 'invocations.jsonl');
    try {
      for (const samplesFile of [join(dir, 'no-such-dir', 'gpu.jsonl'), dir]) {
        const warnings: string[] = [];
        const attempt = startSidecar({ port: 0, samplesFile, env: fakeEnv('unwritable', { FAKE_NVSMI_LOG: log }), warn: (m) => warnings.push(m) });
        await expect(attempt).rejects.toThrow(new RegExp(`^cannot write --samples-file ${samplesFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: E(NOENT|ISDIR)$`));
        expect(warnings).toEqual([]);
      }
      expect(invocations(log)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sample file reader', () => {
  it('--samples-max-mb: a full samples file is moved to NAME.1.jsonl and a new one started, so the disk holds at most twice the bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-rotate-'));
    const samplesFile = join(dir, 'samples.jsonl');
    let s: Started | undefined;
    try {
      // About two samples of the H100 fixture per file: several rotations in a few seconds.
      const started = await start({}, { samplesFile, samplesMaxBytes: 2500 });
      s = started;
      const rotated = join(dir, 'samples.1.jsonl');
      await waitFor('12 samples', () => (started.sidecar.collector.snapshot().samplesCollected >= 12 ? true : undefined), 20_000);
      // Stop with samples on both sides of a rotation (not just after one, when the live file is empty).
      // The live file is briefly absent (between the move and the new file's open): not an error.
      const liveBytes = (): number => statSync(samplesFile, { throwIfNoEntry: false })?.size ?? 0;
      await waitFor('a live file after a rotation', () => (existsSync(rotated) && liveBytes() > 0 ? true : undefined), 10_000, 10);
      await started.sidecar.close();
      const lineBytes = Math.max(...readFileSync(rotated, 'utf8').split('\n').filter(Boolean).map((l) => Buffer.byteLength(l) + 1));
      for (const file of [samplesFile, rotated]) expect(readFileSync(file).length, file).toBeLessThan(2500 + lineBytes);
      // Both files are sample files the analyzer reads; the newest samples are in the live one.
      const old = await readGpuSamples(rotated);
      expect(old.length).toBeGreaterThan(0);
      // (On a loaded machine a rotation can still slip in before close: the live file is then new and empty.)
      if (readFileSync(samplesFile).length > 0) {
        const live = await readGpuSamples(samplesFile);
        expect(old[old.length - 1]!.timeMs).toBeLessThan(live[0]!.timeMs);
      }
    } finally {
      // Stopped before the removal: after a failed wait it is still rotating, and a file it creates
      // during the removal (ENOTEMPTY) would hide that failure (twice in CI: the wait had read the
      // live file in the moment it did not exist).
      await s?.sidecar.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    }
  }, 30_000);

  it('a FIFO as --samples-file: serves at once, a reader that comes later gets samples, and SIGTERM without a reader still exits', async () => {
    const { spawn, execFileSync } = await import('node:child_process');
    const { createReadStream } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'ld-fifo-'));
    const fifo = join(dir, 'samples.fifo');
    execFileSync('mkfifo', [fifo]);
    const marker = `sidecar-fifo-${process.pid}`;
    const run = (): { exited: Promise<number | null>; kill: () => void; serving: Promise<string> } => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(SIDECAR_TEST_DIR, 'run-sidecar.ts'), 'sidecar', '--port', '0', '--period', '200', '--xml-period', '0', '--samples-file', fifo], {
        cwd: REPO_ROOT,
        env: fakeEnv(marker),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      return {
        exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
        kill: () => child.kill('SIGTERM'),
        // Before the fix, opening the FIFO waited for a reader: nothing was served, not even this line.
        serving: waitFor('serving', () => /serving (http:\/\/\S+)\/metrics/.exec(stderr)?.[1], 20_000),
      };
    };
    try {
      const first = run();
      const url = await first.serving;
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      // A reader that opens the FIFO afterwards reads sample lines (the pre-check used to open and close it: an end of file).
      const reader = createReadStream(fifo, { encoding: 'utf8' });
      let text = '';
      reader.on('data', (chunk) => (text += String(chunk)));
      const lines = await waitFor('two sample lines', () => (text.split('\n').length > 2 ? text.split('\n').slice(0, 2) : undefined), 15_000);
      for (const line of lines) expect((JSON.parse(line) as GpuSample).schema).toBe('latency-doctor/gpu-sample@1');
      first.kill();
      expect(await first.exited).toBe(0);
      reader.destroy();

      // Nobody ever reads: the open still waits in a libuv thread, and SIGTERM must end the process anyway.
      const second = run();
      await second.serving;
      second.kill();
      const code = await Promise.race([second.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))]);
      expect(code).toBe(0);
    } finally {
      for (const pid of processesWithMarker(marker)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('names file and line for a broken line (strict), skips it with a counted warning otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-read-'));
    try {
      const file = join(dir, 'bad.jsonl');
      const good = JSON.stringify({ schema: 'latency-doctor/gpu-sample@1', timeMs: 2, gpus: [{ uuid: 'GPU-1' }] });
      writeFileSync(file, `${good}\n\n{"schema":"latency-doctor/gpu-sample@1","timeMs":"x","gpus":[]}\n`);
      await expect(readGpuSamples(file, { strict: true })).rejects.toThrow(`${file}:3: expected a GPU sample`);
      writeFileSync(file, `${good}\nnot json\n`);
      await expect(readGpuSamples(file, { strict: true })).rejects.toThrow(`${file}:2: expected one JSON GPU sample per line`);
      // What a killed sidecar leaves: a cut-off last line. The samples before it are used.
      writeFileSync(file, `${good}\nnot json\n${good.slice(0, 30)}`);
      const warnings: { location?: string; message: string; count: number }[] = [];
      expect(await readGpuSamples(file, { onWarning: (w) => warnings.push(w) })).toHaveLength(1);
      expect(warnings.map((w) => [w.location, w.count])).toEqual([['2', 2]]);
      expect(warnings[0]!.message).toMatch(/^2 lines skipped: expected one JSON GPU sample per line/);
      writeFileSync(file, 'not json\n');
      await expect(readGpuSamples(file)).rejects.toThrow(`${file}:1: expected at least one GPU sample line, got no readable sample`);
      writeFileSync(file, '');
      await expect(readGpuSamples(file)).rejects.toThrow(`${file}: expected at least one GPU sample line`);
      await expect(readGpuSamples(join(dir, 'missing.jsonl'))).rejects.toThrow(/no such file/);
      const older = JSON.stringify({ schema: 'latency-doctor/gpu-sample@1', timeMs: 1, gpus: [] });
      writeFileSync(file, `${good}\r\n${older}`);
      expect((await readGpuSamples(file)).map((s) => s.timeMs)).toEqual([1, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OTLP export', () => {
  it('says once that an OTLP endpoint cannot be reached, and goes on collecting', async () => {
    // A port that was just free on loopback: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const s = await start({}, { otlpEndpoint: `http://127.0.0.1:${closed}`, otlpIntervalMs: 200 });
    await waitFor('the OTLP warning', () => (s.warnings.some((w) => w.includes('OTLP metric export')) ? true : undefined), 15_000);
    // Several more export rounds fail; the warning stays one.
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.warnings.filter((w) => w.includes('OTLP metric export'))).toEqual([expect.stringMatching(new RegExp(`^OTLP metric export to http://127\\.0\\.0\\.1:${closed} failed: .+ \\(collection goes on; further failures are not repeated\\)$`))]);
    // Collection goes on: a successful pass after the failed exports (one pass may time out on a loaded machine).
    expect(await waitFor('a successful collection', async () => ((await s.value('gpu_sidecar_collect_success')) === 1 ? true : undefined), 15_000)).toBe(true);
  });

  it('sends the same metrics with OpenTelemetry names and attributes to an OTLP/gRPC receiver', async () => {
    const { startOtlpReceiver } = await import('../support/otlp-receiver.js');
    const receiver = await startOtlpReceiver();
    try {
      const s = await start({}, { otlpEndpoint: receiver.endpoint, otlpIntervalMs: 300 });
      const hasTemperature = (request: Record<string, unknown>): boolean => JSON.stringify(request).includes('"hw.temperature"') && JSON.stringify(request).includes('"hw.gpu.utilization"');
      const request = await receiver.waitForMetrics(hasTemperature, 15_000);
      type Json = Record<string, unknown>;
      const metrics = ((request['resourceMetrics'] as Json[])[0]?.['scopeMetrics'] as Json[])[0]?.['metrics'] as Json[];
      const temperature = metrics.find((m) => m['name'] === 'hw.temperature');
      expect(temperature?.['unit']).toBe('Cel');
      const points = ((temperature?.['gauge'] as Json)['dataPoints'] as Json[]).map((p) => ({
        value: p['asDouble'],
        attributes: Object.fromEntries(((p['attributes'] as Json[]) ?? []).map((kv) => [kv['key'], (kv['value'] as Json)['stringValue']])),
      }));
      expect(points).toContainEqual({ value: 59, attributes: expect.objectContaining({ 'hw.id': 'GPU-00000000-0000-0000-0000-000000000000', 'hw.sensor_location': 'gpu', 'hw.type': 'gpu' }) });
      const failures = metrics.find((m) => m['name'] === 'gpu.sidecar.collect.failures');
      expect((failures?.['sum'] as Json)['isMonotonic']).toBe(true);
      await s.sidecar.close();
    } finally {
      await receiver.close();
    }
  });

  it('refuses an endpoint that is not a URL', async () => {
    await expect(startSidecar({ otlpEndpoint: '127.0.0.1:4317', port: 0 })).rejects.toThrow(/--otlp-endpoint must be an http/);
  });
});

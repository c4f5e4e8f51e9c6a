/**
 * @module sidecar/nvidia-smi-probe
 * Polls NVIDIA GPUs through one long-lived `nvidia-smi --query-gpu=… -lms PERIOD` child read
 * line by line (a spawn per poll re-initialises the driver and can hold the GPU at P0: reference
 * §2.4), plus a slow `-q -x` query for thresholds, MIG instances, ECC and persistence mode.
 * Fields are discovered once from `--help-query-gpu`. A watchdog kills a silent child's process
 * group and restarts it with exponential backoff. Nothing here blocks the event loop.
 */
import { execFile, spawn, type ChildProcess, type ExecFileException } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { GpuState } from '../model/gpu.js';
import type { FailureKind, GpuProbe, ProbeEvents } from './probe.js';
import { decodeQueryRow, parseHelpQueryGpu, planQuery, QueryPlanError, type QueryPlan } from './query-fields.js';
import { parseXmlReport, XmlReportError } from './xml-report.js';

/** Options of the nvidia-smi probe. */
export interface NvidiaSmiProbeOptions {
  /** Sampling period in ms (`-lms`). Default 1000. */
  readonly periodMs?: number;
  /** Executable, looked up on PATH. Default `nvidia-smi`. */
  readonly command?: string;
  /** Environment of the children. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Timeout of `--help-query-gpu`. Default 15000 ms. */
  readonly helpTimeoutMs?: number;
  /** Period of the slow `-q -x` query; 0 disables it. Default 30000 ms. */
  readonly xmlPeriodMs?: number;
  /** Period of the one-shot query of identity, limits and modes (name, driver, max clocks, power limit, persistence, MIG mode). Default 30000 ms. */
  readonly staticPeriodMs?: number;
  /** Timeout of one static query; streaming starts after it either way. Default 5000 ms. */
  readonly staticTimeoutMs?: number;
  /** Timeout of one `-q -x` run. Default 20000 ms. */
  readonly xmlTimeoutMs?: number;
  /** Extra allowance for the first row of a fresh child (multi-GPU hosts take 5–10 s, netdata docs). Default 10000 ms. */
  readonly startupAllowanceMs?: number;
  /** First restart delay; doubles per consecutive failure. Default 1000 ms. */
  readonly backoffMinMs?: number;
  /** Restart delay cap. Default 30000 ms. */
  readonly backoffMaxMs?: number;
  /** SIGTERM → SIGKILL grace when killing a child. Default 2000 ms (NGE's WaitDelay). */
  readonly killGraceMs?: number;
}

// `-q -x` is 35–109 KB per GPU (<supported_clocks>); 8 GPUs approach exec's 1 MiB default.
const XML_MAX_BUFFER = 16 * 1024 * 1024;

const GPU_LOST = /GPU is lost|fallen off the bus|Unable to determine the device handle|GPU requires reset/i;
const NVML_ERROR = /NVML|libnvidia-ml|driver\/library version|No devices were found|couldn't communicate with the NVIDIA driver/i;

interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly error?: ExecFileException;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, children: Set<ChildProcess>): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: XML_MAX_BUFFER, windowsHide: true }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve(error === null ? { stdout, stderr, code } : { stdout, stderr, code, error });
    });
    // Tracked so stop() can end one-shot queries still in flight.
    children.add(child);
    child.once('close', () => children.delete(child));
  });
}

function firstLines(text: string, max = 2): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, max)
    .join(' / ');
}

/** Per-GPU facts only `-q -x` gives, merged into every pass. */
type XmlExtras = Pick<GpuState, 'slowdownTemperatureC' | 'shutdownTemperatureC' | 'migInstances' | 'migMode' | 'eccErrorsCorrected' | 'eccErrorsUncorrected' | 'persistenceMode'>;

/** The nvidia-smi probe. */
export class NvidiaSmiProbe implements GpuProbe {
  private readonly periodMs: number;
  private readonly command: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly helpTimeoutMs: number;
  private readonly xmlPeriodMs: number;
  private readonly xmlTimeoutMs: number;
  private readonly staticPeriodMs: number;
  private readonly staticTimeoutMs: number;
  private readonly startupAllowanceMs: number;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private readonly killGraceMs: number;

  private events: ProbeEvents | undefined;
  private stopped = false;
  private plan: QueryPlan | undefined;
  private child: ChildProcess | undefined;
  private childStartedAt = 0;
  private lastRowAt = 0;
  private rowsFromChild = 0;
  private consecutiveFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private xmlTimer: NodeJS.Timeout | undefined;
  private staticTimer: NodeJS.Timeout | undefined;
  private readonly staticExtras = new Map<string, GpuState>();
  private xmlRunning = false;
  private pass = new Map<string, GpuState>();
  private passStartedAt = 0;
  private gpuCount: number | undefined;
  private readonly xmlExtras = new Map<string, XmlExtras>();
  private persistenceWarned = false;
  private readonly exits = new Set<ChildProcess>();

  constructor(options: NvidiaSmiProbeOptions = {}) {
    this.periodMs = Math.max(50, options.periodMs ?? 1000);
    this.command = options.command ?? 'nvidia-smi';
    this.env = options.env ?? process.env;
    this.helpTimeoutMs = options.helpTimeoutMs ?? 15_000;
    this.xmlPeriodMs = options.xmlPeriodMs ?? 30_000;
    this.xmlTimeoutMs = options.xmlTimeoutMs ?? 20_000;
    this.staticPeriodMs = options.staticPeriodMs ?? 30_000;
    this.staticTimeoutMs = options.staticTimeoutMs ?? 5000;
    this.startupAllowanceMs = options.startupAllowanceMs ?? 10_000;
    this.backoffMinMs = options.backoffMinMs ?? 1000;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.killGraceMs = options.killGraceMs ?? 2000;
  }

  /** The fields in use once discovery succeeded. */
  get queryPlan(): QueryPlan | undefined {
    return this.plan;
  }

  start(events: ProbeEvents): void {
    this.events = events;
    void this.discover();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [this.restartTimer, this.watchdog, this.flushTimer, this.xmlTimer, this.staticTimer]) if (timer !== undefined) clearTimeout(timer);
    this.child = undefined;
    for (const child of this.exits) this.kill(child);
    await Promise.all(
      [...this.exits].map(
        (c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('close', () => resolve()))),
      ),
    );
  }

  private emit(): ProbeEvents {
    if (this.events === undefined) throw new Error('probe not started');
    return this.events;
  }

  private backoff(): number {
    const delay = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** Math.min(this.consecutiveFailures, 16));
    this.consecutiveFailures += 1;
    return delay;
  }

  private async discover(): Promise<void> {
    if (this.stopped) return;
    const result = await run(this.command, ['--help-query-gpu'], this.env, this.helpTimeoutMs, this.exits);
    if (this.stopped) return;
    if (result.error?.code === 'ENOENT') {
      this.emit().unavailable(`${this.command} not found${this.command.includes('/') ? '' : ' on PATH'}: no NVIDIA driver tools here; serving host metrics only`);
      return;
    }
    if (result.code !== 0) {
      const why = result.error?.killed === true ? `timed out after ${this.helpTimeoutMs} ms` : firstLines(result.stdout) || firstLines(result.stderr) || result.error?.message || 'failed';
      this.emit().failure(result.error?.killed === true ? 'timeout' : NVML_ERROR.test(why) ? 'nvml' : 'discovery', `${this.command} --help-query-gpu: ${why}`);
      if (typeof result.code === 'number') this.emit().exit(result.code);
      this.restartTimer = setTimeout(() => void this.discover(), this.backoff());
      return;
    }
    try {
      this.plan = planQuery(parseHelpQueryGpu(result.stdout));
    } catch (error) {
      if (!(error instanceof QueryPlanError)) throw error;
      this.emit().failure('discovery', error.message);
      this.restartTimer = setTimeout(() => void this.discover(), this.backoff());
      return;
    }
    // Identity first, so the first passes already carry names, limits and the GPU count.
    await this.queryStatic();
    if (this.stopped) return;
    this.spawnStream();
    this.watchdog = setInterval(() => this.checkSilence(), Math.min(this.periodMs, 1000));
    this.watchdog.unref();
    if (this.xmlPeriodMs > 0) this.scheduleXml(0);
  }

  private spawnStream(): void {
    if (this.stopped || this.plan === undefined) return;
    const args = [`--query-gpu=${this.plan.fields.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(this.periodMs)];
    let child: ChildProcess;
    try {
      // detached: the child leads its own process group, so a wedged nvidia-smi can be killed as a group.
      child = spawn(this.command, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
    } catch (error) {
      this.emit().failure('spawn', `${this.command}: ${(error as Error).message}`);
      this.scheduleRestart();
      return;
    }
    this.child = child;
    this.exits.add(child);
    this.childStartedAt = Date.now();
    this.lastRowAt = 0;
    this.rowsFromChild = 0;
    this.pass = new Map();
    const reported = new Set<FailureKind>();
    const messages: string[] = [];
    child.on('error', (error) => {
      this.emit().failure('spawn', `${this.command}: ${error.message}`);
    });
    // stderr is drained (a full pipe would stall the child) and kept only as context for errors.
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (messages.length < 5) messages.push(firstLines(chunk, 1));
    });
    const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (this.child !== child) return;
      this.onLine(line, (kind, message) => {
        if (messages.length < 5) messages.push(message);
        // NVML / lost-GPU texts often span lines; count each kind once per child.
        if ((kind === 'nvml' || kind === 'gpu_lost') && reported.has(kind)) return;
        reported.add(kind);
        this.emit().failure(kind, message);
      });
    });
    child.on('close', (code, signal) => {
      this.exits.delete(child);
      this.flushPass();
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      this.emit().exit(code);
      const context = messages.filter(Boolean).join(' / ');
      this.emit().failure('exit', `nvidia-smi exited (${code === null ? `signal ${signal ?? '?'}` : `code ${code}`})${context ? `: ${context}` : ''}`);
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    if (this.stopped) return;
    this.restartTimer = setTimeout(() => this.spawnStream(), this.backoff());
  }

  private onLine(line: string, problem: (kind: FailureKind, message: string) => void): void {
    const trimmed = line.trim();
    if (trimmed === '' || this.plan === undefined) return;
    const result = decodeQueryRow(trimmed, this.plan.fields);
    if (!result.ok) {
      const kind: FailureKind = GPU_LOST.test(trimmed) ? 'gpu_lost' : NVML_ERROR.test(trimmed) ? 'nvml' : result.problem;
      problem(kind, kind === 'garbage' || kind === 'truncated' ? `unreadable nvidia-smi row (${result.detail})` : trimmed);
      return;
    }
    const now = Date.now();
    this.lastRowAt = now;
    this.rowsFromChild += 1;
    const { gpu, count } = result.row;
    if (count !== undefined) this.gpuCount = count;
    if (this.pass.has(gpu.uuid)) this.flushPass();
    if (this.pass.size === 0) this.passStartedAt = now;
    this.pass.set(gpu.uuid, gpu);
    if (this.gpuCount !== undefined && this.pass.size >= this.gpuCount) {
      this.flushPass();
    } else {
      // Without `count`, a pass ends when its rows stop arriving.
      if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
      this.flushTimer = setTimeout(() => this.flushPass(), Math.min(250, this.periodMs / 2));
    }
  }

  private flushPass(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pass.size === 0) return;
    const gpus = [...this.pass.values()].map((gpu) => this.withExtras(gpu)).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const durationS = (Date.now() - this.passStartedAt) / 1000;
    const timeMs = this.passStartedAt;
    this.pass = new Map();
    this.consecutiveFailures = 0;
    for (const gpu of gpus) this.checkPersistence(gpu);
    this.emit().pass({ timeMs, gpus, durationS });
  }

  private withExtras(gpu: GpuState): GpuState {
    const identity = this.staticExtras.get(gpu.uuid);
    const extras = this.xmlExtras.get(gpu.uuid);
    if (identity === undefined && extras === undefined) return gpu;
    // Streamed values win, then the static query; XML fills what CSV cannot give.
    const merged: Record<string, unknown> = { ...extras };
    for (const source of [identity, gpu]) for (const [key, value] of Object.entries(source ?? {})) if (value !== undefined) merged[key] = value;
    return merged as unknown as GpuState;
  }

  private async queryStatic(): Promise<void> {
    if (this.stopped || this.plan === undefined) return;
    const fields = this.plan.staticFields;
    try {
      const result = await run(this.command, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], this.env, this.staticTimeoutMs, this.exits);
      if (this.stopped) return;
      if (result.code !== 0) {
        const why = result.error?.killed === true ? `timed out after ${this.staticTimeoutMs} ms` : firstLines(result.stdout) || firstLines(result.stderr) || `exit ${String(result.code)}`;
        this.emit().failure(GPU_LOST.test(why) ? 'gpu_lost' : result.error?.killed === true ? 'timeout' : NVML_ERROR.test(why) ? 'nvml' : 'discovery', `nvidia-smi identity query: ${why}`);
        return;
      }
      let rows = 0;
      for (const line of result.stdout.split(/\r?\n/)) {
        if (line.trim() === '') continue;
        const decoded = decodeQueryRow(line.trim(), fields);
        if (!decoded.ok) {
          this.emit().failure(decoded.problem, `unreadable nvidia-smi identity row (${decoded.detail})`);
          continue;
        }
        rows += 1;
        this.staticExtras.set(decoded.row.gpu.uuid, decoded.row.gpu);
        this.checkPersistence(decoded.row.gpu);
      }
      if (rows > 0) this.gpuCount = rows;
    } finally {
      if (!this.stopped && this.staticPeriodMs > 0) {
        if (this.staticTimer !== undefined) clearTimeout(this.staticTimer);
        this.staticTimer = setTimeout(() => void this.queryStatic(), this.staticPeriodMs);
        this.staticTimer.unref();
      }
    }
  }

  private checkPersistence(gpu: GpuState): void {
    if (gpu.persistenceMode === false && !this.persistenceWarned) {
      this.persistenceWarned = true;
      this.emit().warning(
        `persistence mode is off on ${gpu.uuid}: each nvidia-smi start re-initialises the driver and polling can hold the GPU at P0 (enable with: nvidia-smi -pm 1)`,
      );
    }
  }

  private checkSilence(): void {
    const child = this.child;
    if (child === undefined || this.stopped) return;
    const now = Date.now();
    // Fire after 3 missed periods; a fresh child also gets the startup allowance.
    const limit = Math.max(3 * this.periodMs, 2000) + (this.rowsFromChild === 0 ? this.startupAllowanceMs : 0);
    const since = this.rowsFromChild === 0 ? this.childStartedAt : this.lastRowAt;
    if (now - since <= limit) return;
    this.emit().failure('timeout', `nvidia-smi silent for ${Math.round((now - since) / 1000)} s; killing and restarting it`);
    this.child = undefined;
    this.kill(child);
    this.flushPass();
    this.scheduleRestart();
  }

  private kill(child: ChildProcess): void {
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Not a group leader (one-shot queries are not detached), or already gone.
        child.kill(signal);
      }
    };
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup('SIGTERM');
    const hard = setTimeout(() => signalGroup('SIGKILL'), this.killGraceMs);
    child.once('close', () => clearTimeout(hard));
  }

  private scheduleXml(delayMs: number): void {
    if (this.stopped) return;
    this.xmlTimer = setTimeout(() => void this.queryXml(), delayMs);
    this.xmlTimer.unref();
  }

  private async queryXml(): Promise<void> {
    if (this.stopped || this.xmlRunning) return;
    this.xmlRunning = true;
    const started = Date.now();
    try {
      const result = await run(this.command, ['-q', '-x'], this.env, this.xmlTimeoutMs, this.exits);
      if (this.stopped) return;
      this.emit().secondary((Date.now() - started) / 1000);
      if (result.code !== 0) {
        const why = result.error?.killed === true ? `timed out after ${this.xmlTimeoutMs} ms` : firstLines(result.stdout) || firstLines(result.stderr) || `exit ${String(result.code)}`;
        this.emit().failure(GPU_LOST.test(why) ? 'gpu_lost' : result.error?.killed === true ? 'timeout' : 'xml', `nvidia-smi -q -x: ${why}`);
        return;
      }
      try {
        for (const gpu of parseXmlReport(result.stdout).gpus) {
          const extras: Record<string, unknown> = {};
          for (const key of ['slowdownTemperatureC', 'shutdownTemperatureC', 'migInstances', 'migMode', 'eccErrorsCorrected', 'eccErrorsUncorrected', 'persistenceMode'] as const) {
            if (gpu[key] !== undefined) extras[key] = gpu[key];
          }
          this.xmlExtras.set(gpu.uuid, extras as XmlExtras);
          this.checkPersistence(gpu);
        }
      } catch (error) {
        if (!(error instanceof XmlReportError)) throw error;
        this.emit().failure('xml', `nvidia-smi -q -x: ${error.message}`);
      }
    } finally {
      this.xmlRunning = false;
      this.scheduleXml(this.xmlPeriodMs);
    }
  }
}

/**
 * @module sidecar/nvidia-smi-probe
 * The nvidia-smi query protocol: fields discovered from `--help-query-gpu`, one long-lived
 * `nvidia-smi --query-gpu=… -lms PERIOD` child read line by line (a spawn per poll re-initialises
 * the driver and can hold the GPU at P0: NVIDIA's nvidia-smi documentation recommends the loop
 * flags for monitoring), a slow one-shot identity query and a slow `-q -x` query for thresholds,
 * MIG instances, ECC and persistence mode, at most one of the two in flight. Children are
 * supervised by sidecar/supervised-child (process groups, bounded output); the stream's rows
 * become passes in sidecar/pass-assembler. A watchdog restarts a
 * silent stream with exponential backoff; a missing nvidia-smi is looked for again with backoff.
 * Nothing here blocks the event loop or throws into the collector.
 */
import type { ChildProcess } from 'node:child_process';
import { checkGpuRanges } from '../model/gpu-ranges.js';
import type { GpuState } from '../model/gpu.js';
import {
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BACKOFF_MIN_MS,
  DEFAULT_PERIOD_MS,
  DEFAULT_REDISCOVER_MAX_MS,
  DEFAULT_REDISCOVER_MIN_MS,
  DEFAULT_STARTUP_ALLOWANCE_MS,
  DEFAULT_STATIC_PERIOD_MS,
  DEFAULT_XML_PERIOD_MS,
} from './defaults.js';
import type { FailureKind, GpuProbe, ProbeEvents } from './probe.js';
import { PassAssembler } from './pass-assembler.js';
import { decodeQueryRow, parseHelpQueryGpu, planQuery, QueryPlanError, type QueryPlan } from './query-fields.js';
import { runOneShot, spawnLineStream, terminateGroup, type OneShotResult } from './supervised-child.js';
import { parseXmlReport, XmlReportError } from './xml-report.js';

/** Options of the nvidia-smi probe. */
export interface NvidiaSmiProbeOptions {
  /** Sampling period in ms (`-lms`). Default DEFAULT_PERIOD_MS. */
  readonly periodMs?: number;
  /** Executable, looked up on PATH. Default `nvidia-smi`. */
  readonly command?: string;
  /** Environment of the children. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Timeout of `--help-query-gpu`. Default 15000 ms. */
  readonly helpTimeoutMs?: number;
  /** Period of the slow `-q -x` query; 0 disables it. Default DEFAULT_XML_PERIOD_MS. */
  readonly xmlPeriodMs?: number;
  /** Period of the one-shot query of identity, limits and modes (name, driver, max clocks, power limit, persistence, MIG mode). Default DEFAULT_STATIC_PERIOD_MS. */
  readonly staticPeriodMs?: number;
  /** Timeout of one static query; streaming starts after it either way. Default 5000 ms. */
  readonly staticTimeoutMs?: number;
  /** Timeout of one `-q -x` run. Default 20000 ms. */
  readonly xmlTimeoutMs?: number;
  /** Extra allowance for the first row of a fresh child. Default DEFAULT_STARTUP_ALLOWANCE_MS. */
  readonly startupAllowanceMs?: number;
  /** First restart delay; doubles per consecutive failure. Default DEFAULT_BACKOFF_MIN_MS. */
  readonly backoffMinMs?: number;
  /** Restart delay cap. Default DEFAULT_BACKOFF_MAX_MS. */
  readonly backoffMaxMs?: number;
  /** First re-check after nvidia-smi was not found; doubles per miss. Default DEFAULT_REDISCOVER_MIN_MS. */
  readonly rediscoverMinMs?: number;
  /** Re-check interval cap. Default DEFAULT_REDISCOVER_MAX_MS. */
  readonly rediscoverMaxMs?: number;
  /** SIGTERM → SIGKILL grace when killing a child. Default 2000 ms (NGE's WaitDelay). */
  readonly killGraceMs?: number;
}

// `-q -x` is 35–109 KB per GPU (<supported_clocks>); 8 GPUs approach exec's 1 MiB default.
const XML_MAX_BYTES = 16 * 1024 * 1024;
// A real `--query-gpu` row is under 1 KB; a longer line is garbage, dropped without being held.
const MAX_LINE_CHARS = 8192;

const GPU_LOST = /GPU is lost|fallen off the bus|Unable to determine the device handle|GPU requires reset/i;
const NVML_ERROR = /NVML|libnvidia-ml|driver\/library version|No devices were found|couldn't communicate with the NVIDIA driver/i;

/** The failure kind of an nvidia-smi message: a timeout, a lost GPU or an NVML error when it says so, else `fallback`. */
export function classifyFailure(text: string, timedOut: boolean, fallback: FailureKind): FailureKind {
  if (timedOut) return 'timeout';
  if (GPU_LOST.test(text)) return 'gpu_lost';
  if (NVML_ERROR.test(text)) return 'nvml';
  return fallback;
}

function firstLines(text: string, max = 2): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, max)
    .join(' / ');
}

function whyFailed(result: OneShotResult, timeoutMs: number): string {
  if (result.timedOut) return `timed out after ${timeoutMs} ms`;
  return firstLines(result.stdout) || firstLines(result.stderr) || result.error || `exit ${String(result.code)}`;
}

/** Per-GPU facts only `-q -x` gives, merged into every pass. */
type XmlExtras = Pick<GpuState, 'slowdownTemperatureC' | 'shutdownTemperatureC' | 'migInstances' | 'migMode' | 'eccErrorsCorrected' | 'eccErrorsUncorrected' | 'persistenceMode'>;
type SlowQuery = 'identity' | 'xml';
const SLOW_QUERY_NAMES: Readonly<Record<SlowQuery, string>> = { identity: 'identity query', xml: '-q -x query' };

const XML_EXTRA_KEYS = ['slowdownTemperatureC', 'shutdownTemperatureC', 'migInstances', 'migMode', 'eccErrorsCorrected', 'eccErrorsUncorrected', 'persistenceMode'] as const;

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
  private readonly rediscoverMinMs: number;
  private readonly rediscoverMaxMs: number;
  private readonly killGraceMs: number;

  private events: ProbeEvents | undefined;
  private stopped = false;
  private plan: QueryPlan | undefined;
  private child: ChildProcess | undefined;
  private childStartedAt = 0;
  /** The current child's rows → passes. */
  private assembler: PassAssembler | undefined;
  private consecutiveFailures = 0;
  private missingChecks = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private watchdog: NodeJS.Timeout | undefined;
  private readonly staticExtras = new Map<string, GpuState>();
  /** The one slow query (identity or `-q -x`) allowed in flight next to the stream, and those waiting for it. */
  private slowQuery: SlowQuery | undefined;
  private readonly slowQueue: SlowQuery[] = [];
  private gpuCount: number | undefined;
  private readonly xmlExtras = new Map<string, XmlExtras>();
  private persistenceWarned = false;
  private readonly children = new Set<ChildProcess>();

  constructor(options: NvidiaSmiProbeOptions = {}) {
    this.periodMs = Math.max(50, options.periodMs ?? DEFAULT_PERIOD_MS);
    this.command = options.command ?? 'nvidia-smi';
    this.env = options.env ?? process.env;
    this.helpTimeoutMs = options.helpTimeoutMs ?? 15_000;
    this.xmlPeriodMs = options.xmlPeriodMs ?? DEFAULT_XML_PERIOD_MS;
    this.xmlTimeoutMs = options.xmlTimeoutMs ?? 20_000;
    this.staticPeriodMs = options.staticPeriodMs ?? DEFAULT_STATIC_PERIOD_MS;
    this.staticTimeoutMs = options.staticTimeoutMs ?? 5000;
    this.startupAllowanceMs = options.startupAllowanceMs ?? DEFAULT_STARTUP_ALLOWANCE_MS;
    this.backoffMinMs = options.backoffMinMs ?? DEFAULT_BACKOFF_MIN_MS;
    this.backoffMaxMs = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.rediscoverMinMs = options.rediscoverMinMs ?? DEFAULT_REDISCOVER_MIN_MS;
    this.rediscoverMaxMs = options.rediscoverMaxMs ?? DEFAULT_REDISCOVER_MAX_MS;
    this.killGraceMs = options.killGraceMs ?? 2000;
  }

  /** The fields in use once discovery succeeded. */
  get queryPlan(): QueryPlan | undefined {
    return this.plan;
  }

  start(events: ProbeEvents): void {
    this.events = events;
    this.runTask(() => this.discover(), 'discovery');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.timers, this.watchdog]) if (timer !== undefined) clearTimeout(timer);
    this.timers.clear();
    this.assembler?.cancel();
    this.child = undefined;
    await Promise.all([...this.children].map((child) => terminateGroup(child, this.killGraceMs)));
  }

  private emit(): ProbeEvents {
    if (this.events === undefined) throw new Error('probe not started');
    return this.events;
  }

  /** Runs an async step so that a bug in it becomes a counted failure, never an unhandled rejection. */
  private runTask(task: () => Promise<void>, kind: FailureKind): void {
    task().catch((error: unknown) => {
      if (this.stopped || this.events === undefined) return;
      this.events.failure(kind, `internal error in the nvidia-smi probe: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private later(delayMs: number, task: () => Promise<void> | void, kind: FailureKind): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.runTask(async () => task(), kind);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private backoff(): number {
    const delay = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** Math.min(this.consecutiveFailures, 16));
    this.consecutiveFailures += 1;
    return delay;
  }

  private async discover(): Promise<void> {
    if (this.stopped) return;
    const result = await runOneShot(this.command, ['--help-query-gpu'], { env: this.env, timeoutMs: this.helpTimeoutMs, maxBytes: XML_MAX_BYTES, children: this.children });
    if (this.stopped) return;
    if (result.notFound) {
      this.emit().unavailable(`${this.command} not found${this.command.includes('/') ? '' : ' on PATH'}: no NVIDIA driver tools here; serving host metrics only (looking again with backoff)`);
      // The driver tools may appear later (driver installed, container restarted with the toolkit).
      const delay = Math.min(this.rediscoverMaxMs, this.rediscoverMinMs * 2 ** Math.min(this.missingChecks, 16));
      this.missingChecks += 1;
      this.later(delay, () => this.discover(), 'discovery');
      return;
    }
    this.missingChecks = 0;
    if (result.code !== 0) {
      const why = whyFailed(result, this.helpTimeoutMs);
      this.emit().failure(classifyFailure(why, result.timedOut, 'discovery'), `${this.command} --help-query-gpu: ${why}`);
      if (result.code !== null) this.emit().exit(result.code);
      this.later(this.backoff(), () => this.discover(), 'discovery');
      return;
    }
    try {
      this.plan = planQuery(parseHelpQueryGpu(result.stdout));
    } catch (error) {
      if (!(error instanceof QueryPlanError)) throw error;
      this.emit().failure('discovery', error.message);
      this.later(this.backoff(), () => this.discover(), 'discovery');
      return;
    }
    // Identity first, so the first passes already carry names, limits and the GPU count.
    await this.queryStatic();
    if (this.stopped) return;
    this.spawnStream();
    this.watchdog = setInterval(() => this.runTask(async () => this.checkSilence(), 'timeout'), Math.min(this.periodMs, 1000));
    this.watchdog.unref();
    if (this.xmlPeriodMs > 0) this.later(0, () => this.queryXml(), 'xml');
  }

  private spawnStream(): void {
    if (this.stopped || this.plan === undefined) return;
    const args = [`--query-gpu=${this.plan.fields.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(this.periodMs)];
    const reported = new Set<FailureKind>();
    const messages: string[] = [];
    const problem = (kind: FailureKind, message: string): void => {
      if (messages.length < 5) messages.push(message);
      // NVML / lost-GPU texts often span lines; count each kind once per child.
      if ((kind === 'nvml' || kind === 'gpu_lost') && reported.has(kind)) return;
      reported.add(kind);
      this.emit().failure(kind, message);
    };
    const assembler = new PassAssembler(this.plan.fields, this.periodMs, () => this.gpuCount, {
      pass: (gpus, timeMs, durationS) => this.emitPass(gpus, timeMs, durationS),
      problem: (line, rowProblem, detail) => {
        const kind = classifyFailure(line, false, rowProblem);
        problem(kind, kind === 'garbage' || kind === 'truncated' ? `unreadable nvidia-smi row (${detail})` : line);
      },
      count: (gpus) => {
        this.gpuCount = gpus;
      },
      flood: () => this.emit().warning('nvidia-smi writes rows faster than its -lms period; only the newest row per GPU and period is read'),
      fault: (error, kind) => this.emit().failure(kind, `internal error in the nvidia-smi probe: ${error instanceof Error ? error.message : String(error)}`),
    });
    const spawned = spawnLineStream(this.command, args, this.env, MAX_LINE_CHARS, {
      lines: (lines) => {
        if (this.child === child) assembler.lines(lines);
      },
      overflow: (count) => {
        for (let i = 0; i < count; i += 1) this.emit().failure('garbage', `unreadable nvidia-smi row (a line longer than ${MAX_LINE_CHARS} characters, dropped)`);
      },
      stderr: (line) => {
        if (messages.length < 5) messages.push(line);
      },
      spawnError: (message) => this.emit().failure('spawn', `${this.command}: ${message}`),
      close: (code, signal) => {
        this.children.delete(child);
        if (this.child !== child) return;
        assembler.finish();
        this.child = undefined;
        if (this.stopped) return;
        this.emit().exit(code);
        const context = messages.filter(Boolean).join(' / ');
        this.emit().failure('exit', `nvidia-smi exited (${code === null ? `signal ${signal ?? '?'}` : `code ${code}`})${context ? `: ${context}` : ''}`);
        this.scheduleRestart();
      },
      fault: (error) => this.emit().failure('garbage', `nvidia-smi output handling failed: ${error instanceof Error ? error.message : String(error)}`),
    });
    if (typeof spawned === 'string') {
      this.emit().failure('spawn', `${this.command}: ${spawned}`);
      this.scheduleRestart();
      return;
    }
    const child: ChildProcess = spawned;
    this.child = child;
    this.children.add(child);
    this.childStartedAt = Date.now();
    this.assembler?.cancel();
    this.assembler = assembler;
  }

  private scheduleRestart(): void {
    this.later(this.backoff(), () => this.spawnStream(), 'spawn');
  }

  /** A pass with identity and `-q -x` facts merged and impossible values dropped, sorted by index. */
  private emitPass(raw: readonly GpuState[], timeMs: number, durationS: number): void {
    const gpus = raw.map((gpu) => this.checked(this.withExtras(gpu))).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    this.consecutiveFailures = 0;
    for (const gpu of gpus) this.checkPersistence(gpu);
    this.emit().pass({ timeMs, gpus, durationS });
  }

  /** Drops impossible values (counted as garbage) before anything serves or writes them. */
  private checked(gpu: GpuState): GpuState {
    const { gpu: clean, rejected } = checkGpuRanges(gpu);
    if (rejected.length > 0) this.emit().failure('garbage', `out-of-range nvidia-smi values for ${gpu.uuid} dropped: ${rejected.join(', ')}`);
    return clean;
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

  /** Takes the slow-query slot, or queues `which` to run when the slot frees (and says so, once) and returns false. */
  private claimSlowQuery(which: SlowQuery): boolean {
    if (this.slowQuery === undefined) {
      this.slowQuery = which;
      return true;
    }
    if (!this.slowQueue.includes(which)) this.slowQueue.push(which);
    this.emit().warning(`nvidia-smi ${SLOW_QUERY_NAMES[this.slowQuery]} still running; the ${SLOW_QUERY_NAMES[which]} waits for it (one slow query at a time)`);
    return false;
  }

  /** Frees the slot and starts the first waiting query. */
  private releaseSlowQuery(): void {
    this.slowQuery = undefined;
    const next = this.slowQueue.shift();
    if (next === 'identity') this.later(0, () => this.queryStatic(), 'discovery');
    else if (next === 'xml') this.later(0, () => this.queryXml(), 'xml');
  }

  private async queryStatic(): Promise<void> {
    if (this.stopped || this.plan === undefined) return;
    const fields = this.plan.staticFields;
    if (!this.claimSlowQuery('identity')) return;
    try {
      const result = await runOneShot(this.command, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], { env: this.env, timeoutMs: this.staticTimeoutMs, maxBytes: XML_MAX_BYTES, children: this.children });
      if (this.stopped) return;
      if (result.code !== 0) {
        const why = whyFailed(result, this.staticTimeoutMs);
        this.emit().failure(classifyFailure(why, result.timedOut, 'discovery'), `nvidia-smi identity query: ${why}`);
        return;
      }
      const seen = new Set<string>();
      for (const line of result.stdout.split(/\r?\n/)) {
        if (line.trim() === '') continue;
        const decoded = decodeQueryRow(line.trim(), fields);
        if (!decoded.ok) {
          this.emit().failure(decoded.problem, `unreadable nvidia-smi identity row (${decoded.detail})`);
          continue;
        }
        seen.add(decoded.row.gpu.uuid);
        this.staticExtras.set(decoded.row.gpu.uuid, decoded.row.gpu);
        this.checkPersistence(decoded.row.gpu);
      }
      if (seen.size > 0) this.gpuCount = seen.size;
    } finally {
      this.releaseSlowQuery();
      if (this.staticPeriodMs > 0) this.later(this.staticPeriodMs, () => this.queryStatic(), 'discovery');
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
    const rows = this.assembler?.rows ?? 0;
    const limit = Math.max(3 * this.periodMs, 2000) + (rows === 0 ? this.startupAllowanceMs : 0);
    const since = rows === 0 ? this.childStartedAt : (this.assembler?.lastRowAt ?? this.childStartedAt);
    if (now - since <= limit) return;
    this.emit().failure('timeout', `nvidia-smi silent for ${Math.round((now - since) / 1000)} s; killing and restarting it`);
    this.child = undefined;
    void terminateGroup(child, this.killGraceMs);
    this.assembler?.finish();
    this.scheduleRestart();
  }

  private async queryXml(): Promise<void> {
    if (this.stopped) return;
    if (!this.claimSlowQuery('xml')) return;
    const started = Date.now();
    try {
      const result = await runOneShot(this.command, ['-q', '-x'], { env: this.env, timeoutMs: this.xmlTimeoutMs, maxBytes: XML_MAX_BYTES, children: this.children });
      if (this.stopped) return;
      this.emit().secondary((Date.now() - started) / 1000);
      if (result.code !== 0) {
        const why = whyFailed(result, this.xmlTimeoutMs);
        this.emit().failure(classifyFailure(why, result.timedOut, 'xml'), `nvidia-smi -q -x: ${why}`);
        return;
      }
      try {
        for (const gpu of parseXmlReport(result.stdout).gpus) {
          const extras: Record<string, unknown> = {};
          for (const key of XML_EXTRA_KEYS) if (gpu[key] !== undefined) extras[key] = gpu[key];
          this.xmlExtras.set(gpu.uuid, extras as XmlExtras);
          this.checkPersistence(gpu);
        }
      } catch (error) {
        if (!(error instanceof XmlReportError)) throw error;
        this.emit().failure('xml', `nvidia-smi -q -x: ${error.message}`);
      }
    } finally {
      this.releaseSlowQuery();
      this.later(this.xmlPeriodMs, () => this.queryXml(), 'xml');
    }
  }
}

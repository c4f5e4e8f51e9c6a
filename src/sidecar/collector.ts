/**
 * @module sidecar/collector
 * Turns probe events into the sidecar's state: the latest good sample (kept, and marked stale,
 * while collection is wedged), a ring of recent samples, health counters, and the optional
 * JSON-lines sample file the analyzer reads.
 */
import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import { parse as parsePath, join as joinPath } from 'node:path';
import type { GpuSample, HostState } from '../model/gpu.js';
import { GPU_SAMPLE_SCHEMA } from '../semconv.js';
import { DEFAULT_PERIOD_MS } from './defaults.js';
import type { GpuInventoryItem, HostProbe } from './host-probe.js';
import type { FailureKind, GpuProbe, ProbePass } from './probe.js';

/**
 * Closes a samples file still opening: a FIFO nobody reads. Its open() waits in a libuv thread,
 * which end() would wait on forever and which keeps process.exit() from returning; opening the
 * read end without blocking lets that open() return, and the stream is then closed unwritten.
 */
async function closePending(file: WriteStream): Promise<void> {
  const reader = await open(String(file.path), constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  await new Promise<void>((resolve) => {
    file.once('close', () => resolve());
    file.destroy();
  });
  await reader?.close();
}

/** Where a full samples file is moved: `samples.jsonl` → `samples.1.jsonl` (still matched by `*.jsonl`). */
export function rotatedSamplesPath(path: string): string {
  const { dir, name, ext } = parsePath(path);
  return joinPath(dir, `${name}.1${ext}`);
}

/**
 * Failures said on stderr (once per kind until samples are fresh again): those after which no
 * sample may come. Row-level kinds (garbage, truncated) are only counted: the good rows go on.
 */
const SAID_FAILURES: ReadonlySet<FailureKind> = new Set<FailureKind>(['discovery', 'spawn', 'exit', 'nvml', 'gpu_lost', 'timeout', 'xml']);

/** Bytes of samples the file may hold unwritten (about 1000 samples of one GPU) before new ones are dropped. */
const SAMPLES_FILE_BACKLOG_BYTES = 1 << 20;

/** Collector options. */
export interface CollectorOptions {
  /** Sampling period in ms. Default DEFAULT_PERIOD_MS. */
  readonly periodMs?: number;
  /** A sample older than this is stale. Default 3 × period (at least 3 s). */
  readonly staleAfterMs?: number;
  /** Host state refresh period while GPUs are sampled. Default max(period, 5000 ms): host CPU and memory move slowly, and each read costs a /proc read. In host-only mode the host is read every period. */
  readonly hostPeriodMs?: number;
  /** Samples kept for GET /samples. Default 600. */
  readonly keepSamples?: number;
  /** Append every fresh sample as one JSON line here. */
  readonly samplesFile?: string;
  /** Past this size the samples file is moved to NAME.1.EXT (replacing the one before) and a new one started. Default: never. */
  readonly samplesMaxBytes?: number;
  /** Where warnings go (once each). Default: stderr. */
  readonly warn?: (message: string) => void;
}

/** Collection mode. */
export type CollectorMode = 'starting' | 'gpu' | 'host-only';

/** What /metrics and /healthz render. */
export interface CollectorSnapshot {
  readonly mode: CollectorMode;
  readonly nowMs: number;
  /** The sample served: the newest good one, stale or not. */
  readonly sample?: GpuSample;
  readonly sampleAgeS?: number;
  readonly stale: boolean;
  readonly failures: Readonly<Partial<Record<FailureKind, number>>>;
  readonly lastError?: string;
  readonly lastExitCode?: number;
  readonly durationS: Readonly<Record<string, number>>;
  readonly samplesCollected: number;
  readonly inventory: readonly GpuInventoryItem[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Owns probe, host probe, and their results. */
export class Collector {
  private readonly periodMs: number;
  private readonly hostPeriodMs: number;
  private lastHostReadMs = 0;
  private readonly staleAfterMs: number;
  private readonly keep: number;
  private readonly warnSink: (message: string) => void;
  private readonly warned = new Set<string>();
  private mode: CollectorMode = 'starting';
  private latest: GpuSample | undefined;
  private latestAtMs = 0;
  private readonly ring: GpuSample[] = [];
  private readonly failures: Partial<Record<FailureKind, number>> = {};
  private lastError: string | undefined;
  private lastExitCode: number | undefined;
  /** Failure kinds said on stderr since samples were last fresh after a failure. */
  private readonly saidFailures = new Set<FailureKind>();
  private failuresSince = 0;
  private readonly durationS: Record<string, number> = {};
  private collected = 0;
  private host: HostState | undefined;
  private hostTimer: NodeJS.Timeout | undefined;
  private inventory: GpuInventoryItem[] = [];
  private file: WriteStream | undefined;
  private fileError = false;
  private readonly samplesMaxBytes: number | undefined;
  private fileBytes = 0;
  /** The rotation in progress; lines that arrive meanwhile wait in `heldLines`. */
  private rotation: Promise<void> | undefined;
  private heldLines: string[] = [];
  private closed = false;

  constructor(
    private readonly probe: GpuProbe,
    private readonly hostProbe: HostProbe,
    options: CollectorOptions = {},
  ) {
    this.periodMs = options.periodMs ?? DEFAULT_PERIOD_MS;
    this.hostPeriodMs = options.hostPeriodMs ?? Math.max(this.periodMs, 5000);
    this.staleAfterMs = options.staleAfterMs ?? Math.max(3 * this.periodMs, 3000);
    this.keep = options.keepSamples ?? 600;
    this.warnSink = options.warn ?? ((message) => process.stderr.write(`latency-doctor sidecar: warning: ${message}\n`));
    this.samplesMaxBytes = options.samplesMaxBytes;
    if (options.samplesFile !== undefined) {
      const path = options.samplesFile;
      this.file = this.openSamplesFile(path);
      // Appending to a file that already holds samples (a restarted sidecar): they count toward the bound.
      if (this.samplesMaxBytes !== undefined) void stat(path).then((s) => (this.fileBytes += s.isFile() ? s.size : 0), () => undefined);
    }
  }

  /** Starts the probes. */
  start(): void {
    // refreshHost never rejects; a failing tick (e.g. the samples file) must not become an unhandled rejection.
    void this.refreshHost();
    this.hostTimer = setInterval(() => this.tickHost().catch((error: unknown) => this.warnOnce(`host sampling failed: ${error instanceof Error ? error.message : String(error)}`)), this.periodMs);
    this.probe.start({
      pass: (pass) => this.onPass(pass),
      failure: (kind, message) => this.onFailure(kind, message),
      exit: (code) => {
        if (code !== null) this.lastExitCode = code;
      },
      unavailable: (message) => {
        this.warnOnce(message);
        // The probe keeps looking for nvidia-smi; the inventory is read once, on the switch.
        if (this.mode === 'host-only') return;
        this.mode = 'host-only';
        this.hostProbe.gpuInventory().then(
          (items) => {
            this.inventory = items;
          },
          () => undefined,
        );
      },
      warning: (message) => this.warnOnce(message),
      secondary: (durationS) => {
        this.durationS['xml'] = durationS;
      },
    });
  }

  /** Stops probes and timers, flushes the samples file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.hostTimer !== undefined) clearInterval(this.hostTimer);
    await this.probe.stop();
    await this.rotation;
    const file = this.file;
    if (file === undefined) return;
    // Only a FIFO may still be opening for want of a reader; a regular file still opening (just
    // started by a rotation) is ended, so its held samples are written before close() resolves.
    const fifo = file.pending && (await stat(String(file.path)).then((s) => s.isFIFO(), () => false));
    if (fifo) await closePending(file);
    else if (!this.fileError) await new Promise<void>((resolve) => file.end(() => resolve()));
    else if (file.pending) await new Promise<void>((resolve) => file.once('close', () => resolve()).destroy());
  }

  /** The state to serve. */
  snapshot(nowMs = Date.now()): CollectorSnapshot {
    const snapshot: Mutable<CollectorSnapshot> = {
      mode: this.mode,
      nowMs,
      stale: this.isStale(nowMs),
      failures: { ...this.failures },
      durationS: { ...this.durationS },
      samplesCollected: this.collected,
      inventory: this.inventory,
    };
    if (this.latest !== undefined) {
      snapshot.sample = snapshot.stale ? { ...this.latest, stale: true } : this.latest;
      snapshot.sampleAgeS = (nowMs - this.latestAtMs) / 1000;
    }
    if (this.lastError !== undefined) snapshot.lastError = this.lastError;
    if (this.lastExitCode !== undefined) snapshot.lastExitCode = this.lastExitCode;
    return snapshot;
  }

  /** Recent fresh samples, oldest first, optionally only those after `sinceMs`. */
  recent(sinceMs?: number, limit?: number): GpuSample[] {
    const after = sinceMs === undefined ? this.ring : this.ring.filter((s) => s.timeMs > sinceMs);
    return limit === undefined ? [...after] : after.slice(-limit);
  }

  private isStale(nowMs: number): boolean {
    // Nothing served yet is not stale: /healthz tells `starting` from `failing` by the failure count.
    if (this.latest === undefined) return false;
    return nowMs - this.latestAtMs > this.staleAfterMs;
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warnSink(message);
  }

  private async refreshHost(): Promise<void> {
    this.lastHostReadMs = Date.now();
    try {
      this.host = await this.hostProbe.read();
    } catch {
      this.host = undefined;
    }
  }

  private async tickHost(): Promise<void> {
    if (this.mode === 'host-only') {
      await this.refreshHost();
      // nvidia-smi may have come back during the host read: a host-only sample must not replace its first GPU pass.
      if (!this.closed && this.mode === 'host-only') this.record({ timeMs: Date.now(), gpus: [], durationS: 0 });
    } else if (Date.now() - this.lastHostReadMs >= this.hostPeriodMs - this.periodMs / 2) {
      await this.refreshHost();
    }
  }

  private onFailure(kind: FailureKind, message: string): void {
    this.failures[kind] = (this.failures[kind] ?? 0) + 1;
    this.lastError = message;
    this.failuresSince += 1;
    // Said once per kind, so a driver that is not loaded (every retry fails alike) is one line in
    // the container's log, not only a counter; an exit after a said cause repeats that cause.
    if (this.closed || !SAID_FAILURES.has(kind) || this.saidFailures.has(kind) || (kind === 'exit' && this.saidFailures.size > 0)) return;
    this.saidFailures.add(kind);
    this.warnSink(`GPU sampling failed (${kind}): ${message.replace(/\s*[\r\n]+\s*/g, ' / ')}; retrying with backoff (/healthz and gpu_sidecar_collect_failures_total follow it)`);
  }

  private onPass(pass: ProbePass): void {
    if (this.closed) return;
    // Fresh samples after said failures that had stopped them (none yet, or stale): said once, and
    // a later failure is said again. Failures beside fresh samples (a -q -x timeout) stay said once.
    if (this.saidFailures.size > 0 && (this.latest === undefined || this.isStale(Date.now()))) {
      this.warnSink(`GPU sampling recovered: fresh samples again after ${this.failuresSince} failure${this.failuresSince === 1 ? '' : 's'}`);
      this.saidFailures.clear();
    }
    if (this.saidFailures.size === 0) this.failuresSince = 0;
    this.mode = 'gpu';
    // A child that streams again ends the failure its predecessor's exit status described: kept,
    // the series would say "GPU is lost" (15) for as long as the sidecar runs after a recovery.
    this.lastExitCode = undefined;
    this.durationS['query-gpu'] = pass.durationS;
    this.record(pass);
  }

  private record(pass: ProbePass): void {
    const sample: Mutable<GpuSample> = { schema: GPU_SAMPLE_SCHEMA, timeMs: pass.timeMs, gpus: pass.gpus };
    if (this.host !== undefined) sample.host = this.host;
    this.latest = sample;
    this.latestAtMs = Date.now();
    this.collected += 1;
    this.ring.push(sample);
    if (this.ring.length > this.keep) this.ring.splice(0, this.ring.length - this.keep);
    if (this.file !== undefined && !this.fileError) this.writeSample(this.file, sample);
  }

  private writeSample(file: WriteStream, sample: GpuSample): void {
    // A FIFO opens only once a process reads it, and a slow reader (or a stalled disk) backs writes
    // up: past a bound, new samples are dropped (and said once) rather than held without limit.
    const line = `${JSON.stringify(sample)}\n`;
    if (this.rotation !== undefined) {
      if (this.heldLines.length < 1000) this.heldLines.push(line);
      return;
    }
    if (file.writableLength > SAMPLES_FILE_BACKLOG_BYTES) {
      this.warnOnce(`samples file ${file.path.toString()}: ${file.pending ? 'not open yet (a FIFO opens once a process reads it)' : 'writes fall behind'}; new samples are dropped until it catches up`);
      return;
    }
    file.write(line);
    this.fileBytes += Buffer.byteLength(line);
    if (this.samplesMaxBytes !== undefined && this.fileBytes >= this.samplesMaxBytes) {
      this.rotation = this.rotate(file).finally(() => {
        this.rotation = undefined;
      });
    }
  }

  private openSamplesFile(path: string): WriteStream {
    const file = createWriteStream(path, { flags: 'a' });
    file.on('error', (error) => {
      this.fileError = true;
      this.warnOnce(`cannot write samples file ${path}: ${error.message}`);
    });
    return file;
  }

  /** Moves the full file aside (replacing the previous one) and starts a new one, so the samples on disk stay under twice the bound. */
  private async rotate(file: WriteStream): Promise<void> {
    const path = String(file.path);
    try {
      await new Promise<void>((resolve) => file.end(() => resolve()));
      await rename(path, rotatedSamplesPath(path));
      const next = this.openSamplesFile(path);
      this.file = next;
      this.fileBytes = 0;
      for (const line of this.heldLines.splice(0)) {
        next.write(line);
        this.fileBytes += Buffer.byteLength(line);
      }
    } catch (error) {
      this.fileError = true;
      this.warnOnce(`cannot rotate samples file ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

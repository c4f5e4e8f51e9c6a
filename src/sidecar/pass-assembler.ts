/**
 * @module sidecar/pass-assembler
 * The rows of one streaming `nvidia-smi --query-gpu … -lms` child, grouped into passes (one
 * sample of every GPU). A pass ends when a GPU uuid repeats, when `count` rows have arrived, or
 * shortly after its last row. Normally a pass arrives once per period and is decoded at once; when
 * rows come faster (a flood), only the newest line per GPU is kept (latestRowPerGpu, a regex
 * rather than a decode) and decoded when the next half period opens, so decoding costs at most
 * two passes per period, not one per row. Timer callbacks never throw: errors go to `fault`.
 */
import type { GpuState } from '../model/gpu.js';
import type { FailureKind } from './probe.js';
import { decodeQueryRow, latestRowPerGpu } from './query-fields.js';

/** Where an assembler's results go. */
export interface PassSink {
  /** One complete pass, GPUs in arrival order (uuid-keyed). */
  pass(gpus: readonly GpuState[], timeMs: number, durationS: number): void;
  /** A line that is not a row: its kind (classified by the caller) and text. */
  problem(line: string, kind: 'garbage' | 'truncated', detail: string): void;
  /** The GPU count a row reported (`count`). */
  count(gpus: number): void;
  /** Rows arrive much faster than the period (once per flood is enough; the sink may dedupe). */
  flood(): void;
  /** A failure inside a timer callback. */
  fault(error: unknown, kind: FailureKind): void;
}

/** Groups one child's rows into passes; one assembler per child. */
export class PassAssembler {
  /** Rows decoded so far. */
  rows = 0;
  /** When the last row was decoded (ms since the epoch); 0 before the first. */
  lastRowAt = 0;
  private pass = new Map<string, GpuState>();
  private passStartedAt = 0;
  /** Lines arriving before this time are held (newest per GPU only) until it. */
  private acceptFromMs = 0;
  private held: string[] = [];
  private drainTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fields: readonly string[],
    private readonly periodMs: number,
    /** The GPU count known now (identity query or an earlier row). */
    private readonly gpuCount: () => number | undefined,
    private readonly sink: PassSink,
  ) {}

  /** Complete lines of one chunk, oldest first. */
  lines(lines: readonly string[]): void {
    const { kept, dropped } = latestRowPerGpu(this.held.length === 0 ? lines : [...this.held, ...lines]);
    this.held = kept;
    // Two passes in one chunk after a hiccup are normal; eight or more per kept line is a flood.
    if (dropped >= 8 * Math.max(1, kept.length)) this.sink.flood();
    const now = Date.now();
    if (now >= this.acceptFromMs || this.pass.size > 0) {
      this.drain();
    } else if (this.drainTimer === undefined) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = undefined;
        this.guard(() => this.drain(), 'garbage');
      }, this.acceptFromMs - now);
    }
  }

  /** Decodes what is held and emits the pass in progress (the child closed or was killed). */
  finish(): void {
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.drain();
    this.flush();
  }

  /** Stops the timers without emitting anything. */
  cancel(): void {
    for (const timer of [this.drainTimer, this.flushTimer]) if (timer !== undefined) clearTimeout(timer);
    this.drainTimer = undefined;
    this.flushTimer = undefined;
  }

  private guard(task: () => void, kind: FailureKind): void {
    try {
      task();
    } catch (error) {
      this.sink.fault(error, kind);
    }
  }

  private drain(): void {
    const lines = this.held;
    this.held = [];
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    const result = decodeQueryRow(trimmed, this.fields);
    if (!result.ok) {
      this.sink.problem(trimmed, result.problem, result.detail);
      return;
    }
    const now = Date.now();
    this.lastRowAt = now;
    this.rows += 1;
    const { gpu, count } = result.row;
    if (count !== undefined && Number.isInteger(count) && count >= 1 && count <= 1024) this.sink.count(count);
    if (this.pass.has(gpu.uuid)) this.flush();
    if (this.pass.size === 0) this.passStartedAt = now;
    this.pass.set(gpu.uuid, gpu);
    const expected = this.gpuCount();
    if (expected !== undefined && this.pass.size >= expected) {
      this.flush();
    } else {
      // Without a count, a pass ends when its rows stop arriving.
      if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
      this.flushTimer = setTimeout(() => this.guard(() => this.flush(), 'garbage'), Math.min(250, this.periodMs / 2));
    }
  }

  /** Emits the pass in progress, if any. */
  flush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pass.size === 0) return;
    const gpus = [...this.pass.values()];
    const timeMs = this.passStartedAt;
    this.pass = new Map();
    this.acceptFromMs = timeMs + this.periodMs / 2;
    this.sink.pass(gpus, timeMs, (Date.now() - timeMs) / 1000);
  }
}

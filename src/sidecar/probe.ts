/**
 * @module sidecar/probe
 * The interface every GPU probe implements (nvidia-smi today; NVML or a fake later), and the
 * events it reports to the collector. Probes never throw into the collector: failures are events.
 */
import type { GpuState } from '../model/gpu.js';

/** Kinds of collection failure, as the `kind` label of the failures counter. */
export type FailureKind = 'discovery' | 'spawn' | 'exit' | 'nvml' | 'gpu_lost' | 'garbage' | 'truncated' | 'timeout' | 'xml';

/** One complete pass over all GPUs. */
export interface ProbePass {
  readonly timeMs: number;
  readonly gpus: readonly GpuState[];
  /** Seconds from the pass's first row to its completion. */
  readonly durationS: number;
}

/** What a probe reports. */
export interface ProbeEvents {
  pass(pass: ProbePass): void;
  failure(kind: FailureKind, message: string): void;
  /** Exit status of the probe's child (null when killed by a signal). */
  exit(code: number | null): void;
  /** The probe's tool is absent: the collector switches to host-only mode. Repeats while the probe keeps looking; a later pass switches back. */
  unavailable(message: string): void;
  warning(message: string): void;
  /** Duration of a secondary (slow) query, in seconds. */
  secondary(durationS: number): void;
}

/** A GPU probe: started once, stopped once. */
export interface GpuProbe {
  start(events: ProbeEvents): void;
  stop(): Promise<void>;
}

/**
 * @module model/gpu
 * One sidecar sample of one GPU (and of the host), as the sidecar writes it to its JSON lines
 * file (one object per line, `schema` = GPU_SAMPLE_SCHEMA) and the analyzer reads it back.
 * Absent values (N/A, [Not Supported], …) are omitted, never 0.
 */

/** Named clock-event (throttle) reasons, NVML / nvidia-smi spelling. */
export type ClockEventReason =
  | 'gpu_idle'
  | 'applications_clocks_setting'
  | 'sw_power_cap'
  | 'hw_slowdown'
  | 'sync_boost'
  | 'sw_thermal_slowdown'
  | 'hw_thermal_slowdown'
  | 'hw_power_brake_slowdown'
  | 'display_clocks_setting';

/** One MIG instance of a GPU. */
export interface MigInstance {
  readonly id: string;
  readonly memoryUsedBytes?: number;
  readonly memoryTotalBytes?: number;
}

/** State of one GPU at one instant. */
export interface GpuState {
  readonly uuid: string;
  readonly index?: number;
  readonly name?: string;
  readonly pciBusId?: string;
  readonly driverVersion?: string;
  readonly pstate?: number;
  readonly temperatureC?: number;
  readonly memoryTemperatureC?: number;
  /** Degrees left before thermal slowdown (temperature.gpu.tlimit). */
  readonly temperatureMarginC?: number;
  readonly slowdownTemperatureC?: number;
  readonly shutdownTemperatureC?: number;
  readonly memoryUsedBytes?: number;
  readonly memoryTotalBytes?: number;
  readonly memoryReservedBytes?: number;
  /** 0–1; absent under MIG. */
  readonly utilization?: number;
  readonly memoryBusy?: number;
  readonly powerW?: number;
  readonly powerInstantW?: number;
  readonly powerLimitW?: number;
  readonly smClockMhz?: number;
  readonly smClockMaxMhz?: number;
  readonly memClockMhz?: number;
  readonly memClockMaxMhz?: number;
  /** Raw clock-event mask as a hex string (`0x…`), exact. */
  readonly clockEventMask?: string;
  readonly clockEvents?: readonly ClockEventReason[];
  /** Cumulative time per reason in seconds (drivers that list the counters: 580 and later seen). */
  readonly clockEventSeconds?: Readonly<Partial<Record<ClockEventReason, number>>>;
  readonly persistenceMode?: boolean;
  readonly eccErrorsCorrected?: number;
  readonly eccErrorsUncorrected?: number;
  readonly xidErrors?: number;
  readonly migMode?: boolean;
  readonly migInstances?: readonly MigInstance[];
}

/** Host state at one instant. */
export interface HostState {
  /** 0–1 over all cores. */
  readonly cpuUtilization?: number;
  readonly cpuTemperatureC?: number;
  readonly memoryUsedBytes?: number;
  readonly memoryTotalBytes?: number;
}

/** One line of the sidecar's sample file. */
export interface GpuSample {
  readonly schema: 'latency-doctor/gpu-sample@1';
  /** Sample time, ms since the Unix epoch. */
  readonly timeMs: number;
  /** True when collection is wedged and this repeats the last good sample. */
  readonly stale?: boolean;
  readonly gpus: readonly GpuState[];
  readonly host?: HostState;
}

/** What the GPU samples say about one time window of the traced run (built by analyzer/device). */
export interface DeviceWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly samples: number;
  readonly maxTemperatureC?: number;
  readonly meanSmClockMhz?: number;
  readonly smClockMaxMhz?: number;
  /** Share of samples (or of counter time) in which a real throttle reason was active under load (0–1). */
  readonly throttledShare?: number;
  readonly thermalThrottledShare?: number;
  readonly powerThrottledShare?: number;
  readonly meanUtilization?: number;
  readonly memoryUsedBytes?: number;
}

/** Device evidence over the traced window, per GPU, for the diagnosis rules. */
export interface DeviceEvidence {
  readonly gpuUuid: string;
  readonly gpuName?: string;
  /** Samples inside the traced window. */
  readonly samples: number;
  readonly windows: readonly DeviceWindow[];
  readonly temperatureRiseC?: number;
  readonly smClockDropShare?: number;
  /** Bytes per second of GPU memory growth (least-squares slope). */
  readonly memorySlopeBytesPerS?: number;
  /** Largest used ÷ total GPU memory seen (0–1). */
  readonly memoryUsedShareMax?: number;
  readonly throttledShare?: number;
  readonly thermalThrottledShare?: number;
  readonly powerThrottledShare?: number;
  readonly meanUtilization?: number;
  readonly errors?: number;
  /** Named reasons seen while loaded, with their share of the window. */
  readonly reasons: Readonly<Partial<Record<ClockEventReason, number>>>;
}

/**
 * @module sidecar
 * The GPU sidecar: poll (nvidia-smi, host) → decode → serve (Prometheus /metrics, /healthz, /samples).
 */
export { startSidecar, SidecarError } from './sidecar.js';
export {
  DEFAULT_SIDECAR_PORT,
  DEFAULT_PERIOD_MS,
  DEFAULT_XML_PERIOD_MS,
  DEFAULT_STATIC_PERIOD_MS,
  DEFAULT_STARTUP_ALLOWANCE_MS,
  DEFAULT_OTLP_INTERVAL_MS,
  DEFAULT_BACKOFF_MIN_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_REDISCOVER_MIN_MS,
  DEFAULT_REDISCOVER_MAX_MS,
} from './defaults.js';
export type { SidecarOptions, RunningSidecar } from './sidecar.js';
export { Collector } from './collector.js';
export type { CollectorOptions, CollectorSnapshot, CollectorMode } from './collector.js';
export { NvidiaSmiProbe, classifyFailure } from './nvidia-smi-probe.js';
export { runOneShot, spawnLineStream, terminateGroup, signalGroup, LineSplitter } from './supervised-child.js';
export type { OneShotResult, OneShotOptions, SplitLines, StreamHandlers } from './supervised-child.js';
export type { NvidiaSmiProbeOptions } from './nvidia-smi-probe.js';
export { HostProbe, readCpuTemperature } from './host-probe.js';
export type { GpuInventoryItem } from './host-probe.js';
export type { GpuProbe, ProbeEvents, ProbePass, FailureKind } from './probe.js';
export { createSidecarApp } from './server.js';
export { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
export { metricPoints, FAILURE_KINDS } from './metric-points.js';
export type { MetricPoint } from './metric-points.js';
export { startOtlpExport } from './otlp-export.js';
export type { OtlpExportOptions, OtlpExport } from './otlp-export.js';
export { parseXmlReport, XmlReportError } from './xml-report.js';
export type { XmlReport } from './xml-report.js';
export { parseHelpQueryGpu, planQuery, decodeQueryRow, latestRowPerGpu, QueryPlanError } from './query-fields.js';
export type { QueryPlan, QueryRow, RowResult, RowProblem } from './query-fields.js';
export { CLOCK_EVENT_BITS, THROTTLE_REASONS, THERMAL_REASONS, POWER_REASONS, decodeClockEventMask, encodeClockEventMask, maskToNumber } from './clock-events.js';
export type { DecodedClockEvents } from './clock-events.js';
export { presentText, parseNumber, parsePstate, parseEnabled, parseTimestamp } from './values.js';

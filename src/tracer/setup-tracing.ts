/**
 * @module tracer/setup-tracing
 * One call that wires OpenTelemetry for a service: NodeSDK (W3C propagation, AsyncLocalStorage
 * context), spans to OTLP/gRPC or to a local OTLP JSON lines file through a bounded queue, and
 * the tracer's histograms to OTLP and/or a Prometheus scrape endpoint. Never throws: a setting
 * that cannot be honoured is warned about once and the service runs on.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter as OTLPHttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OTLPHttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  defaultResource,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import type { DetectedResource, ResourceDetector } from '@opentelemetry/resources';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { IMetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createSamplerFromEnv } from '@opentelemetry/sdk-node/build/src/create-from-env.js';
import { AlwaysOnSampler, ConsoleSpanExporter, NoopSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { getBooleanFromEnv } from '@opentelemetry/core';
import { TRACER_METRICS } from '../semconv.js';
import { BoundedSpanProcessor } from './bounded-span-processor.js';
import type { DroppedSpans } from './bounded-span-processor.js';
import { DEFAULT_TRACE_FILE, FileSpanExporter } from './file-span-exporter.js';
import { PooledIdGenerator } from './id-generator.js';
import { DecisionSampler, SdkPresampler } from './presample.js';
import { emptyPresamplerSlot, fillPresamplerSlot } from './presampler-slot.js';
import { TRACER_NAME, TRACER_VERSION } from './tracer-identity.js';
import { reportFailure, resetWarnings, setWarningSink, warnOnce } from './warn-once.js';
import type { WarningSink } from './warn-once.js';

/** The OTLP transports: gRPC (port 4317), protobuf over HTTP and JSON over HTTP (port 4318). */
export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

/**
 * Where spans go. Without it (or with `otlpEndpoint` unset) spans go over OTLP when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else to
 * `./traces.jsonl`.
 */
export type ExporterOption =
  /**
   * OTLP, e.g. `http://127.0.0.1:4317` (gRPC) or `http://127.0.0.1:4318` (HTTP, `/v1/traces` is
   * added unless the path ends with it). Defaults: the OTEL_EXPORTER_OTLP_* variables, gRPC.
   */
  | { readonly otlpEndpoint?: string; readonly timeoutMillis?: number; readonly protocol?: OtlpProtocol }
  /** OTLP JSON lines appended to a file; default `./traces.jsonl`. */
  | { readonly file?: string }
  /** Record (and measure) but export no spans. */
  | { readonly none: true }
  /** Any SpanExporter (tests, custom backends). */
  | { readonly spanExporter: SpanExporter };

/** Where the tracer's histograms go. */
export interface MetricsOption {
  /** Serve a Prometheus scrape endpoint. Default: off. Port 0 picks a free port (see `ready`). */
  readonly prometheus?: { readonly port?: number; readonly host?: string; readonly endpoint?: string };
  /**
   * Push over OTLP/gRPC every `intervalMillis` (default 60000 or OTEL_METRIC_EXPORT_INTERVAL).
   * Default: on when spans go over OTLP, to the same endpoint.
   */
  readonly otlp?: boolean | { readonly endpoint?: string; readonly intervalMillis?: number };
  /** More readers (e.g. an in-memory reader in tests). Default: none. */
  readonly readers?: readonly IMetricReader[];
}

/** Options of `setupTracing`; every field is optional. */
export interface TracingOptions {
  /** `service.name`. Default: OTEL_SERVICE_NAME, else `unknown_service:node`. */
  readonly serviceName?: string;
  /** Where spans go. Default: OTLP/gRPC when an OTEL_* endpoint variable is set, else `./traces.jsonl`. */
  readonly exporter?: ExporterOption;
  /** Where metrics go, or `false` for none. Default: OTLP with OTLP spans, none otherwise. */
  readonly metrics?: MetricsOption | false;
  /** Spans held for export; beyond it spans are dropped and counted. Default OTEL_BSP_MAX_QUEUE_SIZE, else 2048. */
  readonly maxQueueSize?: number;
  /** Spans per export. Default OTEL_BSP_MAX_EXPORT_BATCH_SIZE, else 512. */
  readonly maxExportBatchSize?: number;
  /** Delay between exports in ms. Default OTEL_BSP_SCHEDULE_DELAY, else 1000. */
  readonly scheduledDelayMillis?: number;
  /** Time one export (or the final flush) may take, in ms. Default OTEL_BSP_EXPORT_TIMEOUT, else 10000. */
  readonly exportTimeoutMillis?: number;
  /** Sampler. Default: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, else parent-based always-on. */
  readonly sampler?: Sampler;
  /** Extra resource attributes. Default: none (plus what the env, host and process detectors find). */
  readonly resourceAttributes?: Attributes;
  /** Receives the tracer's warnings (each given once). Default: console.warn. */
  readonly onWarning?: WarningSink;
}

/** Spans dropped so far, by reason and in total. */
export interface DroppedSpanCounts extends DroppedSpans {
  readonly total: number;
}

/** What `setupTracing` returns. */
export interface TracingHandle {
  /** The service name on the resource. */
  readonly serviceName: string;
  /** Which exporter is in use. */
  readonly exporterKind: 'otlp' | 'file' | 'none' | 'custom';
  /** The OTLP endpoint or the file spans go to ('' for none/custom). */
  readonly destination: string;
  /** The Prometheus scrape URL when serving metrics (known after `ready` for port 0). */
  readonly metricsUrl: string | undefined;
  /** Resolves when the metrics server listens (or failed to, with a warning). */
  readonly ready: Promise<void>;
  /** Spans dropped so far (queue full, export failed, still unsent when shutdown stopped waiting). */
  droppedSpans(): DroppedSpanCounts;
  /** Exports what is queued now. Never rejects. */
  forceFlush(): Promise<void>;
  /**
   * Flushes and stops everything (at most `exportTimeoutMillis` when the collector is gone),
   * then unregisters the global providers so `setupTracing` can be called again. Never rejects.
   */
  shutdown(): Promise<void>;
}

let active: TracingHandle | undefined;

/**
 * The host detector without `host.id`: that one attribute is read asynchronously, and the batch
 * processor holds every export until a resource's asynchronous attributes settle, so in the
 * first ~100 ms after set-up no span left and a start-up burst overflowed the queue.
 */
const syncHostDetector: ResourceDetector = {
  detect(config): DetectedResource {
    const { attributes = {} } = hostDetector.detect(config);
    const { ['host.id']: _hostId, ...sync } = attributes;
    return { attributes: sync };
  },
};

/** NodeSDK's detectors by their OTEL_NODE_RESOURCE_DETECTORS names, every one synchronous. */
const DETECTORS: Readonly<Record<string, ResourceDetector>> = {
  env: envDetector,
  process: processDetector,
  os: osDetector,
  host: syncHostDetector,
  serviceinstance: serviceInstanceIdDetector,
};

/** The detectors OTEL_NODE_RESOURCE_DETECTORS asks for (default `all`), as NodeSDK reads it. */
function resourceDetectors(): ResourceDetector[] {
  const names = (envString('OTEL_NODE_RESOURCE_DETECTORS') ?? 'all').split(',').map((name) => name.trim());
  if (names.includes('all')) return Object.values(DETECTORS);
  if (names.includes('none')) return [];
  return names.flatMap((name) => DETECTORS[name] ?? []);
}

/**
 * The resource attributes set in code, and OTEL_SERVICE_NAME (an SDK setting that applies whichever
 * detectors run) unless the code names the service: the last detector, so that they win over what
 * the detectors and OTEL_RESOURCE_ATTRIBUTES found (NodeSDK merges detected attributes over the
 * `resource` it is given, so attributes passed there lost to a detected `host.name`).
 */
function codeDetector(code: Attributes): ResourceDetector {
  const envService = envString('OTEL_SERVICE_NAME');
  const attributes = envService === undefined || code['service.name'] !== undefined ? code : { 'service.name': envService, ...code };
  return { detect: (): DetectedResource => ({ attributes }) };
}

function envString(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * A positive integer setting: the option set in code, else the standard variable, else the
 * default. A bad value is warned about once and the next source is used.
 */
function positiveInt(value: number | undefined, fallback: number, name: string, envName?: string): number {
  if (value !== undefined) {
    if (Number.isInteger(value) && value > 0) return value;
    warnOnce(`option ${name} must be a positive integer, got ${String(value)}; ignoring it`);
  }
  const raw = envName === undefined ? undefined : envString(envName);
  if (raw !== undefined) {
    const parsed = Number(raw);
    if (Number.isInteger(parsed) && parsed > 0) return parsed;
    warnOnce(`${envName}=${raw} is not a positive integer; using ${fallback}`);
  }
  return fallback;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** The OTLP protocol for a signal: the option, else the signal's variable, else the generic one, else gRPC. */
function otlpProtocol(explicit: OtlpProtocol | undefined, signal: 'TRACES' | 'METRICS'): OtlpProtocol {
  if (explicit !== undefined) {
    if (PROTOCOLS.includes(explicit)) return explicit;
    warnOnce(`exporter protocol ${JSON.stringify(explicit)} is not one of ${PROTOCOLS.join(', ')}; using grpc`);
    return 'grpc';
  }
  const name = envString(`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const fromEnv = envString(name);
  if (fromEnv === undefined) return 'grpc';
  if ((PROTOCOLS as readonly string[]).includes(fromEnv)) return fromEnv as OtlpProtocol;
  warnOnce(`${name}=${fromEnv} is not one of ${PROTOCOLS.join(', ')}; using grpc`);
  return 'grpc';
}

/** An explicit base endpoint as the URL an OTLP/HTTP exporter posts to (`/v1/traces`, `/v1/metrics`). */
function httpSignalUrl(endpoint: string, path: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith(path) ? trimmed : `${trimmed}${path}`;
}

function createTraceExporter(protocol: OtlpProtocol, url: string | undefined, timeoutMillis: number | undefined): SpanExporter {
  // Settings left out here are taken by the exporter from the OTEL_EXPORTER_OTLP_* variables.
  const config = {
    ...(url === undefined ? {} : { url: protocol === 'grpc' ? url : httpSignalUrl(url, '/v1/traces') }),
    ...(timeoutMillis === undefined ? {} : { timeoutMillis }),
  };
  if (protocol === 'http/protobuf') return new OTLPProtoTraceExporter(config);
  if (protocol === 'http/json') return new OTLPHttpTraceExporter(config);
  return new OTLPTraceExporter(config);
}

/** Metrics go the way spans go, unless OTEL_EXPORTER_OTLP_METRICS_PROTOCOL says otherwise. */
function metricsProtocol(traces: ResolvedExporter): OtlpProtocol {
  if (envString('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL') !== undefined) return otlpProtocol(undefined, 'METRICS');
  return traces.protocol ?? otlpProtocol(undefined, 'METRICS');
}

function createMetricExporter(protocol: OtlpProtocol, url: string | undefined): PushMetricExporter {
  const config = url === undefined ? {} : { url: protocol === 'grpc' ? url : httpSignalUrl(url, '/v1/metrics') };
  if (protocol === 'http/protobuf') return new OTLPProtoMetricExporter(config);
  if (protocol === 'http/json') return new OTLPHttpMetricExporter(config);
  return new OTLPMetricExporter(config);
}

interface ResolvedExporter {
  readonly kind: TracingHandle['exporterKind'];
  readonly destination: string;
  readonly exporter: SpanExporter | undefined;
  /** The OTLP endpoint for metrics (same collector), or undefined to use the env. */
  readonly otlpEndpoint: string | undefined;
  /** The OTLP protocol spans use (metrics follow it unless told otherwise). */
  readonly protocol: OtlpProtocol | undefined;
}

function resolveExporter(option: ExporterOption | undefined): ResolvedExporter {
  const envEndpoint = envString('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? envString('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (option !== undefined && 'spanExporter' in option) {
    return { kind: 'custom', destination: '', exporter: option.spanExporter, otlpEndpoint: undefined, protocol: undefined };
  }
  if (option !== undefined && 'none' in option && option.none) {
    return { kind: 'none', destination: '', exporter: undefined, otlpEndpoint: undefined, protocol: undefined };
  }
  if (option !== undefined && 'file' in option) {
    const path = option.file ?? DEFAULT_TRACE_FILE;
    return { kind: 'file', destination: path, exporter: new FileSpanExporter(path), otlpEndpoint: undefined, protocol: undefined };
  }
  const otlp = option !== undefined && ('otlpEndpoint' in option || 'protocol' in option || 'timeoutMillis' in option) ? option : undefined;
  const explicit = otlp?.otlpEndpoint;
  // The standard exporter selection applies where the code chose none.
  const chosen = option === undefined ? envTracesExporter() : undefined;
  if (chosen === 'none') return { kind: 'none', destination: '', exporter: undefined, otlpEndpoint: undefined, protocol: undefined };
  if (chosen === 'console') return { kind: 'custom', destination: 'console', exporter: new ConsoleSpanExporter(), otlpEndpoint: undefined, protocol: undefined };
  const protocolForDefault = chosen === 'otlp' && envEndpoint === undefined ? otlpProtocol(undefined, 'TRACES') : undefined;
  // OTEL_TRACES_EXPORTER=otlp without an endpoint: the spec's default endpoint for the protocol.
  const endpoint = explicit ?? envEndpoint ?? (protocolForDefault === undefined ? undefined : protocolForDefault === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318/v1/traces');
  if (endpoint === undefined) {
    return { kind: 'file', destination: DEFAULT_TRACE_FILE, exporter: new FileSpanExporter(DEFAULT_TRACE_FILE), otlpEndpoint: undefined, protocol: undefined };
  }
  const protocol = otlpProtocol(otlp?.protocol, 'TRACES');
  // Without an explicit URL or timeout the exporter applies the OTEL_* rules itself.
  const exporter = createTraceExporter(protocol, explicit, otlp?.timeoutMillis);
  return { kind: 'otlp', destination: endpoint, exporter, otlpEndpoint: explicit, protocol };
}

/**
 * OTEL_TRACES_EXPORTER as the OpenTelemetry spec reads it: `none`, `otlp` or `console` (the first
 * of a list; `none` among others is ignored, as NodeSDK does); unset or another value (with a
 * warning) leaves the documented default (OTLP when an endpoint variable is set, else the file).
 */
function envTracesExporter(): 'none' | 'otlp' | 'console' | undefined {
  const names = [...new Set((envString('OTEL_TRACES_EXPORTER') ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '' && n !== 'null'))];
  if (names.length === 0) return undefined;
  if (names.length === 1 && names[0] === 'none') return 'none';
  const known = names.filter((n): n is 'otlp' | 'console' => n === 'otlp' || n === 'console');
  const ignored = names.filter((n) => n !== 'none' && n !== known[0]);
  if (ignored.length > 0) {
    warnOnce(`OTEL_TRACES_EXPORTER=${names.join(',')}: ${ignored.join(', ')} ignored (one exporter: otlp, console or none)`);
  }
  return known[0];
}

interface MetricsSetup {
  readonly readers: IMetricReader[];
  readonly prometheus: PrometheusExporter | undefined;
  readonly prometheusConfig: MetricsOption['prometheus'];
}

function resolveMetrics(option: MetricsOption | false | undefined, traces: ResolvedExporter): MetricsSetup {
  if (option === false) return { readers: [], prometheus: undefined, prometheusConfig: undefined };
  const readers: IMetricReader[] = [...(option?.readers ?? [])];
  const otlp = option?.otlp ?? traces.kind === 'otlp';
  if (otlp !== false) {
    const settings = typeof otlp === 'object' ? otlp : {};
    const url = settings.endpoint ?? traces.otlpEndpoint;
    const envInterval = Number(envString('OTEL_METRIC_EXPORT_INTERVAL'));
    const interval = settings.intervalMillis ?? (Number.isFinite(envInterval) && envInterval > 0 ? envInterval : 60_000);
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: createMetricExporter(metricsProtocol(traces), url),
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(interval, 30_000),
      }),
    );
  }
  let prometheus: PrometheusExporter | undefined;
  if (option?.prometheus !== undefined) {
    // We serve the scrape endpoint ourselves (the exporter's own server cannot report the port
    // it got for port 0, and its listen error would surface as an unhandled rejection).
    prometheus = new PrometheusExporter({ preventServerStart: true });
    readers.push(prometheus);
  }
  return { readers, prometheus, prometheusConfig: option?.prometheus };
}

function serveMetrics(
  exporter: PrometheusExporter,
  config: NonNullable<MetricsOption['prometheus']>,
  onUrl: (url: string) => void,
): { server: Server; ready: Promise<void> } {
  const path = config.endpoint ?? '/metrics';
  const host = config.host ?? '0.0.0.0';
  const server = createServer((request, response) => {
    const requestPath = (request.url ?? '').split('?')[0];
    if (requestPath === path) exporter.getMetricsRequestHandler(request, response);
    else response.writeHead(404).end();
  });
  const ready = new Promise<void>((resolve) => {
    server.once('error', (error) => {
      warnOnce(`cannot serve Prometheus metrics on ${host}:${config.port ?? 9464} (${error.message}); metrics are not served`);
      resolve();
    });
    server.listen(config.port ?? 9464, host, () => {
      const address = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      onUrl(`http://${shownHost}:${address.port}${path}`);
      resolve();
    });
  });
  server.unref();
  return { server, ready };
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * Sets up OpenTelemetry for this process and returns a handle to flush and shut it down. Call it
 * once, before the service starts handling requests; a second call returns the first handle.
 */
export function setupTracing(options: TracingOptions = {}): TracingHandle {
  if (active !== undefined) {
    warnOnce('setupTracing called again; the first setup stays in effect');
    return active;
  }
  const previousSink = options.onWarning === undefined ? undefined : setWarningSink(options.onWarning);
  // Code wins over the standard OTEL_BSP_* variables, which win over the SDK's defaults.
  const exportTimeoutMillis = positiveInt(options.exportTimeoutMillis, 10_000, 'exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT');
  const maxQueueSize = positiveInt(options.maxQueueSize, 2048, 'maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE');
  const codeService = options.resourceAttributes?.['service.name'];
  const serviceName = options.serviceName ?? (typeof codeService === 'string' ? codeService : undefined) ?? envString('OTEL_SERVICE_NAME') ?? 'unknown_service:node';

  // OTEL_SDK_DISABLED=true: NodeSDK starts nothing, so nothing is exported, served or written;
  // the handle says so (it reported the file or OTLP exporter, and served an empty metrics page).
  const disabled = getBooleanFromEnv('OTEL_SDK_DISABLED') === true;
  let traces: ResolvedExporter;
  try {
    traces = disabled ? { kind: 'none', destination: '', exporter: undefined, otlpEndpoint: undefined, protocol: undefined } : resolveExporter(options.exporter);
  } catch (error) {
    warnOnce(`cannot create the span exporter (${error instanceof Error ? error.message : String(error)}); spans are not exported`);
    traces = { kind: 'none', destination: '', exporter: undefined, otlpEndpoint: undefined, protocol: undefined };
  }
  const processor =
    traces.exporter === undefined
      ? undefined
      : new BoundedSpanProcessor(traces.exporter, {
          maxQueueSize,
          maxExportBatchSize: positiveInt(options.maxExportBatchSize, 512, 'maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
          scheduledDelayMillis: positiveInt(options.scheduledDelayMillis, 1000, 'scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY'),
          exportTimeoutMillis,
          destination: traces.destination === '' ? 'the span exporter' : traces.destination,
        });

  let metricsSetup: MetricsSetup;
  try {
    metricsSetup = resolveMetrics(disabled ? false : options.metrics, traces);
  } catch (error) {
    warnOnce(`cannot set up metrics (${error instanceof Error ? error.message : String(error)}); metrics are off`);
    metricsSetup = { readers: [], prometheus: undefined, prometheusConfig: undefined };
  }

  let sdk: NodeSDK | undefined;
  // The sampler NodeSDK would build (the option, else OTEL_TRACES_SAMPLER through NodeSDK's own
  // createSamplerFromEnv, which its index does not export, else parent-based always-on), wrapped
  // so that the tracer can take a request span's decision first (presample.ts).
  const ids = new PooledIdGenerator();
  let sampler: DecisionSampler | undefined;
  try {
    sampler = new DecisionSampler(options.sampler ?? createSamplerFromEnv() ?? new ParentBasedSampler({ root: new AlwaysOnSampler() }));
  } catch (error) {
    reportFailure('building the sampler from OTEL_TRACES_SAMPLER', error);
    sampler = undefined;
  }
  try {
    sdk = new NodeSDK({
      resource: defaultResource(),
      resourceDetectors: [...resourceDetectors(), codeDetector({ ...(options.resourceAttributes ?? {}) })],
      ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
      // NodeSDK registers no provider without a span processor: { none: true } (and an exporter
      // that could not be created) get one that discards, so spans are recorded but go nowhere.
      spanProcessors: [processor ?? new NoopSpanProcessor()],
      metricReaders: metricsSetup.readers,
      // An empty list stops NodeSDK from starting its default OTLP/HTTP log exporter.
      logRecordProcessors: [],
      ...(sampler !== undefined ? { sampler } : options.sampler !== undefined ? { sampler: options.sampler } : {}),
      // Cheaper ids of the same kind as the SDK's (src/tracer/id-generator.ts).
      idGenerator: ids,
    });
    sdk.start();
    // With the SDK's own span metrics on (experimental), every span must go through the SDK to be counted.
    if (sampler !== undefined && getBooleanFromEnv('OTEL_NODE_EXPERIMENTAL_SDK_METRICS') !== true) {
      const presampler = new SdkPresampler(sampler, ids);
      if (presampler.servesTracer(trace.getTracer(TRACER_NAME, TRACER_VERSION), 'latency-doctor set-up check')) fillPresamplerSlot(trace.getTracerProvider(), presampler);
    }
  } catch (error) {
    warnOnce(`OpenTelemetry setup failed (${error instanceof Error ? error.message : String(error)}); tracing is off`);
    sdk = undefined;
  }

  if (sdk !== undefined && metricsSetup.readers.length > 0 && processor !== undefined) {
    try {
      const spec = TRACER_METRICS.SPANS_DROPPED;
      metrics
        .getMeter(TRACER_NAME, TRACER_VERSION)
        .createObservableCounter(spec.name, { unit: spec.unit, description: spec.description })
        .addCallback((result) => result.observe(processor.droppedTotal()));
    } catch (error) {
      // The count stays available through droppedSpans().
      reportFailure('creating the dropped-spans counter', error);
    }
  }

  let metricsUrl: string | undefined;
  let metricsServer: Server | undefined;
  let ready: Promise<void> = Promise.resolve();
  if (sdk !== undefined && metricsSetup.prometheus !== undefined && metricsSetup.prometheusConfig !== undefined) {
    const served = serveMetrics(metricsSetup.prometheus, metricsSetup.prometheusConfig, (url) => {
      metricsUrl = url;
    });
    metricsServer = served.server;
    ready = served.ready;
  }

  // A process whose event loop runs out ends without waiting for the batch processor's timer
  // (unref'd): every span still queued was lost without a word. 'beforeExit' comes exactly then
  // and may schedule work, so the queue is exported first; process.exit() and signals skip it,
  // and 'exit' (synchronous, too late to export) says how many spans they left behind.
  // Pushed metrics (OTLP) are sent once there too: the last interval's measurements (every one, in a
  // job shorter than the 60 s interval) were lost the same way. Once only: a push always sends,
  // and each flush brings 'beforeExit' back.
  let flushingAtExit = false;
  let metricsPushedAtExit = !metricsSetup.readers.some((reader) => reader instanceof PeriodicExportingMetricReader);
  const onBeforeExit = (): void => {
    const spans = processor !== undefined && processor.pending() > 0;
    if (flushingAtExit || (!spans && metricsPushedAtExit)) return;
    flushingAtExit = true;
    const work: Promise<unknown>[] = [];
    if (spans) work.push(processor.forceFlush());
    if (!metricsPushedAtExit) {
      metricsPushedAtExit = true;
      work.push(Promise.all(metricsSetup.readers.map((reader) => (reader instanceof PeriodicExportingMetricReader ? reader.forceFlush() : undefined))));
    }
    void withTimeout(Promise.all(work), exportTimeoutMillis).then(() => {
      flushingAtExit = false;
    });
  };
  const onExit = (): void => {
    const unsent = processor?.pending() ?? 0;
    if (unsent > 0) {
      warnOnce(
        `the process exited with ${unsent} span(s) not exported; call tracing.shutdown() (awaited) before process.exit() or in your signal handler`,
        'unsent-at-exit',
      );
    }
  };
  if (sdk !== undefined && (processor !== undefined || !metricsPushedAtExit)) {
    process.on('beforeExit', onBeforeExit);
    process.on('exit', onExit);
  }

  let shutdownPromise: Promise<void> | undefined;
  const handle: TracingHandle = {
    serviceName,
    exporterKind: traces.kind,
    destination: traces.destination,
    get metricsUrl() {
      return metricsUrl;
    },
    ready,
    droppedSpans() {
      const dropped = processor?.dropped() ?? { queueFull: 0, exportFailed: 0, unsentAtShutdown: 0 };
      return { ...dropped, total: dropped.queueFull + dropped.exportFailed + dropped.unsentAtShutdown };
    },
    forceFlush() {
      return withTimeout(processor?.forceFlush() ?? Promise.resolve(), exportTimeoutMillis);
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        process.off('beforeExit', onBeforeExit);
        process.off('exit', onExit);
        await withTimeout(sdk?.shutdown() ?? Promise.resolve(), exportTimeoutMillis);
        // What did not make it out by now is lost: count it, then stay quiet about late failures.
        processor?.abandon();
        processor?.mute();
        if (metricsServer !== undefined) {
          const server = metricsServer;
          await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 1000);
          server.closeAllConnections();
        }
        // Unregister so instruments and tracers fall back to no-ops and a new setup can register.
        emptyPresamplerSlot();
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
        if (active === handle) active = undefined;
        resetWarnings();
        if (previousSink !== undefined) setWarningSink(previousSink);
      })();
      return shutdownPromise;
    },
  };
  active = handle;
  return handle;
}

/**
 * @module examples/service/service-config
 * Configuration of the example inference service: options in code, command-line flags, and
 * environment variables as fallbacks, resolved once into a readonly config. Every knob a
 * scenario of the demo turns (precision, batching, cache, preprocessing path) lives here.
 */
import { parseArgs } from 'node:util';
import type { ModelPrecision } from '../model/index.js';

/** Batching parameters of the service's queue. */
export interface BatchingConfig {
  /** Most requests per batch. */
  readonly maxBatchSize: number;
  /** Longest the oldest request waits for a batch to fill, µs. */
  readonly maxQueueDelayUs: number;
}

/** Prediction cache choice. */
export type CacheConfig =
  | { readonly kind: 'memory'; readonly maxEntries: number; readonly ttlMs: number }
  | { readonly kind: 'redis'; readonly url: string; readonly ttlMs: number };

/** The resolved configuration of one service instance. */
export interface ServiceConfig {
  /** Model precision. Default fp32. */
  readonly precision: ModelPrecision;
  /** Width of the MLP's two hidden layers. Default 2048. */
  readonly hiddenWidth: number;
  /** Dynamic batching, or null for one request at a time. Default null. */
  readonly batching: BatchingConfig | null;
  /** Prediction cache, or null. Default null. */
  readonly cache: CacheConfig | null;
  /** Use the slow, naive preprocessing path. Default false. */
  readonly slowPreprocess: boolean;
  /** TCP port on 127.0.0.1; 0 picks a free one. Default 8080. */
  readonly port: number;
  /** OTLP JSON lines trace file; null with no OTLP endpoint means no tracing export. */
  readonly traceFile: string | null;
  /** OTLP/gRPC endpoint for traces (takes precedence over the file). */
  readonly otlpEndpoint: string | null;
  /** Port of the Prometheus endpoint serving the tracer's phase histograms; null = off. */
  readonly metricsPort: number | null;
  /** `service.name` of the spans. Default `example-inference-service`. */
  readonly serviceName: string;
  /** Record `inference.input.hash` (opt-in) so cache analysis can see repeated inputs. Default true. */
  readonly hashInputs: boolean;
}

/** A configuration value that cannot be used; the message names the flag and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Defaults of every field. */
export const DEFAULT_SERVICE_CONFIG: ServiceConfig = {
  precision: 'fp32',
  hiddenWidth: 2048,
  batching: null,
  cache: null,
  slowPreprocess: false,
  port: 8080,
  traceFile: null,
  otlpEndpoint: null,
  metricsPort: null,
  serviceName: 'example-inference-service',
  hashInputs: true,
};

/** Default batching when `--batching` is given without parameters: Triton-like small delay. */
export const DEFAULT_BATCHING: BatchingConfig = { maxBatchSize: 32, maxQueueDelayUs: 2000 };

/** Default cache TTL: ten minutes. */
const DEFAULT_TTL_MS = 600_000;

function integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

/** Help text of the service's command line. */
export const SERVICE_USAGE = `Usage: node --import tsx examples/service/main.ts [options]
  --precision fp32|int8        model precision (env MODEL_PRECISION; default fp32)
  --hidden N                   width of the two hidden layers (default 2048; 4096 ≈ 4× the compute)
  --batching                   enable dynamic batching (env BATCHING=1)
  --max-batch-size N           largest batch (default 32; implies --batching)
  --max-queue-delay-us N       longest wait to fill a batch, µs (default 2000; implies --batching)
  --cache memory|redis|off     prediction cache (env CACHE; redis uses REDIS_URL; default off)
  --redis-url URL              Redis URL for --cache redis (env REDIS_URL)
  --slow-preprocess            use the naive preprocessing path (env SLOW_PREPROCESS=1)
  --port N                     port on 127.0.0.1 (env PORT; 0 = any free port; default 8080)
  --trace-file FILE            write spans as OTLP JSON lines to FILE (env TRACE_FILE)
  --otlp-endpoint URL          export spans over OTLP/gRPC instead (env OTEL_EXPORTER_OTLP_ENDPOINT)
  --metrics-port N             serve phase histograms for Prometheus on 127.0.0.1:N/metrics (env METRICS_PORT)
  --no-hash-inputs             do not record inference.input.hash`;

/** Resolves the configuration from command-line arguments, then the environment, then defaults. */
export function parseServiceArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        precision: { type: 'string' },
        hidden: { type: 'string' },
        batching: { type: 'boolean' },
        'max-batch-size': { type: 'string' },
        'max-queue-delay-us': { type: 'string' },
        cache: { type: 'string' },
        'redis-url': { type: 'string' },
        'slow-preprocess': { type: 'boolean' },
        port: { type: 'string' },
        'trace-file': { type: 'string' },
        'otlp-endpoint': { type: 'string' },
        'metrics-port': { type: 'string' },
        'service-name': { type: 'string' },
        'no-hash-inputs': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const v = parsed.values;
  const precision = v.precision ?? env.MODEL_PRECISION ?? DEFAULT_SERVICE_CONFIG.precision;
  if (precision !== 'fp32' && precision !== 'int8') throw new ConfigError(`--precision: expected fp32 or int8, got "${precision}"`);
  const maxBatch = v['max-batch-size'];
  const maxDelay = v['max-queue-delay-us'];
  const batchingOn = v.batching === true || env.BATCHING === '1' || maxBatch !== undefined || maxDelay !== undefined;
  const batching = batchingOn
    ? {
        maxBatchSize: maxBatch === undefined ? DEFAULT_BATCHING.maxBatchSize : integer('max-batch-size', maxBatch, 1, 1024),
        maxQueueDelayUs: maxDelay === undefined ? DEFAULT_BATCHING.maxQueueDelayUs : integer('max-queue-delay-us', maxDelay, 0, 10_000_000),
      }
    : null;
  const cacheKind = v.cache ?? env.CACHE ?? 'off';
  let cache: CacheConfig | null;
  if (cacheKind === 'off') cache = null;
  else if (cacheKind === 'memory') cache = { kind: 'memory', maxEntries: 10_000, ttlMs: DEFAULT_TTL_MS };
  else if (cacheKind === 'redis') {
    const url = v['redis-url'] ?? env.REDIS_URL;
    if (url === undefined || url === '') throw new ConfigError('--cache redis: needs --redis-url or REDIS_URL, e.g. redis://127.0.0.1:6379');
    cache = { kind: 'redis', url, ttlMs: DEFAULT_TTL_MS };
  } else throw new ConfigError(`--cache: expected memory, redis or off, got "${cacheKind}"`);
  const portText = v.port ?? env.PORT;
  const metricsText = v['metrics-port'] ?? env.METRICS_PORT;
  return {
    precision,
    hiddenWidth: v.hidden === undefined ? DEFAULT_SERVICE_CONFIG.hiddenWidth : integer('hidden', v.hidden, 16, 8192),
    batching,
    cache,
    slowPreprocess: v['slow-preprocess'] === true || env.SLOW_PREPROCESS === '1',
    port: portText === undefined ? DEFAULT_SERVICE_CONFIG.port : integer('port', portText, 0, 65535),
    traceFile: v['trace-file'] ?? env.TRACE_FILE ?? null,
    otlpEndpoint: v['otlp-endpoint'] ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    metricsPort: metricsText === undefined ? null : integer('metrics-port', metricsText, 0, 65535),
    serviceName: v['service-name'] ?? env.OTEL_SERVICE_NAME ?? DEFAULT_SERVICE_CONFIG.serviceName,
    hashInputs: v['no-hash-inputs'] !== true,
  };
}

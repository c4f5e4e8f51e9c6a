/**
 * @module examples/service/inference-service
 * The example inference service: express on 127.0.0.1, one POST /v1/predict route that runs
 * decode → preprocess → (cache) → queue/batch → compute → postprocess → encode, every phase
 * recorded by latency-doctor's tracer. Started in-process by `startInferenceService` (tests,
 * demo) or from the command line by `main.ts`.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Request, Response } from 'express';
import { DEFAULT_MLP, loadModelSession, type ModelSession } from '../model/index.js';
import {
  createInferenceTracer,
  setupTracing,
  type InferenceTracer,
  type QueueTicket,
  type TracingHandle,
} from '../../src/tracer/index.js';
import { DynamicBatcher } from './dynamic-batcher.js';
import { BINARY_CONTENT_TYPE, decodeBinaryInput, decodeJsonInput, InputError, SHAPE_HEADER, type ImageInput } from './image-input.js';
import { topK, type ClassScore } from './postprocess.js';
import { cacheKey, memoryCache, redisCache, type PredictionCache } from './prediction-cache.js';
import { preprocessFast, preprocessSlow } from './preprocess.js';
import type { ServiceConfig } from './service-config.js';

/** Name of the model in spans and responses. */
export const MODEL_NAME = 'mlp-classifier';
/** Version of the model in spans. */
export const MODEL_VERSION = '1';
/** Classes returned per prediction. */
const TOP_K = 5;
/** Largest accepted request body (a 3×1024×1024 float32 image is 12 MiB; JSON of it ~2× that). */
const BODY_LIMIT = '64mb';

/** A running service. */
export interface RunningService {
  /** Base URL, e.g. http://127.0.0.1:39127 */
  readonly url: string;
  readonly config: ServiceConfig;
  /** Prometheus scrape URL when a metrics port was configured. */
  readonly metricsUrl: string | null;
  /** Stops accepting requests, waits for open ones, flushes the spans, releases the model. */
  close(): Promise<void>;
}

/** Body of a successful prediction. */
export interface PredictionResponse {
  readonly model: string;
  readonly precision: string;
  readonly top: readonly ClassScore[];
  readonly cached: boolean;
}

interface QueuedInput {
  readonly ticket: QueueTicket;
  readonly normalized: Float32Array;
}

function decodeBody(req: Request): ImageInput {
  const body = req.body as unknown;
  if (!Buffer.isBuffer(body) || body.byteLength === 0) throw new InputError('empty request body');
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith(BINARY_CONTENT_TYPE)) return decodeBinaryInput(body, req.headers[SHAPE_HEADER] as string | undefined);
  if (type.startsWith('application/json')) return decodeJsonInput(body);
  throw new InputError(`content-type must be application/json or ${BINARY_CONTENT_TYPE}, got "${type}"`);
}

function makeBatcher(config: ServiceConfig, session: ModelSession, tracer: InferenceTracer): DynamicBatcher<QueuedInput, Float32Array> {
  const batching = config.batching ?? { maxBatchSize: 1, maxQueueDelayUs: 0 };
  return new DynamicBatcher<QueuedInput, Float32Array>(batching, (items) =>
    tracer.runBatch(items.map((item) => item.ticket), async () => {
      const stacked = new Float32Array(items.length * session.inputSize);
      items.forEach((item, i) => stacked.set(item.normalized, i * session.inputSize));
      const logits = await session.run(stacked, items.length);
      return items.map((_, i) => logits.subarray(i * session.classes, (i + 1) * session.classes));
    }),
  );
}

/** Loads the model, sets up tracing and starts listening on 127.0.0.1. */
export async function startInferenceService(config: ServiceConfig): Promise<RunningService> {
  const tracing: TracingHandle = setupTracing({
    serviceName: config.serviceName,
    ...(config.otlpEndpoint !== null
      ? { exporter: { otlpEndpoint: config.otlpEndpoint } }
      : config.traceFile !== null
        ? { exporter: { file: config.traceFile } }
        : { exporter: { none: true } }),
    ...(config.metricsPort !== null ? { metrics: { prometheus: { port: config.metricsPort, host: '127.0.0.1' } } } : {}),
  });
  await tracing.ready;
  const widths = [1024, config.hiddenWidth, config.hiddenWidth, 1000];
  let session: ModelSession | undefined;
  let cache: PredictionCache | null = null;
  try {
    session = await loadModelSession(config.precision, { worker: true, spec: { ...DEFAULT_MLP, widths } });
    if (config.cache?.kind === 'memory') cache = memoryCache(config.cache.maxEntries, config.cache.ttlMs);
    else if (config.cache?.kind === 'redis') cache = await redisCache(config.cache.url, config.cache.ttlMs);
  } catch (error) {
    // Release what did start, so a failed start leaves no thread or timer keeping the process alive.
    await session?.close();
    await tracing.shutdown();
    throw error;
  }
  return listen(config, tracing, session, cache);
}

async function listen(config: ServiceConfig, tracing: TracingHandle, session: ModelSession, cache: PredictionCache | null): Promise<RunningService> {
  const tracer = createInferenceTracer({
    model: MODEL_NAME,
    version: MODEL_VERSION,
    runtime: 'onnxruntime',
    runtimeProvider: 'CPUExecutionProvider',
    precision: config.precision,
    device: 'cpu',
    hashInputs: config.hashInputs,
  });
  const batcher = makeBatcher(config, session, tracer);
  const preprocess = config.slowPreprocess ? preprocessSlow : preprocessFast;

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, model: MODEL_NAME, precision: config.precision, batching: config.batching, cache: cache?.kind ?? null, slowPreprocess: config.slowPreprocess });
  });
  app.post('/v1/predict', express.raw({ type: () => true, limit: BODY_LIMIT }), async (req: Request, res: Response) => {
    try {
      const body = await tracer.infer(async (r) => {
        const input = r.serialize(() => decodeBody(req));
        const normalized = r.preprocess(() => preprocess(input));
        r.hashInput(normalized);
        // The cache key is a plain digest, not the tracer's keyed hash: Redis entries must survive restarts.
        const key = cache === null ? undefined : cacheKey(normalized);
        const hit = cache === null || key === undefined ? undefined : await cache.get(key);
        if (cache !== null) r.setCacheHit(hit !== undefined);
        let top: readonly ClassScore[];
        if (hit === undefined) {
          const logits = await batcher.submit({ ticket: r.enqueue(), normalized });
          top = r.postprocess(() => topK(logits, TOP_K));
          if (cache !== null && key !== undefined) void cache.set(key, top);
        } else top = hit;
        const cached = hit !== undefined;
        const response: PredictionResponse = { model: MODEL_NAME, precision: config.precision, top, cached };
        const encoded = r.serialize(() => JSON.stringify(response));
        r.setResponseSize(Buffer.byteLength(encoded));
        return encoded;
      }, { headers: req.headers, requestSize: (req.body as Buffer | undefined)?.byteLength ?? 0 });
      res.type('application/json').send(body);
    } catch (error) {
      if (error instanceof InputError) res.status(400).json({ error: error.message });
      else res.status(500).json({ error: (error as Error).message });
    }
  });
  // Body-parser errors (too large, aborted) arrive here; answer them in one line too.
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: express.NextFunction) => {
    res.status(error.status ?? 500).json({ error: error.message });
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 30_000;
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    metricsUrl: tracing.metricsUrl ?? null,
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await tracing.shutdown();
        await cache?.close();
        await session.close();
      })();
      return closed;
    },
  };
}

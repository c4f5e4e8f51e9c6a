/**
 * @module examples/loadgen/load-generator
 * Drives the example service over HTTP/1.1 keep-alive: closed loop (N clients, each sending
 * its next request when the previous one returns) or open loop (requests start at a fixed
 * arrival rate whatever the responses do, the way real traffic arrives). Every request is
 * wrapped in the tracer's client span, which injects `traceparent`, so the analyzer can
 * derive network time. Reports achieved throughput and client-side percentiles.
 */
import { Agent, request as httpRequest } from 'node:http';
import { traceClientCall } from '../../src/tracer/index.js';
import { MODEL_NAME } from '../service/inference-service.js';
import { summarizeLatencies, type LatencySummary } from './latency-summary.js';
import { PayloadSource, type PayloadOptions } from './payloads.js';

/** How requests are paced. */
export type LoadMode =
  | { readonly kind: 'closed'; readonly concurrency: number }
  | { readonly kind: 'open'; readonly ratePerS: number; readonly maxInFlight?: number };

/** One load run. */
export interface LoadOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly mode: LoadMode;
  /** Measured duration, ms. */
  readonly durationMs: number;
  /**
   * Keep going past `durationMs` until this many measured requests have completed (at most
   * 5 × durationMs), so a slow configuration on a busy machine still yields enough requests
   * for a valid analysis. Default 0.
   */
  readonly minRequests?: number;
  /** Unmeasured lead-in (requests are sent and traced, but not counted here), ms. Default 0. */
  readonly warmupMs?: number;
  /** Inputs: size, encoding, share of repeats. */
  readonly payload?: PayloadOptions;
  /** Stops the run early (no new requests; those in flight finish). */
  readonly signal?: AbortSignal;
  /** Called about once a second with requests completed so far. */
  readonly onProgress?: (completed: number, elapsedMs: number) => void;
}

/** What one load run achieved. */
export interface LoadResult {
  /** Successful measured requests. */
  readonly requests: number;
  /** Failed measured requests (non-2xx or transport error). */
  readonly errors: number;
  /** Open loop only: arrivals skipped because `maxInFlight` requests were already open. */
  readonly skipped: number;
  /** Measured wall time, s. */
  readonly durationS: number;
  /** Successful requests per second over the measured window. */
  readonly throughputRps: number;
  readonly latencyMs: LatencySummary;
  /** Bytes of a typical request body. */
  readonly requestBytes: number;
  /** Measured requests answered from the service's cache. */
  readonly cachedResponses: number;
  /** First error message seen, to tell a broken run from a slow one. */
  readonly firstError?: string;
}

/** The target cannot be reached or answered every request with an error. */
export class LoadError extends Error {
  override readonly name = 'LoadError';
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

function post(agent: Agent, url: URL, body: Buffer, headers: Readonly<Record<string, string>>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.byteLength) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs one load run against `options.url` and reports what the client saw. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL('/v1/predict', options.url);
  const payloads = new PayloadSource(options.payload ?? {});
  const concurrency = options.mode.kind === 'closed' ? options.mode.concurrency : (options.mode.maxInFlight ?? 256);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const warmupMs = options.warmupMs ?? 0;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const minRequests = options.minRequests ?? 0;
  const hardStopAt = measureFrom + 5 * options.durationMs;
  const plannedStopAt = measureFrom + options.durationMs;
  let measuredDone = 0;
  const keepGoing = (now: number): boolean =>
    options.signal?.aborted !== true && (now < plannedStopAt || (measuredDone < minRequests && now < hardStopAt));
  const latencies: number[] = [];
  let errors = 0;
  let skipped = 0;
  let cachedResponses = 0;
  let completed = 0;
  let firstError: string | undefined;
  let measuredEnd = measureFrom;

  const sendOne = async (): Promise<void> => {
    const payload = payloads.next();
    const sentAt = performance.now();
    try {
      const reply = await traceClientCall(
        (headers) => post(agent, target, payload.body, { ...payload.headers, ...headers }),
        { model: MODEL_NAME, requestSize: payload.body.byteLength },
      );
      const doneAt = performance.now();
      completed += 1;
      if (sentAt < measureFrom) return;
      measuredDone += 1;
      measuredEnd = Math.max(measuredEnd, doneAt);
      if (reply.status >= 200 && reply.status < 300) {
        latencies.push(doneAt - sentAt);
        if (reply.body.includes('"cached":true')) cachedResponses += 1;
      } else {
        errors += 1;
        firstError ??= `HTTP ${reply.status}: ${reply.body.slice(0, 200)}`;
      }
    } catch (error) {
      completed += 1;
      if (sentAt >= measureFrom) errors += 1;
      firstError ??= (error as Error).message;
    }
  };

  const progress = options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.(completed, performance.now() - start), 1000);
  try {
    if (options.mode.kind === 'closed') {
      await Promise.all(
        Array.from({ length: options.mode.concurrency }, async () => {
          while (keepGoing(performance.now())) await sendOne();
        }),
      );
    } else {
      const intervalMs = 1000 / options.mode.ratePerS;
      const inFlight = new Set<Promise<void>>();
      let next = performance.now();
      while (keepGoing(next)) {
        const now = performance.now();
        if (now < next) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - now)));
          continue;
        }
        // Catch up on arrivals a late timer missed, as an open-loop source would have sent them.
        while (next <= performance.now() && keepGoing(next)) {
          next += intervalMs;
          if (inFlight.size >= concurrency) {
            if (performance.now() >= measureFrom) skipped += 1;
            continue;
          }
          const p = sendOne().finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }
      await Promise.all(inFlight);
    }
  } finally {
    if (progress !== undefined) clearInterval(progress);
    agent.destroy();
  }
  if (latencies.length === 0 && errors > 0) throw new LoadError(`every request failed; first error: ${firstError ?? 'unknown'}`);
  const durationS = Math.max(options.durationMs, measuredEnd - measureFrom) / 1000;
  return {
    requests: latencies.length,
    errors,
    skipped,
    durationS,
    throughputRps: latencies.length / durationS,
    latencyMs: summarizeLatencies(latencies),
    requestBytes: payloads.typicalBytes,
    cachedResponses,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

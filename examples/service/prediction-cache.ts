/**
 * @module examples/service/prediction-cache
 * Optional prediction cache keyed by a hash of the normalized model input (the
 * `scale-and-cache` fix): an in-process LRU, or Redis when a URL is configured, with a TTL so
 * that a model update is not hidden behind stale answers for long.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { createClient } from 'redis';
import type { ClassScore } from './postprocess.js';

/** A prediction cache; `get` resolves undefined on a miss. Errors never reach the caller: a broken cache is a miss. */
export interface PredictionCache {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<readonly ClassScore[] | undefined>;
  set(key: string, value: readonly ClassScore[]): Promise<void>;
  close(): Promise<void>;
}

/** Cache key of a normalized input: SHA-256 of its float32 bytes, hex. */
export function cacheKey(normalized: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(normalized.buffer, normalized.byteOffset, normalized.byteLength)).digest('hex');
}

/** An in-memory LRU of at most `maxEntries` predictions, each kept at most `ttlMs`. */
export function memoryCache(maxEntries: number, ttlMs: number): PredictionCache {
  const lru = new LRUCache<string, readonly ClassScore[]>({ max: maxEntries, ttl: ttlMs });
  return {
    kind: 'memory',
    get: (key) => Promise.resolve(lru.get(key)),
    set: (key, value) => {
      lru.set(key, value);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/** Connection attempts before a Redis that never answered counts as down at start-up. */
const START_ATTEMPTS = 5;

/** A Redis-backed cache (`SET key value PX ttl`); connects before resolving, rejects when Redis cannot be reached. */
export async function redisCache(url: string, ttlMs: number): Promise<PredictionCache> {
  let connected = false;
  const client = createClient({
    url,
    socket: {
      // Fail fast at start-up (a wrong URL is a configuration error); once up, keep reconnecting.
      reconnectStrategy: (retries) => (connected ? Math.min(retries * 100, 2000) : retries >= START_ATTEMPTS ? new Error(`gave up after ${START_ATTEMPTS} connection attempts`) : 100),
    },
  });
  // Without an error listener the client would throw on a lost connection.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    try {
      client.destroy();
    } catch {
      // Already closed by the failed connect.
    }
    throw new Error(`cannot reach Redis at ${url}: ${(error as Error).message}`);
  }
  connected = true;
  const prefix = 'latency-doctor:prediction:';
  return {
    kind: 'redis',
    async get(key) {
      try {
        const value = await client.get(prefix + key);
        return typeof value === 'string' ? (JSON.parse(value) as ClassScore[]) : undefined;
      } catch {
        return undefined;
      }
    },
    async set(key, value) {
      try {
        await client.set(prefix + key, JSON.stringify(value), { expiration: { type: 'PX', value: ttlMs } });
      } catch {
        // A failed write only costs a future miss.
      }
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.destroy();
      }
    },
  };
}

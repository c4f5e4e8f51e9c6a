import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamicBatcher } from '../../examples/service/dynamic-batcher.js';
import { decodeBinaryInput, decodeJsonInput, encodeBinaryInput, encodeJsonInput, InputError, type ImageInput } from '../../examples/service/image-input.js';
import { preprocessFast, preprocessSlow } from '../../examples/service/preprocess.js';
import { topK } from '../../examples/service/postprocess.js';
import { cacheKey, memoryCache, redisCache } from '../../examples/service/prediction-cache.js';
import { ConfigError, parseServiceArgs } from '../../examples/service/service-config.js';
import { PayloadSource } from '../../examples/loadgen/payloads.js';
import { startInferenceService, type PredictionResponse } from '../../examples/service/inference-service.js';
import { percentile } from '../../examples/loadgen/latency-summary.js';
import { serviceFlagsForFix } from '../../examples/scenarios/apply-fix.js';
import type { Recommendation } from '../../src/model/diagnosis.js';

function image(side: number, channels = 3): ImageInput {
  const data = new Float32Array(channels * side * side);
  for (let i = 0; i < data.length; i += 1) data[i] = (i * 37) % 256;
  return { channels, height: side, width: side, data };
}

describe('dynamic batcher', () => {
  it('without batching runs requests one at a time, in arrival order', async () => {
    const batches: number[][] = [];
    let running = 0;
    let maxRunning = 0;
    const batcher = new DynamicBatcher<number, number>({ maxBatchSize: 1, maxQueueDelayUs: 0 }, async (items) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      batches.push([...items]);
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
      return items.map((x) => x * 10);
    });
    const results = await Promise.all([1, 2, 3, 4].map((x) => batcher.submit(x)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2], [3], [4]]);
    expect(maxRunning).toBe(1);
  });

  it('groups waiting requests up to the max batch size', async () => {
    const sizes: number[] = [];
    const batcher = new DynamicBatcher<number, number>({ maxBatchSize: 4, maxQueueDelayUs: 50_000 }, async (items) => {
      sizes.push(items.length);
      return items.map((x) => -x);
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => -i));
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('releases a partial batch once the oldest request has waited the max queue delay', async () => {
    const batcher = new DynamicBatcher<number, number>({ maxBatchSize: 64, maxQueueDelayUs: 20_000 }, async (items) => items.map(() => performance.now()));
    const start = performance.now();
    const [ranAt] = await Promise.all([batcher.submit(1), batcher.submit(2)]);
    expect((ranAt ?? 0) - start).toBeGreaterThanOrEqual(19);
    expect((ranAt ?? 0) - start).toBeLessThan(200);
  });

  it('rejects every member of a failed batch and keeps serving', async () => {
    let fail = true;
    const batcher = new DynamicBatcher<number, number>({ maxBatchSize: 2, maxQueueDelayUs: 10_000 }, async (items) => {
      if (fail) {
        fail = false;
        throw new Error('model crashed');
      }
      return items;
    });
    const first = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(batcher.submit(3)).resolves.toBe(3);
  });

  it('refuses a batch size below one', () => {
    expect(() => new DynamicBatcher({ maxBatchSize: 0, maxQueueDelayUs: 0 }, async (x: readonly number[]) => x)).toThrow(RangeError);
  });
});

describe('wire formats', () => {
  it('decodes JSON and binary bodies of the same image to the same values', () => {
    const input = image(8);
    const fromJson = decodeJsonInput(Buffer.from(encodeJsonInput(input, 3)));
    const { body, shape } = encodeBinaryInput(input);
    const fromBinary = decodeBinaryInput(Buffer.from(body), shape);
    expect(fromJson.data).toEqual(input.data);
    expect(fromBinary.data).toEqual(input.data);
    expect([fromBinary.channels, fromBinary.height, fromBinary.width]).toEqual([3, 8, 8]);
  });

  it('decodes a binary body that starts at an odd offset of a pooled buffer', () => {
    const input = image(4, 1);
    const pooled = Buffer.alloc(1 + 64);
    Buffer.from(encodeBinaryInput(input).body).copy(pooled, 1);
    expect(decodeBinaryInput(pooled.subarray(1), '1,4,4').data).toEqual(input.data);
  });

  it.each([
    ['not JSON', '{"shape":', /not valid JSON/],
    ['missing shape', '{"data":[1]}', /"shape" must be an array/],
    ['bad channels', '{"shape":[2,1,1],"data":[1,2]}', /channels must be 1 or 3/],
    ['wrong length', '{"shape":[1,2,2],"data":[1,2,3]}', /has 3 values, shape 1×2×2 needs 4/],
    ['non-number', '{"shape":[1,1,2],"data":[1,"x"]}', /"data"\[1\] is not a number/],
  ])('rejects a JSON body with %s in one line', (_name, body, message) => {
    expect(() => decodeJsonInput(Buffer.from(body))).toThrow(InputError);
    expect(() => decodeJsonInput(Buffer.from(body))).toThrow(message);
  });

  it('rejects a binary body without a shape or with the wrong length', () => {
    expect(() => decodeBinaryInput(Buffer.alloc(12), undefined)).toThrow(/x-input-shape/);
    expect(() => decodeBinaryInput(Buffer.alloc(12), '1,2,2')).toThrow(/has 12 bytes, shape 1×2×2 needs 16/);
  });
});

describe('preprocessing', () => {
  it('fast and slow paths compute the same 32×32 normalized input', () => {
    for (const input of [image(64), image(37), image(32, 1)]) {
      const fast = preprocessFast(input);
      const slow = preprocessSlow(input);
      expect(fast.length).toBe(1024);
      for (let i = 0; i < fast.length; i += 1) expect(slow[i]).toBeCloseTo(fast[i] ?? Number.NaN, 4);
    }
  });

  it('normalizes a mid-grey image to about zero', () => {
    const grey = { channels: 3, height: 32, width: 32, data: new Float32Array(3 * 32 * 32).fill(0.449 * 255) };
    for (const v of preprocessFast(grey)) expect(Math.abs(v)).toBeLessThan(1e-5);
  });

  // That the slow path is the request's bottleneck, and that the fast path removes it, is
  // measured end to end by the scenario matrix (test/examples/scenarios.test.ts,
  // "Slow preprocessing"), not by a timed assertion here.
});

describe('postprocessing', () => {
  it('returns the top classes by softmax probability', () => {
    const top = topK(new Float32Array([0, 3, 1, 2]), 2);
    expect(top.map((c) => c.label)).toEqual([1, 3]);
    const denominator = 1 + Math.E ** 3 + Math.E + Math.E ** 2;
    expect(top[0]?.probability).toBeCloseTo(Math.E ** 3 / denominator, 6);
  });
});

describe('configuration', () => {
  it('defaults to the unoptimized service', () => {
    const c = parseServiceArgs([], {});
    expect([c.precision, c.batching, c.cache, c.slowPreprocess, c.port]).toEqual(['fp32', null, null, false, 8080]);
  });

  it('reads flags, and the environment as a fallback', () => {
    const c = parseServiceArgs(['--precision', 'int8', '--max-batch-size', '8', '--cache', 'memory'], { PORT: '9000', SLOW_PREPROCESS: '1' });
    expect(c.precision).toBe('int8');
    expect(c.batching).toEqual({ maxBatchSize: 8, maxQueueDelayUs: 2000 });
    expect(c.cache?.kind).toBe('memory');
    expect(c.port).toBe(9000);
    expect(c.slowPreprocess).toBe(true);
    expect(parseServiceArgs(['--cache', 'redis'], { REDIS_URL: 'redis://127.0.0.1:6390' }).cache).toMatchObject({ kind: 'redis', url: 'redis://127.0.0.1:6390' });
  });

  it.each([
    [['--precision', 'fp64'], '--precision: expected fp32 or int8, got "fp64"'],
    [['--max-batch-size', '0'], '--max-batch-size: expected an integer from 1 to 1024, got "0"'],
    [['--cache', 'redis'], '--cache redis: needs --redis-url or REDIS_URL'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('rejects %j with one clear line', (argv, message) => {
    expect(() => parseServiceArgs(argv, {})).toThrow(ConfigError);
    expect(() => parseServiceArgs(argv, {})).toThrow(message);
  });
});

describe('load generator inputs', () => {
  it('repeats hot inputs at the requested share and makes every other input unique after preprocessing', () => {
    const source = new PayloadSource({ side: 32, encoding: 'binary', repeatShare: 0.75, seed: 3 });
    const keys = new Set<string>();
    let repeated = 0;
    const n = 400;
    for (let i = 0; i < n; i += 1) {
      const p = source.next();
      if (p.repeated) repeated += 1;
      keys.add(cacheKey(preprocessFast(decodeBinaryInput(p.body, p.headers['x-input-shape']))));
    }
    expect(repeated / n).toBeGreaterThan(0.65);
    expect(repeated / n).toBeLessThan(0.85);
    expect(keys.size).toBe(n - repeated + 4);
  });

  it('JSON bodies decode to the same unique inputs as binary ones would', () => {
    const source = new PayloadSource({ side: 16, encoding: 'json', seed: 5 });
    const a = decodeJsonInput(source.next().body);
    const b = decodeJsonInput(source.next().body);
    expect(a.data.length).toBe(3 * 16 * 16);
    expect(cacheKey(preprocessFast(a))).not.toBe(cacheKey(preprocessFast(b)));
  });

  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 0.5), percentile(sorted, 0.99), percentile([], 0.5)]).toEqual([50, 99, Number.NaN]);
  });
});

describe('prediction cache', () => {
  it('keys by the normalized input bytes', () => {
    expect(cacheKey(new Float32Array([1, 2]))).toBe(cacheKey(new Float32Array([1, 2])));
    expect(cacheKey(new Float32Array([1, 2]))).not.toBe(cacheKey(new Float32Array([1, 3])));
  });

  it('in memory: returns what was stored, evicts the least recently used', async () => {
    const cache = memoryCache(2, 60_000);
    await cache.set('a', [{ label: 1, probability: 0.9 }]);
    await cache.set('b', [{ label: 2, probability: 0.8 }]);
    await cache.get('a');
    await cache.set('c', [{ label: 3, probability: 0.7 }]);
    expect(await cache.get('a')).toEqual([{ label: 1, probability: 0.9 }]);
    expect(await cache.get('b')).toBeUndefined();
  });

  const redisBinary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  describe.skipIf(redisBinary === undefined)('in Redis (redis-server on loopback)', () => {
    let server: ChildProcess | undefined;
    let port = 0;
    beforeAll(async () => {
      port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const p = (probe.address() as { port: number }).port;
          probe.close(() => resolve(p));
        });
      });
      server = spawn(redisBinary as string, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      for (let i = 0; i < 100; i += 1) {
        const up = await new Promise<boolean>((resolve) => {
          const s = createServer();
          s.once('error', () => resolve(true));
          s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
        });
        if (up) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    afterAll(() => {
      server?.kill('SIGTERM');
    });

    it('serves the example service\'s repeated inputs from Redis', async () => {
      const service = await startInferenceService(parseServiceArgs(['--port', '0', '--hidden', '64', '--cache', 'redis', '--redis-url', `redis://127.0.0.1:${port}`], {}));
      try {
        const { body, shape } = encodeBinaryInput(image(16));
        const send = async (): Promise<PredictionResponse> => {
          const res = await fetch(`${service.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-input-shape': shape }, body });
          return (await res.json()) as PredictionResponse;
        };
        const first = await send();
        // The write to Redis is fire-and-forget; give it a moment to land.
        await new Promise((r) => setTimeout(r, 100));
        const second = await send();
        expect(first.cached).toBe(false);
        expect(second.cached).toBe(true);
        expect(second.top).toEqual(first.top);
      } finally {
        await service.close();
      }
    });

    it('stores and returns predictions with a TTL, and a miss is undefined', async () => {
      const cache = await redisCache(`redis://127.0.0.1:${port}`, 60_000);
      try {
        const key = cacheKey(new Float32Array([4, 5, 6]));
        expect(await cache.get(key)).toBeUndefined();
        await cache.set(key, [{ label: 7, probability: 0.5 }]);
        expect(await cache.get(key)).toEqual([{ label: 7, probability: 0.5 }]);
      } finally {
        await cache.close();
      }
    });
  });
});

describe('applying a verdict to the example service', () => {
  const batching: Recommendation = {
    fix: 'dynamic-batching',
    title: 'Enable dynamic batching',
    confidence: 0.9,
    effort: 'config',
    evidence: [],
    exampleTraceIds: [],
    nextStep: {
      text: 'Enable the dynamic batcher.',
      snippet: { language: 'protobuf', code: 'max_batch_size: 16\ndynamic_batching {\n  max_queue_delay_microseconds: 750\n}' },
    },
  };

  it('takes the batch size and queue delay from the Triton snippet', () => {
    expect(serviceFlagsForFix('dynamic-batching', batching, 32)).toEqual(['--batching', '--max-batch-size', '16', '--max-queue-delay-us', '750']);
  });

  it('falls back to the concurrency and 1 ms without a snippet', () => {
    expect(serviceFlagsForFix('dynamic-batching', undefined, 8)).toEqual(['--batching', '--max-batch-size', '8', '--max-queue-delay-us', '1000']);
  });

  it('maps quantization and caching to their flags, and refuses what needs more than a flag', () => {
    expect(serviceFlagsForFix('quantization', undefined, 1)).toEqual(['--precision', 'int8']);
    expect(serviceFlagsForFix('scale-and-cache', undefined, 1)).toEqual(['--cache', 'memory']);
    expect(serviceFlagsForFix('optimized-runtime', undefined, 1)).toBeUndefined();
    expect(serviceFlagsForFix(null, undefined, 1)).toBeUndefined();
  });
});

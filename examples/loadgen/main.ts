/**
 * @module examples/loadgen/main
 * Command-line entry of the load generator. Sets up the tracer (client spans go to
 * `--trace-file` or OTLP), runs the load, prints the result (`--json` for one JSON line).
 */
import { parseArgs } from 'node:util';
import { setupTracing } from '../../src/tracer/index.js';
import { runLoad, type LoadMode, type LoadOptions } from './load-generator.js';
import type { PayloadEncoding } from './payloads.js';

const USAGE = `Usage: node --import tsx examples/loadgen/main.ts --url URL [options]
  --concurrency N        closed loop with N clients (default 8)
  --rate R               open loop at R requests/s instead
  --max-in-flight N      open loop: most requests open at once (default 256)
  --duration S           measured seconds (default 10)
  --warmup S             unmeasured lead-in seconds (default 1)
  --side N               image side in pixels, 3 channels (default 32; 224 = a huge JSON body)
  --encoding json|binary request body encoding (default json)
  --repeat-share F       share 0–1 of requests repeating a hot input (default 0)
  --seed N               input seed (default 1)
  --trace-file FILE      write client spans as OTLP JSON lines to FILE (env TRACE_FILE)
  --otlp-endpoint URL    export client spans over OTLP/gRPC (env OTEL_EXPORTER_OTLP_ENDPOINT)
  --json                 print the result as one JSON line`;

/** A bad flag value: the message names the flag and what was expected. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

function num(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${flag}: expected a number from ${min} to ${max}, got "${value}"`);
  return n;
}

function parse(argv: string[]): { load: LoadOptions; traceFile: string | undefined; otlp: string | undefined; json: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: 'string' },
        concurrency: { type: 'string' },
        rate: { type: 'string' },
        'max-in-flight': { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        side: { type: 'string' },
        encoding: { type: 'string' },
        'repeat-share': { type: 'string' },
        seed: { type: 'string' },
        'trace-file': { type: 'string' },
        'otlp-endpoint': { type: 'string' },
        json: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.url === undefined) throw new UsageError('--url: required, e.g. --url http://127.0.0.1:8080');
  const encoding = values.encoding ?? 'json';
  if (encoding !== 'json' && encoding !== 'binary') throw new UsageError(`--encoding: expected json or binary, got "${encoding}"`);
  const mode: LoadMode =
    values.rate !== undefined
      ? { kind: 'open', ratePerS: num('rate', values.rate, 100, 0.1, 1e6), maxInFlight: num('max-in-flight', values['max-in-flight'], 256, 1, 100_000) }
      : { kind: 'closed', concurrency: Math.round(num('concurrency', values.concurrency, 8, 1, 10_000)) };
  return {
    load: {
      url: values.url,
      mode,
      durationMs: num('duration', values.duration, 10, 0.1, 86_400) * 1000,
      warmupMs: num('warmup', values.warmup, 1, 0, 3600) * 1000,
      payload: {
        side: Math.round(num('side', values.side, 32, 1, 2048)),
        encoding: encoding as PayloadEncoding,
        repeatShare: num('repeat-share', values['repeat-share'], 0, 0, 1),
        seed: Math.round(num('seed', values.seed, 1, 0, 2 ** 31)),
      },
    },
    traceFile: values['trace-file'] ?? process.env.TRACE_FILE,
    otlp: values['otlp-endpoint'] ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
    json: values.json === true,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let options;
  try {
    options = parse(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`loadgen: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const tracing = setupTracing({
    serviceName: 'example-load-generator',
    exporter: options.otlp !== undefined ? { otlpEndpoint: options.otlp } : options.traceFile !== undefined ? { file: options.traceFile } : { none: true },
  });
  try {
    const result = await runLoad({
      ...options.load,
      ...(options.json ? {} : { onProgress: (n: number, ms: number) => console.error(`  ${(ms / 1000).toFixed(0)} s: ${n} requests`) }),
    });
    if (options.json) console.log(JSON.stringify(result));
    else {
      const l = result.latencyMs;
      console.log(`${result.requests} requests in ${result.durationS.toFixed(1)} s: ${result.throughputRps.toFixed(1)} req/s, ` +
        `p50 ${l.p50.toFixed(2)} ms, p95 ${l.p95.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, mean ${l.mean.toFixed(2)} ms; ` +
        `${result.errors} errors, ${result.cachedResponses} cached`);
    }
  } finally {
    await tracing.shutdown();
  }
}

main().catch((error: unknown) => {
  console.error(`loadgen: ${(error as Error).message}`);
  process.exitCode = 1;
});

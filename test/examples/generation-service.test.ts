/**
 * The streaming example under real load: the language model built in code and run by
 * onnxruntime-node, the scheduler, the SSE service traced with `tracer.generate`, and the
 * client-side load generator. Two scenarios, each diagnosed from the service's own spans, the
 * fix applied, and the gain measured in the same run:
 * - one request at a time under concurrency → continuous batching → TTFT falls;
 * - long prompts sharing a prefix → prefix cache → TTFT falls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { analyzeFiles } from '../../src/analyzer/index.js';
import type { AnalysisResult } from '../../src/analyzer/index.js';
import { setupTracing, spansToTracesData } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { loadLmSession } from '../../examples/generation/lm-session.js';
import type { LmSession } from '../../examples/generation/lm-session.js';
import { startGenerationService } from '../../examples/generation/service.js';
import type { SchedulerOptions } from '../../examples/generation/scheduler.js';
import { runStreamLoad } from '../../examples/generation/stream-load.js';
import type { StreamLoadResult } from '../../examples/generation/stream-load.js';
import { seededRandom } from '../../examples/model/seeded-random.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-generation-example-'));
const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let lm: LmSession;

beforeAll(async () => {
  tracing = setupTracing({ serviceName: 'generation-example', exporter: { spanExporter: exporter }, metrics: false, scheduledDelayMillis: 50, maxQueueSize: 65_536 });
  lm = await loadLmSession();
});
afterAll(async () => {
  await tracing.shutdown();
  await lm.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the load against a fresh service and analyses what the service traced. */
async function measure(model: LmSession, scheduler: SchedulerOptions, load: { concurrency: number; durationMs: number; minRequests: number; prompt: (i: number) => number[]; maxTokens: number }, name: string): Promise<{ client: StreamLoadResult; result: AnalysisResult }> {
  exporter.reset();
  const service = await startGenerationService(model, scheduler);
  let client: StreamLoadResult;
  try {
    client = await runStreamLoad({ url: service.url, ...load });
  } finally {
    await service.close();
  }
  await tracing.forceFlush();
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(spansToTracesData(exporter.getFinishedSpans())));
  const result = await analyzeFiles([file]);
  return { client, result };
}

function randomPrompt(seed: number, length: number, vocab: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length }, () => Math.floor(random() * vocab));
}

describe('streaming example: one request at a time → continuous batching', () => {
  const load = { concurrency: 8, durationMs: 3000, minRequests: 70, prompt: (i: number) => randomPrompt(i + 1, 24, 512), maxTokens: 16 };
  let before: { client: StreamLoadResult; result: AnalysisResult };
  let after: { client: StreamLoadResult; result: AnalysisResult };

  beforeAll(async () => {
    before = await measure(lm, { mode: 'serial' }, load, 'serial');
    after = await measure(lm, { mode: 'continuous', maxBatch: 16 }, load, 'continuous');
    console.log(`continuous batching: client TTFT p50 ${before.client.ttftP50Ms.toFixed(1)} → ${after.client.ttftP50Ms.toFixed(1)} ms, p95 ${before.client.ttftP95Ms.toFixed(1)} → ${after.client.ttftP95Ms.toFixed(1)} ms; ITL p50 ${before.client.itlP50Ms.toFixed(2)} → ${after.client.itlP50Ms.toFixed(2)} ms; ${before.client.requests} → ${after.client.requests} requests; server TTFT p95 ${before.result.overall!.generation!.ttft!.p95Ms.toFixed(1)} → ${after.result.overall!.generation!.ttft!.p95Ms.toFixed(1)} ms, TPOT p50 ${before.result.overall!.generation!.tpot!.p50Ms.toFixed(2)} → ${after.result.overall!.generation!.tpot!.p50Ms.toFixed(2)} ms`);
  }, 60_000);

  it('diagnoses continuous batching from the traced requests', () => {
    expect(before.client.errors).toBe(0);
    const g = before.result.overall!.generation!;
    expect(g.requests).toBe(before.client.requests);
    expect(g.tokensOut!.p50).toBe(16);
    expect(g.tokensIn!.p50).toBe(24);
    const d = before.result.models[0]!.diagnosis!;
    expect(d.primary).toBe('dynamic-batching');
    expect(d.recommendations[0]!.title).toBe('Batch decode steps continuously (more sequences per step)');
  });

  it('applying it cuts TTFT as the clients measure it and as the spans show it', () => {
    expect(after.client.errors).toBe(0);
    expect(after.client.ttftP50Ms).toBeLessThan(before.client.ttftP50Ms * 0.7);
    expect(after.result.overall!.generation!.ttft!.p95Ms).toBeLessThan(before.result.overall!.generation!.ttft!.p95Ms * 0.7);
    // Decode steps now carry several sequences.
    expect(after.result.overall!.generation!.requests).toBe(after.client.requests);
  });
});

describe('streaming example: long prompts sharing a prefix → prefix cache', () => {
  const shared = randomPrompt(99, 1536, 512);
  const load = { concurrency: 1, durationMs: 3000, minRequests: 70, prompt: (i: number) => [...shared, ...randomPrompt(i + 1000, 16, 512)], maxTokens: 8 };
  let before: { client: StreamLoadResult; result: AnalysisResult };
  let after: { client: StreamLoadResult; result: AnalysisResult };

  beforeAll(async () => {
    before = await measure(lm, { mode: 'continuous' }, load, 'no-prefix-cache');
    after = await measure(lm, { mode: 'continuous', prefixCache: true }, load, 'prefix-cache');
    console.log(`prefix cache: client TTFT p50 ${before.client.ttftP50Ms.toFixed(1)} → ${after.client.ttftP50Ms.toFixed(1)} ms, p95 ${before.client.ttftP95Ms.toFixed(1)} → ${after.client.ttftP95Ms.toFixed(1)} ms; ${before.client.requests} → ${after.client.requests} requests; cached share ${after.result.overall!.generation!.cachedShare?.toFixed(2)}`);
  }, 60_000);

  it('diagnoses a prefix cache', () => {
    expect(before.client.errors).toBe(0);
    const d = before.result.models[0]!.diagnosis!;
    expect(d.insufficientData).toBeUndefined();
    expect(d.primary).toBe('scale-and-cache');
    expect(d.recommendations[0]!.title).toBe('Cache the KV of repeated prompt prefixes (prefix caching)');
  });

  it('applying it cuts TTFT and reports the cached prompt tokens', () => {
    expect(after.client.ttftP50Ms).toBeLessThan(before.client.ttftP50Ms * 0.6);
    expect(after.result.overall!.generation!.cachedShare!).toBeGreaterThan(0.8);
    expect(after.result.models[0]!.diagnosis!.recommendations.map((r) => r.fix)).not.toContain('scale-and-cache');
  });
});

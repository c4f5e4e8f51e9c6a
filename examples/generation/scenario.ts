/**
 * @module examples/generation/scenario
 * One measured run of the streaming example, and the fix that follows from its diagnosis: start
 * the service with a scheduler configuration, drive it with the client-side load generator while
 * the tracer writes spans to a file, analyse the file. `applyGenerationFix` turns the diagnosis's
 * generation verdict (continuous batching, prefix cache) into the scheduler change that applies
 * it. Used by `npm run demo` and by the end-to-end tests.
 */
import { analyzeFiles } from '../../src/analyzer/index.js';
import type { AnalysisResult } from '../../src/analyzer/index.js';
import { ruleFor } from '../../src/analyzer/diagnose/index.js';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { setupTracing } from '../../src/tracer/index.js';
import type { LmSession } from './lm-session.js';
import type { SchedulerOptions } from './scheduler.js';
import { startGenerationService } from './service.js';
import { runStreamLoad } from './stream-load.js';
import type { StreamLoadOptions, StreamLoadResult } from './stream-load.js';
import { seededRandom } from '../model/seeded-random.js';

/** One measured run. */
export interface GenerationRun {
  readonly client: StreamLoadResult;
  readonly traceFile: string;
  readonly result: AnalysisResult;
}

/** Load of a scenario, without the service address. */
export type GenerationLoad = Omit<StreamLoadOptions, 'url'>;

/** Runs `load` against a fresh service with `scheduler`, spans to `traceFile`; returns what the clients saw and the analysis. */
export async function runGeneration(lm: LmSession, scheduler: SchedulerOptions, load: GenerationLoad, traceFile: string): Promise<GenerationRun> {
  const tracing = setupTracing({ serviceName: 'generation-example', exporter: { file: traceFile }, metrics: false, scheduledDelayMillis: 200, maxQueueSize: 65_536 });
  let client: StreamLoadResult;
  try {
    const service = await startGenerationService(lm, scheduler);
    try {
      client = await runStreamLoad({ url: service.url, ...load });
    } finally {
      await service.close();
    }
  } finally {
    await tracing.shutdown();
  }
  return { client, traceFile, result: await analyzeFiles([traceFile]) };
}

/** The scheduler with the diagnosed generation fix applied; undefined when the verdict is not one this example can apply. */
export function applyGenerationFix(scheduler: SchedulerOptions, diagnosis: Diagnosis | undefined): SchedulerOptions | undefined {
  const top = diagnosis?.recommendations[0];
  if (top === undefined) return undefined;
  const kinds = ruleFor(top.fix).content.kinds ?? {};
  const kind = Object.keys(kinds).find((k) => kinds[k] === top.title);
  if (kind === 'continuous-batching') return { ...scheduler, mode: 'continuous', maxBatch: Math.max(scheduler.maxBatch ?? 16, 16) };
  if (kind === 'prefix-cache') return { ...scheduler, prefixCache: true };
  return undefined;
}

/** Random token ids, seeded. */
export function randomPrompt(seed: number, length: number, vocab: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length }, () => Math.floor(random() * vocab));
}

/** The two scenarios: a server that runs one request at a time under 8 clients, and long prompts sharing a prefix. */
export function generationScenarios(vocab: number, durationMs = 3000): Record<'batching' | 'prefix', { readonly scheduler: SchedulerOptions; readonly load: GenerationLoad }> {
  // A prefix long enough that its prefill outweighs the HTTP and scheduling overhead of TTFT even on an idle machine.
  const shared = randomPrompt(99, 4096, vocab);
  return {
    batching: { scheduler: { mode: 'serial' }, load: { concurrency: 8, durationMs, minRequests: 70, prompt: (i) => randomPrompt(i + 1, 24, vocab), maxTokens: 16 } },
    prefix: { scheduler: { mode: 'continuous' }, load: { concurrency: 1, durationMs, minRequests: 70, prompt: (i) => [...shared, ...randomPrompt(i + 1000, 16, vocab)], maxTokens: 8 } },
  };
}

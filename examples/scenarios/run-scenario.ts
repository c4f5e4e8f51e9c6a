/**
 * @module examples/scenarios/run-scenario
 * Runs one configuration end to end: the service in a child process writing its spans to a
 * file, the load generator in this process writing the client spans to a second file, then the
 * analyzer over both files (merged by trace id, so network time is derived per request).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFiles, type AnalysisResult } from '../../src/analyzer/index.js';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import type { ModelSummary } from '../../src/model/summary.js';
import { setupTracing } from '../../src/tracer/index.js';
import { runLoad, type LoadResult } from '../loadgen/load-generator.js';
import { MODEL_NAME } from '../service/inference-service.js';
import { startServiceProcess } from './child-processes.js';
import type { LoadProfile, RunConfig } from './scenario-matrix.js';

/** Everything one run produced. */
export interface RunOutcome {
  readonly load: LoadResult;
  readonly analysis: AnalysisResult;
  readonly summary: ModelSummary;
  readonly diagnosis: Diagnosis | undefined;
  /** The two trace files (service, client); deleted by `cleanup`. */
  readonly traceFiles: readonly [string, string];
  /** Removes the run's temporary directory. */
  cleanup(): void;
}

/** A run that produced no analysable requests. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** A service started for one run, waiting for its load. */
export interface PreparedRun {
  /** Drives the load for the profile's duration, stops the service, analyses both trace files. */
  run(profile: LoadProfile, onProgress?: (completed: number, elapsedMs: number) => void, signal?: AbortSignal): Promise<RunOutcome>;
  /** Stops the service without running (when a sibling run failed). */
  abort(): Promise<void>;
}

/** Starts the service with `config.service` (spans to a file in `traceDir` or a new temp directory). */
export async function prepareConfiguration(config: RunConfig, traceDir?: string): Promise<PreparedRun> {
  const dir = traceDir ?? mkdtempSync(join(tmpdir(), 'latency-doctor-scenario-'));
  const serviceTrace = join(dir, 'service-spans.jsonl');
  const clientTrace = join(dir, 'client-spans.jsonl');
  const cleanup = (): void => {
    if (traceDir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  let service;
  try {
    service = await startServiceProcess([...config.service, '--trace-file', serviceTrace]);
  } catch (error) {
    cleanup();
    throw error;
  }
  const started = service;
  return {
    async abort() {
      await started.stop();
      cleanup();
    },
    async run(profile, onProgress, signal) {
      let load: LoadResult;
      // The client runs in this process (its own event loop, apart from the service's), with its own spans file.
      const tracing = setupTracing({ serviceName: 'example-load-generator', exporter: { file: clientTrace }, metrics: false });
      try {
        load = await runLoad({
          url: started.url,
          mode: config.load.mode,
          durationMs: profile.durationS * 1000,
          warmupMs: profile.warmupS * 1000,
          minRequests: profile.minRequests,
          payload: config.load.payload,
          ...(onProgress !== undefined ? { onProgress } : {}),
          ...(signal !== undefined ? { signal } : {}),
        });
      } finally {
        await tracing.shutdown();
        await started.stop();
      }
      const analysis = await analyzeFiles([serviceTrace, clientTrace]);
      const model = analysis.models.find((m) => m.summary.model === MODEL_NAME);
      if (model === undefined) throw new ScenarioError(`no requests of ${MODEL_NAME} in ${serviceTrace} and ${clientTrace}`);
      return { load, analysis, summary: model.summary, diagnosis: model.diagnosis, traceFiles: [serviceTrace, clientTrace], cleanup };
    },
  };
}

/** Starts the service with `config.service`, drives `config.load` from this process for the profile's duration, analyses both trace files. */
export async function runConfiguration(
  config: RunConfig,
  profile: LoadProfile,
  traceDir?: string,
  onProgress?: (completed: number, elapsedMs: number) => void,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  return (await prepareConfiguration(config, traceDir)).run(profile, onProgress, signal);
}

/**
 * Runs a before/after pair. Both services start together (start-up is most of a short run's
 * time, and an idle service costs no CPU), then the loads run one after the other, each against
 * its own service only, so the two measurements never overlap.
 */
export async function runPair(before: RunConfig, after: RunConfig, profile: LoadProfile): Promise<readonly [RunOutcome, RunOutcome]> {
  const prepared = await Promise.allSettled([prepareConfiguration(before), prepareConfiguration(after)]);
  const [b, a] = prepared;
  if (b.status === 'rejected' || a.status === 'rejected') {
    for (const p of prepared) if (p.status === 'fulfilled') await p.value.abort();
    throw b.status === 'rejected' ? b.reason : (a as PromiseRejectedResult).reason;
  }
  let beforeOutcome: RunOutcome;
  try {
    beforeOutcome = await b.value.run(profile);
  } catch (error) {
    await a.value.abort();
    throw error;
  }
  try {
    return [beforeOutcome, await a.value.run(profile)];
  } catch (error) {
    beforeOutcome.cleanup();
    throw error;
  }
}

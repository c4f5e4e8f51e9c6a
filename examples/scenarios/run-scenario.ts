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

/** Starts the service with `config.service`, drives `config.load` from this process for the profile's duration, analyses both trace files. */
export async function runConfiguration(
  config: RunConfig,
  profile: LoadProfile,
  traceDir?: string,
  onProgress?: (completed: number, elapsedMs: number) => void,
): Promise<RunOutcome> {
  const dir = traceDir ?? mkdtempSync(join(tmpdir(), 'latency-doctor-scenario-'));
  const serviceTrace = join(dir, 'service-spans.jsonl');
  const clientTrace = join(dir, 'client-spans.jsonl');
  const service = await startServiceProcess([...config.service, '--trace-file', serviceTrace]);
  let load: LoadResult;
  // The client runs in this process (its own event loop, apart from the service's), with its own spans file.
  const tracing = setupTracing({ serviceName: 'example-load-generator', exporter: { file: clientTrace }, metrics: false });
  try {
    load = await runLoad({
      url: service.url,
      mode: config.load.mode,
      durationMs: profile.durationS * 1000,
      warmupMs: profile.warmupS * 1000,
      minRequests: profile.minRequests,
      payload: config.load.payload,
      ...(onProgress !== undefined ? { onProgress } : {}),
    });
  } finally {
    await tracing.shutdown();
    await service.stop();
  }
  const analysis = await analyzeFiles([serviceTrace, clientTrace]);
  const model = analysis.models.find((m) => m.summary.model === MODEL_NAME);
  if (model === undefined) throw new ScenarioError(`no requests of ${MODEL_NAME} in ${serviceTrace} and ${clientTrace}`);
  return {
    load,
    analysis,
    summary: model.summary,
    diagnosis: model.diagnosis,
    traceFiles: [serviceTrace, clientTrace],
    cleanup: () => {
      if (traceDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

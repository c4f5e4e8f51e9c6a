import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { prometheusName, TRACER_METRICS } from '../../src/semconv.js';
import { MODEL_NAME, startInferenceService, type PredictionResponse, type RunningService } from '../../examples/service/inference-service.js';
import { parseServiceArgs } from '../../examples/service/service-config.js';
import { encodeBinaryInput, encodeJsonInput, type ImageInput } from '../../examples/service/image-input.js';
import { runLoad } from '../../examples/loadgen/load-generator.js';

function image(side: number, seed: number): ImageInput {
  const data = new Float32Array(3 * side * side);
  for (let i = 0; i < data.length; i += 1) data[i] = (i * 31 + seed * 17) % 256;
  return { channels: 3, height: side, width: side, data };
}

async function predictJson(service: RunningService, input: ImageInput): Promise<Response> {
  return fetch(`${service.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: encodeJsonInput(input, 2) });
}

describe('example inference service (in-process, real model, real tracer)', () => {
  let dir: string;
  let service: RunningService;
  let traceFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ld-service-'));
    traceFile = join(dir, 'spans.jsonl');
    const config = parseServiceArgs(['--port', '0', '--hidden', '256', '--batching', '--max-batch-size', '8', '--max-queue-delay-us', '3000', '--cache', 'memory', '--trace-file', traceFile, '--metrics-port', '0'], {});
    service = await startInferenceService(config);
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers JSON and binary bodies of the same image with the same top classes', async () => {
    const input = image(32, 1);
    const fromJson = (await (await predictJson(service, input)).json()) as PredictionResponse;
    const { body, shape } = encodeBinaryInput(input);
    const binary = await fetch(`${service.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-input-shape': shape }, body });
    expect(binary.status).toBe(200);
    const fromBinary = (await binary.json()) as PredictionResponse;
    expect(fromJson.model).toBe(MODEL_NAME);
    expect(fromJson.top).toHaveLength(5);
    expect(fromBinary.top.map((c) => c.label)).toEqual(fromJson.top.map((c) => c.label));
    // The second identical input is answered from the cache.
    expect(fromJson.cached).toBe(false);
    expect(fromBinary.cached).toBe(true);
    const sum = fromJson.top.reduce((a, c) => a + c.probability, 0);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('rejects a malformed body with HTTP 400 and one line saying what was expected', async () => {
    const bad = await fetch(`${service.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"shape":[3,2,2],"data":[1]}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('"data" has 1 values, shape 3×2×2 needs 12');
    const wrongType = await fetch(`${service.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(wrongType.status).toBe(400);
  });

  it('batches concurrent requests and serves Prometheus phase histograms', async () => {
    const load = await runLoad({ url: service.url, mode: { kind: 'closed', concurrency: 8 }, durationMs: 800, payload: { encoding: 'binary', seed: 9 } });
    expect(load.requests).toBeGreaterThan(8);
    expect(load.errors).toBe(0);
    expect(service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const text = await (await fetch(service.metricsUrl as string)).text();
    const phaseMetric = prometheusName(TRACER_METRICS.PHASE_DURATION);
    expect(text).toContain(`${phaseMetric}_bucket`);
    for (const phase of ['serialize', 'preprocess', 'queue', 'compute', 'postprocess']) expect(text).toMatch(new RegExp(`${phaseMetric}_count\\{[^}]*inference_phase="${phase}"`));
  });

  it('drives an open-loop arrival rate whatever the responses do', async () => {
    const load = await runLoad({ url: service.url, mode: { kind: 'open', ratePerS: 100, maxInFlight: 64 }, durationMs: 1000, payload: { encoding: 'json', seed: 4 } });
    expect(load.errors).toBe(0);
    // 100 arrivals per second for one second, give or take timer slack on a busy box.
    expect(load.requests + load.skipped).toBeGreaterThanOrEqual(80);
    expect(load.requests + load.skipped).toBeLessThanOrEqual(101);
    expect(load.latencyMs.p50).toBeGreaterThan(0);
    expect(load.latencyMs.p99).toBeGreaterThanOrEqual(load.latencyMs.p50);
  });

  it('records every server-side phase, the batch size and the input hash, and the analyzer reads them back', async () => {
    await service.close();
    const lines = readFileSync(traceFile, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    const result = await analyzeFiles([traceFile]);
    const model = result.models.find((m) => m.summary.model === MODEL_NAME);
    expect(model).toBeDefined();
    const phases = model?.summary.phases ?? {};
    for (const phase of ['serialize', 'preprocess', 'queue', 'compute', 'postprocess'] as const) expect(phases[phase]?.count ?? 0).toBeGreaterThan(0);
    const timings = result.timings.rows().filter((t) => t.model === MODEL_NAME);
    expect(Math.max(...timings.map((t) => t.batchSize ?? 0))).toBeGreaterThan(1);
    // The two malformed requests are recorded as failed requests, without an input to hash.
    expect(timings.filter((t) => t.error)).toHaveLength(2);
    expect(timings.filter((t) => !t.error).every((t) => typeof t.inputHash === 'string')).toBe(true);
    expect(timings.some((t) => t.cacheHit === true)).toBe(true);
    expect(model?.summary.precision).toBe('fp32');
    expect(model?.summary.runtime).toBe('onnxruntime');
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import type { Diagnosis } from '../../../src/model/diagnosis.js';
import { writeTritonTrace, writeVllmExport } from './_server-scenarios.js';
import type { TritonStages, VllmStages } from './_server-scenarios.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-servers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function diagnosisOf(file: string): Promise<{ diagnosis: Diagnosis; server: string | undefined }> {
  const result = await analyzeFiles([file]);
  expect(result.models).toHaveLength(1);
  return { diagnosis: result.models[0]!.diagnosis!, server: result.timings.rows()[0]?.source };
}

/** Next step of the primary recommendation, text and snippet together. */
function nextStepOf(d: Diagnosis): string {
  const first = d.recommendations.find((r) => r.fix === d.primary);
  return `${first?.nextStep.text ?? ''}\n${first?.nextStep.snippet?.code ?? ''}`;
}

// Milliseconds per stage of an HTTP request to a Triton model with compute split in/infer/out.
const TRITON: TritonStages = { recv: 0.05, parse: 0.1, core: 0.01, queue: 0.1, input: 0.1, infer: 3, output: 0.05, post: 0.05, serialize: 0.05, send: 0.05 };

describe('Triton trace files of 400 requests (generated in Triton 2.x format)', () => {
  it('queue-bound: dynamic batching, as a config.pbtxt dynamic_batching block', async () => {
    const file = join(tmp, 'triton-queue.json');
    // 25 ms in the scheduler queue for 3 ms of compute, a request every 2 ms (≈ 14 in flight).
    writeTritonTrace(file, 'resnet50', { ...TRITON, queue: 25 }, { requests: 400, everyMs: 2 });
    const { diagnosis, server } = await diagnosisOf(file);
    expect(server).toBe('triton');
    expect(diagnosis.primary).toBe('dynamic-batching');
    expect(nextStepOf(diagnosis)).toMatch(/config\.pbtxt[\s\S]*dynamic_batching \{[\s\S]*max_queue_delay_microseconds/);
    // Triton traces carry no batch size: the rule that needs it says it could not run.
    expect(diagnosis.rules.find((r) => r.rule === 'scale-and-cache')?.reason).toMatch(/could not run.*batch sizes/);
    // … and this one does not state a batch size it never saw.
    const top = diagnosis.recommendations[0]!;
    expect(top.evidence[0]!.text).toMatch(/^queue p95 = [\d.]+ ms, \d+% of e2e; batch size not recorded, [\d.]+ requests in flight on average$/);
    expect(top.evidence.map((e) => e.text).join('\n')).not.toMatch(/mean batch size|at batch size 1/);
  });

  it('compute-bound: a faster backend, as the TensorRT accelerator in config.pbtxt', async () => {
    const file = join(tmp, 'triton-compute.json');
    // 25 ms of model execution, nothing waits (a request every 60 ms).
    writeTritonTrace(file, 'resnet50', { ...TRITON, infer: 25 }, { requests: 400, everyMs: 60 });
    const { diagnosis } = await diagnosisOf(file);
    expect(diagnosis.primary).toBe('optimized-runtime');
    expect(nextStepOf(diagnosis)).toMatch(/resnet50\/config\.pbtxt[\s\S]*gpu_execution_accelerator[\s\S]*"tensorrt"/);
  });

  it('pipeline-bound: binary tensors over gRPC instead of JSON (Triton binary tensor extension)', async () => {
    const file = join(tmp, 'triton-pipeline.json');
    // 6 ms parsing the request and 3 ms serializing the response, 3 ms receiving it, 3 ms compute.
    writeTritonTrace(file, 'resnet50', { ...TRITON, parse: 6, recv: 3, serialize: 3 }, { requests: 400, everyMs: 40 });
    const { diagnosis } = await diagnosisOf(file);
    expect(diagnosis.primary).toBe('preprocessing-pipeline');
    expect(nextStepOf(diagnosis)).toMatch(/binary tensor extension/);
    expect(nextStepOf(diagnosis)).toMatch(/tritonclient\.grpc/);
  });
});

// Milliseconds per interval of a vLLM v1 request.
const VLLM: VllmStages = { preEngine: 5, queue: 5, prefill: 60, decode: 800, output: 5, promptTokens: 500, outputTokens: 100 };

describe('vLLM llm_request exports of 300 requests (generated OTLP JSON, v1 attribute set)', () => {
  it('pipeline-bound: time before the engine, answered with --api-server-count', async () => {
    const file = join(tmp, 'vllm-pipeline.json');
    // 900 ms of tokenisation / IPC before the engine (TTFT − queue − prefill).
    writeVllmExport(file, 'llama', { ...VLLM, preEngine: 900 }, { requests: 300, everyMs: 1000 });
    const { diagnosis, server } = await diagnosisOf(file);
    expect(server).toBe('vllm');
    expect(diagnosis.primary).toBe('preprocessing-pipeline');
    expect(nextStepOf(diagnosis)).toMatch(/--api-server-count/);
  });

  it('queue-bound: waiting for a slot, answered with --max-num-seqs', async () => {
    const file = join(tmp, 'vllm-queue.json');
    // 2 s waiting for a slot before a 60 ms prefill, a request every 100 ms (≈ 29 in flight).
    writeVllmExport(file, 'llama', { ...VLLM, queue: 2000 }, { requests: 300, everyMs: 100 });
    const { diagnosis } = await diagnosisOf(file);
    expect(diagnosis.primary).toBe('dynamic-batching');
    expect(nextStepOf(diagnosis)).toMatch(/--max-num-seqs/);
    // vLLM spans carry no batch size: the rule that needs it says it could not run.
    expect(diagnosis.rules.find((r) => r.rule === 'scale-and-cache')?.reason).toMatch(/could not run.*batch sizes/);
    // … and this one does not claim vLLM's decode steps run one sequence (vLLM batches continuously).
    const evidence = diagnosis.recommendations[0]!.evidence.map((e) => e.text).join('\n');
    expect(evidence).not.toMatch(/decode steps run/);
    expect(evidence).toMatch(/requests in flight on average; sequences per decode step not recorded/);
  });

  it('compute-bound: decode is the request, answered with --quantization', async () => {
    const file = join(tmp, 'vllm-compute.json');
    // 3 s of decode for 100 tokens (30 ms per token), nothing waits (a request every 2 s).
    writeVllmExport(file, 'llama', { ...VLLM, decode: 3000 }, { requests: 300, everyMs: 2000 });
    const { diagnosis } = await diagnosisOf(file);
    expect(diagnosis.primary).toBe('quantization');
    expect(nextStepOf(diagnosis)).toMatch(/--quantization/);
    // vLLM records no sequences per decode step: not stated as 1.0.
    const evidence = diagnosis.recommendations.find((r) => r.fix === 'quantization')!.evidence.map((e) => e.text).join('\n');
    expect(evidence).not.toMatch(/1\.0 sequence/);
    expect(evidence).toMatch(/sequences per decode step not recorded/);
  });
});

describe('reader threads', () => {
  it('map a Triton trace file in the reader thread and report the convention as the main thread does', async () => {
    const file = join(tmp, 'triton-threads.json');
    // About 4.7 MB: over the 4 MiB above which --threads reads in a worker.
    writeTritonTrace(file, 'resnet50', { ...TRITON, queue: 25 }, { requests: 5_500, everyMs: 2 });
    const threaded = await analyzeFiles([file], { threads: true, diagnose: false });
    const inline = await analyzeFiles([file], { diagnose: false });
    expect(threaded.conventions).toEqual(inline.conventions);
    expect(threaded.conventions.map((c) => [c.label, c.requests])).toEqual([['Triton trace file 2.x', 5_500]]);
    expect(threaded.overall!.phases.queue!.meanMs).toBeCloseTo(inline.overall!.phases.queue!.meanMs, 9);
    expect(threaded.timings.rows().every((t) => t.source === 'triton')).toBe(true);
  }, 120_000);
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import { analyzeServing, phasesOf, SERVING } from './_helpers.js';
import { timePerOutputTokenMs } from '../../../src/model/generation.js';

describe('vLLM llm_request span, v1 engine attribute set (synthetic, after tests/v1/tracing/test_tracing.py)', () => {
  it('places the duration attributes in order inside the request span and adds up to vLLM’s e2e', async () => {
    const result = await analyzeServing('vllm-llm-request-v1.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['vLLM llm_request span (v1 engine)']);
    const [first, second] = [...result.timings].sort((a, b) => b.e2eMs - a.e2eMs);
    expect(phasesOf(first!)).toEqual({
      preprocess: 5.433, // TTFT 105.432 − queue 12.345 − prefill 87.654: pre-engine time
      queue: 12.345,
      prefill: 87.654,
      decode: 1234.567,
      postprocess: 5.679, // e2e 1345.678 − TTFT 105.432 − decode 1234.567
      other: 0,
      e2e: 1345.678, // gen_ai.latency.e2e, not the span's own end (1346.1 ms)
    });
    expect(phasesOf(second!)).toEqual({ preprocess: 10, queue: 250, prefill: 50, decode: 500, postprocess: 10, other: 0, e2e: 820 });
    // The spans the file holds, not the 12 phase spans made of their attributes on top.
    expect(result.spans).toBe(2);
  });

  it('takes TTFT and tokens from the span under the one generation definition (TPOT = (e2e − TTFT) ÷ (out − 1))', async () => {
    const result = await analyzeServing('vllm-llm-request-v1.synthetic.json');
    const first = result.timings.rows().find((t) => t.tokensOut === 128)!;
    expect(first.ttftMs).toBeCloseTo(105.432, 9);
    expect(first.tokensIn).toBe(512);
    // Model name: v1 spans carry none, so the service name stands in (and the report says so).
    expect(first.model).toBe('vllm-llama-3.1-8b');
    expect(result.conventions[0]!.unseen.join(' ')).toMatch(/batch size/);
    // (1345.678 − 105.432) ÷ 127, by hand.
    expect(timePerOutputTokenMs(first.e2eMs, first.ttftMs, first.tokensOut)).toBeCloseTo(9.765716535, 8);
  });
});

describe('vLLM llm_request span, v1 engine with the latest GenAI semconv opted in (synthetic, after tests/tracing/test_gen_ai_semconv.py)', () => {
  it('takes the model from gen_ai.request.model and does not say the source lacks it', async () => {
    const result = await analyzeServing('vllm-llm-request-v1-genai-latest.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['vLLM llm_request span (v1 engine, with model name)']);
    expect(result.conventions[0]!.unseen.join(' ')).not.toMatch(/model name/);
    const [request] = result.timings;
    expect(request!.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(phasesOf(request!)).toMatchObject({ queue: 12.345, prefill: 87.654, decode: 1234.567, e2e: 1345.678 });
  });
});

describe('vLLM llm_request span with a damaged latency attribute', () => {
  it('a value that overflows as nanoseconds (1e308 s) is left out like a negative one, never an internal error', async () => {
    const text = readFileSync(SERVING + 'vllm-llm-request-v1.synthetic.json', 'utf8');
    const damaged = text.replace(/("key": "gen_ai\.latency\.time_in_model_decode",\s*"value": \{\s*"doubleValue": )[\d.e+-]+/, '$11e308');
    expect(damaged).not.toBe(text);
    const dir = mkdtempSync(join(tmpdir(), 'ld-vllm-'));
    try {
      writeFileSync(join(dir, 'damaged.json'), damaged);
      const result = await analyzeFiles([join(dir, 'damaged.json')], { diagnose: false });
      expect(result.requests).toBe(2);
      const first = [...result.timings].sort((a, b) => b.e2eMs - a.e2eMs)[0]!;
      expect(first.phases.decode).toBeUndefined();
      expect(phasesOf(first)).toMatchObject({ queue: 12.345, prefill: 87.654, e2e: 1345.678 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('vLLM llm_request span, v0 engine attribute set (synthetic, after tests/tracing/test_tracing.py)', () => {
  it('derives prefill as TTFT − queue and decode as e2e − TTFT', async () => {
    const result = await analyzeServing('vllm-llm-request-v0.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['vLLM llm_request span (v0 engine)']);
    const [request] = result.timings;
    expect(request!.model).toBe('facebook/opt-125m');
    expect(phasesOf(request!)).toEqual({ queue: 2, prefill: 38, decode: 460, other: 0, e2e: 500 });
    expect(request!.ttftMs).toBeCloseTo(40, 9);
    expect(request!.tokensOut).toBe(20);
  });
});

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

describe('vLLM llm_request span of a request that produced no token (synthetic, after OutputProcessor.do_tracing)', () => {
  it('has no TTFT, keeps a valid queue time, and leaves the rest unattributed instead of calling it output time', async () => {
    const result = await analyzeServing('vllm-llm-request-v1-no-token.synthetic.json');
    expect(result.conventions.map((c) => [c.label.replace(/ \(.*/, ''), c.requests])).toEqual([
      ['vLLM llm_request span without an output token', 2],
      ['vLLM llm_request span', 1],
    ]);
    const rows = result.timings.rows();
    const queued = rows.find((r) => Math.round(r.e2eMs) === 5000)!;
    const prefill = rows.find((r) => Math.round(r.e2eMs) === 2000)!;
    // Aborted while waiting: time_in_queue = 0 − queued_ts is negative (left out), TTFT 0.0 is vLLM's default.
    expect(queued.ttftMs).toBeUndefined();
    expect(phasesOf(queued)).toEqual({ other: 5000.2, e2e: 5000.2 });
    // Aborted in prefill after 1.5 s queued: the queue is placed, the 500.1 ms after it are not "postprocess".
    expect(prefill.ttftMs).toBeUndefined();
    expect(phasesOf(prefill)).toEqual({ queue: 1500, other: 500.1, e2e: 2000.1 });
    expect(prefill.tokensOut).toBe(0);
    // The finished request beside them is unchanged.
    const done = rows.find((r) => r.tokensOut === 128)!;
    expect(done.ttftMs).toBeCloseTo(105.432, 9);
    expect(phasesOf(done)).toMatchObject({ postprocess: 5.679, e2e: 1345.678 });
    // The model's TTFT is the finished request's alone (was 0 ms for each aborted one).
    expect(result.overall?.generation?.ttft?.count).toBe(1);
  });
});

describe('vLLM llm_request span under a client span', () => {
  it('leaves the time outside the span unattributed and says what it holds, instead of counting it as network', async () => {
    const result = await analyzeServing('genai-client-vllm-server.synthetic.json');
    const vllm = result.conventions.find((c) => c.id === 'vllm')!;
    expect(vllm.unseen.join('; ')).toMatch(/how the time between a client span and the llm_request span divides between the network and vLLM’s API server: before the span .* No vLLM attribute measures either, so that time is left unattributed \(other\), not counted as network/);
    expect(result.conventions.find((c) => c.id === 'genai-client')!.label).toBe('OpenTelemetry GenAI client span (with the server span: client − server unattributed, the server records no split)');
    const [request] = result.timings.rows();
    // 1400 ms client − 1345.678 ms vLLM e2e, by hand: 20 ms before the arrival time, 34.322 ms after arrival + e2e.
    expect(request!.phases.network).toBeUndefined();
    expect(request!.otherMs).toBeCloseTo(54.322, 6);
    expect(request!.networkDerived).toBe(false);
    expect(request!.hasClient).toBe(true);
  });

  it('a busy API server (250–450 ms before vLLM’s arrival time) is not reported as the network: the diagnosis says the time is unsplit', async () => {
    const result = await analyzeFiles([SERVING + 'genai-client-vllm-busy-api-server.synthetic.json']);
    const model = result.models[0]!;
    expect(model.summary.requests).toBe(60);
    expect(model.summary.phases.network).toBeUndefined();
    // Per request: exactly client span − vLLM's e2e (the fixture's 250–450 ms before the arrival time and 1–3 ms after).
    for (const r of result.timings.rows()) {
      expect(r.otherMs).toBeCloseTo(r.e2eMs - r.serverMs, 6);
      expect(r.otherMs).toBeGreaterThan(250);
      expect(r.otherMs).toBeLessThan(454);
    }
    expect(model.summary.phases.other?.share).toBeGreaterThan(0.4);
    expect(model.diagnosis!.primary).toBe('insufficient-data');
    expect(model.diagnosis!.headline).toMatch(/the rest is time the vllm telemetry read does not split/);
    expect(model.diagnosis!.headline).not.toMatch(/network/);
  });
});

/**
 * Parallel sampling (`n` > 1). vLLM's v1 engine fans a request out into n child requests
 * (vllm-project/vllm, vllm/v1/engine/async_llm.py at 8ef0b5f50994abaef30bca67b5ec167e5187b99b,
 * `add_request`: "Fan out child requests (for n>1)", each a copy of the request, so the same
 * arrival time and trace headers, with request id `{index}_{parent id}`), each child with
 * `n = 1` (vllm/v1/engine/parallel_sampling.py at 491d923514ad9c40e665dc8deae57dd377cb88b0,
 * `_get_child_sampling_params`: `child_sampling_params.n = 1`). Every child that finishes gets
 * its own span (vllm/v1/engine/output_processor.py at d07822605346f767b672503c9aae85aa23ef2d82,
 * `process_outputs` → `do_tracing` per finished request state): `llm_request`, kind SERVER,
 * start = `arrival_time`, parent = the trace headers' context, attributes
 * `gen_ai.latency.time_to_first_token` (first_token_latency), `gen_ai.latency.e2e`,
 * `gen_ai.latency.time_in_queue`, `gen_ai.usage.prompt_tokens`, `gen_ai.usage.completion_tokens`
 * (that child's `num_generation_tokens`), `gen_ai.latency.time_in_model_prefill`,
 * `_decode`, `_inference`, `gen_ai.request.id` (`external_req_id`, the request's), and, when set,
 * `gen_ai.request.top_p`, `max_tokens`, `temperature`, `n` (the child's: 1). The fixture is three
 * such spans under the GenAI client span that propagated its context.
 */
describe('vLLM parallel sampling (n > 1): one llm_request span per sample (v1), one span per request (v0)', () => {
  it('v1: the samples of one request are counted once: TTFT the first of any sample, e2e the last, output tokens summed, and the report says TPOT is over all samples', async () => {
    const result = await analyzeServing('vllm-llm-request-v1-parallel-sampling.synthetic.json');
    expect(result.requests).toBe(1);
    expect(result.conventions.map((c) => [c.id, c.requests])).toEqual([
      ['vllm', 1],
      ['genai-client', 1],
    ]);
    expect(result.conventions[0]!.label).toMatch(/^vLLM llm_request spans of parallel-sampling requests \(v1 engine, n > 1: one span per sample, counted as one request; TTFT the first token of any sample; output tokens summed over the samples, so TPOT is per token of all samples together/);
    const [r] = result.timings;
    // The client span (1327 ms) is the request's e2e; its first token is sample 0's (95 ms after arrival, 20 ms after the client's start).
    expect(r!.hasClient).toBe(true);
    expect(r!.e2eMs).toBe(1327);
    expect(r!.ttftMs).toBe(115);
    expect([r!.tokensIn, r!.tokensOut]).toEqual([512, 91 + 121 + 61]);
    // Sample 0's queue and prefill (its first token waited for them); decode from that first token (95 ms) to the last
    // sample's last token (102 + 1200 ms); the 20 ms before the span and the 2 ms after it unattributed, as for one sample.
    expect(phasesOf(r!)).toEqual({ preprocess: 5, queue: 10, prefill: 80, decode: 1207, postprocess: 3, other: 22, e2e: 1327 });
    expect(result.models[0]!.summary.generation!.tpot!.p50Ms).toBeCloseTo(timePerOutputTokenMs(1327, 115, 273)!, 3);
  });

  it('v0: the one span of a request with n = 2 (completion_tokens over both sequences) is one request, and the report says what TPOT is', async () => {
    const text = readFileSync(SERVING + 'vllm-llm-request-v0.synthetic.json', 'utf8');
    const two = text.replace(/("key": "gen_ai\.request\.n",\s*"value": \{\s*"intValue": )"1"/, '$1"2"').replace(/("key": "gen_ai\.usage\.num_sequences",\s*"value": \{\s*"intValue": )"1"/, '$1"2"');
    expect(two.match(/"intValue": "2"/g)).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'ld-vllm-'));
    try {
      writeFileSync(join(dir, 'v0-n2.json'), two);
      const result = await analyzeFiles([join(dir, 'v0-n2.json')], { diagnose: false });
      expect(result.requests).toBe(1);
      expect(result.conventions.map((c) => c.label)).toEqual(['vLLM llm_request span with parallel sampling (v0 engine, n > 1 or best_of: one span per request; output tokens summed over the samples, so TPOT is per token of all samples together (about one sample’s ÷ n), best_of’s discarded ones included)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

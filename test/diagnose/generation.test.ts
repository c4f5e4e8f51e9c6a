/**
 * Truth table of the generation forms of the rules: each sub-kind fires on its signature, stays
 * silent on a near miss (one condition just short), and in mixed cases the right forms fire
 * together or hand over to each other. Requests come from the seeded generator with token
 * counts and TTFT added (TTFT = the phases before the first token: preprocess, queue, prefill).
 */
import { describe, expect, it } from 'vitest';
import { computeSignals, diagnose, diagnoseSignals, resolveThresholds } from '../../src/analyzer/diagnose/index.js';
import type { RequestTiming } from '../../src/model/request.js';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { renderDiagnosisDetails } from '../../src/report/diagnosis-text.js';
import { exp, generate, summarize } from './gen.js';
import type { GenSpec } from './gen.js';

interface GenerationSpec extends GenSpec {
  tokensIn: number;
  tokensOut: number;
  tokensCached?: number;
}

/** Requests that streamed tokens: TTFT ends where prefill ends. */
function generative(spec: GenerationSpec): RequestTiming[] {
  return generate(spec).map((r) => {
    const ttftMs = (r.phases.preprocess ?? 0) + (r.phases.serialize ?? 0) + (r.phases.network ?? 0) + (r.phases.queue ?? 0) + (r.phases.transfer ?? 0) + (r.phases.prefill ?? 0);
    return { ...r, ttftMs, tokensIn: spec.tokensIn, tokensOut: spec.tokensOut, ...(spec.tokensCached !== undefined ? { tokensCached: spec.tokensCached } : {}) };
  });
}

function run(spec: GenerationSpec, server?: string): Diagnosis {
  const requests = generative(spec);
  return diagnose({ model: spec.model ?? 'tiny-lm', requests, summary: summarize(requests), ...(server !== undefined ? { server } : {}) });
}

/** Fired (fix id, kind) pairs, read from the recommendations' titles. */
function fired(d: Diagnosis): string[] {
  return d.recommendations.map((r) => `${r.fix}:${r.title}`);
}

const outcome = (d: Diagnosis, rule: string) => d.rules.find((r) => r.rule === rule)!;

// A chat-like service: 32 tokens out at 10 ms each after a 20 ms prefill.
const BASE: GenerationSpec = { n: 300, rps: 10, phases: { queue: 5, prefill: 20, decode: 310 }, batchSize: 1, tokensIn: 200, tokensOut: 32, runtime: 'onnxruntime', precision: 'fp32' };
const TITLES = {
  continuous: 'Batch decode steps continuously (more sequences per step)',
  chunked: 'Chunk long prefills so they share steps with decodes',
  prefix: 'Cache the KV of repeated prompt prefixes (prefix caching)',
  scale: 'Scale out: decode slots or KV cache full while the queue grows',
  quantize: 'Quantize weights and KV cache: decode is memory-bound at small batch',
  engine: 'Serve with an LLM engine (vLLM / TensorRT-LLM): decode steps are slow',
  speculative: 'Speculative decoding or a smaller model: decode stays slow at low precision',
  tokenizer: 'Speed up tokenization and prompt templating (before the first token)',
};

describe('generation: dynamic-batching (continuous batching, chunked prefill)', () => {
  const queued: GenerationSpec = { ...BASE, phases: { queue: exp(300), prefill: 20, decode: 310 } };

  it('fires continuous batching when TTFT is mostly queue and decode steps run one sequence', () => {
    const d = run(queued);
    expect(d.primary).toBe('dynamic-batching');
    expect(d.recommendations[0]!.title).toBe(TITLES.continuous);
    expect(d.recommendations[0]!.estimatedGain?.metric).toBe('ttft_p95_ms');
    expect(d.recommendations[0]!.estimatedGain!.expectedValue).toBeLessThan(d.recommendations[0]!.estimatedGain!.currentValue / 2);
    expect(d.recommendations[0]!.nextStep.text).toMatch(/iteration-level/);
    // The queue share is of all TTFT time (Σ queue ÷ Σ TTFT), not of the p95 named before it.
    expect(d.recommendations[0]!.evidence[0]!.text).toMatch(/^TTFT p95 = [\d.,]+ ms; waiting in the queue is \d+% of TTFT summed over all requests \(queue p95 [\d.,]+ ms\)$/);
    expect(outcome(d, 'dynamic-batching').thresholds).toMatchObject({ 'batching.gen.min_ttft_queue_share': 0.5, 'generation.small_decode_batch': 4 });
  });

  it('one token per request (no TPOT): the expected TTFT does not claim a measured 0 ms decode step', () => {
    const d = run({ ...queued, tokensOut: 1 });
    const gain = d.recommendations.find((r) => r.title === TITLES.continuous)?.estimatedGain;
    expect(gain?.basis).toMatch(/TPOT not measured/);
    expect(gain?.basis).not.toMatch(/TPOT p50 0/);
  });

  it('words the step in vLLM’s terms when the input came from vLLM', () => {
    const d = run({ ...queued, runtime: 'vllm', precision: 'bf16' }, 'vllm');
    expect(d.recommendations.find((r) => r.fix === 'dynamic-batching')!.nextStep.text).toMatch(/--max-num-seqs/);
  });

  it('near miss: the same queue with decode steps of 6 sequences does not fire it', () => {
    const d = run({ ...queued, batchSize: 6 });
    expect(fired(d)).not.toContain(`dynamic-batching:${TITLES.continuous}`);
    expect(outcome(d, 'dynamic-batching').reason).toMatch(/already run 6\.0 sequences/);
  });

  it('near miss: a queue of two decode steps is a request joining the next step, batched continuously already', () => {
    // 62 requests in flight at 10 ms per token, TTFT p95 ≈ 28 ms of which most is an 8 ms (mean) wait for the next step.
    const d = run({ ...BASE, rps: 40, phases: { queue: exp(8), prefill: 4, decode: 199 * 10 }, tokensIn: 100, tokensOut: 200 }, 'vllm');
    expect(fired(d)).not.toContain(`dynamic-batching:${TITLES.continuous}`);
    expect(outcome(d, 'dynamic-batching').reason).toMatch(/a queue p95 of [\d.]+ ms is [\d.]+ decode steps of TPOT p50 [\d.]+ ms \(< 4\): requests already join the running batch within a few steps/);
  });

  it('fires chunked prefill for long unique prompts whose prefill is most of TTFT', () => {
    const d = run({ ...BASE, phases: { queue: 5, prefill: 200, decode: 100 }, tokensIn: 2000, tokensOut: 11 });
    expect(fired(d)).toContain(`dynamic-batching:${TITLES.chunked}`);
    expect(fired(d)).not.toContain(`scale-and-cache:${TITLES.prefix}`);
    // The p95 in brackets is TTFT's, and says so: not prefill's.
    const evidence = d.recommendations.find((r) => r.title === TITLES.chunked)!.evidence[0]!.text;
    expect(evidence).toMatch(/^prefill is \d+% of TTFT summed over all requests \(TTFT p95 [\d.,]+ ms\); /);
  });

  it('near miss: a prefill as long as two decode steps stalls nobody much, however large its share of a short TTFT', () => {
    // TTFT 65 ms (50 ms of it prefill) and 24 ms per token: a healthy stream, not a chunked-prefill case.
    const d = run({ ...BASE, phases: { preprocess: 10, queue: 5, prefill: 50, decode: 199 * 24 }, tokensIn: 800, tokensOut: 200 });
    expect(fired(d)).not.toContain(`dynamic-batching:${TITLES.chunked}`);
    expect(outcome(d, 'dynamic-batching').reason).toMatch(/a prefill p95 of 5\d\.\d ms stalls the decodes batched with it for 2\.\d steps of TPOT p50 2\d\.\d ms \(< 4\)/);
  });

  it('near miss: prompts of 400 tokens are not long', () => {
    const d = run({ ...BASE, phases: { queue: 5, prefill: 200, decode: 100 }, tokensIn: 400, tokensOut: 11 });
    expect(fired(d).some((f) => f.startsWith('dynamic-batching'))).toBe(false);
    expect(outcome(d, 'dynamic-batching').reason).toMatch(/prompts are short \(p50 400 tokens < 512\)/);
  });
});

describe('generation: scale-and-cache (prefix cache, scale out)', () => {
  const longShared: GenerationSpec = { ...BASE, phases: { queue: 5, prefill: 200, decode: 100 }, tokensIn: 2000, tokensOut: 11, duplicateShare: 0.6 };

  it('fires the prefix cache when long prompts repeat a prefix, and chunked prefill steps aside', () => {
    const d = run(longShared);
    expect(d.recommendations[0]!.title).toBe(TITLES.prefix);
    expect(d.recommendations[0]!.estimatedGain!.metric).toBe('ttft_p95_ms');
    expect(d.recommendations[0]!.evidence[0]!.text).toMatch(/prefill is \d+% of TTFT summed over all requests \(TTFT p95 [\d.,]+ ms\)/);
    expect(fired(d)).not.toContain(`dynamic-batching:${TITLES.chunked}`);
    expect(outcome(d, 'dynamic-batching').reason).toMatch(/prefix caching \(scale-and-cache\) fits better/);
  });

  it('near miss: few repeated prefixes, or a prefix cache already serving half the prompt', () => {
    expect(fired(run({ ...longShared, duplicateShare: 0.15 }))).not.toContain(`scale-and-cache:${TITLES.prefix}`);
    const cached = run({ ...longShared, tokensCached: 1000 });
    expect(fired(cached)).not.toContain(`scale-and-cache:${TITLES.prefix}`);
    expect(outcome(cached, 'scale-and-cache').reason).toMatch(/50% of prompt tokens already come from a prefix cache/);
  });

  const saturated: GenerationSpec = { ...BASE, rps: 20, phases: { queue: ({ frac }) => 20 + 600 * frac, prefill: 20, decode: 310 }, batchSize: 8 };

  it('fires scale out when decode batches are full and the queue grows', () => {
    const d = run(saturated);
    expect(fired(d)).toContain(`scale-and-cache:${TITLES.scale}`);
    // Batches of 8 are not small: continuous batching is already there.
    expect(fired(d)).not.toContain(`dynamic-batching:${TITLES.continuous}`);
  });

  it('near miss: the same full batches with a steady queue', () => {
    const d = run({ ...saturated, phases: { queue: exp(320), prefill: 20, decode: 310 } });
    expect(fired(d)).not.toContain(`scale-and-cache:${TITLES.scale}`);
    expect(outcome(d, 'scale-and-cache').reason).toMatch(/the queue does not grow/);
  });
});

describe('generation: the decode-bound ladder (quantization → LLM engine → speculative decoding)', () => {
  // 40 ms per token, decode nearly all of e2e, one sequence per step.
  const slowDecode: GenerationSpec = { ...BASE, rps: 1, phases: { queue: 2, prefill: 30, decode: 31 * 40 }, tokensOut: 32 };

  it('16-bit weights on vLLM: quantize weights and KV cache', () => {
    const d = run({ ...slowDecode, runtime: 'vllm', precision: 'bf16' }, 'vllm');
    expect(d.recommendations[0]!.title).toBe(TITLES.quantize);
    expect(d.recommendations[0]!.nextStep.text).toMatch(/--kv-cache-dtype fp8/);
    expect(d.recommendations[0]!.estimatedGain).toMatchObject({ metric: 'tpot_p50_ms' });
    expect(fired(d)).not.toContain(`optimized-runtime:${TITLES.engine}`);
  });

  it('sequences per step not recorded (vLLM spans): the evidence gives how many requests decode at once (Little’s law), not only "assumed small"', () => {
    // 20 requests/s of 1.27 s: about 25 requests decoding at any moment, which vLLM steps together on one replica.
    const { batchSize: _unrecorded, ...spec } = { ...slowDecode, rps: 20, runtime: 'vllm', precision: 'bf16' };
    const d = run(spec, 'vllm');
    const rec = d.recommendations.find((r) => r.fix === 'quantization')!;
    const evidence = rec.evidence.map((e) => e.text).join(' | ');
    expect(evidence).toMatch(/sequences per decode step not recorded: 2\d\.\d requests decode at once on average \(Σ decode ÷ window; /);
    expect(Number(rec.evidence[1]!.values['decoding_at_once'])).toBeGreaterThan(20);
  });

  it('8-bit weights on a general-purpose runtime: serve with an LLM engine', () => {
    const d = run({ ...slowDecode, runtime: 'onnxruntime', precision: 'int8' });
    expect(d.recommendations[0]!.title).toBe(TITLES.engine);
    expect(fired(d)).not.toContain(`quantization:${TITLES.quantize}`);
    expect(fired(d)).not.toContain(`prune-distill:${TITLES.speculative}`);
  });

  it('8-bit weights on vLLM with the SLO missed by 3×: speculative decoding', () => {
    const requests = generative({ ...slowDecode, runtime: 'vllm', precision: 'fp8' });
    const d = diagnose({ model: 'tiny-lm', requests, summary: summarize(requests), server: 'vllm' }, { slo: { p95Ms: 450 } });
    expect(d.recommendations[0]!.title).toBe(TITLES.speculative);
    expect(d.recommendations[0]!.nextStep.text).toMatch(/--speculative-config/);
  });

  it('names each decode form’s gain by the statistic TPOT was read as (a histogram p50 or a mean from Prometheus)', () => {
    const requests = generative({ ...slowDecode, runtime: 'vllm', precision: 'fp8' });
    const thresholds = resolveThresholds();
    const signals = computeSignals({ model: 'tiny-lm', requests, summary: summarize(requests), server: 'vllm' }, thresholds);
    const g = signals.generation!;
    const gainAs = (statistic: 'bucket-percentile' | 'mean') =>
      diagnoseSignals({ ...signals, generation: { ...g, tpot: { ...g.tpot!, statistic } } }, { thresholds, server: 'vllm' }).recommendations.find((r) => r.fix === 'prune-distill')?.estimatedGain;
    expect(gainAs('bucket-percentile')).toMatchObject({ metric: 'tpot_p50_ms', statistic: 'bucket-percentile' });
    expect(gainAs('mean')).toMatchObject({ metric: 'tpot_mean_ms', statistic: 'mean' });
  });

  it('near miss: 20 ms per token is fast enough for every decode form', () => {
    const d = run({ ...slowDecode, phases: { queue: 2, prefill: 30, decode: 31 * 20 }, runtime: 'vllm', precision: 'bf16' }, 'vllm');
    for (const rule of ['quantization', 'optimized-runtime', 'prune-distill']) expect(outcome(d, rule).reason, rule).toMatch(/TPOT p50 .* is below 25\.0 ms/);
    expect(d.recommendations).toEqual([]);
  });

  it('mixed: a queue-dominated TTFT and a slow decode fire both forms, each with its own sub-kind', () => {
    const d = run({ ...slowDecode, rps: 4, phases: { queue: exp(600), prefill: 30, decode: 31 * 40 }, runtime: 'vllm', precision: 'bf16' }, 'vllm');
    expect(fired(d)).toEqual(expect.arrayContaining([`dynamic-batching:${TITLES.continuous}`, `quantization:${TITLES.quantize}`]));
  });
});

describe('generation: a phase the source does not measure', () => {
  it('is called not measured in the near-miss reasons, never 0% of TTFT (SGLang has no prefill histogram, a tracer may skip prefill spans)', () => {
    const d = run({ ...BASE, rps: 1, phases: { preprocess: 10, queue: 5, decode: 310 } });
    for (const rule of ['dynamic-batching', 'scale-and-cache']) {
      expect(outcome(d, rule).reason, rule).not.toMatch(/prefill is 0% of TTFT/);
      expect(outcome(d, rule).reason, rule).toMatch(/prefill is not measured/);
    }
    expect(outcome(d, 'dynamic-batching').reason).toMatch(/queue is 33% of TTFT/);
  });
});

describe('generation: vLLM under Triton (its vLLM backend) words engine arguments as model.json keys', () => {
  const slowDecode: GenerationSpec = { ...BASE, model: 'vllm_model', rps: 1, phases: { queue: 2, prefill: 30, decode: 31 * 40 }, tokensOut: 32 };
  const speculative = (server: string) => {
    const requests = generative({ ...slowDecode, runtime: 'vllm', precision: 'fp8' });
    return diagnose({ model: 'vllm_model', requests, summary: summarize(requests), server }, { slo: { p95Ms: 450 } }).recommendations[0]!;
  };

  it('speculative decoding: the JSON-valued speculative_config is an object in model.json, not a quoted flag cut at its first space', () => {
    const rec = speculative('triton-vllm');
    expect(rec.title).toBe(TITLES.speculative);
    expect(rec.nextStep.snippet?.language).toBe('json');
    expect(JSON.parse(rec.nextStep.snippet!.code)).toEqual({ speculative_config: { method: 'ngram', num_speculative_tokens: 4, prompt_lookup_max: 4 } });
    expect(rec.nextStep.text).toMatch(/vLLM --speculative-config/);
    expect(rec.nextStep.text).toMatch(/engine arguments \(speculative_config\) in the model’s model\.json \(model_repository\/vllm_model\/1\/model\.json/);
  });

  it('the same engine outside Triton keeps its vllm serve command line, byte for byte', () => {
    expect(speculative('vllm').nextStep.snippet).toEqual({ language: 'shell', code: `vllm serve MODEL --speculative-config '{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4}'` });
    const quantize = run({ ...slowDecode, runtime: 'vllm', precision: 'bf16' }, 'vllm').recommendations[0]!;
    expect(quantize.nextStep.snippet).toEqual({ language: 'shell', code: 'vllm serve MODEL --quantization fp8 --kv-cache-dtype fp8' });
    const queued = run({ ...BASE, phases: { queue: exp(300), prefill: 20, decode: 310 }, runtime: 'vllm', precision: 'bf16' }, 'vllm');
    expect(queued.recommendations.find((r) => r.fix === 'dynamic-batching')!.nextStep.snippet?.code).toMatch(/^vllm serve MODEL --max-num-seqs \d+ --max-num-batched-tokens \d+$/);
  });

  it('quantization and continuous batching under Triton: model.json keys with their values (a boolean stays a boolean)', () => {
    const quantize = run({ ...slowDecode, runtime: 'vllm', precision: 'bf16' }, 'triton-vllm').recommendations[0]!;
    expect(quantize.title).toBe(TITLES.quantize);
    expect(JSON.parse(quantize.nextStep.snippet!.code)).toEqual({ quantization: 'fp8', kv_cache_dtype: 'fp8' });
    const queued = run({ ...BASE, model: 'vllm_model', phases: { queue: exp(300), prefill: 20, decode: 310 }, runtime: 'vllm', precision: 'bf16' }, 'triton-vllm');
    const batching = queued.recommendations.find((r) => r.fix === 'dynamic-batching')!.nextStep;
    expect(JSON.parse(batching.snippet!.code)).toMatchObject({ max_num_seqs: expect.any(Number), max_num_batched_tokens: expect.any(Number) });
    expect(batching.text).toMatch(/reload the model after the change/);
  });
});

describe('generation: preprocessing-pipeline (tokenizer)', () => {
  it('fires when tokenization takes a third of TTFT', () => {
    const d = run({ ...BASE, phases: { preprocess: 40, queue: 5, prefill: 40, decode: 310 } });
    expect(d.recommendations[0]!.title).toBe(TITLES.tokenizer);
    expect(d.recommendations[0]!.evidence[0]!.text).toMatch(/of TTFT/);
  });

  it('near miss: a fifth of TTFT', () => {
    const d = run({ ...BASE, phases: { preprocess: 14, queue: 5, prefill: 51, decode: 310 } });
    expect(fired(d).some((f) => f.startsWith('preprocessing-pipeline'))).toBe(false);
  });
});

describe('generation forms in --explain', () => {
  it('lists every generation threshold a rule read, with its value', () => {
    const d = run({ ...BASE, phases: { queue: exp(300), prefill: 20, decode: 310 } });
    const text = renderDiagnosisDetails(d, { color: false, explain: true, named: false }).join('\n');
    for (const key of ['batching.gen.min_ttft_queue_share', 'cache.gen.max_cached_share', 'quantization.gen.tpot_factor', 'generation.min_tpot_ms', 'pipeline.gen.min_ttft_share', 'prune.gen.tpot_factor']) {
      expect(text, key).toContain(key);
    }
  });

  it('leaves requests with token counts but no first token (TGI router spans) to the classic forms: TTFT shares are unknown, not 0', () => {
    // TGI's router span gives queue and inference (as compute) and the output count, never the first token.
    const requests = generate({ n: 300, rps: 10, phases: { queue: exp(300), compute: 200 } }).map((r) => ({ ...r, tokensOut: 40 }));
    const d = diagnose({ model: 'tgi', requests, summary: summarize(requests), server: 'tgi' });
    expect(outcome(d, 'dynamic-batching').reason).not.toMatch(/of TTFT/);
    expect(d.primary).not.toBe('none');
  });

  it('leaves non-generative requests to the classic forms', () => {
    const requests = generate({ n: 300, rps: 10, phases: { queue: exp(300), compute: 20 }, batchSize: 1 });
    const d = diagnose({ model: 'resnet50', requests, summary: summarize(requests) });
    expect(d.primary).toBe('dynamic-batching');
    expect(d.recommendations[0]!.title).toBe('Enable dynamic batching in the server');
  });
});

describe('generation: the tail is cut by time to first token', () => {
  // Output lengths vary ~10× (decode 50–1000 ms), a few requests wait long in the queue: by e2e
  // the slowest are simply the longest generations (decode), by TTFT they are the queued ones.
  const varied: GenerationSpec = { ...BASE, n: 400, phases: { preprocess: 2, queue: ({ rand }) => (rand() < 0.06 ? 150 + 100 * rand() : 3 * rand()), prefill: 20, decode: ({ rand }) => 50 + 950 * rand() } };

  it('names the phase that grows before the first token, with examples near the TTFT p99', () => {
    const d = run(varied);
    expect(d.tail?.basis).toBe('ttft');
    expect(d.tail?.phase).toBe('queue');
    expect(d.tail?.text).toMatch(/^requests above TTFT p95 \(\d+\) spend \d+% of their time to first token in queue, those around the TTFT p50 \d+%$/);
    expect(d.tail!.tailShare).toBeGreaterThan(0.8);
    expect(d.tail!.medianShare).toBeLessThan(0.2);
    // The examples are among the late first tokens, not the longest generations.
    const requests = generative(varied);
    const ttftOf = new Map(requests.map((r) => [r.traceId, r.ttftMs!]));
    const ttfts = requests.map((r) => r.ttftMs!).sort((a, b) => a - b);
    for (const id of d.tail!.exampleTraceIds) expect(ttftOf.get(id)).toBeGreaterThan(ttfts[Math.floor(ttfts.length * 0.95)]!);
  });

  it('without a first token (token counts only) the tail stays by e2e, where the longest generations are decode', () => {
    const requests = generative({ ...varied, phases: { ...varied.phases, queue: 3 } }).map(({ ttftMs: _t, ...r }) => r);
    const d = diagnose({ model: 'tiny-lm', requests, summary: summarize(requests) });
    expect(d.tail?.basis).toBe('e2e');
    expect(d.tail?.phase).toBe('decode');
    expect(d.tail?.text).toMatch(/^requests above p95 \(\d+\) spend \d+% of their time in decode, those around p50 \d+%$/);
  });

  it('a phase span that runs past the first token counts only up to it', () => {
    // Long prompts on a few requests, and one compute span over prefill and decode (no
    // prefill/decode spans): counted whole, compute would be several times each TTFT and lose to
    // the small phases; counted up to the first token, it is what grows in the late first tokens.
    const spec: GenerationSpec = { ...varied, phases: { preprocess: 2, queue: 3, prefill: ({ rand }) => (rand() < 0.06 ? 200 + 100 * rand() : 20), decode: ({ rand }) => 50 + 950 * rand() } };
    const requests = generative(spec).map((r) => ({ ...r, phases: { preprocess: r.phases.preprocess!, queue: r.phases.queue!, compute: r.phases.prefill! + r.phases.decode! } }));
    const d = diagnose({ model: 'tiny-lm', requests, summary: summarize(requests) });
    expect(d.tail?.basis).toBe('ttft');
    expect(d.tail?.phase).toBe('compute');
    expect(d.tail!.tailShare).toBeLessThan(1);
    expect(d.tail!.tailShare).toBeGreaterThan(d.tail!.medianShare + 0.1);
  });
});

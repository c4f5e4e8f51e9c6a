/**
 * @module analyzer/diagnose/_generation
 * Internal helpers the generation forms of the rules share: the thresholds several of them
 * read, when a model is decode-bound, which serving engine a next step should be worded for,
 * and how many bits the weights already have. The rules themselves keep their own logic,
 * thresholds and words (continuous batching in dynamic-batching, prefix caching in
 * scale-and-cache, …); see docs/diagnosis.md, "Generation".
 */
import type { Evidence, GainEstimate, NextStep } from '../../model/diagnosis.js';
import type { GenerationSignal, MsDistribution, Signals } from './signals.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { ms, pct, round } from './rule.js';
import type { Verdict } from './rule.js';
import { isMean, statKey, statList, statName } from './statistic.js';
import { lowerIncludes } from './_words.js';

/** Thresholds read by several generation forms (spread into each rule that reads them). */
export const GENERATION_THRESHOLDS = {
  'generation.min_decode_share': {
    value: 0.5,
    unit: 'ratio of e2e',
    max: 1,
    source: 'ours; Orca (Yu et al., OSDI 2022, https://www.usenix.org/conference/osdi22/presentation/yu) and vLLM/PagedAttention (Kwon et al., SOSP 2023, https://arxiv.org/abs/2309.06180) describe decode as one model pass per token that dominates a long generation',
    why: 'the decode steps must take most of the request before making each step cheaper is the first thing to change',
  },
  'generation.min_tpot_ms': {
    value: 25,
    unit: 'ms per output token',
    source: 'ours (40 tokens/s per stream)',
    why: 'below 25 ms per token a stream already arrives faster than people read it; above it, a faster decode step is felt',
  },
  'generation.small_decode_batch': {
    value: 4,
    unit: 'sequences per decode step',
    source: 'vLLM/PagedAttention (Kwon et al., SOSP 2023, https://arxiv.org/abs/2309.06180): at small batch a decode step is bound by reading the weights and KV cache from memory, not by arithmetic',
    why: 'at four or fewer sequences per step the GPU mostly waits for memory: fewer bytes per step (quantization) or a better kernel (runtime) is what helps, or more sequences per step (batching)',
  },
  'generation.min_prefix_repeat_share': {
    value: 0.3,
    unit: 'ratio of generative requests with inference.input.hash',
    max: 1,
    source: 'ours; vLLM automatic prefix caching (https://docs.vllm.ai/en/latest/features/automatic_prefix_caching.html) reuses the KV cache of a shared prefix such as a system prompt',
    why: 'when three requests in ten repeat a prompt prefix already seen, keeping its KV cache skips that much prefill',
  },
  'generation.long_prompt_tokens': {
    value: 512,
    unit: 'prompt tokens (p50)',
    source: 'Sarathi-Serve (Agrawal et al., OSDI 2024, https://arxiv.org/abs/2403.02310) splits prefills into chunks of a token budget of 512 to 2048 tokens',
    why: 'a prompt of at least one chunk budget makes prefill a long, batch-stalling step worth chunking or caching',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** The named thresholds of a shared group, the same spec objects (the registry accepts a key twice only for one spec). */
export function pickThresholds<T extends object, K extends keyof T>(from: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, from[k]])) as Pick<T, K>;
}

/**
 * The LLM serving engine a next step is worded for. `triton-vllm` is vLLM run by Triton's vLLM
 * backend: the same engine and words, but it takes vLLM's engine arguments as the keys of the
 * model's `model.json`, not as `vllm serve` flags (triton-inference-server/vllm_backend README,
 * "Using the vLLM Backend", https://github.com/triton-inference-server/vllm_backend; its
 * `src/model.py` passes the file to `AsyncEngineArgs(**config)`).
 */
export type Engine = 'vllm' | 'triton-vllm' | 'tgi' | 'trtllm' | 'sglang' | 'own';

/** Words per engine: `own` for engines without their own entry; Triton's vLLM backend falls back on vLLM's (the same engine). */
export type EngineWords = { readonly own: string } & Partial<Record<Exclude<Engine, 'own'>, string>>;

/** The engine from the detected server (a convention mapping) or the runtime attribute; `own` for a service of one's own. */
export function engineOf(s: Signals, server: string | undefined): Engine {
  const name = `${server ?? ''} ${s.runtime ?? ''}`;
  if (lowerIncludes(name, 'vllm')) return lowerIncludes(name, 'triton') ? 'triton-vllm' : 'vllm';
  if (lowerIncludes(name, 'tgi', 'text-generation')) return 'tgi';
  if (lowerIncludes(name, 'tensorrt-llm', 'tensorrt_llm', 'trtllm', 'trt-llm')) return 'trtllm';
  if (lowerIncludes(name, 'sglang')) return 'sglang';
  return 'own';
}

/**
 * Whether a compute rule's classic form (ONNX export, a TensorRT engine built by trtexec, INT8
 * calibration, structured pruning: steps, and gains measured, for a model served by its own code)
 * applies. An LLM serving engine whose source carries no generation figures (TGI exports no TTFT,
 * its router spans none either) is still that engine: none of those steps is one for it, and what
 * would be is judged by the rule's generation form, on figures this source lacks. Undefined when
 * the form applies; else the verdict that says why not, `why` in the rule's own words.
 */
export function classicFormOnEngine(engine: Engine, inputs: Verdict['inputs'], why: string): Verdict | undefined {
  return engine === 'own' ? undefined : { inputs: { ...inputs, engine }, reason: `already served by ${engine}, an LLM serving engine: ${why}` };
}

/** Picks the words for the engine; `own` is the fallback for engines without their own entry. */
export function forEngine(engine: Engine, words: EngineWords): string {
  if (engine === 'own') return words.own;
  return words[engine] ?? (engine === 'triton-vllm' ? words.vllm : undefined) ?? words.own;
}

/** vLLM engine arguments by their `EngineArgs` names (snake_case) with the values to set; an object is a JSON-valued argument such as speculative_config. */
export type VllmArgs = Readonly<Record<string, string | number | boolean | Readonly<Record<string, string | number | boolean>>>>;

/** `vllm serve MODEL` with the arguments as flags: `true` a bare flag, `false` its `--no-` form, an object quoted JSON. */
export function vllmServe(args: VllmArgs): string {
  const flags = Object.entries(args).map(([name, value]) => {
    const flag = name.replace(/_/g, '-');
    if (typeof value === 'boolean') return value ? `--${flag}` : `--no-${flag}`;
    if (typeof value === 'object') return `--${flag} '{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}'`;
    return `--${flag} ${value}`;
  });
  return ['vllm serve MODEL', ...flags].join(' ');
}

/** Where Triton's vLLM backend takes vLLM's engine arguments (`keys`) for `model`. */
export function tritonModelJson(model: string, keys: readonly string[]): string {
  return `On Triton’s vLLM backend these are engine arguments (${keys.join(', ')}) in the model’s model.json (model_repository/${model}/1/model.json, beside "model"), not vllm serve flags; reload the model after the change.`;
}

/**
 * A next step in the engine's terms: its words, and its command line (`code`, '' for none) or,
 * for vLLM, its engine arguments, given once and written where the engine reads them: `vllm
 * serve` flags, or under Triton's vLLM backend the keys of the model's model.json.
 */
export function engineNextStep(engine: Engine, model: string, step: { readonly text: EngineWords; readonly vllm?: VllmArgs; readonly code?: EngineWords }): NextStep {
  const text = forEngine(engine, step.text);
  if (step.vllm !== undefined && engine === 'triton-vllm') return { text: `${text} ${tritonModelJson(model, Object.keys(step.vllm))}`, snippet: { language: 'json', code: JSON.stringify(step.vllm, null, 2) } };
  const code = step.vllm !== undefined && engine === 'vllm' ? vllmServe(step.vllm) : step.code === undefined ? '' : forEngine(engine, step.code);
  return code === '' ? { text } : { text, snippet: { language: 'shell', code } };
}

/** Mean sequences per decode step (batch size on decode spans, or a server's running-requests gauge); 1 when not recorded. */
export function decodeBatch(s: Signals): { readonly mean: number; readonly recorded: boolean; readonly decodingAtOnce: number } {
  // `diagnosed`, not the request rows: aggregates have none.
  const recorded = s.batch.recorded > 0 && s.batch.recorded >= s.diagnosed / 2;
  // Little's law on the decode phase: Σ decode ÷ window = decode share × requests in flight. What a
  // continuous-batching engine steps together on one replica; the evidence gives it where the
  // batch is not recorded, so "assumed 1" never stands alone beside 25 requests decoding.
  return { mean: recorded ? s.batch.meanSize : 1, recorded, decodingAtOnce: s.phases.decode.share * s.meanInFlight };
}

/** Outcome of the decode-bound check the decode-side forms share. */
export interface DecodeBound {
  readonly bound: boolean;
  readonly failed: string[];
  readonly evidence: Evidence;
  readonly inputs: Readonly<Record<string, number | boolean>>;
}

/** Decode-bound: decode is most of e2e and a token takes at least `minTpotMs`. */
export function decodeBound(g: GenerationSignal, t: { readonly 'generation.min_decode_share': number; readonly 'generation.min_tpot_ms': number }): DecodeBound {
  const tpot = g.tpot?.p50Ms ?? 0;
  const failed: string[] = [];
  if (g.tpot === undefined) failed.push('no request reports two or more output tokens with a first token (TPOT unknown)');
  else if (tpot < t['generation.min_tpot_ms']) failed.push(`TPOT ${statName(g.tpot, 'p50')} ${ms(tpot)} is below ${ms(t['generation.min_tpot_ms'])}`);
  if (g.decodeShare < t['generation.min_decode_share']) failed.push(`decode is ${pct(g.decodeShare)} of e2e (< ${pct(t['generation.min_decode_share'])})`);
  return {
    bound: failed.length === 0,
    failed,
    evidence: {
      text: `TPOT ${statList({ meanMs: g.tpot?.meanMs ?? 0, ...(g.tpot?.statistic !== undefined ? { statistic: g.tpot.statistic } : {}) }, [['p50', tpot], ['p95', g.tpot?.p95Ms ?? 0]], ms)}; decode is ${pct(g.decodeShare)} of e2e`,
      values: { [statKey('tpot', g.tpot, 'p50')]: round(tpot), [statKey('tpot', g.tpot, 'p95')]: round(g.tpot?.p95Ms ?? 0), decode_share: round(g.decodeShare) },
    },
    inputs: { [statKey('tpot', g.tpot, 'p50')]: round(tpot), decode_share: round(g.decodeShare) },
  };
}

/**
 * The gain of a decode-side fix that keeps `factor` of each decode step: on TPOT's p50, named by
 * the statistic TPOT was read as (a mean where the source has only sums and counts, a histogram
 * p50 from Prometheus buckets), so every decode form words its gain alike.
 */
export function tpotGain(tpot: MsDistribution, factor: number, basis: string): GainEstimate {
  return {
    metric: isMean(tpot) ? 'tpot_mean_ms' : 'tpot_p50_ms',
    ...(tpot.statistic !== undefined ? { statistic: tpot.statistic } : {}),
    currentValue: round(tpot.p50Ms),
    expectedValue: round(tpot.p50Ms * factor),
    basis,
  };
}

/**
 * The gain of a prefill-side fix (queue, prefix cache, replicas, tokenizer) that brings TTFT's
 * p95 to `expectedMs`: named by the statistic TTFT was read as, as `tpotGain` names TPOT's.
 */
export function ttftGain(ttft: MsDistribution, expectedMs: number, basis: string): GainEstimate {
  return {
    metric: isMean(ttft) ? 'ttft_mean_ms' : 'ttft_p95_ms',
    ...(ttft.statistic !== undefined ? { statistic: ttft.statistic } : {}),
    currentValue: round(ttft.p95Ms),
    expectedValue: round(expectedMs),
    basis,
  };
}

/**
 * A near miss on a share of TTFT, in words: `prefill is 12% of TTFT (< 50%)`, or `prefill is not
 * measured` when no diagnosed request has the phase (SGLang exports no prefill histogram, a tracer
 * may record no prefill span): its share is then unknown, not 0%.
 */
export function ttftShareShort(s: Signals, phase: 'queue' | 'prefill' | 'preprocess', share: number, min?: number, label: string = phase): string {
  if (s.phases[phase].present === 0) return `${label} is not measured (no ${phase} phase in this input)`;
  return `${label} is ${pct(share)} of TTFT${min === undefined ? '' : ` (< ${pct(min)})`}`;
}

/** Bits per weight the precision attribute names (fp16 → 16, int8/fp8 → 8, int4/nf4/awq → 4); undefined when unknown. */
export function weightBits(precision: string | undefined): number | undefined {
  if (precision === undefined) return undefined;
  const p = precision.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (/^(fp32|float32|float|tf32|single)$/.test(p)) return 32;
  if (/^(fp16|float16|half|bf16|bfloat16)$/.test(p)) return 16;
  if (/^(int8|uint8|qint8|fp8|float8|e4m3|e5m2|w8a8|w8a16)/.test(p)) return 8;
  if (/^(int4|uint4|nf4|fp4|awq|gptq|w4a16|w4a8)/.test(p)) return 4;
  return undefined;
}

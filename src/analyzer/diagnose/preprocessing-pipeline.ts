/**
 * @module analyzer/diagnose/preprocessing-pipeline
 * Fix 5: preprocessing, serialization, network or postprocessing (the work around the model)
 * costs more than the model. Triton server#4250 is the classic case: overhead 233.9 ms against
 * compute 1.7 ms at batch 128 over HTTP/JSON.
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { bytes, confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { statKey, statName } from './statistic.js';
import { partColumn, tracesNear } from './signals.js';
import type { GenerationSignal, Signals } from './signals.js';
import type { Verdict } from './rule.js';
import { engineOf, forEngine, ttftGain, ttftShareShort } from './_generation.js';
import type { Engine } from './_generation.js';

/** Thresholds of the preprocessing-pipeline rule. */
export const PIPELINE_THRESHOLDS = {
  'pipeline.min_share': {
    value: 0.2,
    unit: 'ratio of e2e',
    max: 1,
    source: 'PyTorch Profiler TensorBoard plugin (https://github.com/pytorch/kineto/tree/main/tb_plugin) flags input work above 5% of a step; for serving we escalate only above 20% (ours)',
    why: 'the work around the model must be a large part of end-to-end time to be the fix to apply first',
  },
  'pipeline.over_compute': {
    value: 1,
    unit: 'ratio pipeline / compute (means)',
    source: 'ours: network + serialization > compute infer, as in Triton issue 4250 (https://github.com/triton-inference-server/server/issues/4250: overhead 233.9 ms against compute 1.7 ms at batch 128 over HTTP)',
    why: 'the requests spend longer getting to and from the model than in it',
  },
  'pipeline.large_payload_bytes': {
    value: 1048576,
    unit: 'bytes (request p50)',
    source: 'ours',
    why: 'payloads of a megabyte or more make serialization and transfer costs likely; raises confidence',
  },
  'pipeline.gain_factor': {
    value: 0.5,
    unit: 'ratio of pipeline time removed',
    max: 1,
    source: 'ours (binary encodings and server-side preprocessing commonly halve this time; an assumption for ranking, not a measurement)',
    why: 'used only to estimate the gain for ranking',
  },
  'pipeline.gen.min_ttft_share': {
    value: 0.3,
    unit: 'ratio of TTFT',
    max: 1,
    source: 'ours; vLLM measures TTFT from arrival, tokenization included (docs/design/metrics.md), so a slow tokenizer or template shows up before the first token',
    why: 'when tokenization and prompt templating take almost a third of the time to first token, they are worth moving or speeding up',
  },
} as const satisfies Record<string, ThresholdSpec>;

type PipelineThresholds = Readonly<Record<keyof typeof PIPELINE_THRESHOLDS, number>>;

/** Tokenization and prompt templating in the engine's terms. */
function tokenizerNextStep(engine: Engine): NextStep {
  return {
    text: forEngine(engine, {
      // vLLM's pre-engine time (TTFT − queue − prefill in its llm_request span): tokenisation, chat templating, the hand-off to the engine core.
      vllm: 'vLLM spends this time before the engine: tokenisation, chat templating and the hand-off to the engine core. Run more API server processes so prompts are not tokenised one after another in one (--api-server-count), keep chat templates short, and send token ids where the client already has them.',
      tgi: 'Tokenization runs in TGI’s router: raise --validation-workers so prompts are tokenized in parallel, and send prompts already templated.',
      sglang: 'Tokenization runs in SGLang’s tokenizer manager, one process before the scheduler: send token ids (input_ids) where the client already has them, keep chat templates short, and spread load over more server processes (data parallelism, --dp) so prompts are not tokenized one after another.',
      own: 'Speed up the prompt pipeline: use a fast (Rust) tokenizer (Hugging Face tokenizers, tiktoken) instead of a pure-language one, render the chat template once per conversation turn and cache the tokens of fixed parts (system prompt), and tokenize off the event loop (a worker pool) so requests do not wait behind each other.',
    }),
  };
}

/** The generation form: tokenization / prompt templating (the preprocess phase) is a large part of TTFT. */
function generationVerdict(s: Signals, g: GenerationSignal, t: PipelineThresholds, engine: Engine): Verdict {
  const pre = s.phases.preprocess;
  const inputs = { ttft_preprocess_share: round(g.ttftPreprocessShare), [statKey('preprocess', pre, 'p95')]: round(pre.p95Ms), [statKey('ttft', g.ttft, 'p95')]: round(g.ttft.p95Ms) };
  if (g.ttftPreprocessShare < t['pipeline.gen.min_ttft_share']) return { inputs, reason: ttftShareShort(s, 'preprocess', g.ttftPreprocessShare, t['pipeline.gen.min_ttft_share'], 'tokenization/templating (preprocess)') };
  const saved = pre.meanMs * t['pipeline.gain_factor'];
  return {
    inputs,
    reason: `preprocess ${pct(g.ttftPreprocessShare)} of TTFT`,
    finding: {
      kind: 'tokenizer',
      confidence: confidenceFrom(g.ttftPreprocessShare / t['pipeline.gen.min_ttft_share'] - 1, s),
      evidence: [{ text: `tokenization and prompt templating (preprocess) take ${pct(g.ttftPreprocessShare)} of TTFT: ${statName(pre, 'p95')} ${ms(pre.p95Ms)} of a TTFT ${statName(g.ttft, 'p95')} of ${ms(g.ttft.p95Ms)}`, values: { ttft_preprocess_share: round(g.ttftPreprocessShare), [statKey('preprocess', pre, 'p95')]: round(pre.p95Ms) } }],
      savedMeanMs: saved,
      estimatedGain: ttftGain(g.ttft, Math.max(0, g.ttft.p95Ms - pre.p95Ms * t['pipeline.gain_factor']), `half the preprocess time removed (pipeline.gain_factor ${t['pipeline.gain_factor']})`),
      nextStep: tokenizerNextStep(engine),
      exampleTraceIds: tracesNear(s.requests, s.requests.phase('preprocess'), pre.p95Ms),
    },
  };
}

const PIPELINE_PARTS = ['preprocess', 'serialize', 'network', 'postprocess'] as const;

/** Next step for the pipeline phase that costs most. */
function pipelineNextStep(p: { largest: 'preprocess' | 'serialize' | 'network' | 'postprocess'; requestBytesP50?: number; server?: string; engine: Engine }): NextStep {
  // An LLM server's preprocess is tokenization and templating (TGI's validation): its own settings, not a Triton ensemble.
  if (p.engine !== 'own' && p.largest === 'preprocess') return tokenizerNextStep(p.engine);
  if (p.server === 'kserve' && (p.largest === 'preprocess' || p.largest === 'postprocess')) return kserveTransformerStep(p.largest);
  const size = p.requestBytesP50 !== undefined ? ` Requests carry ${p.requestBytesP50 >= 1024 * 1024 ? `${(p.requestBytesP50 / (1024 * 1024)).toFixed(1)} MiB` : `${Math.round(p.requestBytesP50 / 1024)} KiB`} at the median.` : '';
  switch (p.largest) {
    case 'serialize':
      return {
        text: `Serialization is the largest pipeline cost.${size} Send binary tensors over gRPC/protobuf instead of JSON (Triton's binary tensor extension, or KServe v2 gRPC), and avoid base64 images.`,
        snippet: { language: 'python', code: ['import tritonclient.grpc as grpcclient', 'client = grpcclient.InferenceServerClient("server:8001")', 'inp = grpcclient.InferInput("input", batch.shape, "FP32")', 'inp.set_data_from_numpy(batch)  # raw bytes, no JSON'].join('\n') },
      };
    case 'network':
      return {
        text: `Network time is the largest pipeline cost.${size} Shrink the payload (binary tensors, resize/crop before sending, compression), keep connections alive, and place the client close to the server; when client and server share a host, pass tensors through system or CUDA shared memory (Triton shared-memory extension).`,
      };
    case 'postprocess':
      return {
        text: 'Postprocessing is the largest pipeline cost. Vectorize it, move it into the server next to the model (Triton ensemble or Python backend, KServe transformer), or run it in a worker pool.',
      };
    default:
      return {
        text: `Preprocessing is the largest pipeline cost.${size} Move it into the server next to the model (a Triton ensemble with a DALI or Python backend step, a KServe transformer), run it in a worker pool, or cache static features.`,
        snippet: {
          language: 'protobuf',
          code: ['# ensemble/config.pbtxt', 'platform: "ensemble"', 'ensemble_scheduling {', '  step [ { model_name: "preprocess" model_version: -1 },', '         { model_name: "model" model_version: -1 } ]', '}'].join('\n'),
        },
      };
  }
}

/**
 * KServe's own place for pre/post-processing: a transformer, an InferenceService component in
 * its own pod that scales apart from the predictor ("Deploy Transformer with InferenceService",
 * https://kserve.github.io/website/docs/model-serving/predictive-inference/transformers/custom-transformer).
 */
function kserveTransformerStep(largest: 'preprocess' | 'postprocess'): NextStep {
  return {
    text:
      `${largest === 'preprocess' ? 'Preprocessing' : 'Postprocessing'} is the largest cost and runs inside the KServe model server, ahead of every predict. ` +
      `Move it into a KServe transformer (a kserve.Model whose ${largest} handler does the work, its predict calls the predictor over gRPC with --protocol grpc-v2): it runs in its own pod, scales with its own replicas and leaves the predictor to the model. ` +
      'Vectorize the work or run it in a worker pool there, and send binary tensors to the predictor instead of JSON lists.',
    snippet: {
      language: 'yaml',
      code: ['apiVersion: serving.kserve.io/v1beta1', 'kind: InferenceService', 'spec:', '  transformer:', '    containers:', '      - name: kserve-container', '        image: REGISTRY/transformer:TAG  # kserve.Model with preprocess/postprocess', '        args: [--protocol, grpc-v2]', '  predictor:', '    model: { modelFormat: { name: MODEL_FORMAT }, storageUri: STORAGE_URI }'].join('\n'),
    },
  };
}

/** The preprocessing-pipeline rule. */
export const preprocessingPipelineRule = defineRule({
  id: 'preprocessing-pipeline',
  effort: 'config',
  needs: { inputs: ['phase-distributions'], refinedBy: ['payload-sizes', 'generation'], gpu: 'unused' },
  content: { title: 'Speed up the request pipeline (preprocessing, serialization, network)', phases: ['preprocess', 'serialize', 'network', 'postprocess'], kinds: { tokenizer: 'Speed up tokenization and prompt templating (before the first token)' } },
  thresholds: PIPELINE_THRESHOLDS,
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    if (s.generation) return generationVerdict(s, s.generation, t, engineOf(s, ctx.server));
    const share = PIPELINE_PARTS.reduce((a, p) => a + s.phases[p].share, 0);
    const meanMs = PIPELINE_PARTS.reduce((a, p) => a + s.phases[p].meanMs, 0);
    const computeMean = s.phases.compute.meanMs;
    const overCompute = computeMean > 0 ? meanMs / computeMean : meanMs > 0 ? Number.POSITIVE_INFINITY : 0;
    let largest: (typeof PIPELINE_PARTS)[number] = 'preprocess';
    for (const p of PIPELINE_PARTS) if (s.phases[p].share > s.phases[largest].share) largest = p;
    const largePayload = s.requestBytesP50 !== undefined && s.requestBytesP50 >= t['pipeline.large_payload_bytes'];
    const inputs = {
      pipeline_share: round(share),
      pipeline_mean_ms: round(meanMs),
      compute_mean_ms: round(computeMean),
      pipeline_over_compute: round(overCompute),
      largest_part: largest,
      request_bytes_p50: s.requestBytesP50 ?? null,
      network_derived: s.networkDerived,
      clock_skew_share: round(s.clockSkewShare),
    };
    const failed: string[] = [];
    if (share < t['pipeline.min_share']) failed.push(`preprocess + serialize + network + postprocess are ${pct(share)} of e2e (< ${pct(t['pipeline.min_share'])})`);
    if (overCompute <= t['pipeline.over_compute']) failed.push(`they take ${ms(meanMs)} on average, not more than compute (${ms(computeMean)})`);
    if (failed.length > 0) return { inputs, reason: failed.join('; ') };
    const saved = meanMs * t['pipeline.gain_factor'];
    const parts = PIPELINE_PARTS.filter((p) => s.phases[p].share > 0)
      .map((p) => `${p} ${statName(s.phases[p], 'p95')} ${ms(s.phases[p].p95Ms)} (${pct(s.phases[p].share)})`)
      .join(', ');
    const values: Record<string, number> = { pipeline_share: round(share), pipeline_mean_ms: round(meanMs), compute_mean_ms: round(computeMean) };
    for (const p of PIPELINE_PARTS) if (s.phases[p].share > 0) values[statKey(p, s.phases[p], 'p95')] = round(s.phases[p].p95Ms);
    const evidence = [
      { text: `the work around the model takes ${pct(share)} of e2e (${ms(meanMs)} per request on average) against ${ms(computeMean)} of compute: ${parts}`, values },
      ...(s.requestBytesP50 !== undefined
        ? [{ text: `request payload p50 = ${bytes(s.requestBytesP50)}${largePayload ? ' (large)' : ''}`, values: { request_bytes_p50: s.requestBytesP50 } }]
        : []),
      ...(s.clockSkewShare > 0.05 && largest === 'network'
        ? [{ text: `${pct(s.clockSkewShare)} of requests show client/server clock skew: derived network time is approximate`, values: { clock_skew_share: round(s.clockSkewShare) } }]
        : []),
    ];
    return {
      inputs,
      reason: `pipeline ${pct(share)} of e2e, ${overCompute.toFixed(1)}× compute; largest part ${largest}`,
      finding: {
        confidence: confidenceFrom(share / t['pipeline.min_share'] - 1, s, largePayload ? 1.1 : 1),
        evidence,
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `half of the ${ms(meanMs)} spent around the model (an assumption: binary encodings and server-side preprocessing commonly halve it)`,
        },
        nextStep: pipelineNextStep({ largest, engine: engineOf(s, ctx.server), ...(s.requestBytesP50 !== undefined ? { requestBytesP50: s.requestBytesP50 } : {}), ...(ctx.server !== undefined ? { server: ctx.server } : {}) }),
        exampleTraceIds: tracesNear(s.requests, partColumn(s.requests, largest), s.phases[largest].p95Ms),
      },
    };
  },
});

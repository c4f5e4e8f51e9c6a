/**
 * @module analyzer/diagnose/optimized-runtime
 * Fix 3: compute dominates and the model runs on a generic framework (PyTorch, TensorFlow,
 * ONNX Runtime on its default/CPU/CUDA provider), so a hardware-specific runtime is the next lever.
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, round } from './rule.js';
import { statName } from './statistic.js';
import { isGpuDevice, lowerIncludes, stem } from './_words.js';
import { COMPUTE_THRESHOLDS, classifyRuntime, computeDominance } from './_compute.js';
import { tracesNear } from './signals.js';
import type { GenerationSignal, Signals } from './signals.js';
import type { Verdict } from './rule.js';
import { GENERATION_THRESHOLDS, classicFormOnEngine, decodeBound, engineOf, pickThresholds } from './_generation.js';
import type { Engine } from './_generation.js';

/** Thresholds of the optimized-runtime rule. */
export const RUNTIME_THRESHOLDS = {
  'runtime.compute_factor': {
    value: 0.6,
    unit: 'ratio of compute time kept (GPU)',
    max: 1,
    source: 'Triton optimization guide (https://github.com/triton-inference-server/server/blob/main/docs/user_guide/optimization.md): ONNX Runtime → TensorRT FP16 took latency from 8.9 ms to 5.4 ms (×0.61)',
    why: 'used only to estimate the gain on a GPU (compute × (1 − factor)) for ranking',
  },
  'runtime.cpu_compute_factor': {
    value: 0.85,
    unit: 'ratio of compute time kept (CPU)',
    max: 1,
    source: 'ours: ONNX Runtime (MLAS) and PyTorch (oneDNN) CPU kernels are already vectorized, so a CPU runtime swap mostly wins graph fusion',
    why: 'on a CPU a runtime swap is a smaller step than INT8 quantization, so quantization ranks first there',
  },
  ...pickThresholds(GENERATION_THRESHOLDS, 'generation.min_decode_share', 'generation.min_tpot_ms'),
} as const satisfies Record<string, ThresholdSpec>;

type RuntimeThresholds = Readonly<Record<keyof typeof RUNTIME_THRESHOLDS, number>>;

/** The generation form: decode-bound on a service of one's own, not on an LLM serving engine. */
function generationVerdict(s: Signals, g: GenerationSignal, t: RuntimeThresholds, engine: Engine): Verdict {
  const bound = decodeBound(g, t);
  const inputs = { ...bound.inputs, runtime: s.runtime ?? null, engine };
  const failed = [...bound.failed];
  if (engine !== 'own') failed.push(`already served by ${engine}`);
  if (failed.length > 0) return { inputs, reason: failed.join('; ') };
  const factor = isGpuDevice(s.device) ? t['runtime.compute_factor'] : t['runtime.cpu_compute_factor'];
  return {
    inputs,
    reason: `decode-bound (TPOT ${statName(g.tpot, 'p50')} ${ms(g.tpot!.p50Ms)}) on ${s.runtime ?? 'an unrecorded runtime'}, not an LLM serving engine`,
    finding: {
      kind: 'llm-engine',
      confidence: confidenceFrom(g.tpot!.p50Ms / t['generation.min_tpot_ms'] - 1, s, 0.75),
      evidence: [bound.evidence, { text: `the model runs on ${s.runtime ?? 'an unrecorded runtime (set inference.runtime)'}, a general-purpose runtime with no paged KV cache or fused decode kernels`, values: {} }],
      savedMeanMs: s.phases.decode.meanMs * (1 - factor),
      nextStep: {
        text: `Serve the model with an LLM engine instead of ${s.runtime ?? 'a general-purpose runtime'}: vLLM (paged KV cache, CUDA graphs for decode, continuous batching; https://docs.vllm.ai) or TensorRT-LLM (fused attention kernels, in-flight batching) on NVIDIA GPUs; llama.cpp or OpenVINO GenAI on CPUs. A decode step there reuses the KV cache and launches a captured graph instead of one kernel per operator.`,
        snippet: { language: 'shell', code: 'vllm serve MODEL  # OpenAI-compatible server, streams tokens' },
      },
      exampleTraceIds: tracesNear(s.requests, s.requests.phase('decode'), s.phases.decode.p95Ms),
    },
  };
}

/** The runtime swap for the device in use. */
function runtimeNextStep(p: { model: string; runtime?: string; provider?: string; device?: string; server?: string }): NextStep {
  const m = stem(p.model);
  if (p.server === 'triton' && p.runtime === undefined) {
    // Triton's traces do not name the backend; the change is made in the model's config.pbtxt.
    return {
      text: `Triton serves the model on a backend its traces do not name. For an ONNX model, turn on the TensorRT execution accelerator in ${m}/config.pbtxt (FP16); better still, build a TensorRT plan and serve it with platform "tensorrt_plan". Triton's optimization guide measured 2× throughput and half the latency for ONNX → TensorRT FP16; check accuracy. Compare with perf_analyzer before and after.`,
      snippet: {
        language: 'protobuf',
        code: [`# ${m}/config.pbtxt`, 'optimization { execution_accelerators {', '  gpu_execution_accelerator : [ {', '    name : "tensorrt"', '    parameters { key: "precision_mode" value: "FP16" }', '  } ]', '} }'].join('\n'),
      },
    };
  }
  const known = p.runtime !== undefined ? `${p.runtime}${p.provider ? ` (${p.provider})` : ''}` : 'an unrecorded runtime (set inference.runtime)';
  if (lowerIncludes(p.device, 'neuron', 'inf', 'trn')) {
    return {
      text: `The model runs on ${known}. Compile it for AWS Inferentia/Trainium with the Neuron SDK.`,
      snippet: { language: 'python', code: ['import torch_neuronx', `neuron_model = torch_neuronx.trace(model, example_inputs)`, `torch.jit.save(neuron_model, "${m}.neuron.pt")`].join('\n') },
    };
  }
  if (!isGpuDevice(p.device) && p.device !== undefined) {
    return {
      text: `The model runs on ${known} on the CPU. On Intel CPUs, OpenVINO (or ONNX Runtime's OpenVINO execution provider) fuses and vectorizes the graph.`,
      snippet: { language: 'shell', code: [`ovc ${m}.onnx --output_model ${m}.xml`, `benchmark_app -m ${m}.xml -d CPU -hint latency`].join('\n') },
    };
  }
  if (lowerIncludes(p.runtime, 'onnx')) {
    return {
      text: `The model runs on ${known}. Use ONNX Runtime's TensorRT execution provider (Triton: optimization { execution_accelerators { gpu_execution_accelerator: [ { name: "tensorrt" parameters { key: "precision_mode" value: "FP16" } } ] } }); Triton's optimization guide measured 2× throughput and half the latency for this change. Check accuracy with FP16.`,
      snippet: { language: 'shell', code: `trtexec --onnx=${m}.onnx --fp16 --saveEngine=${m}.plan` },
    };
  }
  return {
    text: `The model runs on ${known}. Export it to ONNX and build a TensorRT engine (Triton's optimization guide measured 2× throughput and half the latency for ONNX → TensorRT FP16); check accuracy.`,
    snippet: { language: 'shell', code: [`# torch.onnx.export(model, example_inputs, "${m}.onnx")`, `trtexec --onnx=${m}.onnx --fp16 --saveEngine=${m}.plan`].join('\n') },
  };
}

/** The optimized-runtime rule. */
export const optimizedRuntimeRule = defineRule({
  id: 'optimized-runtime',
  effort: 'runtime',
  needs: { inputs: ['phase-distributions'], refinedBy: ['model-attributes', 'generation'], gpu: 'unused' },
  content: { title: 'Switch to a hardware-specific runtime (TensorRT / OpenVINO / Neuron)', phases: ['compute', 'prefill', 'decode'], kinds: { 'llm-engine': 'Serve with an LLM engine (vLLM / TensorRT-LLM): decode steps are slow' } },
  thresholds: { ...COMPUTE_THRESHOLDS, ...RUNTIME_THRESHOLDS },
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const engine = engineOf(s, ctx.server);
    if (s.generation) return generationVerdict(s, s.generation, t, engine);
    const dominance = computeDominance(s, t['compute.min_share_of_server']);
    const onEngine = classicFormOnEngine(engine, dominance.inputs, 'no ONNX/TensorRT export applies');
    if (onEngine) return onEngine;
    const runtimeClass = classifyRuntime(s.runtime, s.runtimeProvider);
    const inputs = { ...dominance.inputs, runtime: s.runtime ?? null, runtime_provider: s.runtimeProvider ?? null, runtime_class: runtimeClass };
    if (!dominance.dominant) return { inputs, reason: dominance.failed ?? 'compute does not dominate' };
    if (runtimeClass === 'optimized') return { inputs, reason: `the model already runs on ${s.runtime}${s.runtimeProvider ? ` (${s.runtimeProvider})` : ''}` };
    if (runtimeClass === 'unknown' && s.runtime !== undefined) return { inputs, reason: `runtime ${s.runtime} is not one this rule knows` };
    const compute = s.phases.compute;
    // The CPU factor applies when the device or provider says CPU; GPUs (and unrecorded devices) use Triton's measurement.
    const onCpu = s.device !== undefined ? !isGpuDevice(s.device) : /cpu/i.test(s.runtimeProvider ?? '');
    const factor = onCpu ? t['runtime.cpu_compute_factor'] : t['runtime.compute_factor'];
    const saved = compute.meanMs * (1 - factor);
    const known = runtimeClass === 'generic';
    return {
      inputs,
      reason: known ? `compute dominates on the generic runtime ${s.runtime}` : 'compute dominates and the runtime is not recorded',
      finding: {
        confidence: confidenceFrom(s.computeShareOfServer / t['compute.min_share_of_server'] - 1, s, known ? 1 : 0.6),
        evidence: [
          dominance.evidence,
          known
            ? { text: `runtime ${s.runtime}${s.runtimeProvider ? ` with ${s.runtimeProvider}` : ''}${s.device ? ` on ${s.device}` : ''} is a generic framework, not a hardware-specific runtime`, values: {} }
            : { text: 'inference.runtime is not recorded: a hardware-specific runtime may or may not be in use', values: {} },
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: onCpu
            ? `compute mean ${ms(compute.meanMs)} × ${factor} (an assumption: CPU runtimes differ mostly in graph fusion)`
            : `compute mean ${ms(compute.meanMs)} × ${factor}, the ratio Triton's optimization guide measured for ONNX Runtime → TensorRT FP16`,
        },
        nextStep: runtimeNextStep({
          model: s.model,
          ...(ctx.server !== undefined ? { server: ctx.server } : {}),
          ...(s.runtime !== undefined ? { runtime: s.runtime } : {}),
          ...(s.runtimeProvider !== undefined ? { provider: s.runtimeProvider } : {}),
          ...(s.device !== undefined ? { device: s.device } : {}),
        }),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('compute'), compute.p95Ms),
      },
    };
  },
});

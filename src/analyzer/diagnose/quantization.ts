/**
 * @module analyzer/diagnose/quantization
 * Fix 2: compute dominates and the model runs at high precision (FP32), so post-training
 * quantization to FP16/INT8 is the next lever (PyTorch TB plugin: FP32 with Tensor Cores unused → AMP/FP16).
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, round } from './rule.js';
import { statName } from './statistic.js';
import { isGpuDevice, lowerIncludes, stem } from './_words.js';
import { COMPUTE_THRESHOLDS, classifyPrecision, computeDominance } from './_compute.js';
import { tracesNear } from './signals.js';
import type { GenerationSignal, Signals } from './signals.js';
import type { Verdict } from './rule.js';
import { GENERATION_THRESHOLDS, classicFormOnEngine, decodeBatch, decodeBound, engineNextStep, engineOf, pickThresholds, tpotGain, weightBits } from './_generation.js';
import type { Engine } from './_generation.js';

/** Thresholds of the quantization rule. */
export const QUANTIZATION_THRESHOLDS = {
  'quantization.compute_factor': {
    value: 0.5,
    unit: 'ratio of compute time kept',
    max: 1,
    source: 'ours: FP16 halves the bytes every layer moves and INT8 quarters them (Keras INT8 guide, https://keras.io/guides/int8_quantization_in_keras: 4× fewer bytes than FP32)',
    why: 'used only to estimate the gain (compute × (1 − factor)) so the rule can be ranked against the others',
  },
  'quantization.gen.tpot_factor': {
    value: 0.6,
    unit: 'ratio of TPOT kept',
    max: 1,
    source: 'ours: a small-batch decode step reads every weight once per token (PagedAttention, https://arxiv.org/abs/2309.06180), so 8-bit weights halve the bytes; we keep 60% of the step for what does not shrink (KV cache, kernels)',
    why: 'used only to estimate the gain in TPOT for ranking',
  },
  ...pickThresholds(GENERATION_THRESHOLDS, 'generation.min_decode_share', 'generation.min_tpot_ms', 'generation.small_decode_batch'),
} as const satisfies Record<string, ThresholdSpec>;

type QuantizationThresholds = Readonly<Record<keyof typeof QUANTIZATION_THRESHOLDS, number>>;

/** Weight and KV-cache quantization in the engine's terms. */
function generationQuantizationNextStep(engine: Engine, model: string, bits: number | undefined): NextStep {
  const from = bits === undefined ? 'the current (assumed 16-bit) weights' : `${bits}-bit weights`;
  return engineNextStep(engine, model, {
    text: {
      vllm: `Decode at small batch reads all weights and the KV cache for every token: halve those bytes. Serve an 8-bit checkpoint instead of ${from} (FP8 on Hopper/Ada: --quantization fp8; or an AWQ/GPTQ 4-bit checkpoint) and store the KV cache in FP8 (--kv-cache-dtype fp8). Check accuracy on your own prompts first.`,
      tgi: `Decode at small batch reads all weights for every token: serve quantized weights instead of ${from} (--quantize fp8, awq, gptq or eetq, by what the GPU and checkpoint support). Check accuracy on your own prompts first.`,
      sglang: `Decode at small batch reads all weights and the KV cache for every token: halve those bytes. Serve 8-bit weights instead of ${from} (--quantization fp8, or an AWQ/GPTQ checkpoint) and an FP8 KV cache (--kv-cache-dtype fp8_e5m2; SGLang Server Arguments). Check accuracy on your own prompts first.`,
      trtllm: `Build the engine with FP8 or INT4-AWQ weights (instead of ${from}) and an FP8 KV cache (TensorRT-LLM quantization: --qformat fp8 / int4_awq, --kv_cache_dtype fp8). Check accuracy on your own prompts first.`,
      own: `Decode at small batch reads every weight for every token, so it is bound by memory bandwidth: quantize ${from} to 8 bits (INT8/FP8, or 4-bit AWQ/GPTQ) and the KV cache to 8 bits, then measure TPOT and accuracy again. ONNX Runtime: quantize_dynamic on the decoder's MatMul weights.`,
    },
    vllm: { quantization: 'fp8', kv_cache_dtype: 'fp8' },
    code: { tgi: 'text-generation-launcher --model-id MODEL --quantize fp8', sglang: 'python -m sglang.launch_server --model-path MODEL --quantization fp8 --kv-cache-dtype fp8_e5m2', own: 'python -m onnxruntime.quantization.preprocess --input decoder.onnx --output decoder.pre.onnx  # then quantize_dynamic(..., weight_type=QuantType.QInt8)' },
  });
}

/** The generation form: decode-bound at small batch with weights above 8 bits. */
function generationVerdict(s: Signals, g: GenerationSignal, t: QuantizationThresholds, engine: Engine): Verdict {
  const bound = decodeBound(g, t);
  const batch = decodeBatch(s);
  const bits = weightBits(s.precision);
  const inputs = { ...bound.inputs, mean_decode_batch: round(batch.mean), precision: s.precision ?? null, weight_bits: bits ?? null };
  const failed = [...bound.failed];
  if (batch.mean > t['generation.small_decode_batch']) failed.push(`decode steps run ${batch.mean.toFixed(1)} sequences (> ${t['generation.small_decode_batch']}): batching, not bytes, is the lever`);
  if (bits !== undefined && bits <= 8) failed.push(`weights are already ${bits}-bit (${s.precision})`);
  if (failed.length > 0) return { inputs, reason: failed.join('; ') };
  const tpot = g.tpot!;
  const tokens = g.tokensOutMean ?? 1;
  return {
    inputs,
    reason: `decode-bound (TPOT ${statName(tpot, 'p50')} ${ms(tpot.p50Ms)}, decode ${Math.round(g.decodeShare * 100)}% of e2e) at ${batch.recorded ? `${batch.mean.toFixed(1)} sequences per step` : 'an unrecorded number of sequences per step'} with ${bits === undefined ? 'unknown' : `${bits}-bit`} weights`,
    finding: {
      kind: 'weights-and-kv-cache',
      confidence: confidenceFrom(tpot.p50Ms / t['generation.min_tpot_ms'] - 1, s, bits === undefined ? 0.8 : 1),
      // Sequences per step not recorded (vLLM, TGI spans): assumed 1 for the check, never stated as measured.
      evidence: [
        bound.evidence,
        {
          text: `${batch.recorded ? `${batch.mean.toFixed(1)} sequence${batch.mean === 1 ? '' : 's'} per decode step` : `sequences per decode step not recorded: ${batch.decodingAtOnce.toFixed(1)} requests decode at once on average (Σ decode ÷ window; one step holds them on a single replica, a share of them per replica on several)`}, weights ${bits === undefined ? 'of unrecorded precision (inference.precision)' : `${bits}-bit (${s.precision})`}`,
          values: { mean_decode_batch: round(batch.mean), ...(batch.recorded ? {} : { decoding_at_once: round(batch.decodingAtOnce) }), ...(bits !== undefined ? { weight_bits: bits } : {}) },
        },
      ],
      savedMeanMs: Math.max(0, tokens - 1) * (tpot.meanMs - tpot.meanMs * t['quantization.gen.tpot_factor']),
      estimatedGain: tpotGain(tpot, t['quantization.gen.tpot_factor'], `8-bit weights halve the bytes a small-batch decode step reads; ${Math.round(t['quantization.gen.tpot_factor'] * 100)}% of the step kept (quantization.gen.tpot_factor)`),
      nextStep: generationQuantizationNextStep(engine, s.model, bits),
      exampleTraceIds: tracesNear(s.requests, s.requests.phase('decode'), s.phases.decode.p95Ms),
    },
  };
}

/** The quantization call for the runtime and device in use. */
function quantizationNextStep(p: { model: string; runtime?: string; provider?: string; device?: string; precisionKnown: boolean }): NextStep {
  const m = stem(p.model);
  const gpu = isGpuDevice(p.device) || lowerIncludes(p.provider, 'cuda', 'tensorrt');
  const check = ' Compare accuracy on a held-out set before shipping: quantization trades a little accuracy for speed.';
  const assumed = p.precisionKnown ? '' : ' (inference.precision is not recorded; the model is assumed to run in FP32, the default of every framework)';
  if (lowerIncludes(p.runtime, 'onnx')) {
    if (gpu) {
      return {
        text: `Convert the ONNX model to FP16 for the GPU${assumed}.${check}`,
        snippet: {
          language: 'python',
          code: ['import onnx', 'from onnxconverter_common import float16', `model = onnx.load("${m}.onnx")`, `onnx.save(float16.convert_float_to_float16(model), "${m}.fp16.onnx")`].join('\n'),
        },
      };
    }
    return {
      text: `Quantize the ONNX model to INT8 with ONNX Runtime${assumed}: dynamic quantization for transformer and RNN models, static (quantize_static with a calibration reader) for CNNs (ONNX Runtime quantization guide).${check}`,
      snippet: {
        language: 'python',
        code: ['from onnxruntime.quantization import quantize_dynamic, QuantType', `quantize_dynamic("${m}.onnx", "${m}.int8.onnx", weight_type=QuantType.QInt8)`].join('\n'),
      },
    };
  }
  if (lowerIncludes(p.runtime, 'torch')) {
    if (gpu) {
      return {
        text: `Run the PyTorch model in FP16 on the GPU${assumed}.${check}`,
        snippet: { language: 'python', code: ['model = model.half().eval()', 'with torch.inference_mode():', '    output = model(inputs.half())'].join('\n') },
      };
    }
    return {
      text: `Quantize the PyTorch model's linear layers to INT8 for the CPU${assumed}.${check}`,
      snippet: { language: 'python', code: ['import torch', 'qmodel = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)'].join('\n') },
    };
  }
  if (lowerIncludes(p.runtime, 'tensorflow', 'keras', 'tf')) {
    return {
      text: `Apply post-training quantization with the TensorFlow Lite converter${assumed}.${check}`,
      snippet: {
        language: 'python',
        code: ['import tensorflow as tf', `converter = tf.lite.TFLiteConverter.from_saved_model("${m}")`, 'converter.optimizations = [tf.lite.Optimize.DEFAULT]', `open("${m}.tflite", "wb").write(converter.convert())`].join('\n'),
      },
    };
  }
  if (lowerIncludes(p.runtime, 'openvino')) {
    return {
      text: `Quantize the OpenVINO model to INT8 with NNCF${assumed}.${check}`,
      snippet: { language: 'python', code: ['import nncf, openvino as ov', `model = ov.Core().read_model("${m}.xml")`, 'quantized = nncf.quantize(model, nncf.Dataset(calibration_samples))', `ov.save_model(quantized, "${m}.int8.xml")`].join('\n') },
    };
  }
  return {
    text: `Build the engine in FP16 (or INT8 with a calibration set)${assumed}.${check}`,
    snippet: { language: 'shell', code: `trtexec --onnx=${m}.onnx --fp16 --saveEngine=${m}.fp16.plan` },
  };
}

/** The quantization rule. */
export const quantizationRule = defineRule({
  id: 'quantization',
  effort: 'precision',
  needs: { inputs: ['phase-distributions'], refinedBy: ['model-attributes', 'generation'], gpu: 'unused' },
  content: { title: 'Quantize the model (FP16 / INT8)', phases: ['compute', 'prefill', 'decode'], kinds: { 'weights-and-kv-cache': 'Quantize weights and KV cache: decode is memory-bound at small batch' } },
  thresholds: { ...COMPUTE_THRESHOLDS, ...QUANTIZATION_THRESHOLDS },
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const engine = engineOf(s, ctx.server);
    if (s.generation) return generationVerdict(s, s.generation, t, engine);
    const dominance = computeDominance(s, t['compute.min_share_of_server']);
    const precisionClass = classifyPrecision(s.precision);
    const inputs = { ...dominance.inputs, precision: s.precision ?? null, precision_class: precisionClass };
    if (!dominance.dominant) return { inputs, reason: dominance.failed ?? 'compute does not dominate' };
    const onEngine = classicFormOnEngine(engine, inputs, 'quantization is judged on decode figures (TPOT, sequences per step), which this source lacks');
    if (onEngine) return onEngine;
    if (precisionClass === 'low') return { inputs, reason: `the model already runs at ${s.precision}` };
    if (precisionClass === 'unknown' && s.precision !== undefined) return { inputs, reason: `precision ${s.precision} is not one this rule knows` };
    const compute = s.phases.compute;
    const factor = t['quantization.compute_factor'];
    const saved = compute.meanMs * (1 - factor);
    const known = precisionClass === 'high';
    return {
      inputs,
      reason: known ? `compute dominates and precision is ${s.precision}` : 'compute dominates and precision is not recorded (assumed FP32)',
      finding: {
        confidence: confidenceFrom(s.computeShareOfServer / t['compute.min_share_of_server'] - 1, s, known ? 1 : 0.7),
        evidence: [
          dominance.evidence,
          known
            ? { text: `the model runs in ${s.precision}${s.runtime ? ` on ${s.runtime}` : ''}${s.device ? ` (${s.device})` : ''}`, values: {} }
            : { text: 'inference.precision is not recorded: assumed FP32, the default of every framework', values: {} },
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `compute mean ${ms(compute.meanMs)} × ${factor} after quantization (an assumption, not a measurement: validate on your model)`,
        },
        nextStep: quantizationNextStep({
          model: s.model,
          precisionKnown: known,
          ...(s.runtime !== undefined ? { runtime: s.runtime } : {}),
          ...(s.runtimeProvider !== undefined ? { provider: s.runtimeProvider } : {}),
          ...(s.device !== undefined ? { device: s.device } : {}),
        }),
        exampleTraceIds: tracesNear(s.requests, s.requests.phase('compute'), compute.p95Ms),
      },
    };
  },
});

/**
 * @module analyzer/diagnose/quantization
 * Fix 2: compute dominates and the model runs at high precision (FP32), so post-training
 * quantization to FP16/INT8 is the next lever (PyTorch TB plugin: FP32 with Tensor Cores unused → AMP/FP16).
 */
import type { NextStep } from '../../model/diagnosis.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, round } from './rule.js';
import { isGpuDevice, lowerIncludes, stem } from './_words.js';
import { COMPUTE_THRESHOLDS, classifyPrecision, computeDominance } from './_compute.js';
import { tracesNear } from './signals.js';

/** Thresholds of the quantization rule. */
export const QUANTIZATION_THRESHOLDS = {
  'quantization.compute_factor': {
    value: 0.5,
    unit: 'ratio of compute time kept',
    source: 'ours: FP16 halves the bytes every layer moves and INT8 quarters them (Keras INT8 guide: 4× fewer bytes than FP32)',
    why: 'used only to estimate the gain (compute × (1 − factor)) so the rule can be ranked against the others',
  },
} as const satisfies Record<string, ThresholdSpec>;

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
  needs: { inputs: ['phase-distributions'], refinedBy: ['model-attributes'], gpu: 'unused' },
  content: { title: 'Quantize the model (FP16 / INT8)' },
  thresholds: { ...COMPUTE_THRESHOLDS, ...QUANTIZATION_THRESHOLDS },
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const dominance = computeDominance(s, t['compute.min_share_of_server']);
    const precisionClass = classifyPrecision(s.precision);
    const inputs = { ...dominance.inputs, precision: s.precision ?? null, precision_class: precisionClass };
    if (!dominance.dominant) return { inputs, reason: dominance.failed ?? 'compute does not dominate' };
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
        exampleTraceIds: tracesNear(s.requests, (r) => r.phases.compute ?? 0, compute.p95Ms),
      },
    };
  },
});

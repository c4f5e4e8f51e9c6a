/**
 * @module examples/model/quantize
 * Per-tensor symmetric int8 weight quantization, the scheme onnxruntime's `quantize_dynamic`
 * uses for MatMul weights by default (QInt8 weights, zero point 0, scale = max|w| / 127).
 */

/** An int8-quantized tensor: `real ≈ scale × (value − zeroPoint)`. */
export interface QuantizedTensor {
  readonly values: Int8Array;
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Quantizes `weights` to int8 with one symmetric scale for the whole tensor. */
export function quantizeSymmetricInt8(weights: Float32Array): QuantizedTensor {
  let maxAbs = 0;
  for (const w of weights) maxAbs = Math.max(maxAbs, Math.abs(w));
  // An all-zero tensor still needs a positive scale: DynamicQuantizeLinear math divides by it.
  const scale = maxAbs > 0 ? maxAbs / 127 : 1;
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i += 1) {
    values[i] = Math.max(-127, Math.min(127, Math.round((weights[i] ?? 0) / scale)));
  }
  return { values, scale, zeroPoint: 0 };
}

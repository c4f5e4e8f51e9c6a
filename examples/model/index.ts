/**
 * @module examples/model
 * The example model: an MLP built in code as ONNX (fp32 and dynamically quantized int8),
 * loaded with onnxruntime-node.
 */
export { buildMlpModel, cachedMlpModel, DEFAULT_MLP, INPUT_NAME, OUTPUT_NAME } from './mlp-graph.js';
export type { MlpSpec, ModelPrecision } from './mlp-graph.js';
export { loadModelSession, ModelError } from './model-session.js';
export type { ModelSession, ModelSessionOptions } from './model-session.js';
export { quantizeSymmetricInt8 } from './quantize.js';
export type { QuantizedTensor } from './quantize.js';
export { seededRandom } from './seeded-random.js';
export type { RandomSource } from './seeded-random.js';

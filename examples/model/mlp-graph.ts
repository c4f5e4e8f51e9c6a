/**
 * @module examples/model/mlp-graph
 * Builds the example model in code (nothing can be downloaded here): an MLP classifier
 * over a 32×32 "image" (1024 inputs) as an ONNX ModelProto, in an fp32 variant (Gemm + Relu)
 * and an int8 dynamically quantized variant laid out the way onnxruntime's `quantize_dynamic`
 * writes it (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by the two scales → Add bias).
 * Weights are seeded, so both variants hold the same network and their outputs can be compared.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { quantizeSymmetricInt8 } from './quantize.js';
import { seededRandom } from './seeded-random.js';

const { onnx } = onnxProto;

/** Numeric precision of a model variant. */
export type ModelPrecision = 'fp32' | 'int8';

/** Shape and seed of the MLP. */
export interface MlpSpec {
  /** Layer widths, input first, classes last. Default [1024, 2048, 2048, 1000]. */
  readonly widths: readonly number[];
  /** Weight seed. Default 7. */
  readonly seed: number;
}

/** The default network: big enough that one fp32 inference costs milliseconds on one CPU core. */
export const DEFAULT_MLP: MlpSpec = { widths: [1024, 2048, 2048, 1000], seed: 7 };

/** Name of the graph's input (float32 [N, widths[0]]). */
export const INPUT_NAME = 'pixels';
/** Name of the graph's output (float32 [N, classes], logits). */
export const OUTPUT_NAME = 'logits';

/** Opset the graph is written against; DynamicQuantizeLinear needs ≥ 11, Gemm with optional C ≥ 11. */
const OPSET = 13;
/** IR version 7 pairs with opset 12–13 in ONNX's versioning table. */
const IR_VERSION = 7;

type Tensor = InstanceType<typeof onnx.TensorProto>;
type Node = InstanceType<typeof onnx.NodeProto>;

interface Layer {
  readonly weights: Float32Array; // [in, out], row-major
  readonly bias: Float32Array;
  readonly inputs: number;
  readonly outputs: number;
}

/** Deterministic He-uniform weights, small biases. */
function makeLayers(spec: MlpSpec): Layer[] {
  const random = seededRandom(spec.seed);
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < spec.widths.length; i += 1) {
    const inputs = spec.widths[i] ?? 0;
    const outputs = spec.widths[i + 1] ?? 0;
    const limit = Math.sqrt(6 / inputs);
    const weights = new Float32Array(inputs * outputs);
    for (let j = 0; j < weights.length; j += 1) weights[j] = (random() * 2 - 1) * limit;
    const bias = new Float32Array(outputs);
    for (let j = 0; j < outputs; j += 1) bias[j] = (random() * 2 - 1) * 0.01;
    layers.push({ weights, bias, inputs, outputs });
  }
  return layers;
}

/** The bytes of a typed array, without a copy. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** An initializer tensor from raw bytes. */
export function tensor(name: string, dataType: number, dims: number[], raw: ArrayBufferView): Tensor {
  return onnx.TensorProto.create({ name, dataType, dims, rawData: bytesOf(raw) });
}

/** One graph node. */
export function node(opType: string, inputs: string[], outputs: string[], attributes: InstanceType<typeof onnx.AttributeProto>[] = []): Node {
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: outputs[0] ?? opType, attribute: attributes });
}

function intAttribute(name: string, value: number): InstanceType<typeof onnx.AttributeProto> {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}

/** A float32 tensor type with named (dynamic) or fixed dims. */
export function floatTensorType(dims: (number | string)[]): InstanceType<typeof onnx.TypeProto> {
  return onnx.TypeProto.create({
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  });
}

/** Appends one fp32 layer: Gemm(x, W, b), then Relu unless it is the last layer. */
function fp32Layer(index: number, layer: Layer, input: string, last: boolean, nodes: Node[], initializers: Tensor[]): string {
  const w = `w${index}`;
  const b = `b${index}`;
  initializers.push(tensor(w, onnx.TensorProto.DataType.FLOAT, [layer.inputs, layer.outputs], layer.weights));
  initializers.push(tensor(b, onnx.TensorProto.DataType.FLOAT, [layer.outputs], layer.bias));
  const gemm = last ? OUTPUT_NAME : `gemm${index}`;
  nodes.push(node('Gemm', [input, w, b], [gemm]));
  if (last) return gemm;
  nodes.push(node('Relu', [gemm], [`relu${index}`]));
  return `relu${index}`;
}

/** Appends one int8 layer in the shape onnxruntime's dynamic quantizer emits for MatMul. */
function int8Layer(index: number, layer: Layer, input: string, last: boolean, nodes: Node[], initializers: Tensor[]): string {
  const q = quantizeSymmetricInt8(layer.weights);
  const names = {
    wq: `w${index}_quantized`,
    wScale: `w${index}_scale`,
    wZero: `w${index}_zero_point`,
    b: `b${index}`,
    xq: `x${index}_quantized`,
    xScale: `x${index}_scale`,
    xZero: `x${index}_zero_point`,
    acc: `matmul${index}_int32`,
    accFloat: `matmul${index}_float`,
    scale: `matmul${index}_scale`,
    scaled: `matmul${index}_scaled`,
    biased: last ? OUTPUT_NAME : `add${index}`,
  };
  initializers.push(tensor(names.wq, onnx.TensorProto.DataType.INT8, [layer.inputs, layer.outputs], q.values));
  initializers.push(tensor(names.wScale, onnx.TensorProto.DataType.FLOAT, [], new Float32Array([q.scale])));
  initializers.push(tensor(names.wZero, onnx.TensorProto.DataType.INT8, [], new Int8Array([q.zeroPoint])));
  initializers.push(tensor(names.b, onnx.TensorProto.DataType.FLOAT, [layer.outputs], layer.bias));
  nodes.push(node('DynamicQuantizeLinear', [input], [names.xq, names.xScale, names.xZero]));
  nodes.push(node('MatMulInteger', [names.xq, names.wq, names.xZero, names.wZero], [names.acc]));
  nodes.push(node('Cast', [names.acc], [names.accFloat], [intAttribute('to', onnx.TensorProto.DataType.FLOAT)]));
  nodes.push(node('Mul', [names.xScale, names.wScale], [names.scale]));
  nodes.push(node('Mul', [names.accFloat, names.scale], [names.scaled]));
  nodes.push(node('Add', [names.scaled, names.b], [names.biased]));
  if (last) return names.biased;
  nodes.push(node('Relu', [names.biased], [`relu${index}`]));
  return `relu${index}`;
}

/** Serialized ONNX ModelProto of the MLP at the given precision, ready for `InferenceSession.create`. */
export function buildMlpModel(precision: ModelPrecision, spec: MlpSpec = DEFAULT_MLP): Uint8Array {
  const layers = makeLayers(spec);
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  let current = INPUT_NAME;
  layers.forEach((layer, index) => {
    const last = index === layers.length - 1;
    current = precision === 'fp32'
      ? fp32Layer(index, layer, current, last, nodes, initializers)
      : int8Layer(index, layer, current, last, nodes, initializers);
  });
  const inputs = spec.widths[0] ?? 0;
  const classes = spec.widths[spec.widths.length - 1] ?? 0;
  const graph = onnx.GraphProto.create({
    name: `mlp_${precision}`,
    node: nodes,
    initializer: initializers,
    input: [onnx.ValueInfoProto.create({ name: INPUT_NAME, type: floatTensorType(['batch', inputs]) })],
    output: [onnx.ValueInfoProto.create({ name: OUTPUT_NAME, type: floatTensorType(['batch', classes]) })],
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'latency-doctor-examples',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * `buildMlpModel`, cached as a file in the OS temp directory: the bytes depend only on the
 * precision, widths and seed, and building the wide variants costs seconds at every start of the
 * service. Written atomically (temp file + rename), so concurrent starts never read half a file.
 */
export function cachedMlpModel(precision: ModelPrecision, spec: MlpSpec = DEFAULT_MLP): Uint8Array {
  const file = join(tmpdir(), `latency-doctor-mlp-v1-${precision}-${spec.widths.join('x')}-seed${spec.seed}.onnx`);
  try {
    if (existsSync(file)) return readFileSync(file);
  } catch {
    // Unreadable cache: rebuild below.
  }
  const bytes = buildMlpModel(precision, spec);
  try {
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, bytes);
    renameSync(partial, file);
  } catch {
    // A read-only temp directory only costs the rebuild next time.
  }
  return bytes;
}

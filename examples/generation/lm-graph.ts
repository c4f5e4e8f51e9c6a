/**
 * @module examples/generation/lm-graph
 * A small autoregressive language model built in code (no downloaded weights) as an ONNX
 * ModelProto: an ONNX `RNN` over token embeddings with a feed-forward head. One run takes
 * `tokens` [T, B] and `state` [B, H] and returns the `logits` [B, V] after the last position and
 * the `next_state` [B, H]. The state plays the part of a transformer's KV cache: prefill is one
 * run over the whole prompt (T = prompt length, cost grows with it), decode is one run per
 * generated token for all active sequences together (T = 1, B = batch), and a prefix cache keeps
 * the state reached after a shared prefix. Weights are seeded, so every build is the same.
 */
import onnxProto from 'onnx-proto';
import { floatTensorType, node, tensor } from '../model/mlp-graph.js';
import { seededRandom } from '../model/seeded-random.js';

const { onnx } = onnxProto;

/** Shape and seed of the language model. */
export interface LmSpec {
  /** Vocabulary size. */
  readonly vocab: number;
  /** State (hidden) width. */
  readonly hidden: number;
  /** Feed-forward width of the head. */
  readonly ffn: number;
  readonly seed: number;
}

/** The default model: a step costs a fraction of a millisecond on one CPU core at batch 1. */
export const DEFAULT_LM: LmSpec = { vocab: 512, hidden: 128, ffn: 512, seed: 11 };

/** Graph input and output names. */
export const LM_IO = { state: 'state', tokens: 'tokens', logits: 'logits', nextState: 'next_state' } as const;

function weights(random: () => number, rows: number, cols: number): Float32Array {
  const limit = Math.sqrt(6 / rows);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = (random() * 2 - 1) * limit;
  return w;
}

/** Serialized ONNX ModelProto of the language model (one run: T positions for B sequences). */
export function buildLmModel(spec: LmSpec = DEFAULT_LM): Uint8Array {
  const random = seededRandom(spec.seed);
  const { vocab: V, hidden: H, ffn: F } = spec;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const initializers = [
    tensor('embedding', FLOAT, [V, H], weights(random, V, H)),
    // ONNX RNN weights: W [directions, hidden, input], R [directions, hidden, hidden], B [directions, 2 × hidden].
    tensor('rnn_w', FLOAT, [1, H, H], weights(random, H, H)),
    tensor('rnn_r', FLOAT, [1, H, H], weights(random, H, H).map((x) => x * 0.5)),
    tensor('rnn_b', FLOAT, [1, 2 * H], new Float32Array(2 * H)),
    tensor('axis0', INT64, [1], new BigInt64Array([0n])),
    tensor('w_ffn', FLOAT, [H, F], weights(random, H, F)),
    tensor('b_ffn', FLOAT, [F], new Float32Array(F)),
    tensor('w_out', FLOAT, [F, V], weights(random, F, V)),
    tensor('b_out', FLOAT, [V], new Float32Array(V)),
  ];
  const hiddenSize = onnx.AttributeProto.create({ name: 'hidden_size', type: onnx.AttributeProto.AttributeType.INT, i: H });
  const nodes = [
    node('Gather', ['embedding', LM_IO.tokens], ['embedded']),
    node('Unsqueeze', [LM_IO.state, 'axis0'], ['initial_h']),
    node('RNN', ['embedded', 'rnn_w', 'rnn_r', 'rnn_b', '', 'initial_h'], ['', 'last_h'], [hiddenSize]),
    node('Squeeze', ['last_h', 'axis0'], [LM_IO.nextState]),
    node('Gemm', [LM_IO.nextState, 'w_ffn', 'b_ffn'], ['ffn']),
    node('Relu', ['ffn'], ['ffn_relu']),
    node('Gemm', ['ffn_relu', 'w_out', 'b_out'], [LM_IO.logits]),
  ];
  const int64 = onnx.TypeProto.create({ tensorType: { elemType: INT64, shape: { dim: [{ dimParam: 'positions' }, { dimParam: 'batch' }] } } });
  const graph = onnx.GraphProto.create({
    name: 'tiny_lm',
    node: nodes,
    initializer: initializers,
    input: [onnx.ValueInfoProto.create({ name: LM_IO.tokens, type: int64 }), onnx.ValueInfoProto.create({ name: LM_IO.state, type: floatTensorType(['batch', H]) })],
    output: [onnx.ValueInfoProto.create({ name: LM_IO.logits, type: floatTensorType(['batch', V]) }), onnx.ValueInfoProto.create({ name: LM_IO.nextState, type: floatTensorType(['batch', H]) })],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: 'latency-doctor-examples', producerVersion: '1', opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

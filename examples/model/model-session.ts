/**
 * @module examples/model/model-session
 * Loads the example MLP into onnxruntime-node and runs it on a stack of inputs. One intra-op
 * thread: on a small shared box, more threads make timings noisy, and a real server pins its
 * inference threads the same way so that requests, not threads, compete for the cores.
 */
import * as ort from 'onnxruntime-node';
import { buildMlpModel, DEFAULT_MLP, INPUT_NAME, OUTPUT_NAME, type MlpSpec, type ModelPrecision } from './mlp-graph.js';

/** A loaded model variant. */
export interface ModelSession {
  readonly precision: ModelPrecision;
  /** Inputs per example (the first layer's width). */
  readonly inputSize: number;
  /** Classes per example (the last layer's width). */
  readonly classes: number;
  /** Runs `count` stacked examples (`inputs.length === count × inputSize`); returns their logits, stacked. */
  run(inputs: Float32Array, count: number): Promise<Float32Array>;
  /** Releases the native session. */
  close(): Promise<void>;
}

/** Options of `loadModelSession`. */
export interface ModelSessionOptions {
  /** Network shape and seed. Default DEFAULT_MLP. */
  readonly spec?: MlpSpec;
  /** Intra-op threads of onnxruntime. Default 1. */
  readonly intraOpThreads?: number;
}

/** Error raised when the example model cannot be built, loaded or run. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

/** Builds the MLP at `precision` in memory and loads it with onnxruntime-node (CPU). */
export async function loadModelSession(precision: ModelPrecision, options: ModelSessionOptions = {}): Promise<ModelSession> {
  const spec = options.spec ?? DEFAULT_MLP;
  const inputSize = spec.widths[0] ?? 0;
  const classes = spec.widths[spec.widths.length - 1] ?? 0;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(buildMlpModel(precision, spec), {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new ModelError(`cannot load the ${precision} MLP: ${(error as Error).message}`);
  }
  return {
    precision,
    inputSize,
    classes,
    async run(inputs, count) {
      if (inputs.length !== count * inputSize) {
        throw new ModelError(`expected ${count} × ${inputSize} inputs, got ${inputs.length}`);
      }
      const result = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', inputs, [count, inputSize]) });
      const logits = result[OUTPUT_NAME];
      if (logits === undefined || !(logits.data instanceof Float32Array)) throw new ModelError('model returned no float32 logits');
      return logits.data;
    },
    async close() {
      await session.release();
    },
  };
}

/**
 * @module examples/model/model-session
 * Loads the example MLP into onnxruntime-node and runs it on a stack of inputs, either on the
 * calling thread or (what the service uses) on a dedicated worker thread, so the event loop keeps
 * accepting requests while the model runs. One intra-op thread: on a small shared box, more
 * threads make timings noisy, and a real server pins its inference threads the same way so that
 * requests, not threads, compete for the cores.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { cachedMlpModel, DEFAULT_MLP, INPUT_NAME, OUTPUT_NAME, type MlpSpec, type ModelPrecision } from './mlp-graph.js';

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
  /** Run the model on a worker thread instead of the calling one. Default false. */
  readonly worker?: boolean;
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
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const model = cachedMlpModel(precision, spec);
  const check = (inputs: Float32Array, count: number): void => {
    if (inputs.length !== count * inputSize) throw new ModelError(`expected ${count} × ${inputSize} inputs, got ${inputs.length}`);
  };
  if (options.worker === true) return loadInWorker(precision, model, sessionOptions, inputSize, classes, check);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, sessionOptions);
  } catch (error) {
    throw new ModelError(`cannot load the ${precision} MLP: ${(error as Error).message}`);
  }
  return {
    precision,
    inputSize,
    classes,
    async run(inputs, count) {
      check(inputs, count);
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

type WorkerReply = { id: number; logits: Float32Array } | { id: number; error: string };

async function loadInWorker(
  precision: ModelPrecision,
  model: Uint8Array,
  sessionOptions: ort.InferenceSession.SessionOptions,
  inputSize: number,
  classes: number,
  check: (inputs: Float32Array, count: number) => void,
): Promise<ModelSession> {
  const buffer = model.buffer.slice(model.byteOffset, model.byteOffset + model.byteLength);
  const worker = new Worker(new URL('./inference-worker.mjs', import.meta.url), {
    workerData: { model: buffer, inputName: INPUT_NAME, outputName: OUTPUT_NAME, inputSize, sessionOptions },
    transferList: [buffer as ArrayBuffer],
  });
  const pending = new Map<number, { resolve: (logits: Float32Array) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    const onFirst = (message: { ready: boolean; error?: string }): void => {
      worker.off('error', onError);
      if (message.ready) resolve();
      else reject(new ModelError(`cannot load the ${precision} MLP: ${message.error ?? 'unknown error'}`));
    };
    const onError = (error: Error): void => reject(new ModelError(`inference worker failed to start: ${error.message}`));
    worker.once('message', onFirst);
    worker.once('error', onError);
  });
  worker.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if ('error' in reply) p.reject(new ModelError(reply.error));
    else p.resolve(reply.logits);
  });
  worker.on('error', (error) => failAll(new ModelError(`inference worker crashed: ${error.message}`)));
  worker.on('exit', () => failAll(new ModelError('inference worker exited')));
  return {
    precision,
    inputSize,
    classes,
    run(inputs, count) {
      try {
        check(inputs, count);
      } catch (error) {
        return Promise.reject(error);
      }
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, inputs, count });
      });
    },
    async close() {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

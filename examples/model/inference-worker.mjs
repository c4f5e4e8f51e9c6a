/**
 * @module examples/model/inference-worker
 * The model's own thread, as a real inference server has one: onnxruntime-node's `run` is
 * synchronous on the calling thread, so on the main thread it would stop the server from reading
 * new requests while the model runs, and that waiting would show up as "network" in the traces
 * instead of as queueing. Plain JavaScript so that it loads under any TypeScript runner.
 *
 * workerData: { model: ArrayBuffer, inputName, outputName, inputSize, sessionOptions }
 * in:  { id, inputs: Float32Array, count }   out: { id, logits: Float32Array } | { id, error }
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { model, inputName, outputName, inputSize, sessionOptions } = workerData;

try {
  const session = await ort.InferenceSession.create(new Uint8Array(model), sessionOptions);
  parentPort.on('message', async (message) => {
    if (message === 'close') {
      await session.release();
      parentPort.close();
      return;
    }
    const { id, inputs, count } = message;
    try {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', inputs, [count, inputSize]) });
      // Copy out of onnxruntime's buffer so the copy can be transferred without a second copy.
      const logits = Float32Array.from(result[outputName].data);
      parentPort.postMessage({ id, logits }, [logits.buffer]);
    } catch (error) {
      parentPort.postMessage({ id, error: String(error && error.message ? error.message : error) });
    }
  });
  parentPort.postMessage({ ready: true });
} catch (error) {
  parentPort.postMessage({ ready: false, error: String(error && error.message ? error.message : error) });
}

/**
 * @module analyzer/diagnose/content
 * The words of the diagnosis, kept apart from the rules that choose them (as Clinic Doctor
 * keeps `recommendations/*.md` apart from `analysis/`): one title per fix and the next-step
 * templates, filled with numbers the rules measured.
 */
import type { FixId } from '../../semconv.js';
import type { NextStep } from '../../model/diagnosis.js';

/** Title of each fix, as the first screen shows it. */
export const FIX_TITLES: Readonly<Record<FixId, string>> = {
  'dynamic-batching': 'Enable dynamic batching in the server',
  quantization: 'Quantize the model (FP16 / INT8)',
  'optimized-runtime': 'Switch to a hardware-specific runtime (TensorRT / OpenVINO / Neuron)',
  'prune-distill': 'Prune or distill the model',
  'preprocessing-pipeline': 'Speed up the request pipeline (preprocessing, serialization, network)',
  'scale-and-cache': 'Scale out or cache predictions',
  'latency-drift': 'Latency drifts up under constant load',
  'device-transfer': 'Host↔device copies cost more than the model',
  'hardware-limit': 'The device itself is the limit',
  'replica-outlier': 'One replica is much slower than the others',
};

/** Titles for the two arms of scale-and-cache. */
export const SCALE_TITLE = 'Scale out: the server is saturated (batches full, queue still long)';
/** Title of the cache arm of scale-and-cache. */
export const CACHE_TITLE = 'Add a prediction cache: many requests repeat an earlier input';

/** Drift titles by cause. */
export const DRIFT_TITLES: Readonly<Record<string, string>> = {
  'thermal-throttling': 'Latency drifts up under constant load: the GPU is thermally throttling',
  'power-throttling': 'Latency drifts up under constant load: the GPU hits its power cap',
  'gpu-memory-growth': 'Latency drifts up under constant load while GPU memory grows',
  'cache-growth': 'Latency drifts up under constant load as the cache grows',
  'host-memory-growth': 'Latency drifts up under constant load while host memory grows',
  unknown: 'Latency drifts up under constant load (cause not visible in the traces)',
};

function lowerIncludes(value: string | undefined, ...needles: string[]): boolean {
  const v = (value ?? '').toLowerCase();
  return needles.some((n) => v.includes(n));
}

/** True when the device string names a GPU (cuda:0, gpu, …). */
export function isGpuDevice(device: string | undefined): boolean {
  return lowerIncludes(device, 'cuda', 'gpu', 'rocm');
}

/** A file stem safe for commands built from the model name. */
function stem(model: string): string {
  return model.replace(/[^A-Za-z0-9._-]+/g, '_') || 'model';
}

/** Triton dynamic_batching block with values derived from the measured arrival rate and concurrency. */
export function batchingNextStep(p: { model: string; maxBatchSize: number; delayUs: number; runtime?: string; arrivalRps: number; meanInFlight: number; preferred: number; delayCapped: boolean }): NextStep {
  const trt = lowerIncludes(p.runtime, 'tensorrt', 'trt');
  const code = [
    `# ${stem(p.model)}/config.pbtxt`,
    `max_batch_size: ${p.maxBatchSize}`,
    'dynamic_batching {',
    `  max_queue_delay_microseconds: ${p.delayUs}`,
    trt ? `  preferred_batch_size: [ ${p.preferred} ]` : `  # preferred_batch_size: [ ${p.preferred} ]  # TensorRT, several profiles only`,
    '}',
  ].join('\n');
  const gatherMs = p.arrivalRps > 0 ? ((p.preferred - 1) / p.arrivalRps) * 1000 : Number.POSITIVE_INFINITY;
  const delay = p.delayCapped
    ? `gathering a batch of ${p.preferred} at ${p.arrivalRps.toFixed(0)} requests/s would take ${Number.isFinite(gatherMs) ? `${gatherMs.toFixed(0)} ms` : 'indefinitely'}, so the queue delay is capped at ${p.delayUs} µs (TF Serving suggests about 1 ms)`
    : `a batch of ${p.preferred} gathers in about ${p.delayUs} µs at ${p.arrivalRps.toFixed(0)} requests/s (Triton starts at 100 µs)`;
  return {
    text:
      `Enable the server's dynamic batcher: with ${p.meanInFlight.toFixed(1)} requests in flight on average, batches form from requests already waiting in the queue. ` +
      `max_batch_size ${p.maxBatchSize} covers the concurrency seen at p95; ${delay}. Raise the delay only while p99 stays inside the latency budget (Triton batcher.md). ` +
      `TF Serving: max_batch_size ${p.maxBatchSize}, batch_timeout_micros ${p.delayUs}. Clients must send requests concurrently for batches to form.`,
    snippet: { language: 'protobuf', code },
  };
}

/** The quantization call for the runtime and device in use. */
export function quantizationNextStep(p: { model: string; runtime?: string; provider?: string; device?: string; precisionKnown: boolean }): NextStep {
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

/** The runtime swap for the device in use. */
export function runtimeNextStep(p: { model: string; runtime?: string; provider?: string; device?: string }): NextStep {
  const m = stem(p.model);
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

/** Pruning / distillation plan. */
export function pruneDistillNextStep(p: { model: string; precision?: string; runtime?: string }): NextStep {
  return {
    text:
      `Compute still dominates with ${p.precision ?? 'low precision'} on ${p.runtime ?? 'an optimized runtime'}: the remaining lever is a smaller model. ` +
      'Distill into a smaller student (DistilBERT kept 97% of BERT’s language understanding while 40% smaller and 60% faster, Sanh et al. 2019) or prune structured channels/heads and fine-tune. ' +
      'Gate the release on an accuracy check against the current model.',
    snippet: {
      language: 'python',
      code: [
        'import torch.nn.utils.prune as prune',
        '# structured pruning of 30% of output channels in every Linear layer, then fine-tune',
        'for module in model.modules():',
        '    if isinstance(module, torch.nn.Linear):',
        '        prune.ln_structured(module, name="weight", amount=0.3, n=2, dim=0)',
      ].join('\n'),
    },
  };
}

/** Next step for the pipeline phase that costs most. */
export function pipelineNextStep(p: { largest: 'preprocess' | 'serialize' | 'network' | 'postprocess'; requestBytesP50?: number }): NextStep {
  const size = p.requestBytesP50 !== undefined ? ` Requests carry ${p.requestBytesP50 >= 1024 * 1024 ? `${(p.requestBytesP50 / (1024 * 1024)).toFixed(1)} MiB` : `${Math.round(p.requestBytesP50 / 1024)} KiB`} at the median.` : '';
  switch (p.largest) {
    case 'serialize':
      return {
        text: `Serialization is the largest pipeline cost.${size} Send binary tensors over gRPC/protobuf instead of JSON (Triton's binary tensor extension, or KServe v2 gRPC), and avoid base64 images.`,
        snippet: { language: 'python', code: ['import tritonclient.grpc as grpcclient', 'client = grpcclient.InferenceServerClient("server:8001")', 'inp = grpcclient.InferInput("input", batch.shape, "FP32")', 'inp.set_data_from_numpy(batch)  # raw bytes, no JSON'].join('\n') },
      };
    case 'network':
      return {
        text: `Network time is the largest pipeline cost.${size} Shrink the payload (binary tensors, resize/crop before sending, compression), keep connections alive, and place the client close to the server; when client and server share a host, pass tensors through system or CUDA shared memory (Triton shared-memory extension).`,
      };
    case 'postprocess':
      return {
        text: 'Postprocessing is the largest pipeline cost. Vectorize it, move it into the server next to the model (Triton ensemble or Python backend, KServe transformer), or run it in a worker pool.',
      };
    default:
      return {
        text: `Preprocessing is the largest pipeline cost.${size} Move it into the server next to the model (a Triton ensemble with a DALI or Python backend step, a KServe transformer), run it in a worker pool, or cache static features.`,
        snippet: {
          language: 'protobuf',
          code: ['# ensemble/config.pbtxt', 'platform: "ensemble"', 'ensemble_scheduling {', '  step [ { model_name: "preprocess" model_version: -1 },', '         { model_name: "model" model_version: -1 } ]', '}'].join('\n'),
        },
      };
  }
}

/** Scale-out plan. */
export function scaleNextStep(p: { model: string; instances: number }): NextStep {
  return {
    text: `Add model instances or replicas: Triton overlaps copies with compute when two instances share a GPU, and Model Analyzer sweeps 1–5 instances. Start with ${p.instances} and measure again; when one GPU is saturated add replicas on other GPUs, or split the model (model parallelism) when it does not fit.`,
    snippet: { language: 'protobuf', code: [`# ${stem(p.model)}/config.pbtxt`, `instance_group [ { count: ${p.instances} kind: KIND_GPU } ]`].join('\n') },
  };
}

/** Prediction-cache sketch with the expected hit rate. */
export function cacheNextStep(p: { model: string; ttlS: number; hitRate: number }): NextStep {
  return {
    text: `Cache predictions keyed by a hash of (model, version, normalized input), as Triton's response cache does. Replaying this run, a TTL of ${p.ttlS} s would have answered ${Math.round(p.hitRate * 100)}% of requests from the cache. Triton has a built-in response cache (local or Redis: enable it on the server and with response_cache { enable: true } in the model config).`,
    snippet: {
      language: 'typescript',
      code: [
        `const key = \`pred:${stem(p.model)}:\${modelVersion}:\${sha256(normalize(input))}\`;`,
        'const cached = await redis.get(key);',
        'if (cached !== null) return JSON.parse(cached);',
        'const result = await infer(input);',
        `await redis.set(key, JSON.stringify(result), { EX: ${p.ttlS} });`,
      ].join('\n'),
    },
  };
}

/** Drift investigation step by cause. */
export function driftNextStep(cause: string, phase: string): NextStep {
  switch (cause) {
    case 'thermal-throttling':
      return { text: 'Fix cooling before touching the model: check airflow, fan curves and inlet temperature; capping application clocks (nvidia-smi -lgc) trades a little peak speed for steady latency.', snippet: { language: 'shell', code: 'nvidia-smi -q -d PERFORMANCE,TEMPERATURE' } };
    case 'power-throttling':
      return { text: 'The GPU hits its power limit: check the enforced limit against the board default (nvidia-smi -q -d POWER), the PSU and the rack power budget.', snippet: { language: 'shell', code: 'nvidia-smi -q -d POWER,PERFORMANCE' } };
    case 'gpu-memory-growth':
      return {
        text: 'GPU memory grows with latency: look for a leak (tensors kept alive across requests) or allocator fragmentation (PyTorch: reserved ≫ allocated; try PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True). A periodic restart is a stop-gap, not a fix.',
        snippet: { language: 'python', code: 'print(torch.cuda.memory_summary())  # compare "reserved" with "allocated" over time' },
      };
    case 'cache-growth':
      return { text: 'Cache hits get slower as the run goes on: bound the cache (max entries / LRU) and give entries a TTL.' };
    default:
      return {
        text: `The rise is largest in ${phase}. Record GPU samples with the latency-doctor sidecar during the run to tell thermal/power throttling from memory growth, and watch host RSS and GC pauses for host-side phases.`,
        snippet: { language: 'shell', code: 'latency-doctor sidecar --samples-file gpu-samples.jsonl' },
      };
  }
}

/** Small-model transfer fix. */
export function transferNextStep(p: { device?: string }): NextStep {
  return {
    text: `Host↔device copies cost more than the model itself${p.device ? ` on ${p.device}` : ''}. Use pinned (page-locked) host memory or CUDA shared memory between client and server (Triton cudashm), batch requests so one copy carries many inputs, run two model instances so copies overlap compute (Triton optimization guide), or serve this small model on the CPU (OpenVINO) where no copy is needed.`,
    snippet: { language: 'python', code: ['x = torch.from_numpy(batch).pin_memory()', 'y = model(x.to("cuda", non_blocking=True))'].join('\n') },
  };
}

/** "See a professional": the hardware is the limit. */
export function hardwareNextStep(p: { reason: string }): NextStep {
  return {
    text: `${p.reason} Software fixes will not remove this: have the hardware checked (cooling, power delivery, ECC/XID error history), move to a newer or larger GPU, or spread load over more devices.`,
    snippet: { language: 'shell', code: 'nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER,ECC' },
  };
}

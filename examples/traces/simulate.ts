/**
 * @module examples/traces/simulate
 * A deterministic simulation of an image-classification service under load, written as the
 * spans the latency-doctor tracer records: a client span per call, the server's request span,
 * and its phase spans. The server runs one GPU worker with batch size 1, so under ~86%
 * utilization requests mostly wait in the queue: the bottleneck `latency-doctor analyze`
 * should find (and answer with dynamic batching).
 */
import type { SynthSpan } from '../../test/support/synth.js';
import { ATTR, ROLE_CLIENT } from '../../src/semconv.js';
import type { Phase } from '../../src/semconv.js';
import { seededRandom } from '../model/seeded-random.js';

/** Parameters of the simulated run. */
export interface SimulationOptions {
  /** PRNG seed. Default 7. */
  readonly seed?: number;
  /** Requests to simulate. Default 220. */
  readonly requests?: number;
  /** Mean arrival rate (Poisson), requests per second. Default 95. */
  readonly arrivalRps?: number;
  /** Mean GPU compute time per request, ms. Default 8.5. */
  readonly computeMs?: number;
  /** Start of the run, ns since epoch. Default 2026-03-02T14:00:00Z. */
  readonly startNs?: bigint;
  /** First trace number; lets callers make disjoint runs. Default 0. */
  readonly traceOffset?: number;
}


const MODEL = 'resnet50';
const SERVER = 'inference-api';
const CLIENT = 'storefront';
const ROUTE = `POST /v2/models/${MODEL}/infer`;

/** Simulates the run and returns its spans, in the order an exporter would see them end. */
export function simulate(options: SimulationOptions = {}): SynthSpan[] {
  const random = seededRandom(options.seed ?? 7);
  const n = options.requests ?? 220;
  const rate = options.arrivalRps ?? 95;
  const computeMean = options.computeMs ?? 8.5;
  const t0 = options.startNs ?? 1_772_460_000_000_000_000n;
  const offset = options.traceOffset ?? 0;
  const normal = (mean: number, sd: number, min: number): number => {
    // Box–Muller
    const u = Math.max(1e-12, random());
    const v = random();
    return Math.max(min, mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  };
  const ns = (ms: number): bigint => t0 + BigInt(Math.round(ms * 1e6));
  const hex = (chars: number): string => {
    let s = '';
    while (s.length < chars) s += Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return s.slice(0, chars);
  };
  const spans: SynthSpan[] = [];
  let clock = 0;
  let gpuFreeAt = 0;
  for (let i = 0; i < n; i++) {
    clock += -Math.log(1 - random()) * (1000 / rate);
    const traceId = ((offset + i + 1).toString(16).padStart(8, '0') + hex(24)).slice(0, 32);
    const clientId = hex(16);
    const serverId = hex(16);
    const requestBytes = Math.round(normal(150_000, 12_000, 60_000));
    const oneWay = () => normal(0.9, 0.25, 0.3) + requestBytes / 1.25e6 / 2; // ~1 Gb/s link
    const clientStart = clock;
    const serverStart = clientStart + oneWay();
    const phase = (name: string, ph: Phase, start: number, end: number, attributes: Record<string, string | number | boolean> = {}): SynthSpan => ({
      traceId,
      spanId: hex(16),
      parentSpanId: serverId,
      name,
      service: SERVER,
      kind: 'internal',
      startNs: ns(start),
      endNs: ns(end),
      attributes: { [ATTR.PHASE]: ph, ...attributes },
    });
    const decodeEnd = serverStart + normal(0.45, 0.08, 0.2);
    const preprocessEnd = decodeEnd + normal(2.4, 0.35, 1.2);
    // One GPU worker, batch size 1: a request waits until the previous one is done.
    const computeStart = Math.max(preprocessEnd, gpuFreeAt);
    const transferEnd = computeStart + normal(0.35, 0.05, 0.2);
    const computeEnd = transferEnd + normal(computeMean, computeMean * 0.08, computeMean * 0.6);
    gpuFreeAt = computeEnd;
    const postEnd = computeEnd + normal(0.7, 0.1, 0.3);
    const encodeEnd = postEnd + normal(0.2, 0.04, 0.08);
    const serverEnd = encodeEnd + 0.05;
    const clientEnd = serverEnd + oneWay() * 0.2;
    const server: SynthSpan = {
      traceId,
      spanId: serverId,
      parentSpanId: clientId,
      name: ROUTE,
      service: SERVER,
      kind: 'server',
      startNs: ns(serverStart),
      endNs: ns(serverEnd),
      attributes: {
        [ATTR.MODEL_NAME]: MODEL,
        [ATTR.MODEL_VERSION]: '3',
        [ATTR.RUNTIME]: 'onnxruntime',
        [ATTR.RUNTIME_PROVIDER]: 'CUDAExecutionProvider',
        [ATTR.PRECISION]: 'fp32',
        [ATTR.DEVICE]: 'cuda:0',
        [ATTR.REQUEST_SIZE]: requestBytes,
        [ATTR.RESPONSE_SIZE]: 4_096,
      },
    };
    const client: SynthSpan = {
      traceId,
      spanId: clientId,
      name: ROUTE,
      service: CLIENT,
      kind: 'client',
      startNs: ns(clientStart),
      endNs: ns(clientEnd),
      attributes: { [ATTR.ROLE]: ROLE_CLIENT, [ATTR.MODEL_NAME]: MODEL, 'server.address': 'inference-api' },
    };
    spans.push(
      phase('decode request', 'serialize', serverStart, decodeEnd),
      phase('preprocess', 'preprocess', decodeEnd, preprocessEnd),
      phase('queue', 'queue', preprocessEnd, computeStart),
      phase('copy to cuda:0', 'transfer', computeStart, transferEnd),
      phase('onnxruntime run', 'compute', transferEnd, computeEnd, { [ATTR.BATCH_SIZE]: 1 }),
      phase('postprocess', 'postprocess', computeEnd, postEnd),
      phase('encode response', 'serialize', postEnd, encodeEnd),
      server,
      client,
    );
  }
  // Exporters write spans as they end.
  return spans.sort((a, b) => (a.endNs < b.endNs ? -1 : a.endNs > b.endNs ? 1 : 0));
}

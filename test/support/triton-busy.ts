/**
 * @module test/support/triton-busy
 * The records of a busy Triton server's native trace file (`--trace-config triton,file=…`), in
 * the order written, for the tests of the Triton readers: requests in flight interleaved,
 * ensembles whose steps are written before them, BLS calls one level further down, decoupled
 * streams with a response per token, requests that failed before REQUEST_END, a request's
 * records split far apart, and at the end the steps of an ensemble whose own records went to
 * the next file. Record shapes as src/tracer.cc (`TraceManager::TraceActivity`) writes them,
 * https://github.com/triton-inference-server/server.
 */

import { random } from '../formats/helpers.js';

/** One (sub)request's records: its head record, then one record per timestamp. */
export function requestRecords(rand: () => number, id: number, model: string, parent: number | undefined, start: number, frontend: 'http' | 'grpc' | undefined, kind: 'model' | 'ensemble' | 'stream', span = 0): { records: string[]; end: number } {
  const records = [`{"id":${id},"model_name":"${model}","model_version":1${parent !== undefined ? `,"parent_id":${parent}` : ''}${rand() < 0.2 ? `,"request_id":"r-${id}"` : ''}}`];
  let t = start;
  const at = (name: string, after: number): void => {
    t += Math.floor(after);
    records.push(`{"id":${id},"timestamps":[{"name":"${name}","ns":${t}}]}`);
  };
  if (frontend === 'http') (at('HTTP_RECV_START', 0), at('HTTP_RECV_END', 40_000));
  if (frontend === 'grpc') (at('GRPC_WAITREAD_START', 0), at('GRPC_WAITREAD_END', 2_000_000));
  at('REQUEST_START', 50_000);
  at('QUEUE_START', 5_000);
  const failed = rand() < 0.02;
  if (kind === 'ensemble') t += span;
  else {
    at('COMPUTE_START', rand() * 3e6);
    if (rand() < 0.5) (at('COMPUTE_INPUT_END', 200_000), at('COMPUTE_OUTPUT_START', rand() * 5e6));
    at('COMPUTE_END', 50_000);
  }
  // A decoupled model's stream: a response per token, the request released after the last.
  if (kind === 'stream') for (let n = 2 + Math.floor(rand() * 5); n > 0; n--) at('INFER_RESPONSE_COMPLETE', 5e6 + rand() * 2e7);
  else if (frontend !== undefined) at('INFER_RESPONSE_COMPLETE', 30_000);
  if (!failed) at('REQUEST_END', 20_000);
  if (frontend === 'http') (at('HTTP_SEND_START', 30_000), at('HTTP_SEND_END', 30_000));
  if (frontend === 'grpc' && !failed) (at('GRPC_SEND_START', 30_000), at('GRPC_SEND_END', 30_000));
  // Triton does not write a request's timestamps in time order.
  if (rand() < 0.2) records.push(...records.splice(1).sort(() => rand() - 0.5));
  return { records, end: t };
}

/** The records of about `bytes` bytes of a busy server's Triton trace file, in the order written. */
export function busyServer(bytes: number, seed: number): string[] {
  const rand = random(seed);
  const out: string[] = [];
  let size = 0;
  let nextId = 1;
  let t = 2_356_425_054_587_444;
  let seq = 0;
  const pending: [number, string[]][] = [];
  while (size < bytes) {
    const start = t;
    t += 20_000 + Math.floor(rand() * 400_000);
    const groups: string[][] = [];
    const kind = rand();
    if (kind < 0.5) {
      groups.push(requestRecords(rand, nextId++, ['resnet50', 'bert'][Math.floor(rand() * 2)]!, undefined, start, rand() < 0.5 ? 'http' : 'grpc', 'model').records);
    } else if (kind < 0.75) {
      // An ensemble: its steps end (and are written) first, a BLS call under some of them.
      const ensemble = nextId++;
      let at = start + 100_000;
      for (let k = 2 + Math.floor(rand() * 2); k > 0; k--) {
        const step = nextId++;
        const written = requestRecords(rand, step, ['pre_py', 'infer_trt', 'post_py'][k % 3]!, ensemble, at, undefined, 'model');
        groups.push(written.records);
        if (rand() < 0.3) groups.push(requestRecords(rand, nextId++, 'bls_child', step, at + 1_000, undefined, 'model').records);
        at = written.end + 10_000;
      }
      groups.push(requestRecords(rand, ensemble, 'ensemble', undefined, start, rand() < 0.5 ? 'http' : 'grpc', 'ensemble', at - start).records);
    } else if (kind < 0.99) {
      groups.push(requestRecords(rand, nextId++, 'llm_decoupled', undefined, start, 'grpc', 'stream').records);
    } else {
      groups.push([`{"id":${nextId++},"model_name":"no_timestamps","model_version":1}`]);
    }
    for (const records of groups) {
      // In flight with others: written a little later, sometimes much later, sometimes in two parts far apart.
      const delay = rand() < 0.003 ? 3_000 : Math.floor(rand() * 40);
      if (rand() < 0.1 && records.length > 1) {
        const cut = 1 + Math.floor(rand() * (records.length - 1));
        pending.push([seq + delay, records.slice(0, cut)], [seq + delay + Math.floor(rand() * 200), records.slice(cut)]);
      } else pending.push([seq + delay, records]);
      size += records.reduce((n, r) => n + r.length + 1, 0);
    }
    seq++;
    pending.sort((a, b) => a[0] - b[0]);
    while (pending.length > 0 && pending[0]![0] <= seq) out.push(...pending.shift()![1]);
  }
  for (const [, records] of pending) out.push(...records);
  // The steps of an ensemble whose own records went to the next file (a log-frequency rotation).
  out.push(...requestRecords(rand, nextId + 1, 'pre_py', nextId, t, undefined, 'model').records);
  return out;
}

/** One request's records in a template trace: its id, its parent's, and its records as JSON objects. */
export interface TemplateRecord {
  readonly id: number;
  readonly [key: string]: unknown;
}

/**
 * A Triton trace file as Triton 2.20 and later writes it, made of copies of real traces
 * (`templates`: the records of one trace each, e.g. a fixture's): a trace's records are written
 * together once its last request is released (`TraceManager::Trace::~Trace` → `WriteTrace`, every
 * request's records in turn, in the order of an unordered_map: children before or after their
 * parent), so each trace's records are contiguous and traces come in the order they end; ids
 * renumbered as one counter gives them, times moved on by `gapNs` per trace (traces in flight
 * together overlap). src/tracer.cc, https://github.com/triton-inference-server/server. Returns
 * the records (one JSON text each) and, for each trace, the index of its first record.
 */
export function tritonWrites(templates: readonly (readonly TemplateRecord[])[], traces: number, seed: number, gapNs = 400_000): { records: string[]; starts: number[] } {
  const rand = random(seed);
  let nextId = 1;
  const written: { end: number; streams: string[][] }[] = [];
  for (let k = 0; k < traces; k++) {
    const template = templates[Math.floor(rand() * templates.length)]!;
    const ids = new Map<number, number>();
    for (const r of template) if (!ids.has(r.id)) ids.set(r.id, nextId++);
    // Each copy begins `gapNs` or so after the one before, on the steady clock of Triton's own example.
    let first = Infinity;
    for (const r of template) for (const t of (r['timestamps'] as { ns: number }[] | undefined) ?? []) first = Math.min(first, t.ns);
    const shift = 2_356_425_054_587_444 + k * gapNs + Math.floor(rand() * gapNs) - first;
    let end = 0;
    const streams = new Map<number, string[]>();
    for (const r of template) {
      const copy: Record<string, unknown> = { ...r, id: ids.get(r.id) };
      if (typeof r['parent_id'] === 'number') copy['parent_id'] = ids.get(r['parent_id']);
      if (Array.isArray(r['timestamps'])) {
        copy['timestamps'] = (r['timestamps'] as { name: string; ns: number }[]).map((t) => ({ name: t.name, ns: t.ns + shift }));
        for (const t of copy['timestamps'] as { ns: number }[]) end = Math.max(end, t.ns);
      }
      const stream = streams.get(r.id) ?? [];
      stream.push(JSON.stringify(copy));
      streams.set(r.id, stream);
    }
    written.push({ end, streams: [...streams.values()].sort(() => rand() - 0.5) });
  }
  written.sort((a, b) => a.end - b.end);
  const records: string[] = [];
  const starts: number[] = [];
  for (const trace of written) {
    starts.push(records.length);
    for (const stream of trace.streams) records.push(...stream);
  }
  return { records, starts };
}

/** The records of a Triton trace file (a fixture's), one trace each: the requests under each root, in file order. */
export function tracesOf(records: readonly TemplateRecord[]): TemplateRecord[][] {
  const parent = new Map<number, number>();
  for (const r of records) if (typeof r['parent_id'] === 'number') parent.set(r.id, r['parent_id']);
  const rootOf = (id: number): number => {
    let current = id;
    while (parent.has(current)) current = parent.get(current)!;
    return current;
  };
  const traces = new Map<number, TemplateRecord[]>();
  for (const r of records) {
    const root = rootOf(r.id);
    const trace = traces.get(root) ?? [];
    trace.push(r);
    traces.set(root, trace);
  }
  return [...traces.values()];
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFiles, ConventionMapper } from '../../../src/analyzer/index.js';
import { readAllSpans } from '../../../src/formats/index.js';
import { markClosedTraces } from '../../../src/formats/_closed-traces.js';
import type { SpanRecord } from '../../../src/model/span.js';
import { analyzeServing, phasesOf, SERVING } from './_helpers.js';
import { renderText } from '../../../src/report/text.js';
import { toJsonReport } from '../../../src/report/json.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderHtml } from '../../../src/report/html/index.js';

/** Spans the source conventions make of a serving fixture's spans. */
async function mappedSpanCount(name: string): Promise<number> {
  const mapper = new ConventionMapper();
  const { spans } = await readAllSpans(SERVING + name);
  return mapper.map(spans).length + mapper.finish().length;
}

describe('Triton trace file 2.x (the documentation example, real)', () => {
  it('splits the request into every phase trace_summary.py knows, to the nanosecond, with nothing left over', async () => {
    const result = await analyzeServing('triton_trace_v2_docs_example.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['Triton trace file 2.x']);
    expect(result.requests).toBe(1);
    // Hand-computed from the file's ns values (differences of the named timestamps).
    expect(phasesOf(result.timings.rows()[0]!)).toEqual({
      network: 0.076277, // HTTP_RECV 44 864 + HTTP_SEND 31 413
      serialize: 0.191969, // RECV_END→REQUEST_START 153 555 + REQUEST_END→SEND_START 38 414
      preprocess: 0.005654, // REQUEST_START→QUEUE_START
      queue: 0.095681, // QUEUE_START→COMPUTE_START
      transfer: 2.308936, // COMPUTE_START→INPUT_END 2 265 710 + OUTPUT_START→COMPUTE_END 43 226
      compute: 0.344855, // INPUT_END→OUTPUT_START
      postprocess: 0.102175, // COMPUTE_END→REQUEST_END
      other: 0,
      e2e: 3.125547, // HTTP_RECV_START→HTTP_SEND_END
    });
  });

  it('never prints the steady clock as a 1970 date, and gives no rate for one request', async () => {
    const result = await analyzeServing('triton_trace_v2_docs_example.json');
    const text = renderText(result);
    expect(text).toMatch(/Read as Triton trace file 2\.x \(1 request\)/);
    expect(text).not.toMatch(/1970/);
    expect(text).toMatch(/3\.13 ms on the server's monotonic clock/);
    expect(text).toMatch(/no rate from one request/);
    expect(text).not.toMatch(/req\/s/);
    const json = toJsonReport(result);
    expect(json.window).toMatchObject({ start: null, end: null, clock: 'monotonic' });
    expect(json.throughput_rps).toBeNull();
    expect(json.conventions[0]).toMatchObject({ id: 'triton', label: 'Triton trace file 2.x', requests: 1, clock: 'monotonic' });
  });
});

describe('Triton trace file 1.x (synthetic, lowercase names from trace_summary.py of 2020)', () => {
  it('reads the legacy spelling, does not count gRPC wait-read, and takes compute as COMPUTE_START→END when not split', async () => {
    const result = await analyzeServing('triton-trace-v1-grpc.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['Triton trace file 1.x (TensorRT Inference Server)']);
    expect(result.models.map((m) => m.summary.model)).toEqual(['resnet50_netdef']);
    const [first, second] = [...result.timings].sort((a, b) => a.e2eMs - b.e2eMs);
    expect(phasesOf(first!)).toEqual({
      serialize: 0.026, // wait/read end→handler start 17 µs + handler end→send start 9 µs
      preprocess: 0.007,
      network: 0.047, // gRPC send only: the 4.321 ms wait/read is client idle time
      queue: 2.5,
      compute: 2.377, // compute start→end (no input/output split in 1.x)
      postprocess: 0.019,
      other: 0,
      e2e: 4.976, // wait/read end→send end
    });
    expect(phasesOf(second!)).toEqual({ serialize: 0.019, preprocess: 0.008, network: 0.038, queue: 4.202, compute: 2.378, postprocess: 0.015, other: 0, e2e: 6.66 });
    // Two requests have a rate: 2 over first start → last end (104.321 ms → 111.660 ms).
    expect(result.overall!.throughputRps).toBeCloseTo(2 / 0.007339, 6);
  });
});

describe('Triton trace file 2.x, gRPC ensemble (synthetic)', () => {
  it('gives each composing model its own request and the ensemble the phases of its steps', async () => {
    const result = await analyzeServing('triton-trace-v2-grpc-ensemble.synthetic.json');
    const byModel = new Map(result.timings.rows().map((t) => [t.model, phasesOf(t)]));
    expect(byModel.get('preprocess_py')).toEqual({ preprocess: 0.003, queue: 0.007, compute: 1.2, postprocess: 0.01, other: 0, e2e: 1.22 });
    expect(byModel.get('classifier_trt')).toEqual({ preprocess: 0.004, queue: 0.8, transfer: 0.15, compute: 2.5, postprocess: 0.016, other: 0, e2e: 3.47 });
    expect(byModel.get('ensemble_pipeline')).toEqual({
      serialize: 0.081,
      network: 0.061,
      preprocess: 0.007,
      queue: 0.807,
      transfer: 0.15,
      compute: 3.7,
      postprocess: 0.026,
      other: 0.029, // hand-offs between the ensemble's steps
      e2e: 4.861,
    });
  });
});

describe('several Triton trace files', () => {
  it('from two servers: request ids restart at 1 in each, and are never merged as one request', async () => {
    // The documentation example (HTTP, id 1) and the ensemble (gRPC, ids 1–3) as two replicas' files.
    const result = await analyzeFiles([SERVING + 'triton_trace_v2_docs_example.json', SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json'], { diagnose: false });
    expect(result.requests).toBe(4);
    expect(result.assembly.duplicateSpans).toBe(0);
    const byModel = new Map(result.timings.rows().map((t) => [t.model, phasesOf(t)]));
    expect(byModel.get('unknown')?.e2e).toBe(3.125547);
    expect(byModel.get('unknown')?.transfer).toBe(2.308936);
    expect(byModel.get('ensemble_pipeline')?.e2e).toBe(4.861);
    expect(byModel.get('classifier_trt')?.queue).toBe(0.8);
    // Two steady clocks: the window and rate across them mean nothing, and the report says so.
    expect(result.warnings.filter((w) => w.code === 'monotonic-clocks')).toEqual([expect.objectContaining({ count: 2, message: expect.stringMatching(/^Triton trace files from 2 servers or runs, each on its own steady clock: the window, the request rate and the trends over time mix clocks/) })]);
  });

  it('with a wall-clock export beside it: no offset relates the clocks, and the report says so', async () => {
    const alone = await analyzeFiles([SERVING + 'triton_trace_v2_docs_example.json'], { diagnose: false });
    expect(alone.warnings.map((w) => w.code)).not.toContain('monotonic-clocks');
    const mixed = await analyzeFiles([SERVING + 'triton_trace_v2_docs_example.json', SERVING + 'genai-client-alone.synthetic.json'], { diagnose: false });
    expect(mixed.requests).toBe(2);
    expect(mixed.warnings.filter((w) => w.code === 'monotonic-clocks')).toEqual([expect.objectContaining({ count: 2, message: expect.stringMatching(/^Triton's trace file on its steady clock, and files on the wall clock: the window/) })]);
  });

  it('with a wall-clock export beside it: requests timed 2^53 ns from the first span are said to be rounded, and by how much', async () => {
    const demo = new URL('../../../examples/traces/inference-demo.otlp.jsonl', import.meta.url).pathname;
    const alone = await analyzeFiles([SERVING + 'triton_trace_v2_docs_example.json'], { diagnose: false });
    const mixed = await analyzeFiles([demo, SERVING + 'triton_trace_v2_docs_example.json'], { diagnose: false });
    // The first span read is the demo's (wall clock): Triton's steady-clock request is 1.7e18 ns away.
    const rounded = mixed.warnings.filter((w) => w.code === 'time-precision');
    expect(rounded).toEqual([expect.objectContaining({ count: 1, message: expect.stringMatching(/^1 request timed more than 2\^53 ns .* rounded to 256 ns/) })]);
    expect(mixed.assembly).toMatchObject({ roundedRequests: 1, roundedToNs: 256 });
    // And the rounding is real: the same request read alone (exact) differs from it.
    const triton = (r: typeof mixed): number => r.timings.rows().find((t) => t.source === 'triton')!.phases.compute!;
    expect(Math.abs(triton(mixed) - triton(alone))).toBeGreaterThan(0);
    expect(Math.abs(triton(mixed) - triton(alone))).toBeLessThan(0.001);
    expect(alone.warnings.map((w) => w.code)).not.toContain('time-precision');
    const demoAlone = await analyzeFiles([demo], { diagnose: false });
    expect(demoAlone.assembly.roundedRequests).toBe(0);
    // Each model's window on its own clock in --json: the demo's model keeps its dates, Triton's has none.
    const models = toJsonReport(mixed).models;
    const wall = models.find((m) => m.model === 'resnet50')!;
    expect(wall.window).toMatchObject({ clock: 'epoch', start: toJsonReport(demoAlone).models[0]!.window!.start });
    expect(wall.window!.start).toMatch(/^2026-/);
    expect(models.filter((m) => m.model !== 'resnet50').map((m) => m.window)).toEqual([expect.objectContaining({ clock: 'monotonic', start: null })]);
  });

  it('with a wall-clock export beside it: the text, Markdown and HTML reports give each model its window on its own clock, as --json does, and none spanning both', async () => {
    const demo = new URL('../../../examples/traces/inference-demo.otlp.jsonl', import.meta.url).pathname;
    const mixed = await analyzeFiles([demo, SERVING + 'triton_trace_v2_docs_example.json'], { diagnose: false });
    const demoAlone = await analyzeFiles([demo], { diagnose: false });
    // The demo's own window, as its report alone prints it (dates, length and rate).
    const demoWindow = /^Window {2}(2026-\S+ \S+ → \S+ UTC \([\d.]+ s\), [\d.]+ req\/s)$/m.exec(renderText(demoAlone))?.[1];
    expect(demoWindow).toBeDefined();
    const text = renderText(mixed);
    // No run-level window: across the two clocks it came out as "491695 h 26 min …, 0.0 req/s".
    expect(text).not.toMatch(/^Window {2}/m);
    expect(text).not.toMatch(/ h \d+ min|0\.0 req\/s/);
    expect(text).toMatch(/^Windows per model, each on its own clock: the inputs are on unrelated clocks\s+\(see the warnings\), so no window spans the run$/m);
    expect(text).toContain(`        resnet50: ${demoWindow}`);
    expect(text).toMatch(/^ {8}unknown: 3\.13 ms on the server's monotonic clock \(no wall-clock time in\s+its requests\), no rate from one request$/m);
    const json = toJsonReport(mixed);
    expect(json.models.map((m) => [m.model, m.window!.clock, m.window!.duration_s])).toEqual([
      ['resnet50', 'epoch', toJsonReport(demoAlone).models[0]!.window!.duration_s],
      ['unknown', 'monotonic', 0.003126],
    ]);
    const markdown = renderMarkdown(mixed);
    expect(markdown).toMatch(/^\*\*221 requests\*\* analysed from 1,981 spans\.$/m);
    expect(markdown).toContain(`- \`resnet50\`: ${demoWindow}`);
    expect(markdown).toMatch(/^- `unknown`: 3\.13 ms on the server's monotonic clock/m);
    const subtitle = /<p class="sub">([^<]*)<\/p>/.exec(await renderHtml(mixed))?.[1] ?? '';
    expect(subtitle).toContain(`windows per model, each on its own clock`);
    expect(subtitle).toContain(`resnet50 ${demoWindow}; unknown 3.13 ms on the server&#39;s monotonic clock`);
    expect(subtitle).not.toMatch(/1970/);
    // A run on one clock keeps its single window in every report.
    expect(renderMarkdown(demoAlone)).toContain(`over ${demoWindow!.replace(/, [\d.]+ req\/s$/, '')}.`);
  });

  it("beside Triton's OpenTelemetry mode (both read as Triton, one on the steady clock, one on the wall clock): each model's window on its own clock, never a 1970 date", async () => {
    const mixed = await analyzeFiles([SERVING + 'triton-otel-http.synthetic.json', SERVING + 'triton-trace-v2-responds-after-execute.synthetic.json'], { diagnose: false });
    expect(mixed.conventions.map((c) => [c.id, c.clock]).sort()).toEqual([['triton', 'epoch'], ['triton', 'monotonic'], ['triton', 'monotonic']]);
    const text = renderText(mixed);
    expect(text).not.toMatch(/1970/);
    expect(text).toMatch(/^ {8}tensorrt_llm: 689\.8 ms on the server's monotonic clock/m);
    expect(text).toMatch(/^ {8}simple: 2026-01-01 00:00:00 → 00:00:00 UTC \(2 ms\)/m);
    const clocks = Object.fromEntries(toJsonReport(mixed).models.map((m) => [m.model, m.window!.clock]));
    expect(clocks).toEqual({ tensorrt_llm: 'monotonic', vllm_model: 'monotonic', densenet_onnx: 'monotonic', simple: 'epoch' });
  });

  it('rotated by log-frequency (FILE.0, FILE.1): one server, so an ensemble split over two files is still one request', async () => {
    const records = readFileSync(SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json', 'utf8').trim().slice(1, -1).trim().split(/,\n/);
    const ensemble = records.filter((r) => r.startsWith('{"id":1,'));
    const children = records.filter((r) => !r.startsWith('{"id":1,'));
    const dir = mkdtempSync(join(tmpdir(), 'ld-triton-'));
    try {
      writeFileSync(join(dir, 'trace.json.0'), `[${children.join(',')}]`);
      writeFileSync(join(dir, 'trace.json.1'), `[${ensemble.join(',')}]`);
      const split = await analyzeFiles([join(dir, 'trace.json.0'), join(dir, 'trace.json.1')], { diagnose: false });
      const whole = await analyzeServing('triton-trace-v2-grpc-ensemble.synthetic.json');
      expect(split.requests).toBe(3);
      expect(split.warnings.map((w) => w.code)).not.toContain('monotonic-clocks');
      expect(new Map(split.timings.rows().map((t) => [t.model, phasesOf(t)]))).toEqual(new Map(whole.timings.rows().map((t) => [t.model, phasesOf(t)])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Triton OpenTelemetry mode (synthetic OTLP, span tree of qa/L0_trace)', () => {
  it('joins InferRequest, model and compute span events into one request with the same phases as the file', async () => {
    const result = await analyzeServing('triton-otel-http.synthetic.json');
    expect(result.conventions.map((c) => [c.label, c.clock])).toEqual([['Triton OpenTelemetry trace', 'epoch']]);
    expect(result.requests).toBe(1);
    const [request] = result.timings;
    expect(request!.model).toBe('simple');
    expect(request!.modelVersion).toBe('1');
    expect(request!.service).toBe('triton-inference-server');
    expect(phasesOf(request!)).toEqual({
      network: 0.106,
      serialize: 0.107,
      preprocess: 0.007,
      queue: 1.2,
      transfer: 0.134,
      compute: 0.848,
      postprocess: 0.029,
      other: 0,
      e2e: 2.431,
    });
    expect(renderText(result)).toMatch(/Window {2}2026-01-01 00:00:00/);
    expect(result.spans).toBe(3); // as the file holds them
    // One span per phase interval: compute, the model span kept under the request, the request, 10 phase intervals.
    // (The request was once its own ensemble step: every interval 34 times over, 343 spans.)
    expect(await mappedSpanCount('triton-otel-http.synthetic.json')).toBe(13);
  });
});

describe('Triton OpenTelemetry mode with the caller’s client span (traceparent propagated, client export in another file)', () => {
  it('counts the time outside the server as network, next to Triton’s own HTTP receive and send', async () => {
    const doc = JSON.parse(readFileSync(SERVING + 'triton-otel-http.synthetic.json', 'utf8')) as { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string; parentSpanId?: string; startTimeUnixNano: string; endTimeUnixNano: string }[] }[] }[] };
    const inferRequest = doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((s) => s.name === 'InferRequest')!;
    inferRequest.parentSpanId = 'c1c1c1c1c1c1c1c1';
    const client = {
      traceId: inferRequest.traceId,
      spanId: 'c1c1c1c1c1c1c1c1',
      name: 'POST /v2/models/simple/infer',
      kind: 3,
      startTimeUnixNano: String(BigInt(inferRequest.startTimeUnixNano) - 1_000_000n),
      endTimeUnixNano: String(BigInt(inferRequest.endTimeUnixNano) + 1_000_000n),
      attributes: [{ key: 'inference.role', value: { stringValue: 'client' } }],
    };
    const dir = mkdtempSync(join(tmpdir(), 'ld-triton-'));
    try {
      writeFileSync(join(dir, 'server.json'), JSON.stringify(doc));
      writeFileSync(join(dir, 'client.json'), JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [client] }] }] }));
      const result = await analyzeFiles([join(dir, 'client.json'), join(dir, 'server.json')], { diagnose: false });
      const [request] = result.timings;
      expect(request!.hasClient).toBe(true);
      // Triton's HTTP receive + send (0.106 ms) and 1 ms each way outside the server span.
      expect(phasesOf(request!)).toMatchObject({ network: 2.106, queue: 1.2, compute: 0.848, other: 0, e2e: 4.431 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Triton OpenTelemetry mode, ensemble (synthetic: InferRequest → ensemble → composing model → compute)', () => {
  it('gives the composing model its own request and the ensemble request its step’s phases, inside the frontend’s extent', async () => {
    const result = await analyzeServing('triton-otel-ensemble.synthetic.json');
    const byModel = new Map(result.timings.rows().map((t) => [t.model, phasesOf(t)]));
    expect([...byModel.keys()].sort()).toEqual(['classifier', 'ensemble_model']);
    expect(byModel.get('classifier')).toEqual({ preprocess: 0.01, queue: 0.24, compute: 1.38, postprocess: 0.02, other: 0, e2e: 1.65 });
    expect(byModel.get('ensemble_model')).toEqual({
      network: 0.15, // HTTP receive 0.05 + send 0.1
      serialize: 0.1, // RECV_END→REQUEST_START 0.05 + REQUEST_END→SEND_START 0.05
      preprocess: 0.01,
      queue: 0.24,
      compute: 1.38,
      postprocess: 0.02,
      other: 0.1, // hand-offs between the ensemble and its step
      e2e: 2,
    });
    // compute, the ensemble's model span, 2 requests, 12 phase intervals (not 276: no request is its own step).
    expect(await mappedSpanCount('triton-otel-ensemble.synthetic.json')).toBe(16);
  });
});

describe('held traces at the end of input', () => {
  it('come out one trace at a time (drain), the same spans in the same order as finish gives them at once', async () => {
    const { spans } = await readAllSpans(SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json');
    // Three copies of the ensemble under other ids: three held traces.
    const copies = [0, 1, 2].flatMap((k) => spans.map((s) => ({ ...s, traceId: `${s.traceId}-${k}`, spanId: `${s.spanId}-${k}`, ...(s.parentSpanId !== undefined ? { parentSpanId: `${s.parentSpanId}-${k}` } : {}) })));
    const whole = new ConventionMapper();
    expect(whole.map(copies)).toHaveLength(0);
    const all = whole.finish();
    const drained = new ConventionMapper();
    drained.map(copies);
    const batches = [...drained.drain()];
    expect(batches).toHaveLength(3);
    for (const batch of batches) expect(new Set(batch.map((s) => s.traceId)).size).toBe(1);
    expect(batches.flat()).toEqual(all);
    expect([...drained.drain()]).toEqual([]);
  });

  it('a trace its reader says is whole is mapped at the end of that batch, but only once every trace held before it is out: the order finish gives', async () => {
    const { spans } = await readAllSpans(SERVING + 'triton-trace-v2-grpc-ensemble.synthetic.json');
    const copy = (k: number): SpanRecord[] => spans.map((s) => ({ ...s, traceId: `${s.traceId}-${k}`, spanId: `${s.spanId}-${k}`, ...(s.parentSpanId !== undefined ? { parentSpanId: `${s.parentSpanId}-${k}` } : {}) }));
    const [a, b, c] = [copy(0), copy(1), copy(2)];
    const whole = new ConventionMapper();
    whole.map([...a, ...b, ...c]);
    const all = whole.finish();
    const mapper = new ConventionMapper();
    // Trace a's first span, then all of b, said whole: b waits for a.
    const first = [a[0]!, ...b];
    markClosedTraces(first, [b[0]!.traceId]);
    expect(mapper.map(first)).toEqual([]);
    // The rest of a, said whole: a, then b, then nothing of c (not said whole).
    const second = [...a.slice(1), ...c];
    markClosedTraces(second, [a[0]!.traceId]);
    const out = mapper.map(second);
    expect(out.map((s) => s.traceId)).toEqual(all.filter((s) => s.traceId !== c[0]!.traceId).map((s) => s.traceId));
    expect([...out, ...mapper.finish()]).toEqual(all);
    // A batch not marked (a copy, as several files merged by time are) holds its traces to the end.
    const unmarked = new ConventionMapper();
    expect(unmarked.map([...first])).toEqual([]);
  });
});

describe('Triton trace file 2.x of a backend that responds long after its execute returned (synthetic, after server issue #6923)', () => {
  it('does not call the time between COMPUTE_END and REQUEST_END post-processing, and says why', async () => {
    const result = await analyzeServing('triton-trace-v2-responds-after-execute.synthetic.json');
    expect(result.conventions.map((c) => [c.label.replace(/ \(an LLM.*/, ''), c.requests])).toEqual([
      ['Triton trace file 2.x, released long after the backend’s execute returned', 3],
      ['Triton trace file 2.x', 1],
    ]);
    const rows = result.timings.rows();
    // TensorRT-LLM: execute returned after 0.6 ms, the request was released 412 ms later (the model generating).
    const llm = rows.find((r) => r.model === 'tensorrt_llm' && r.phases.compute === 0.6)!;
    expect(phasesOf(llm)).toEqual({ network: 0.04, serialize: 0.06, preprocess: 0.008, queue: 1, compute: 0.6, other: 412, e2e: 413.708 });
    expect(llm.phases.postprocess).toBeUndefined();
    // Its one response went out just before the release: the whole answer, not a first token.
    expect(llm.ttftMs).toBeUndefined();
    // A decoupled gRPC stream (vLLM backend): the first response (INFER_RESPONSE_COMPLETE, recorded for the first
    // response only) 95 ms after GRPC_WAITREAD_END is its first token; the last went out at 1.2 s.
    const stream = rows.find((r) => r.model === 'vllm_model')!;
    expect(stream.ttftMs).toBeCloseTo(95, 9);
    expect(phasesOf(stream)).toMatchObject({ queue: 0.2, compute: 0.8, e2e: 1200.05 });
    expect(stream.phases.postprocess).toBeUndefined();
    // An ordinary backend beside it (release 0.09 ms after a 4 ms compute) keeps its post-processing.
    const onnx = rows.find((r) => r.model === 'densenet_onnx')!;
    expect(phasesOf(onnx)).toMatchObject({ compute: 4, postprocess: 0.09, other: 0 });
    // The model's table has no post-processing row for an LLM's generation, and the report says what the time may be.
    const llmSummary = result.models.find((m) => m.summary.model === 'tensorrt_llm')!.summary;
    expect(llmSummary.phases.postprocess).toBeUndefined();
    // Too little of the time is in phases to diagnose, and the reason does not ask for phase spans Triton cannot add.
    const diagnosed = await analyzeFiles([SERVING + 'triton-trace-v2-responds-after-execute.synthetic.json'], { model: 'tensorrt_llm' });
    const reason = diagnosed.models[0]!.diagnosis!.headline;
    expect(reason).toMatch(/phase spans cover only 0% of end-to-end time .*: the rest is time the triton telemetry read does not split \(see "Read as" and "Not in this source"\)/);
    expect(reason).not.toMatch(/add phase spans/);
    expect(result.conventions[0]!.label).toMatch(/an LLM or decoupled backend generating, such as TensorRT-LLM or vLLM, or a large HTTP JSON response being formatted: that time, COMPUTE_END → REQUEST_END, is not attributed/);
  });
});

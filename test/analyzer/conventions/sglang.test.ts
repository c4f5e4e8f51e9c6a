import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import { ConventionMapper } from '../../../src/analyzer/conventions/index.js';
import type { SpanRecord } from '../../../src/model/span.js';
import { analyzeServing, phasesOf, SERVING } from './_helpers.js';
import { manySglangRequests } from './_server-scenarios.js';
import { runCli } from '../../support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-sglang-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Doc = Parameters<typeof manySglangRequests>[0];
const load = (name: string): Doc => JSON.parse(readFileSync(SERVING + name, 'utf8')) as Doc;
const write = (name: string, doc: Doc): string => {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
};
const rounded = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * 1e6) / 1e6);

describe('SGLang --trace-level request traces, unified server (synthetic, after observability/trace.py and req_time_stats.py)', () => {
  it('reads each request’s stage slices as its phases: tokenize and dispatch as preprocess, the waits as queue, the forwards as prefill and decode', async () => {
    const result = await analyzeServing('sglang-trace-level-unified.synthetic.json');
    expect(result.requests).toBe(4);
    expect(result.conventions.map((c) => `${c.id}: ${c.label} (${c.requests})`)).toEqual(['sglang: SGLang request trace (--trace-level) (4)']);
    const byE2e = [...result.timings].sort((a, b) => b.e2eMs - a.e2eMs);
    // The request that waited 400 ms for a batch slot (prefill_waiting) and 2 ms for its first decode batch.
    expect(phasesOf(byE2e[0]!)).toEqual({
      preprocess: 4.3, // tokenize 2.5 + api_server_dispatch 0.5 + request_process 1.3
      queue: 402, // prefill_waiting 400 + decode_waiting 2
      prefill: 45,
      decode: 560,
      postprocess: 1.5, // after decode_forward ends, until the tokenizer manager finished the request
      other: 0.2, // the ZMQ hop from the tokenizer manager to the scheduler: no slice
      e2e: 1013,
    });
    expect(phasesOf(byE2e[3]!)).toEqual({ preprocess: 2.3, queue: 3, prefill: 30, decode: 380, postprocess: 1.5, other: 0.2, e2e: 417 });
  });

  it('takes TTFT, tokens and the model from the root span’s gen_ai attributes', async () => {
    const result = await analyzeServing('sglang-trace-level-unified.synthetic.json');
    const slow = [...result.timings].find((t) => t.tokensOut === 140)!;
    // gen_ai.latency.time_to_first_token: created → the tokenizer manager's first output (the queue is in it).
    expect(rounded(slow.ttftMs)).toBe(449.8);
    expect(slow.tokensIn).toBe(600);
    expect(slow.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(slow.source).toBe('sglang');
    const cached = [...result.timings].find((t) => t.tokensOut === 100)!;
    expect(cached.tokensCached).toBe(256);
    expect(result.conventions[0]!.unseen.join(' ')).toMatch(/batch size/);
    expect(result.conventions[0]!.unseen.join(' ')).not.toMatch(/model name/);
  });

  it('is read the same whichever span comes first: the root (with vLLM’s latency attribute names) is SGLang’s, not an llm_request', async () => {
    const doc = load('sglang-trace-level-unified.synthetic.json');
    const reversed = { resourceSpans: [{ ...doc.resourceSpans[0]!, scopeSpans: [{ ...doc.resourceSpans[0]!.scopeSpans[0]!, spans: [...doc.resourceSpans[0]!.scopeSpans[0]!.spans].reverse() }] }] };
    const [asIs, rootFirst] = await Promise.all([analyzeServing('sglang-trace-level-unified.synthetic.json'), analyzeFiles([write('reversed.json', reversed)], { diagnose: false })]);
    for (const result of [asIs, rootFirst]) expect(result.conventions.map((c) => c.id)).toEqual(['sglang']);
    const phases = (r: typeof asIs): unknown => [...r.timings].map(phasesOf).sort((a, b) => a['e2e']! - b['e2e']!);
    expect(phases(rootFirst)).toEqual(phases(asIs));
  });

  it('a trace with stage-named spans but no SGLang request span is left as it is (no request, no convention)', async () => {
    const doc = load('sglang-trace-level-unified.synthetic.json');
    const spans = doc.resourceSpans[0]!.scopeSpans[0]!.spans.filter((s) => !/ Req /.test(s.name));
    const result = await analyzeFiles([write('no-root.json', { resourceSpans: [{ ...doc.resourceSpans[0]!, scopeSpans: [{ ...doc.resourceSpans[0]!.scopeSpans[0]!, spans }] }] })], { diagnose: false });
    expect(result.requests).toBe(0);
    expect(result.conventions).toEqual([]);
    expect(result.generic?.bySelfTime.some((o) => o.operation === 'prefill_forward')).toBe(true);
  });
});

describe('SGLang --enable-trace with bootstrap room spans, prefill-decode disaggregated through the mini LB (synthetic, after tracing/trace.py and mini_lb.py)', () => {
  it('reads the router, prefill and decode roots of one bootstrap room as one request, the KV cache transfer as transfer, and counts no time twice', async () => {
    const result = await analyzeServing('sglang-enable-trace-pd.synthetic.json');
    expect(result.requests).toBe(2);
    expect(result.conventions.map((c) => c.label)).toEqual(['SGLang request trace (--enable-trace, bootstrap room spans), prefill-decode disaggregated: the nodes’ slices of one bootstrap room as one request']);
    const [fast, slow] = [...result.timings].sort((a, b) => a.e2eMs - b.e2eMs);
    expect(phasesOf(fast!)).toEqual({
      preprocess: 3.5, // mini_lb_launch 0.5; the prefill node's tokenize 2, dispatch 0.3 and prefill_prepare 0.6; the decode node's dispatch past them 0.1
      queue: 8.5, // prefill_bootstrap 4 + prefill_waiting 3 + the decode node's decode_waiting 1.5
      prefill: 60,
      transfer: 8.7, // prefill_transfer_kv_cache 8, and the decode node noticing it 0.7 later (decode_transferred past the prefill node's slices)
      decode: 72.8, // fake_output 0.8 + 6 decode_loop steps of 12
      postprocess: 1.4,
      other: 1.5, // gaps no slice covers (the hops between router, tokenizer managers and schedulers) and wait_PD_finish past the decode node's end
      e2e: 156.4, // the router's root: the client's whole request
    });
    const sum = (t: typeof fast): number => Object.values(t!.phases).reduce((a, b) => a! + b!, 0)! + t!.otherMs;
    expect(sum(fast)).toBeCloseTo(fast!.e2eMs, 9);
    expect(sum(slow)).toBeCloseTo(slow!.e2eMs, 9);
    expect(rounded(slow!.phases.queue)).toBe(255.5);
    // No TTFT attribute in this layout: the decode node's prebuilt step (fake_output) emits the first token.
    expect(rounded(fast!.ttftMs)).toBe(82.4);
    // No gen_ai attributes before --trace-level: the service name stands in, and the report says so.
    expect(fast!.model).toBe('sglang');
    expect(result.conventions[0]!.unseen.join(' ')).toMatch(/model name and token counts/);
  });
});

describe('SGLang layouts and nodes seen alone', () => {
  /** The unified export with its spans edited by `edit` (root spans: ' Req …'). */
  function edited(name: string, edit: (span: Doc['resourceSpans'][number]['scopeSpans'][number]['spans'][number]) => Doc['resourceSpans'][number]['scopeSpans'][number]['spans'][number] | undefined): string {
    const doc = load('sglang-trace-level-unified.synthetic.json');
    const spans = doc.resourceSpans[0]!.scopeSpans[0]!.spans.flatMap((s) => edit(s) ?? []);
    return write(name, { resourceSpans: [{ ...doc.resourceSpans[0]!, scopeSpans: [{ ...doc.resourceSpans[0]!.scopeSpans[0]!, spans }] }] });
  }

  it('the first --enable-trace layout (tracing/trace.py at bad7b92: `Req {rid[:8]}` with rid and bootstrap_room "None", no gen_ai attributes) gives the same phases, TTFT at the end of prefill', async () => {
    const file = edited('first-layout.json', (s) =>
      / Req /.test(s.name)
        ? { ...s, name: s.name.trim(), attributes: [...s.attributes!.filter((a) => a.key === 'rid'), { key: 'bootstrap_room', value: { stringValue: 'None' } }] }
        : s,
    );
    const [first, level] = await Promise.all([analyzeFiles([file], { diagnose: false }), analyzeServing('sglang-trace-level-unified.synthetic.json')]);
    expect(first.conventions.map((c) => `${c.label} (${c.requests})`)).toEqual(['SGLang request trace (--enable-trace, first layout) (4)']);
    const phases = (r: typeof first): unknown => [...r.timings].map(phasesOf).sort((a, b) => a['e2e']! - b['e2e']!);
    expect(phases(first)).toEqual(phases(level));
    // No TTFT attribute: the first token is where prefill_forward ends (0.3 ms before the tokenizer manager had it).
    const slow = [...first.timings].sort((a, b) => b.e2eMs - a.e2eMs)[0]!;
    expect(rounded(slow.ttftMs)).toBe(449.5);
    expect(slow.model).toBe('sglang');
  });

  it('the first layout’s own slice names (PR #9962: tokenize and dispatch, one `prefill` slice for the scheduler’s part before decoding, a `decode loop` slice per step) read as preprocess, prefill and decode, and the note says queueing is inside prefill', async () => {
    type Span = Doc['resourceSpans'][number]['scopeSpans'][number]['spans'][number];
    const doc = load('sglang-trace-level-unified.synthetic.json');
    const all = doc.resourceSpans[0]!.scopeSpans[0]!.spans;
    const slice = (trace: string, name: string): Span => all.find((x) => x.traceId === trace && x.name === name)!;
    const spans = all.flatMap((s): Span[] => {
      if (/ Req /.test(s.name)) return [{ ...s, name: s.name.trim(), attributes: [...s.attributes!.filter((a) => a.key === 'rid'), { key: 'bootstrap_room', value: { stringValue: 'None' } }] }];
      if (s.name === 'api_server_dispatch') return [{ ...s, name: 'dispatch' }];
      // The scheduler's one slice from taking the request to the end of its prefill.
      if (s.name === 'prefill_forward') return [{ ...s, name: 'prefill', startTimeUnixNano: slice(s.traceId, 'request_process').startTimeUnixNano }];
      // The slice after prefill starts at once (auto_next_anon) and is named at the end of each decode step: two steps here.
      if (s.name === 'decode_forward') {
        const start = BigInt(slice(s.traceId, 'decode_waiting').startTimeUnixNano);
        const mid = String((start + BigInt(s.endTimeUnixNano)) / 2n);
        return [
          { ...s, name: 'decode loop', startTimeUnixNano: String(start), endTimeUnixNano: mid },
          { ...s, spanId: s.spanId.slice(0, -2) + 'ff', name: 'decode loop', startTimeUnixNano: mid },
        ];
      }
      return ['request_process', 'prefill_waiting', 'decode_waiting'].includes(s.name) ? [] : [s];
    });
    const file = write('first-layout-names.json', { resourceSpans: [{ ...doc.resourceSpans[0]!, scopeSpans: [{ ...doc.resourceSpans[0]!.scopeSpans[0]!, spans }] }] });
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.conventions.map((c) => `${c.label} (${c.requests})`)).toEqual(['SGLang request trace (--enable-trace, first layout) (4)']);
    expect(result.conventions[0]!.unseen.join(' ')).toMatch(/a wait for a batch slot is read as prefill/);
    const slow = [...result.timings].sort((a, b) => b.e2eMs - a.e2eMs)[0]!;
    // The --trace-level request above: tokenize 2.5 + dispatch 0.5; request_process 1.3 + waiting 400 + forward 45; waiting 2 + decode 560.
    expect(phasesOf(slow)).toEqual({ preprocess: 3, prefill: 446.3, decode: 562, postprocess: 1.5, other: 0.2, e2e: 1013 });
    expect(rounded(slow.ttftMs)).toBe(449.5);
  });

  it('a decode node traced without its router or prefill node is one request, and the report says it is one node of a pair', async () => {
    const file = edited('decode-node.json', (s) => (/ Req /.test(s.name) ? { ...s, name: `decode${s.name}`, attributes: [...s.attributes!, { key: 'bootstrap_room', value: { stringValue: '0x2b7e151628aed2a6' } }] } : s));
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(4);
    expect(result.conventions.map((c) => c.label)).toEqual(['SGLang request trace (--trace-level), one node of a prefill-decode pair (its partner is not in this trace)']);
  });

  it('a request span without stage slices (none at its trace level, or lost) is still a request, timed end to end, its time unattributed', async () => {
    const file = edited('no-slices.json', (s) => (s.attributes?.length ? s : undefined));
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(4);
    const slow = [...result.timings].sort((a, b) => b.e2eMs - a.e2eMs)[0]!;
    expect(phasesOf(slow)).toEqual({ other: 1013, e2e: 1013 });
    expect(rounded(slow.ttftMs)).toBe(449.8);
  });

  it('holds a trace for a span named tokenize, dispatch, prefill or decode loop only when it is SGLang’s service; SGLang’s own stage names always', () => {
    const span = (name: string, service: string): SpanRecord => ({ traceId: `${name}${service}`.padEnd(32, '0'), spanId: '1'.repeat(16), parentSpanId: '2'.repeat(16), name, service, kind: 'internal', startNs: 1n, endNs: 2n, attributes: {}, error: false });
    const holds = (s: SpanRecord): boolean => {
      const mapper = new ConventionMapper();
      mapper.map([s]);
      return mapper.holdsTraces;
    };
    expect(holds(span('dispatch', 'checkout'))).toBe(false);
    expect(holds(span('tokenize', 'rag-service'))).toBe(false);
    expect(holds(span('tokenize', 'sglang'))).toBe(true);
    // The first layout's generic names: another system's `prefill` span holds nothing.
    expect(holds(span('prefill', 'vllm-frontend'))).toBe(false);
    expect(holds(span('decode loop', 'my-engine'))).toBe(false);
    expect(holds(span('prefill', 'sglang'))).toBe(true);
    expect(holds(span('prefill_waiting', 'renamed'))).toBe(true);
    // Names an object literal inherits are no stage names.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(holds(span(name, 'sglang'))).toBe(false);
  });
});

describe('300 SGLang requests that wait for a batch slot (the unified export, copied)', () => {
  it('diagnose queueing and word the next step for SGLang (--max-running-requests)', async () => {
    const file = write('many.json', manySglangRequests(load('sglang-trace-level-unified.synthetic.json'), 75, { everyMs: 200, maxWaitMs: 2000 }));
    const result = await analyzeFiles([file]);
    expect(result.requests).toBe(300);
    const model = result.models[0]!;
    expect(model.summary.phases.queue!.p50Ms).toBeGreaterThan(500);
    const diagnosis = model.diagnosis!;
    expect(diagnosis.primary).toBe('dynamic-batching');
    const step = diagnosis.recommendations.find((r) => r.fix === diagnosis.primary)!.nextStep;
    expect(`${step.text}\n${step.snippet?.code ?? ''}`).toMatch(/--max-running-requests/);
    expect(diagnosis.rules.find((r) => r.rule === 'scale-and-cache')?.reason).toMatch(/could not run.*batch sizes/);
  });
});

describe('300 disaggregated SGLang requests whose KV cache transfer is slow (the prefill-decode export, copied)', () => {
  it('read the transfer as transfer, and weigh it against prefill + decode: not host↔device copies outweighing a 0 ms model', async () => {
    const file = write('many-pd.json', manySglangRequests(load('sglang-enable-trace-pd.synthetic.json'), 150, { everyMs: 300, maxWaitMs: 150, stage: 'prefill_transfer_kv_cache' }));
    const result = await analyzeFiles([file]);
    expect(result.requests).toBe(300);
    const model = result.models[0]!;
    expect(model.summary.phases.transfer!.share).toBeGreaterThan(0.15);
    const diagnosis = model.diagnosis!;
    expect(diagnosis.primary).not.toBe('device-transfer');
    expect(diagnosis.rules.find((r) => r.rule === 'device-transfer')?.reason).toMatch(/^transfer [\d.]+ ms < prefill \+ decode [\d.]+ ms/);
  });
});

describe('latency-doctor analyze on an SGLang export (the built CLI)', { timeout: 120_000 }, () => {
  it('says what it read and what SGLang does not record, and gates TTFT on the tokenizer manager’s own figure', async () => {
    const file = 'test/fixtures/serving/sglang-trace-level-unified.synthetic.json';
    const [report, met, missed] = await Promise.all([runCli('analyze', file), runCli('analyze', file, '--slo', 'ttft:p95=500ms', '--fail-on-slo'), runCli('analyze', file, '--slo', 'ttft:p95=100ms', '--fail-on-slo')]);
    expect(report.code, report.stderr).toBe(0);
    const text = report.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/Read as SGLang request trace \(--trace-level\) \(4 requests\)/);
    expect(text).toMatch(/Not in this source: batch size .*detokenization on its own .*left unattributed \(other\), not counted as network/);
    expect(text).toMatch(/Model meta-llama\/Llama-3\.1-8B-Instruct 4 requests/);
    expect(met.code, met.stderr).toBe(0);
    expect(missed.code).toBe(3);
    expect(missed.stdout.replace(/\s+/g, ' ')).toMatch(/SLO violated \(TTFT p95 450 ms > 100 ms\)/);
  });
});

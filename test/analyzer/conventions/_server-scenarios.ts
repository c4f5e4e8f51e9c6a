/**
 * Multi-request exports in inference servers' own formats for the scenario tests: a Triton
 * trace file (2.x layout, fragmented records, steady-clock ns) and a vLLM `llm_request` OTLP
 * JSON export (v1 attribute set), generated from per-phase durations with a seeded jitter.
 */
import { writeFileSync } from 'node:fs';
import { seededRandom as seeded } from '../../../examples/model/seeded-random.js';
import type { TracesData } from '../../support/collector-export.js';

/** Milliseconds per Triton stage; each request draws value × (1 ± jitter). */
export interface TritonStages {
  readonly recv: number;
  readonly parse: number;
  readonly core: number;
  readonly queue: number;
  readonly input: number;
  readonly infer: number;
  readonly output: number;
  readonly post: number;
  readonly serialize: number;
  readonly send: number;
}

/** Writes a Triton 2.x trace file of `requests` HTTP requests arriving every `everyMs`. */
export function writeTritonTrace(file: string, model: string, stages: TritonStages, options: { requests: number; everyMs: number; jitter?: number; seed?: number }): void {
  const random = seeded(options.seed ?? 7);
  const jitter = options.jitter ?? 0.2;
  const records: string[] = [];
  const names: [keyof TritonStages, string][] = [
    ['recv', 'HTTP_RECV_END'],
    ['parse', 'REQUEST_START'],
    ['core', 'QUEUE_START'],
    ['queue', 'COMPUTE_START'],
    ['input', 'COMPUTE_INPUT_END'],
    ['infer', 'COMPUTE_OUTPUT_START'],
    ['output', 'COMPUTE_END'],
    ['post', 'REQUEST_END'],
    ['serialize', 'HTTP_SEND_START'],
    ['send', 'HTTP_SEND_END'],
  ];
  for (let i = 0; i < options.requests; i++) {
    const id = i + 1;
    let t = 8_000_000_000_000 + Math.round(i * options.everyMs * 1e6);
    records.push(`{"id":${id},"model_name":"${model}","model_version":1}`);
    records.push(`{"id":${id},"timestamps":[{"name":"HTTP_RECV_START","ns":${t}}]}`);
    for (const [stage, name] of names) {
      t += Math.round(stages[stage] * (1 + jitter * (2 * random() - 1)) * 1e6);
      records.push(`{"id":${id},"timestamps":[{"name":"${name}","ns":${t}}]}`);
    }
  }
  writeFileSync(file, `[\n${records.join(',\n')}\n]\n`);
}

/** Milliseconds per vLLM interval (v1 attribute set); each request draws value × (1 ± jitter). */
export interface VllmStages {
  readonly preEngine: number;
  readonly queue: number;
  readonly prefill: number;
  readonly decode: number;
  readonly output: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
}

/** Writes an OTLP JSON export of `requests` vLLM v1 `llm_request` spans arriving every `everyMs`. */
export function writeVllmExport(file: string, service: string, stages: VllmStages, options: { requests: number; everyMs: number; jitter?: number; seed?: number }): void {
  const random = seeded(options.seed ?? 11);
  const jitter = options.jitter ?? 0.2;
  const draw = (ms: number): number => ms * (1 + jitter * (2 * random() - 1));
  const spans: unknown[] = [];
  const base = 1_767_225_600_000_000_000n;
  const attr = (key: string, value: number | string): unknown => ({ key, value: typeof value === 'string' ? { stringValue: value } : Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value } });
  for (let i = 0; i < options.requests; i++) {
    const [pre, queue, prefill, decode, output] = [stages.preEngine, stages.queue, stages.prefill, stages.decode, stages.output].map(draw) as [number, number, number, number, number];
    const ttft = pre + queue + prefill;
    const e2e = ttft + decode + output;
    const start = base + BigInt(Math.round(i * options.everyMs * 1e6));
    spans.push({
      traceId: (i + 1).toString(16).padStart(32, 'a'),
      spanId: (i + 1).toString(16).padStart(16, 'b'),
      name: 'llm_request',
      kind: 2,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + BigInt(Math.round((e2e + 0.3) * 1e6))),
      attributes: [
        attr('gen_ai.request.id', `cmpl-${i}`),
        attr('gen_ai.usage.prompt_tokens', stages.promptTokens),
        attr('gen_ai.usage.completion_tokens', stages.outputTokens),
        attr('gen_ai.latency.time_in_queue', queue / 1000),
        attr('gen_ai.latency.time_to_first_token', ttft / 1000),
        attr('gen_ai.latency.e2e', e2e / 1000),
        attr('gen_ai.latency.time_in_model_prefill', prefill / 1000),
        attr('gen_ai.latency.time_in_model_decode', decode / 1000),
        attr('gen_ai.latency.time_in_model_inference', (prefill + decode) / 1000),
      ],
    });
  }
  const doc = { resourceSpans: [{ resource: { attributes: [attr('service.name', service)] }, scopeSpans: [{ scope: { name: 'vllm.llm_engine' }, spans }] }] };
  writeFileSync(file, JSON.stringify(doc));
}

// The root's latency attributes that span the queue (SGLang's tokenizer manager measures them from the request's creation).
const SGLANG_THROUGH_QUEUE = new Set(['gen_ai.latency.time_to_first_token', 'gen_ai.latency.e2e', 'gen_ai.latency.time_in_model_inference', 'gen_ai.latency.time_in_model_prefill']);

/**
 * `copies` copies of every trace of an SGLang OTLP export (the fixtures' layout), each copy later
 * by `everyMs` and its queue wait (from its `prefill_waiting` slice's start on, or `stage`'s) longer by a
 * random 0–`maxWaitMs` ms; every later time, and the root's latency attributes that span the
 * queue, move with it. Ids stay unique (xor with the copy's number, shifted).
 */
export function manySglangRequests(template: TracesData, copies: number, options: { everyMs: number; maxWaitMs: number; seed?: number; stage?: string }): TracesData {
  const random = seeded(options.seed ?? 5);
  const spans = template.resourceSpans[0]!.scopeSpans[0]!.spans;
  type Span = (typeof spans)[number];
  const byTrace = new Map<string, Span[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const out: Span[] = [];
  for (let i = 0; i < copies; i++) {
    const offset = BigInt(Math.round(i * options.everyMs * 1e3)) * 1000n;
    // Above the bits where the export's own ids differ, so no copy takes another trace's id.
    const id = (hex: string): string => (BigInt(`0x${hex}`) ^ (BigInt(i + 1) << 40n)).toString(16).padStart(hex.length, '0');
    for (const trace of byTrace.values()) {
      const waitMs = Math.round(random() * options.maxWaitMs * 1000) / 1000;
      const wait = BigInt(Math.round(waitMs * 1000)) * 1000n;
      const from = BigInt(trace.find((s) => s.name === (options.stage ?? 'prefill_waiting'))!.startTimeUnixNano);
      const at = (t: string): string => String(BigInt(t) + offset + (BigInt(t) > from ? wait : 0n));
      for (const s of trace) {
        out.push({
          ...s,
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          ...(s.parentSpanId !== undefined ? { parentSpanId: id(s.parentSpanId) } : {}),
          startTimeUnixNano: at(s.startTimeUnixNano),
          endTimeUnixNano: at(s.endTimeUnixNano),
          ...(s.links !== undefined ? { links: s.links.map((l) => ({ traceId: id(l.traceId), spanId: id(l.spanId) })) } : {}),
          ...(s.attributes !== undefined
            ? { attributes: s.attributes.map((a) => (SGLANG_THROUGH_QUEUE.has(a.key) ? { key: a.key, value: { doubleValue: (a.value['doubleValue'] as number) + waitMs / 1000 } } : a)) }
            : {}),
        });
      }
    }
  }
  const [rs] = template.resourceSpans;
  return { resourceSpans: [{ ...rs!, scopeSpans: [{ ...rs!.scopeSpans[0]!, spans: out }] }] };
}

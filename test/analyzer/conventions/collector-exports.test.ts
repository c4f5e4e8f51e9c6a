/**
 * A trace that went through an OpenTelemetry Collector into Jaeger or Zipkin and was downloaded
 * from there gives the same analysis as its OTLP export: every OTLP fixture of the serving
 * folder (exactly where its times are on whole µs), among them Triton's OpenTelemetry mode
 * (phase timestamps as span events → Jaeger logs, Zipkin annotations) and OpenLLMetry's chunk
 * events, SGLang's request, thread and stage slice spans, and 300 Triton requests and 300 SGLang
 * requests made from their exports.
 * The Jaeger and Zipkin files are made by test/support/collector-export, which follows the
 * translators' rules; it is first checked against Jaeger's own conversion of a real export.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import type { AnalysisResult } from '../../../src/analyzer/index.js';
import { readAllSpans } from '../../../src/formats/index.js';
import type { SpanRecord } from '../../../src/model/span.js';
import { otlpToJaeger, otlpToZipkin } from '../../support/collector-export.js';
import type { TracesData } from '../../support/collector-export.js';
import { fixture, random, tempDir } from '../../formats/helpers.js';
import { SERVING } from './_helpers.js';
import { manySglangRequests } from './_server-scenarios.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const READERS = ['fast', 'full'] as const;

/** The export written as OTLP/JSON, as Jaeger's download and as Zipkin's, into temporary files. */
function threeForms(name: string, doc: TracesData): { otlp: string; jaeger: string; zipkin: string } {
  return {
    otlp: tmp.write(`${name}.otlp.json`, JSON.stringify(doc)),
    jaeger: tmp.write(`${name}.jaeger.json`, otlpToJaeger(doc)),
    zipkin: tmp.write(`${name}.zipkin.json`, otlpToZipkin(doc)),
  };
}

/** What the comparison looks at: per model its summary (requests, e2e and per-phase percentiles, shares) and its primary diagnosis, and the conventions read. */
function outcome(result: AnalysisResult): unknown {
  return {
    requests: result.requests,
    conventions: result.conventions.map((c) => c.label),
    models: result.models.map((m) => ({ summary: m.summary, primary: m.diagnosis?.primary })),
  };
}

/** Deep equality where numbers may differ by `ms` plus 0.01% (and bigints, ns since epoch, by `ms` ms). */
function expectClose(got: unknown, want: unknown, ms: number, path = '$'): void {
  if (typeof want === 'number' && typeof got === 'number') {
    // Rates and shares move by their relative part too (tokens per second over a µs-shorter span).
    if (Number.isNaN(want)) expect(got, path).toBeNaN();
    else expect(Math.abs(got - want), `${path}: ${got} vs ${want}`).toBeLessThanOrEqual(ms + Math.abs(want) * 1e-4);
  } else if (typeof want === 'bigint' && typeof got === 'bigint') {
    const d = got > want ? got - want : want - got;
    expect(Number(d) / 1e6, `${path}: ${got} vs ${want}`).toBeLessThanOrEqual(ms);
  } else if (Array.isArray(want) && Array.isArray(got)) {
    expect(got.length, path).toBe(want.length);
    want.forEach((w, i) => expectClose(got[i], w, ms, `${path}[${i}]`));
  } else if (typeof want === 'object' && want !== null && typeof got === 'object' && got !== null) {
    expect(Object.keys(got).sort(), path).toEqual(Object.keys(want).sort());
    for (const k of Object.keys(want)) expectClose((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], ms, `${path}.${k}`);
  } else {
    expect(got, path).toEqual(want);
  }
}

function load(path: string): TracesData {
  return JSON.parse(readFileSync(path, 'utf8')) as TracesData;
}

const stringify = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

describe('the Collector-export converters', () => {
  it("give for a real export what Jaeger's own conversion of it gives", async () => {
    const converted = tmp.write('otlp2jaeger.json', otlpToJaeger(load(fixture('otlp-json/jaeger-transform-otlp2jaeger-in.json'))));
    for (const reader of READERS) {
      const ours = (await readAllSpans(converted, { reader })).spans;
      const jaegers = (await readAllSpans(fixture('jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json'), { reader })).spans;
      expect(ours.map(stringify).sort(), reader).toEqual(jaegers.map(stringify).sort());
    }
  });

  it('carry span events (unnamed ones and ones with attributes too) into events read back by name and µs time', async () => {
    const doc = load(fixture('otlp-json/jaeger-memstore-otel_traces_01.json'));
    const forms = threeForms('memstore', doc);
    const eventsOf = (spans: SpanRecord[]): string[] => spans.map((s) => `${s.spanId}: ${(s.events ?? []).map((e) => `${e.name}@${e.timeNs / 1000n}`).join(', ')}`).sort();
    const want = eventsOf((await readAllSpans(forms.otlp)).spans);
    // Named and unnamed events, some with attributes: the Zipkin form holds name|{…}|0.
    expect(want.join('\n')).toMatch(/@\d+, @\d+/);
    expect(readFileSync(forms.zipkin, 'utf8')).toMatch(/\|\{[^}]*\}\|0"/);
    for (const reader of READERS) {
      expect(eventsOf((await readAllSpans(forms.jaeger, { reader })).spans), `jaeger ${reader}`).toEqual(want);
      expect(eventsOf((await readAllSpans(forms.zipkin, { reader })).spans), `zipkin ${reader}`).toEqual(want);
    }
  });
});

describe('an OTLP export, and the same spans downloaded from Jaeger and from Zipkin, give the same analysis', () => {
  /** Every OTLP/JSON fixture of the serving folder, and those whose spans carry events (what a convention may read). */
  const otlpFixtures = readdirSync(SERVING).filter((n) => n.endsWith('.json') && 'resourceSpans' in (JSON.parse(readFileSync(SERVING + n, 'utf8')) as object));
  const withEvents = otlpFixtures.filter((n) => load(SERVING + n).resourceSpans.some((rs) => rs.scopeSpans.some((ss) => ss.spans.some((s) => (s.events?.length ?? 0) > 0))));

  it('the fixtures cover span events: Triton OpenTelemetry, OpenLLMetry and OpenInference', () => {
    expect(withEvents).toEqual(expect.arrayContaining(['triton-otel-http.synthetic.json', 'triton-otel-ensemble.synthetic.json', 'genai-client-openllmetry-stream.synthetic.json', 'openinference-langchain-openai.synthetic.json']));
  });

  it("the fixtures cover SGLang's slice spans, unified and prefill-decode disaggregated", () => {
    expect(otlpFixtures).toEqual(expect.arrayContaining(['sglang-trace-level-unified.synthetic.json', 'sglang-enable-trace-pd.synthetic.json']));
  });

  it.each(otlpFixtures)('%s', async (name) => {
    const doc = load(SERVING + name);
    const forms = threeForms(name, doc);
    const times = doc.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.flatMap((s) => [s.startTimeUnixNano, s.endTimeUnixNano, ...(s.events ?? []).map((e) => e.timeUnixNano)])));
    const wholeMicros = times.every((t) => BigInt(t) % 1000n === 0n);
    const want = outcome(await analyzeFiles([forms.otlp]));
    if (withEvents.includes(name) && !name.startsWith('tgi')) {
      // Read through the convention, not as plain spans: the events are what it reads.
      expect((want as { conventions: string[] }).conventions.length).toBeGreaterThan(0);
    }
    for (const reader of READERS) {
      for (const file of [forms.jaeger, forms.zipkin]) {
        const got = outcome(await analyzeFiles([file], { reader }));
        // Exactly where every time is on a whole µs; else within what µs times change.
        if (wholeMicros) expect(stringify(got), `${file} ${reader}`).toBe(stringify(want));
        else expectClose(got, want, 0.002);
      }
    }
  });

  it("TGI's failed requests, their error messages on error spans, with the tags written before or after the events: counted by who ended them as on OTLP", async () => {
    const doc = load(SERVING + 'tgi-router-failed-cancelled.synthetic.json');
    const want = outcome(await analyzeFiles([tmp.write('tgi-failed.otlp.json', JSON.stringify(doc))]));
    // The validation error and the failed chat template are the client's (read from the error spans' events), the overload the server's.
    expect((want as { conventions: string[] }).conventions).toEqual(expect.arrayContaining([expect.stringMatching(/rejected, the client's error/), expect.stringMatching(/failed, a server error/)]));
    for (const place of ['before', 'after'] as const) {
      const files = [tmp.write(`tgi-failed-${place}.jaeger.json`, otlpToJaeger(doc, place)), tmp.write(`tgi-failed-${place}.zipkin.json`, otlpToZipkin(doc, place))];
      for (const reader of READERS) {
        // Its times are in ns: the same within the µs Jaeger and Zipkin keep.
        for (const file of files) expectClose(outcome(await analyzeFiles([file], { reader })), want, 0.002);
      }
    }
  });

  /**
   * 300 requests made from the Triton HTTP export: each one its own trace, later by 5 ms (about four in flight), its
   * queue wait (QUEUE_START → COMPUTE_START) stretched by a random 0–40 ms so that queueing is
   * what the diagnosis finds; with `subMicro`, every time moved by 0–999 ns too (Triton's clock
   * is in ns; Jaeger and Zipkin keep µs).
   */
  function manyRequests(subMicro: boolean): TracesData {
    const one = load(SERVING + 'triton-otel-http.synthetic.json');
    const rand = random(subMicro ? 7 : 6);
    const spans = one.resourceSpans[0]!.scopeSpans[0]!.spans;
    const queueStart = BigInt(spans.flatMap((s) => s.events ?? []).find((e) => e.name === 'QUEUE_START')!.timeUnixNano);
    const out: typeof spans = [];
    for (let i = 0; i < 300; i++) {
      const offset = BigInt(i) * 5_000_000n;
      const wait = BigInt(Math.floor(rand() * 40_000)) * 1000n;
      const jitter = (): bigint => (subMicro ? BigInt(Math.floor(rand() * 1000)) : 0n);
      const at = (t: string): string => {
        const ns = BigInt(t);
        return String(ns + offset + (ns > queueStart ? wait : 0n) + jitter());
      };
      const id = (hex: string): string => (BigInt(`0x${hex}`) ^ BigInt(i + 1)).toString(16).padStart(hex.length, '0');
      for (const s of spans) {
        out.push({
          ...s,
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          ...(s.parentSpanId ? { parentSpanId: id(s.parentSpanId) } : {}),
          startTimeUnixNano: at(s.startTimeUnixNano),
          endTimeUnixNano: at(s.endTimeUnixNano),
          events: (s.events ?? []).map((e) => ({ ...e, timeUnixNano: at(e.timeUnixNano) })),
        });
      }
    }
    // Span start and end keep their order around the events they were equal to.
    for (const s of out) {
      const times = [s.startTimeUnixNano, ...(s.events ?? []).map((e) => e.timeUnixNano), s.endTimeUnixNano].map(BigInt);
      s.startTimeUnixNano = String(times.reduce((a, b) => (b < a ? b : a)));
      s.endTimeUnixNano = String(times.reduce((a, b) => (b > a ? b : a)));
    }
    return { resourceSpans: [{ ...one.resourceSpans[0]!, scopeSpans: [{ ...one.resourceSpans[0]!.scopeSpans[0]!, spans: out }] }] };
  }

  it('300 Triton requests on whole µs: the same per-phase percentiles and the same primary diagnosis, exactly', async () => {
    const forms = threeForms('triton-many', manyRequests(false));
    const result = await analyzeFiles([forms.otlp]);
    const want = outcome(result);
    expect(result.requests).toBe(300);
    const model = result.models[0]!;
    expect(model.summary.phases.queue?.p50Ms).toBeGreaterThan(10);
    // A diagnosis to compare, not none.
    expect(model.diagnosis?.primary).not.toBeNull();
    expect(model.diagnosis?.primary).not.toBe('insufficient-data');
    for (const reader of READERS) {
      for (const file of [forms.jaeger, forms.zipkin]) expect(stringify(outcome(await analyzeFiles([file], { reader }))), `${file} ${reader}`).toBe(stringify(want));
    }
  });

  it('300 Triton requests in ns: the same within the µs Jaeger and Zipkin keep, and the same primary diagnosis', async () => {
    const forms = threeForms('triton-many-ns', manyRequests(true));
    const want = outcome(await analyzeFiles([forms.otlp]));
    for (const reader of READERS) {
      for (const file of [forms.jaeger, forms.zipkin]) {
        const got = outcome(await analyzeFiles([file], { reader })) as { models: { primary: unknown }[] };
        expect(got.models.map((m) => m.primary), `${file} ${reader}`).toEqual((want as { models: { primary: unknown }[] }).models.map((m) => m.primary));
        // Two µs-truncated (or rounded) times per phase: under 2 µs apart.
        expectClose(got, want, 0.002);
      }
    }
  });

  it('300 SGLang requests: the same per-phase percentiles and the same primary diagnosis, exactly, also with the span names lower-cased as Zipkin stores them', async () => {
    const many = manySglangRequests(load(SERVING + 'sglang-trace-level-unified.synthetic.json'), 75, { everyMs: 200, maxWaitMs: 2000 });
    const forms = threeForms('sglang-many', many);
    // zipkin2's Span.Builder lower-cases names: ' Req 5f3a9c1e' → ' req 5f3a9c1e'.
    const lowered = tmp.write('sglang-many.lower.zipkin.json', JSON.stringify((JSON.parse(otlpToZipkin(many)) as { name?: string }[]).map((z) => ({ ...z, ...(z.name !== undefined ? { name: z.name.toLowerCase() } : {}) }))));
    const result = await analyzeFiles([forms.otlp]);
    expect(result.requests).toBe(300);
    expect(result.conventions.map((c) => c.id)).toEqual(['sglang']);
    expect(result.models[0]!.diagnosis?.primary).toBe('dynamic-batching');
    const want = stringify(outcome(result));
    for (const reader of READERS) {
      for (const file of [forms.jaeger, forms.zipkin, lowered]) expect(stringify(outcome(await analyzeFiles([file], { reader }))), `${file} ${reader}`).toBe(want);
    }
  });
});

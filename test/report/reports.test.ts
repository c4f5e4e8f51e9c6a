import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFiles, analyzeSpans } from '../../src/analyzer/index.js';
import type { AnalysisResult } from '../../src/analyzer/index.js';
import { renderText } from '../../src/report/text.js';
import { displayWidth, fit } from '../../src/report/_format.js';
import { renderJson, toJsonReport } from '../../src/report/json.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { SpanRecord } from '../../src/model/span.js';
import type { SynthSpan } from '../support/synth.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';
import { phaseSpan, requestSpan, span, traceId } from '../analyzer/_spans.js';

/** The simulated demo run as normalized spans, without going through a reader. */
function records(spans: readonly SynthSpan[]): SpanRecord[] {
  return spans.map((s) => ({
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    service: s.service,
    kind: s.kind,
    startNs: s.startNs,
    endNs: s.endNs,
    attributes: s.attributes,
    error: s.error ?? false,
  }));
}

async function demoResult(models = 1): Promise<AnalysisResult> {
  const spans = records(simulate({ requests: 120 }));
  if (models > 1) {
    // A second model with a long, awkward name, on a disjoint set of traces.
    const other = simulate({ requests: 60, seed: 99, traceOffset: 5000 }).map((s) =>
      s.attributes['inference.model.name'] ? { ...s, attributes: { ...s.attributes, 'inference.model.name': 'text|encoder_v2-with-a-really-long-name' } } : s,
    );
    spans.push(...records(other));
  }
  const result = await analyzeSpans([spans], { diagnose: false });
  return { ...result, files: [{ file: 'traces/very/long/path/to/an/export/from/the/collector/traces.otlp.jsonl', format: 'otlp-jsonl', spans: spans.length, skipped: 3, leniencies: ['snake_case keys: 4'] }] };
}

const ANSI = /\u001b\[[0-9;]*m/;

describe('text report', () => {
  it('fits 80 columns and shows every phase, other and end-to-end percentiles', async () => {
    const result = await demoResult();
    const text = renderText(result, { verbose: true });
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toContain('120 requests analysed');
    expect(text).toMatch(/Window\s+2026-03-02 14:00:\d\d → 14:00:\d\d UTC/);
    for (const phase of ['preprocess', 'serialize', 'network', 'queue', 'transfer', 'compute', 'postprocess', 'other', 'end-to-end']) {
      expect(text).toMatch(new RegExp(`^  ${phase}\\s+\\d`, 'm'));
    }
    const queue = result.models[0]!.summary.phases.queue!;
    const queueLine = text.split('\n').find((l) => l.startsWith('  queue'))!;
    expect(queueLine).toContain(`${(queue.share * 100).toFixed(1)}%`);
    expect(text).toContain('lenient: snake_case keys: 4');
    expect(text).toContain('3 unreadable spans skipped');
    expect(text).not.toMatch(ANSI);
  });

  it('keeps the numbers of hour-long requests apart (past 1,000,000 ms they are wider than the column)', async () => {
    // Two batch-generation requests of 2 h, most of it queued.
    const spans = [0, 1].flatMap((i) => {
      const request = requestSpan(traceId(900 + i), 0, 7_200_000 + i, { id: `a${i}`.padStart(16, '0') });
      return [request, phaseSpan(request.traceId, request.spanId, 'queue', 0, 7_000_000), phaseSpan(request.traceId, request.spanId, 'compute', 7_000_000, 7_200_000)];
    });
    const text = renderText(await analyzeSpans([spans], { diagnose: false }));
    // Each of p50, p95, p99 and max stands apart, as 7,xxx,xxx (HdrHistogram keeps 3 significant digits).
    expect(text).toMatch(/^  queue {9}(7,\d{3},\d{3} ){4}  97\.2% /m);
    expect(text).toMatch(/^  end-to-end {4}(7,2\d{2},\d{3} ){4}   mean 7,200,001 ms$/m);
  });


  it('fits 80 columns for a server’s own export too: what it was read as, what it lacks and the window wrap', async () => {
    const serving = (name: string): string => new URL(`../fixtures/serving/${name}`, import.meta.url).pathname;
    for (const file of ['genai-client-vllm-server.synthetic.json', 'triton_trace_v2_docs_example.json', 'tgi-router-generate.synthetic.json']) {
      const text = renderText(await analyzeFiles([serving(file)], { diagnose: false }));
      for (const line of text.split('\n').filter((l) => !l.startsWith('  ! '))) expect([...line].length, `${file}: ${line}`).toBeLessThanOrEqual(80);
      expect(text).toMatch(/^Not in this source: /m);
    }
    // The answer first: vLLM's list of what it lacks runs to ten lines, and comes after the verdict and the phase table.
    const vllm = renderText(await analyzeFiles([serving('vllm-llm-request-v1.synthetic.json')])).split('\n');
    const lacks = vllm.findIndex((l) => l.startsWith('Not in this source: '));
    expect(lacks).toBeGreaterThan(vllm.findIndex((l) => l.startsWith('Diagnosis: ')));
    expect(lacks).toBeGreaterThan(vllm.findIndex((l) => l.startsWith('  end-to-end ')));
    expect(vllm.findIndex((l) => l.startsWith('  end-to-end '))).toBeLessThan(24);
    const triton = renderText(await analyzeFiles([serving('triton_trace_v2_docs_example.json')], { diagnose: false }));
    expect(triton).toMatch(/^latency-doctor: 1 request analysed from 1 span in 1 file$/m);
    expect(triton).toMatch(/^  \S+ +Triton trace +1 span$/m);
  });

  it('lists a GPU sample file among the files without a span count that would read as "nothing read"', async () => {
    const demo = new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url).pathname;
    const samples = new URL('../fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl', import.meta.url).pathname;
    const text = renderText(await analyzeFiles([demo, samples], { diagnose: false }));
    expect(text).toMatch(/^  \S+ +OTLP JSON lines +1,980 spans$/m);
    expect(text).toMatch(/^  \S+ +GPU samples$/m);
    const md = renderMarkdown(await analyzeFiles([demo, samples], { diagnose: false }));
    expect(md).toMatch(/^\| `\S+idle-burn-sw-power-cap\.jsonl` \| GPU samples \| – \| – \|$/m);
  });

  it('a hostile export cannot drive the terminal: escape sequences in names are shown escaped, only our colours stay', async () => {
    // The demo export with a model name that sets the window title (OSC 0) and colours, and a
    // service name that clears the screen, as a trace file from elsewhere could carry them.
    const demo = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'ld-report-'));
    try {
      const file = join(dir, 'hostile.jsonl');
      writeFileSync(file, demo.replaceAll('"resnet50"', '"res\\u001b]0;pwned\\u0007net\\u001b[31m50\\u009b2J"').replaceAll('"storefront"', '"shop\\u001b[2J\\u202e"'));
      const result = await analyzeFiles([file], { diagnose: {} });
      expect(result.models[0]!.summary.model).toBe('res\u001b]0;pwned\u0007net\u001b[31m50\u009b2J');
      const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;
      for (const out of [renderText(result), renderMarkdown(result)]) {
        expect(out).not.toMatch(controls);
        expect(out).toContain('res\\x1b]0;pwned\\x07net\\x1b[31m50\\x9b2J');
      }
      // With colours on, colour sequences stay (the report's own; one from the input changes a colour, nothing more).
      const colored = renderText(result, { color: true });
      expect(colored).toContain('res\\x1b]0;pwned\\x07net\u001b[31m50\\x9b2J');
      expect(colored.replace(/\u001b\[[0-9;]*m/g, '')).not.toMatch(controls);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a model whose inference.model.name is empty instead of leaving the heading blank', async () => {
    const spans = [0, 1].flatMap((i) => {
      const request = requestSpan(traceId(950 + i), 0, 10, { model: '' });
      return [request, phaseSpan(request.traceId, request.spanId, 'compute', 1, 9)];
    });
    const text = renderText(await analyzeSpans([[...spans, requestSpan(traceId(960), 0, 10, { model: 'bert' })]], { diagnose: {} }));
    expect(text).toMatch(/^Model \(empty model name\)$/m);
    expect(text).toMatch(/^Diagnosis \(\(empty model name\)\): /m);
    expect(text).not.toMatch(/^Model $|\(\):/m);
  });

  it('requests timed at 0 ns (a clock too coarse for them) are said to be so, not "0% covered, 0% in no phase"', async () => {
    // A millisecond clock around sub-millisecond requests: every span starts and ends in the same tick.
    const spans = Array.from({ length: 60 }, (_, i) => {
      const request = requestSpan(traceId(1000 + i), i, i);
      return [request, phaseSpan(request.traceId, request.spanId, 'compute', i, i)];
    }).flat();
    const result = await analyzeSpans([spans], { diagnose: {} });
    const text = renderText(result);
    expect(text.replace(/\s+/g, ' ')).toMatch(/every request lasts 0 ns \(its spans start and end at the same instant\): the clock that timed them is too coarse/);
    expect(text).not.toMatch(/cover only 0%|Phase spans cover 0\.0%/);
    expect(text).toMatch(/^ {2}Every request lasts 0 ns: no time to share among the phases\.$/m);
  });

  it('uses colour only when asked', async () => {
    const result = await demoResult();
    expect(renderText(result, { color: true })).toMatch(ANSI);
  });

  it('prints one section per model when several models are present', async () => {
    const text = renderText(await demoResult(2));
    expect(text).toContain('Model resnet50');
    expect(text).toContain('Model text|encoder_v2-with-a-really-long-name');
    expect(text.indexOf('Model resnet50')).toBeLessThan(text.indexOf('Model text|'));
  });

  it('shows the diagnosis headline first when there is one', async () => {
    const base = await demoResult();
    const diagnosis = { model: 'resnet50', primary: 'dynamic-batching' as const, headline: 'Queue wait dominates.', recommendations: [], warmupTrimmed: 0, rules: [] };
    const text = renderText({ ...base, models: [{ ...base.models[0]!, diagnosis }] });
    expect(text.indexOf('Diagnosis: dynamic-batching')).toBeGreaterThan(0);
    expect(text.indexOf('Diagnosis')).toBeLessThan(text.indexOf('Files'));
    expect(text).toContain('Queue wait dominates.');
  });

  it('puts the verdict and the whole phase table on the first screen, evidence after', async () => {
    const text = renderText(await analyzeFiles(['examples/traces/inference-demo.otlp.jsonl']));
    const firstScreen = text.split('\n').slice(0, 24).join('\n');
    expect(firstScreen).toMatch(/^Diagnosis: \S+/m);
    expect(firstScreen).toMatch(/^ {2}queue\s+[\d.]+\s+[\d.]+\s+[\d.]+/m);
    expect(firstScreen).toMatch(/^ {2}end-to-end\s+[\d.]+/m);
    expect(text.indexOf('Why')).toBeGreaterThan(text.indexOf('end-to-end'));
  });

  it('says the expected gain of the fix on the first screen, under the verdict, with the figures of the detailed line', async () => {
    const result = await analyzeFiles(['examples/traces/inference-demo.otlp.jsonl']);
    const lines = renderText(result).split('\n');
    const verdict = lines.findIndex((l) => l.startsWith('Diagnosis: '));
    const gain = result.models[0]!.diagnosis!.recommendations[0]!.estimatedGain!;
    const expected = lines.findIndex((l) => l.startsWith('  Fix dynamic-batching: expected p95 '));
    expect(expected).toBeGreaterThan(verdict);
    expect(expected).toBeLessThan(lines.findIndex((l) => l.startsWith('Model ')));
    expect(lines.slice(expected).join(' ').replace(/\s+/g, ' ')).toContain(`Fix dynamic-batching: expected p95 ${gain.currentValue.toFixed(2)} ms → ${gain.expectedValue.toFixed(2)} ms; next step below.`);
    // The same figures as the detailed line under "Why".
    expect(lines.join(' ').replace(/\s+/g, ' ')).toContain(`Expected: p95 ${gain.currentValue.toFixed(2)} ms → ${gain.expectedValue.toFixed(2)} ms (queueing model`);
  });

  it('an export timed before 2000 (a steady clock written as Unix time) shows no 1970 date: a length, on a monotonic clock, in every report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-report-'));
    try {
      const file = join(dir, 'uptime.otlp.jsonl');
      // 5 000 s after the epoch: a host's uptime, not a date.
      writeFileSync(file, toOtlpJsonLines(simulate({ requests: 60, startNs: 5_000_000_000_000n })));
      const result = await analyzeFiles([file]);
      const text = renderText(result);
      expect(text).not.toContain('1970');
      expect(text).toMatch(/^Window {2}[\d.]+ m?s on .*monotonic clock/m);
      expect(renderMarkdown(result)).not.toContain('1970');
      const json = toJsonReport(result);
      expect(json.window).toMatchObject({ clock: 'monotonic', start: null, end: null });
      expect(json.models[0]!.window).toMatchObject({ clock: 'monotonic', start: null, end: null });
      expect(JSON.stringify(json)).not.toContain('1970');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no run of blank lines where a model has no details to show (several models, insufficient data)', async () => {
    const text = renderText(await analyzeFiles(['test/fixtures/traces/jaeger-json/jaeger-ui-genai-agent-trace.json']));
    expect(text.match(/Diagnosis \(/g)).toHaveLength(2);
    expect(text).not.toMatch(/\n\n\n/);
  });

  it("writes a span name's newline as \\n, so the row stays one row (real: 120 spans named \"\\n\" in the Zipkin Lens SmartThings trace)", async () => {
    const text = renderText(await analyzeFiles(['test/fixtures/traces/zipkin-json/zipkin-lens-smartthings-mobile-web-install.json']));
    expect(text).toMatch(/^ {2}bookie \/ \\n +120 +- +601\.9 +0\.2%$/m);
    // Every row of both tables starts with a service name: none is the tail of a name cut by its newline.
    const rows = text.slice(text.indexOf('On the critical path'), text.indexOf('Warnings')).split('\n').filter((l) => l !== '' && !/^(On the|Most self)/.test(l));
    expect(rows).toHaveLength(22);
    for (const row of rows) expect(row).toMatch(/^ {2}\S/);
  });

  it('aligns the operation table by terminal columns: a Chinese name (real: the Zipkin benchmark span) takes two per character', async () => {
    const text = renderText(await analyzeFiles(['test/fixtures/traces/zipkin-json/zipkin-benchmarks-chinese-single-object.json']));
    const lines = text.split('\n');
    const header = lines.find((l) => l.includes('service / operation') && l.includes('crit. ms'))!;
    const row = lines.find((l) => l.includes('订单维护服务 / 个人信息查询'))!;
    expect(row).toMatch(/ 1 +1 +207\.0 +100\.0%$/);
    // Every column ends where the header's does.
    expect(displayWidth(row)).toBe(displayWidth(header));
    // Cut names keep to the width too, whole characters on both sides of the ellipsis.
    const cut = fit('订单维护服务 / 个人信息查询个人信息查询个人信息查询', 20);
    expect(displayWidth(cut)).toBeLessThanOrEqual(20);
    expect(cut).toBe('订单维护服…信息查询');
  });

  it('reports operations by critical path and self time for traces outside the convention', async () => {
    const t = traceId(1);
    const root = span({ trace: t, start: 0, end: 100, name: 'GET /owners', service: 'petclinic-frontend' });
    const db = span({ trace: t, parent: root.spanId, start: 10, end: 80, name: 'SELECT owners', service: 'petclinic-db' });
    const result = await analyzeSpans([[root, db]], { diagnose: false });
    const text = renderText(result);
    expect(text).toContain('No request spans follow the span convention');
    expect(text).toMatch(/petclinic-db \/ SELECT owners\s+1\s+-\s+70\.0\s+70\.0%/);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });
});

/** Every value `example` shows (an abridged copy: `"…"` keys and values, and array items it leaves out, stand for the rest) as it is in `actual`, by path. */
function shownValues(example: unknown, actual: unknown, path = '$'): [string, unknown, unknown][] {
  if (example === '…') return [];
  if (Array.isArray(example)) return example.flatMap((e, i) => shownValues(e, Array.isArray(actual) ? actual[i] : undefined, `${path}[${i}]`));
  if (typeof example === 'object' && example !== null) {
    const at = (typeof actual === 'object' && actual !== null ? actual : {}) as Record<string, unknown>;
    return Object.entries(example).flatMap(([k, v]) => (k === '…' ? [] : shownValues(v, at[k], `${path}.${k}`)));
  }
  return [[path, example, actual]];
}

describe('JSON report', () => {
  it("docs/json-schema.md's example is the bundled demo's output, abridged but with its real values", async () => {
    const doc = readFileSync(new URL('../../docs/json-schema.md', import.meta.url), 'utf8');
    const example = JSON.parse(/## Example \(abridged\)\n\n```json\n([\s\S]*?)```/.exec(doc)![1]!) as unknown;
    const demo = new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url).pathname;
    const actual = toJsonReport(await analyzeFiles([demo]));
    const shown = shownValues(example, { ...actual, files: actual.files.map((f) => ({ ...f, file: 'examples/traces/inference-demo.otlp.jsonl' })) });
    expect(shown.length).toBeGreaterThan(40);
    for (const [path, documented, real] of shown) expect(real, path).toEqual(documented);
  });

  it('carries the documented fields, consistent with the analysis', async () => {
    const result = await demoResult();
    const json = JSON.parse(renderJson(result)) as Record<string, any>;
    expect(json['schema']).toBe('latency-doctor/analysis@1');
    expect(json['requests']).toBe(120);
    const s = result.overall!;
    expect(json['e2e']).toMatchObject({ count: 120 });
    expect(json['e2e'].p50_ms).toBeCloseTo(s.e2e.p50Ms, 5);
    expect(json['e2e'].p95_ms).toBeCloseTo(s.e2e.p95Ms, 5);
    expect(json['e2e'].p99_ms).toBeCloseTo(s.e2e.p99Ms, 5);
    for (const phase of ['queue', 'compute', 'network', 'other']) {
      const p = json['phases'][phase];
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['p50_ms', 'p95_ms', 'p99_ms', 'share']));
      expect(p.share).toBeCloseTo(s.phases[phase as 'queue']!.share, 5);
    }
    expect(json['models']).toHaveLength(1);
    expect(json['models'][0]).toMatchObject({ model: 'resnet50', runtime: 'onnxruntime', precision: 'fp32', device: 'cuda:0', diagnosis: null });
    expect(json['window'].start).toMatch(/^2026-03-02T14:00:/);
    expect(BigInt(json['window'].end_unix_nano)).toBe(result.window!.endNs);
    expect(json['files'][0]).toEqual({ file: result.files[0]!.file, format: 'otlp-jsonl', spans: result.spans, skipped: 3 });
    expect(json).toHaveProperty('diagnosis', null);
    expect(json['warnings']).toEqual([]);
    expect(json['generic']).toBeNull();
  });

  it('puts the diagnosis of the largest model at the top level', async () => {
    const base = await demoResult(2);
    const diagnosis = { model: 'resnet50', primary: 'quantization' as const, headline: 'x', recommendations: [], warmupTrimmed: 0, rules: [] };
    const json = toJsonReport({ ...base, models: [{ ...base.models[0]!, diagnosis }, base.models[1]!] });
    expect(json.diagnosis?.primary).toBe('quantization');
    expect(json.models.map((m) => m.model)).toEqual(['resnet50', 'text|encoder_v2-with-a-really-long-name']);
  });
});

describe('Markdown report', () => {
  it('points to the phase table where it is: below the diagnosis, not "above"', async () => {
    const md = renderMarkdown(await analyzeFiles(['examples/traces/inference-demo.otlp.jsonl']));
    const note = md.indexOf('_Numbers below: ');
    expect(note).toBeGreaterThan(0);
    expect(md.indexOf('| Phase | p50 ms')).toBeGreaterThan(note);
    expect(md.slice(note, md.indexOf('\n', note))).toContain('; the phase table below covers all 220._');
  });

  it('renders a phase table per model and escapes names that would break it', async () => {
    const md = renderMarkdown(await demoResult(2));
    expect(md).toContain('| Phase | p50 ms | p95 ms | p99 ms | max ms | Share of e2e |');
    expect(md).toMatch(/^\| queue \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+% \|$/m);
    expect(md).toContain('### Model `text|encoder_v2-with-a-really-long-name`');
    expect(md).toContain('**180 requests**');
    const withPipe = renderMarkdown({ ...(await demoResult()), files: [{ file: 'a|b.json', format: 'zipkin-json', spans: 1, skipped: 0, leniencies: [] }] });
    expect(withPipe).toContain('| `a\\|b.json` | Zipkin v2 JSON | 1 | 0 |');
  });

  it('says "1 request" and "1 span", as the text report does', async () => {
    const triton = new URL('../fixtures/serving/triton_trace_v2_docs_example.json', import.meta.url).pathname;
    const md = renderMarkdown(await analyzeFiles([triton], { diagnose: false }));
    expect(md).toMatch(/^\*\*1 request\*\* analysed from 1 span over [\d.]+ ms on the server's monotonic clock/m);
    expect(md).toMatch(/^1 request, no rate from one request, 0 errors; /m);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { autoThreads } from '../../src/analyzer/files.js';
import { TraceFormatError } from '../../src/formats/index.js';
import { ModelNotFoundError } from '../../src/errors.js';
import { GPU_SAMPLE_SCHEMA } from '../../src/semconv.js';
import { toJaegerJson, toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';

const fixtures = new URL('../fixtures/traces/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ld-analyze-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A simulated run written as OTLP JSON lines, and 20 sample lines of a loaded H100 over its start (50 ms apart). */
function runWithH100Samples(name: string): { traces: string; samples: string[] } {
  const spans = simulate({ requests: 60 });
  const traces = join(tmp, name);
  writeFileSync(traces, toOtlpJsonLines(spans));
  const startMs = Number(spans[0]!.startNs / 1_000_000n);
  const samples = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({ schema: GPU_SAMPLE_SCHEMA, timeMs: startMs + i * 50, gpus: [{ uuid: 'GPU-1', name: 'NVIDIA H100', utilization: 0.9, temperatureC: 60 + i, smClockMhz: 1980, smClockMaxMhz: 1980 }] }),
  );
  return { traces, samples };
}

describe('analyzeFiles', () => {
  it('keeps Zipkin shared client/server halves of a real trace apart and reports its critical path', async () => {
    const result = await analyzeFiles([join(fixtures, 'zipkin-json/zipkin-lens-smartthings-mobile-web-install.json')], { diagnose: false });
    expect(result.traces).toBe(1);
    expect(result.assembly.duplicateSpans).toBe(0);
    expect(result.requests).toBe(0);
    const generic = result.generic!;
    expect(generic.traces).toBe(1);
    expect(generic.byCriticalPath.length).toBe(10);
    const onPath = generic.byCriticalPath.reduce((sum, o) => sum + o.criticalPathMs, 0);
    expect(onPath).toBeLessThanOrEqual(generic.rootMs + 1e-6);
    expect(generic.byCriticalPath[0]!.criticalPathMs).toBeGreaterThan(0);
  });

  it('reports a duplicate inside one file once, and duplicates across files separately', async () => {
    const single = await analyzeFiles([join(fixtures, 'jaeger-json/jaeger-uimodel-ui_01-edgecases.json')], { diagnose: false });
    expect(single.warnings.filter((w) => /duplicate/.test(w.message))).toHaveLength(1);

    const spans = simulate({ requests: 30 });
    const a = join(tmp, 'a.jsonl');
    const b = join(tmp, 'b.json');
    writeFileSync(a, toOtlpJsonLines(spans));
    // The same run exported twice (OTLP and Jaeger): every span is a duplicate of one in `a`.
    writeFileSync(b, toJaegerJson(spans));
    const both = await analyzeFiles([a, b], { diagnose: false });
    expect(both.requests).toBe(30);
    expect(both.files.map((f) => f.format)).toEqual(['otlp-jsonl', 'jaeger-json']);
    expect(both.assembly.duplicateSpans).toBe(spans.length);
    expect(both.warnings.some((w) => w.message === `${spans.length} duplicate spans (same trace, span id and kind) counted once`)).toBe(true);
  });

  it('words each assembly warning for its count: one span is "a span … it", never "span(s)" or "them"', async () => {
    const spans = simulate({ requests: 30 });
    const a = join(tmp, 'one-of-each-a.jsonl');
    const b = join(tmp, 'one-of-each-b.jsonl');
    writeFileSync(a, toOtlpJsonLines(spans));
    // One span again in a second file (a duplicate across files), and one phase span whose request
    // span is missing: each problem exactly once.
    const phase = spans.find((s) => s.attributes['inference.phase'] === 'queue')!;
    const stray = { ...phase, traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), parentSpanId: 'd'.repeat(16) };
    writeFileSync(b, toOtlpJsonLines([spans[0]!, stray]));
    const result = await analyzeFiles([a, b], { diagnose: false });
    const messages = Object.fromEntries(result.warnings.map((w) => [w.code, w.message]));
    expect(messages['duplicate-span']).toBe('1 duplicate span (same trace, span id and kind) counted once');
    expect(messages['unattached-phase-span']).toBe('1 phase span with no request span above it (missing parent or no inference.model.name on the request span)');
    expect(messages['orphan-span']).toBe("1 span whose parent is not in the input (export the whole trace, or add the other side's file)");
  });

  it('a file holding the same export twice: the late copies are not blamed on --idle-spans alone, the warning names the repeat', async () => {
    // More spans than the 2 000 a complete trace waits for: the first copies' traces are finalized.
    const spans = simulate({ requests: 400 });
    const file = join(tmp, 'exported-twice.jsonl');
    writeFileSync(file, toOtlpJsonLines(spans) + toOtlpJsonLines(spans));
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(400);
    const late = result.warnings.find((w) => w.code === 'late-span')!;
    expect(late.count).toBeGreaterThan(0);
    expect(late.message).toContain('raise --idle-spans for inputs whose traces are spread far apart');
    expect(late.message).toContain('or the same spans were exported twice');
    // Counts past 999 read as the report writes them: 3,501, not 3501.
    expect(late.count).toBeGreaterThan(999);
    expect(late.message).toMatch(/^\d{1,3}(,\d{3})+ spans arrived/);
  });

  it('reads several files in step by time, so client and server halves meet inside a small idle window', async () => {
    const spans = simulate({ requests: 400, seed: 11 });
    const clientFile = join(tmp, 'client-side.jsonl');
    const serverFile = join(tmp, 'server-side.json');
    writeFileSync(clientFile, toOtlpJsonLines(spans.filter((s) => s.service === 'storefront'), 16));
    writeFileSync(serverFile, toJaegerJson(spans.filter((s) => s.service !== 'storefront')));
    // 400 spans of window against 3600 spans of input: without reading in step the client
    // spans (one ninth of the spans) would arrive long after their traces were closed.
    const result = await analyzeFiles([serverFile, clientFile], { diagnose: false, idleSpans: 400 });
    expect(result.requests).toBe(400);
    expect(result.assembly.lateSpans).toBe(0);
    expect(result.timings.rows().every((r) => r.hasClient)).toBe(true);
  });

  it('routes a GPU sample file to device evidence over the traced window', async () => {
    const { traces, samples } = runWithH100Samples('run.jsonl');
    const gpu = join(tmp, 'gpu.jsonl');
    writeFileSync(gpu, samples.join('\n') + '\n');
    const result = await analyzeFiles([traces, gpu], { diagnose: false });
    expect(result.files.map((f) => f.format)).toEqual(['otlp-jsonl', 'gpu-samples']);
    expect(result.requests).toBe(60);
    expect(result.device).toHaveLength(1);
    expect(result.device[0]!.gpuUuid).toBe('GPU-1');
    expect(result.device[0]!.samples).toBeGreaterThan(5);
  });

  it('warns once per GPU sample file with impossible values, naming the first line, and keeps them out of the evidence', async () => {
    const spans = simulate({ requests: 60 });
    const traces = join(tmp, 'run-range.jsonl');
    writeFileSync(traces, toOtlpJsonLines(spans));
    const startMs = Number(spans[0]!.startNs / 1_000_000n);
    const samples = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ schema: GPU_SAMPLE_SCHEMA, timeMs: startMs + i * 50, gpus: [{ uuid: 'GPU-1', utilization: 0.5, temperatureC: i === 3 || i === 7 ? 1e308 : 60 }] }),
    );
    const gpu = join(tmp, 'gpu-range.jsonl');
    writeFileSync(gpu, samples.join('\n') + '\n');
    const result = await analyzeFiles([traces, gpu], { diagnose: false });
    const warning = result.warnings.find((w) => w.code === 'gpu-sample-out-of-range');
    expect(warning).toMatchObject({ file: gpu, location: `${gpu}:4`, count: 2 });
    expect(warning!.message).toContain('temperatureC=1e+308');
    expect(result.device[0]!.temperatureRiseC ?? 0).toBeLessThan(1);
  });

  it('GPU samples outside the traced window: the warning says where they lie, a clock gap apart or around a run shorter than their period', async () => {
    // The real H200 sample file (the sidecar at a 500 ms period, test/fixtures/nvidia-smi/SOURCES.md).
    const gpu = join(import.meta.dirname, '..', 'fixtures', 'nvidia-smi', 'samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl');
    const times = readFileSync(gpu, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { timeMs: number }).timeMs);
    const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
    const lead = /^GPU samples given, but none falls inside the traced window \((\S+) to (\S+)\): /;
    /** The warning past its traced window, and that window (checked to lie where the simulated run does). */
    const warningOf = async (name: string, startMs: number, requests: number): Promise<{ rest: string; windowMs: number }> => {
      const spans = simulate({ requests, startNs: BigInt(startMs) * 1_000_000n });
      const traces = join(tmp, name);
      writeFileSync(traces, toOtlpJsonLines(spans));
      const result = await analyzeFiles([traces, gpu], { diagnose: false });
      expect(result.device).toEqual([]);
      const [warning, ...more] = result.warnings.filter((w) => w.code === 'gpu-samples-outside-window');
      expect(more).toEqual([]);
      const [matched, from, to] = lead.exec(warning!.message) ?? [];
      expect(Date.parse(from!)).toBeGreaterThanOrEqual(startMs);
      return { rest: warning!.message.slice(matched!.length), windowMs: Date.parse(to!) - Date.parse(from!) };
    };
    const span = `the samples run from ${iso(times[0]!)} to ${iso(times.at(-1)!)}`;
    // Traces of a machine whose clock is 3 h ahead of the sidecar's.
    const late = await warningOf('run-clock-ahead.jsonl', times.at(-1)! + 3 * 3600_000, 30);
    expect(late.rest).toBe(`${span}, ending 3 h 00 min before the traces start (a clock that is off between the two machines, or samples of another run; the sidecar stamps samples with its own host clock)`);
    // Three requests (well under the 500 ms period) that start 100 ms after one sample and end before the next.
    const short = await warningOf('run-short.jsonl', times[10]! + 100, 3);
    expect(short.windowMs).toBeLessThan(times[11]! - times[10]! - 100);
    expect(short.rest).toBe(
      `${span}, with none between ${iso(times[10]!)} and ${iso(times[11]!)} (${times[11]! - times[10]!} ms apart), around the traced ${short.windowMs} ms: the run is shorter than the sampling period (the sidecar's --period), or the sidecar was not sampling then`,
    );
  });

  it('GPU samples that end well before the traces do (a clock off by part of the run): the GPU evidence is said to be of the covered part', async () => {
    // The real H200 sample file (42 s at 500 ms); traces of a 60 s run starting 20 s into it, as a clock 20 s behind would place them.
    const gpu = join(import.meta.dirname, '..', 'fixtures', 'nvidia-smi', 'samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl');
    const times = readFileSync(gpu, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { timeMs: number }).timeMs);
    const spans = simulate({ requests: 600, arrivalRps: 10, startNs: BigInt(times[0]! + 20_000) * 1_000_000n });
    const traces = join(tmp, 'run-partly-sampled.jsonl');
    writeFileSync(traces, toOtlpJsonLines(spans));
    const result = await analyzeFiles([traces, gpu], { diagnose: false });
    expect(result.device[0]!.samples).toBeGreaterThan(30);
    const [warning, ...more] = result.warnings.filter((w) => w.code === 'gpu-samples-partial');
    expect(more).toEqual([]);
    const match = /^GPU samples cover (\d+)% of the traced window \((\S+) to (\S+)\): they end (\d+\.\d) s before the traces end, so the GPU evidence is of that part only \(a clock that is off between the two machines, or a sidecar started late or stopped early\)$/.exec(warning?.message ?? '');
    expect(match, warning?.message).not.toBeNull();
    const [, share, from, to, tail] = match!;
    const [startMs, endMs] = [Date.parse(from!), Date.parse(to!)];
    const inside = times.filter((t) => t >= startMs && t <= endMs);
    expect(Number(tail)).toBeCloseTo((endMs - inside.at(-1)!) / 1000, 1);
    expect(Number(share)).toBe(Math.round(((inside.at(-1)! - inside[0]!) / (endMs - startMs)) * 100));
    // Samples over the whole run: no such warning.
    const whole = simulate({ requests: 200, arrivalRps: 10, startNs: BigInt(times[0]! + 5_000) * 1_000_000n });
    const covered = join(tmp, 'run-sampled.jsonl');
    writeFileSync(covered, toOtlpJsonLines(whole));
    expect((await analyzeFiles([covered, gpu], { diagnose: false })).warnings.filter((w) => w.code.startsWith('gpu-samples'))).toEqual([]);
  });

  it('a sample file from a host-only sidecar (no nvidia-smi: no GPU in any sample) says so, not that its samples lie outside the window', async () => {
    const spans = simulate({ requests: 60 });
    const traces = join(tmp, 'run-host-only.jsonl');
    writeFileSync(traces, toOtlpJsonLines(spans));
    const startMs = Number(spans[0]!.startNs / 1_000_000n);
    // What the sidecar writes in host-only mode: the host's figures, an empty GPU list, inside the traced window.
    const samples = Array.from({ length: 20 }, (_, i) => JSON.stringify({ schema: GPU_SAMPLE_SCHEMA, timeMs: startMs + i * 50, gpus: [], host: { cpuUtilization: 0.4, memoryUsedBytes: 6_000_000_000, memoryTotalBytes: 16_000_000_000 } }));
    const gpu = join(tmp, 'gpu-host-only.jsonl');
    writeFileSync(gpu, samples.join('\n') + '\n');
    const result = await analyzeFiles([traces, gpu], { diagnose: false });
    expect(result.device).toEqual([]);
    expect(result.warnings.filter((w) => w.code === 'gpu-samples-outside-window')).toEqual([]);
    expect(result.warnings).toContainEqual({ code: 'read', file: gpu, message: 'no GPU in any of its 20 samples (the sidecar ran host-only: nvidia-smi was missing or failed), so the GPU cannot be judged', count: 20 });
  });

  it('the same GPU samples given twice (a copied or overlapping rotated file) count once, with a warning', async () => {
    const { traces, samples } = runWithH100Samples('run-twice.jsonl');
    const gpu = join(tmp, 'gpu-once.jsonl');
    const copy = join(tmp, 'gpu-once.jsonl.1');
    writeFileSync(gpu, samples.join('\n') + '\n');
    // A rotated copy that overlaps: its last 12 samples are the file's first 12.
    writeFileSync(copy, samples.slice(0, 12).join('\n') + '\n');
    const once = await analyzeFiles([traces, gpu], { diagnose: false });
    const twice = await analyzeFiles([traces, gpu, copy], { diagnose: false });
    expect(twice.device[0]!.samples).toBe(once.device[0]!.samples);
    expect(twice.warnings).toContainEqual({ code: 'read', message: '12 GPU samples given twice (same time and GPUs, in more than one file or twice in one) counted once', count: 12 });
  });

  it('reading in a worker thread gives exactly the result of reading in the main thread', async () => {
    const file = join(tmp, 'threaded.jsonl');
    // Above the 4 MiB threshold, with a broken line to check warnings come across too.
    const lines = toOtlpJsonLines(simulate({ requests: 1300, seed: 3 }), 64).split('\n');
    lines[5] = lines[5]!.slice(0, 100);
    writeFileSync(file, lines.join('\n'));
    const [threaded, inline] = await Promise.all([analyzeFiles([file], { diagnose: false, threads: true }), analyzeFiles([file], { diagnose: false, threads: false })]);
    expect(threaded.spans).toBeGreaterThan(10_000);
    expect(threaded.requests).toBe(inline.requests);
    expect(threaded.overall).toEqual(inline.overall);
    expect(threaded.timings).toEqual(inline.timings);
    expect(threaded.files).toEqual(inline.files);
    expect(threaded.warnings).toEqual(inline.warnings);
    expect(threaded.warnings[0]!.message).toMatch(/skipped/);
  });

  it('spans in our convention read straight into the assembler give the analysis of the full reader, also where a GenAI client span holds their trace for its convention', async () => {
    // A GenAI client span (a trace-scoped convention) in every third trace, written before the
    // trace's own spans: the mapper holds those traces, so their phase and request spans, read
    // as column rows, go through it as records again; in the other traces they pass straight by.
    const file = join(tmp, 'scanned-held.jsonl');
    const lines = toOtlpJsonLines(simulate({ requests: 400, seed: 11 }), 16).split('\n').filter((l) => l !== '');
    const seen = new Set<string>();
    const out: string[] = [];
    let n = 0;
    for (const line of lines) {
      for (const m of line.matchAll(/"traceId":"([0-9a-f]{32})","spanId":"[0-9a-f]{16}"(?:,"parentSpanId":"[0-9a-f]*")?(?:,"flags":\d+)?,"name":"[^"]*"(?:,"kind":\d)?,"startTimeUnixNano":"(\d+)"/g)) {
        const [, traceId, start] = m;
        if (seen.has(traceId!)) continue;
        seen.add(traceId!);
        if (n++ % 3 !== 0) continue;
        const t0 = BigInt(start!) - 1000n;
        const attributes = [
          { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
          { key: 'gen_ai.request.model', value: { stringValue: 'm' } },
        ];
        const span = { traceId, spanId: n.toString(16).padStart(16, 'a'), name: 'chat m', kind: 3, startTimeUnixNano: `${t0}`, endTimeUnixNano: `${t0 + 90_000_000n}`, attributes };
        out.push(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'app' } }] }, scopeSpans: [{ spans: [span] }] }] }));
      }
      out.push(line);
    }
    expect(n).toBeGreaterThan(100);
    writeFileSync(file, `${out.join('\n')}\n`);
    const full = await analyzeFiles([file], { reader: 'full' });
    const fast = await analyzeFiles([file]);
    expect(fast.files[0]!.fastReader?.fallbacks).toBe(0);
    expect(fast.conventions.map((c) => c.id)).toEqual(['genai-client']);
    const { files, ...rest } = fast;
    const { files: fullFiles, ...fullRest } = full;
    expect(rest).toEqual(fullRest);
    expect(files.map(({ fastReader: _f, ...f }) => f)).toEqual(fullFiles);
  });

  it('the fast JSON lines reader (the default) gives exactly the analysis of the full reader, on one thread and in a worker', async () => {
    const file = join(tmp, 'fast-vs-full.jsonl');
    const lines = toOtlpJsonLines(simulate({ requests: 1300, seed: 5 }), 64).split('\n');
    lines[7] = lines[7]!.slice(0, 100);
    writeFileSync(file, lines.join('\n'));
    const full = await analyzeFiles([file], { reader: 'full' });
    expect(full.files[0]!.fastReader).toBeUndefined();
    for (const threads of [false, true]) {
      const fast = await analyzeFiles([file], { threads });
      // The fast path read every line but the broken one (the first too: detection told its family from it).
      expect(fast.files[0]!.fastReader).toEqual({ lines: lines.filter((l) => l !== '').length - 1, fallbacks: 1 });
      const { files, ...rest } = fast;
      const { files: fullFiles, ...fullRest } = full;
      expect(rest).toEqual(fullRest);
      expect(files.map(({ fastReader: _f, ...f }) => f)).toEqual(fullFiles);
    }
  });

  it('keeps the spans of lines the fast reader hands to the full parser wherever they fall in a batch, the last lines included', async () => {
    const file = join(tmp, 'fallbacks-last.jsonl');
    const lines = toOtlpJsonLines(simulate({ requests: 600, seed: 9 }), 64)
      .split('\n')
      .filter((l) => l !== '');
    // snake_case keys: the full reader's spelling alone, so these lines come as records among the scanned rows.
    const snake = (line: string): string => line.replace(/"(traceId|spanId|parentSpanId|startTimeUnixNano|endTimeUnixNano|scopeSpans|resourceSpans|stringValue|intValue)"/g, (_m, key: string) => `"${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}"`);
    const changed = [5, lines.length - 2, lines.length - 1];
    for (const at of changed) lines[at] = snake(lines[at]!);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const full = await analyzeFiles([file], { reader: 'full' });
    const fast = await analyzeFiles([file], { threads: 1 });
    expect(fast.files[0]!.fastReader?.fallbacks).toBe(changed.length);
    expect(fast.requests).toBe(600);
    const { files, ...rest } = fast;
    const { files: fullFiles, ...fullRest } = full;
    expect(rest).toEqual(fullRest);
    expect(files.map(({ fastReader: _f, ...f }) => f)).toEqual(fullFiles);
  });

  it('a file under 64 MiB whose first line is past 4 MiB (read whole at detection) gives the analysis of the full reader: JSON lines of long lines, and a one-line Jaeger document', async () => {
    const sim = simulate({ requests: 4500, seed: 21 });
    const lines = join(tmp, 'long-lines.jsonl');
    writeFileSync(lines, toOtlpJsonLines(sim, 13500));
    const document = join(tmp, 'one-line.jaeger.json');
    writeFileSync(document, toJaegerJson(simulate({ requests: 1000, seed: 22 })));
    for (const [file, requests] of [
      [lines, 4500],
      [document, 1000],
    ] as const) {
      const firstLine = readFileSync(file, 'latin1').indexOf('\n');
      expect(firstLine === -1 || firstLine > 4 * 1024 * 1024).toBe(true);
      const fast = await analyzeFiles([file], { threads: 1 });
      const full = await analyzeFiles([file], { reader: 'full' });
      expect(fast.requests).toBe(requests);
      const { files, ...rest } = fast;
      const { files: fullFiles, ...fullRest } = full;
      expect(rest).toEqual(fullRest);
      expect(files.map(({ fastReader: _f, ...f }) => f)).toEqual(fullFiles.map(({ fastReader: _f, ...f }) => f));
    }
  }, 60_000);

  it('uses reader threads unasked only for a file of 128 MiB or more on 4 cores or more, and then two', () => {
    const MiB = 1024 * 1024;
    expect(autoThreads(2, 1000 * MiB)).toBe(1);
    expect(autoThreads(3, 1000 * MiB)).toBe(1);
    expect(autoThreads(4, 127 * MiB)).toBe(1);
    expect(autoThreads(4, 128 * MiB)).toBe(2);
    expect(autoThreads(16, 1000 * MiB)).toBe(2);
    expect(autoThreads(16, 0)).toBe(1);
  });

  it('a format error in a worker thread surfaces as the same one-line TraceFormatError', async () => {
    const file = join(tmp, 'bad-threaded.jsonl');
    writeFileSync(file, toOtlpJsonLines(simulate({ requests: 1300, seed: 4 }), 64).replace(/\n[^\n]*\n$/, '\n{"resourceSpans": 7}\n'));
    const failure = (threads: boolean) => analyzeFiles([file], { diagnose: false, threads, strict: true }).then(() => undefined, (e: unknown) => e);
    const [threaded, inline] = await Promise.all([failure(true), failure(false)]);
    expect(threaded).toBeInstanceOf(TraceFormatError);
    expect((threaded as Error).message).toBe((inline as Error).message);
  });

  it('filters by model and says which models exist when the name matches none', async () => {
    const file = join(tmp, 'one-model.jsonl');
    writeFileSync(file, toOtlpJsonLines(simulate({ requests: 10 })));
    expect((await analyzeFiles([file], { diagnose: false, model: 'resnet50' })).requests).toBe(10);
    const failure = await analyzeFiles([file], { diagnose: false, model: 'bert' }).then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelNotFoundError);
    expect((failure as ModelNotFoundError).message).toBe(`--model "bert" matches no model in ${file}; models seen: resnet50 (1)`);
    expect((failure as ModelNotFoundError).exitCode).toBe(2);
  });
});

describe('client spans written without a kind', () => {
  // The OpenTelemetry SDKs record INTERNAL when the caller names no kind, a Zipkin span without
  // `kind` means a local span, and OTLP may leave it at 0: with inference.role = client each is
  // still the request's client span, not a second request.
  const demo = new URL('../../examples/traces/', import.meta.url).pathname;
  const variants: [string, string, (text: string) => string][] = [
    ['Zipkin, kind left out', 'inference-demo.zipkin.json', (t) => t.replaceAll('"kind":"CLIENT",', '')],
    ['OTLP, kind INTERNAL', 'inference-demo.otlp.jsonl', (t) => t.replaceAll('"kind":3', '"kind":1')],
    ['OTLP, kind left out (UNSPECIFIED)', 'inference-demo.otlp.jsonl', (t) => t.replaceAll('"kind":3,', '')],
  ];
  for (const [label, file, rewrite] of variants) {
    it(`${label}: the same requests, client spans and e2e as with kind CLIENT, from both readers`, async () => {
      const original = readFileSync(join(demo, file), 'utf8');
      const rewritten = rewrite(original);
      expect(rewritten).not.toBe(original);
      const path = join(tmp, `no-kind-${file}`);
      writeFileSync(path, rewritten);
      const expected = await analyzeFiles([join(demo, file)], { diagnose: false });
      expect(expected.requests).toBe(220);
      for (const reader of ['fast', 'full'] as const) {
        const result = await analyzeFiles([path], { diagnose: false, reader });
        expect(result.requests).toBe(220);
        expect(result.timings.rows().filter((r) => r.hasClient)).toHaveLength(220);
        expect(result.overall?.e2e).toEqual(expected.overall?.e2e);
        expect(result.overall?.phases).toEqual(expected.overall?.phases);
      }
    });
  }
});

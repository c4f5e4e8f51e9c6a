import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisError, analyzeFiles, analyzeSpans } from '../../src/analyzer/index.js';
import { readAllSpans } from '../../src/formats/index.js';
import type { GpuSample } from '../../src/model/gpu.js';
import type { SpanRecord } from '../../src/model/span.js';
import { GPU_SAMPLE_SCHEMA } from '../../src/semconv.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';
import { EPOCH_NS, phaseSpan, requestSpan, span, traceId } from './_spans.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-pipeline-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fixtures = new URL('../fixtures/traces/', import.meta.url).pathname;

/** `n` requests of 10 ms each (queue 4 + compute 6), one every 20 ms. */
function requests(n: number, model = 'resnet50'): SpanRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const trace = traceId(i + 1);
    const t = i * 20;
    const root = requestSpan(trace, t, t + 10, { model });
    return [root, phaseSpan(trace, root.spanId, 'queue', t, t + 4), phaseSpan(trace, root.spanId, 'compute', t + 4, t + 10)];
  }).flat();
}

function gpuSamples(fromMs: number, toMs: number): GpuSample[] {
  const start = Number(EPOCH_NS / 1_000_000n);
  const out: GpuSample[] = [];
  for (let t = fromMs; t <= toMs; t += 25) out.push({ schema: GPU_SAMPLE_SCHEMA, timeMs: start + t, gpus: [{ uuid: 'GPU-1', utilization: 0.5, smClockMhz: 1980, smClockMaxMhz: 1980 }] } as GpuSample);
  return out;
}

describe('analyzeSpans (the pure pipeline)', () => {
  it('calls collect once, when every batch is read and before the summaries, the result as without it', async () => {
    const spans = requests(30);
    const seen: string[] = [];
    async function* batches(): AsyncGenerator<SpanRecord[]> {
      for (let i = 0; i < spans.length; i += 20) {
        seen.push('batch');
        yield spans.slice(i, i + 20);
      }
      seen.push('read');
    }
    const result = await analyzeSpans(batches(), { collect: () => seen.push('assembled') });
    expect(seen).toEqual(['batch', 'batch', 'batch', 'batch', 'batch', 'read', 'assembled']);
    expect(result).toEqual(await analyzeSpans([spans]));
    expect(result.overall?.requests).toBe(30);
  });

  it('gives what analyzeFiles gives for the same spans, without touching a file', async () => {
    const file = join(tmp, 'run.jsonl');
    writeFileSync(file, toOtlpJsonLines(simulate({ requests: 80, seed: 5 })));
    const { spans } = await readAllSpans(file);
    const fromSpans = await analyzeSpans([spans]);
    const fromFile = await analyzeFiles([file]);
    expect(fromSpans.files).toEqual([]);
    expect(fromSpans.requests).toBe(80);
    expect(fromSpans.models).toEqual(fromFile.models);
    expect(fromSpans.assembly).toEqual(fromFile.assembly);
  });

  it('sizes the GPU windows by windows.count, default or overridden (--threshold windows.count=)', async () => {
    const spans = requests(100);
    const samples = gpuSamples(0, 2000);
    const byDefault = await analyzeSpans([spans], { gpuSamples: samples });
    expect(byDefault.device[0]?.windows).toHaveLength(10);
    const overridden = await analyzeSpans([spans], { gpuSamples: samples, diagnose: { thresholds: { 'windows.count': 4 } } });
    expect(overridden.device[0]?.windows).toHaveLength(4);
    expect(overridden.timeline).toHaveLength(4);
    expect(overridden.models[0]?.diagnosis?.rules.find((r) => r.rule === 'validity')?.thresholds['windows.count']).toBe(4);
  });

  it('strict: spans the assembler drops fail the run with one AnalysisError line; otherwise a coded warning', async () => {
    const backwards = span({ trace: traceId(999), name: 'broken', start: 50, end: 40 });
    const spans = [...requests(3), backwards];
    const lenient = await analyzeSpans([spans]);
    expect(lenient.warnings.map((w) => [w.code, w.count])).toEqual([['invalid-span', 1]]);
    await expect(analyzeSpans([spans], { strict: true })).rejects.toThrow(new AnalysisError('--strict: input: 1 span ending before it starts, 0 spans arriving after their trace was finalized'));
    // Readers refuse a backwards span in strict mode themselves; a late span passes them and only the assembler sees it.
    const late = (id: string, trace: number, start: number) => ({ traceId: traceId(trace), spanId: id.repeat(16), name: 'op', service: 's', kind: 'internal' as const, startNs: EPOCH_NS + BigInt(start) * 1_000_000n, endNs: EPOCH_NS + BigInt(start + 1) * 1_000_000n, attributes: {} });
    const file = join(tmp, 'late.jsonl');
    writeFileSync(file, toOtlpJsonLines([late('a', 1, 0), late('b', 2, 1), late('c', 2, 2), late('d', 2, 3), late('e', 1, 4)], 1));
    const error = await analyzeFiles([file], { strict: true, idleSpans: 2, diagnose: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisError);
    expect((error as AnalysisError).message).toBe(`--strict: ${file}: 0 spans ending before they start, 1 span arriving after its trace was finalized`);
    expect((error as AnalysisError).exitCode).toBe(2);
  });

  it("keeps the reader's duplicate warning for one file and drops the assembler's for the same spans (by count, not by words)", async () => {
    const single = await analyzeFiles([join(fixtures, 'jaeger-json/jaeger-uimodel-ui_01-edgecases.json')], { diagnose: false });
    expect(single.assembly.duplicateSpans).toBeGreaterThan(0);
    expect(single.warnings.filter((w) => w.code === 'duplicate-span')).toEqual([]);
    const fromReader = single.warnings.filter((w) => w.code === 'read' && w.file?.endsWith('edgecases.json') === true);
    expect(fromReader.map((w) => w.count)).toEqual([single.assembly.duplicateSpans]);
  });

  it("maps a server's own spans (stage 2, the conventions) the same from memory as from the file", async () => {
    const file = new URL('../fixtures/serving/triton-otel-http.synthetic.json', import.meta.url).pathname;
    const { spans } = await readAllSpans(file);
    const fromSpans = await analyzeSpans([spans.slice(0, 3), spans.slice(3)], { diagnose: false });
    const fromFile = await analyzeFiles([file], { diagnose: false });
    expect(fromSpans.conventions.map((c) => c.id)).toEqual(['triton']);
    expect(fromSpans.conventions).toEqual(fromFile.conventions);
    expect(fromSpans.requests).toBe(fromFile.requests);
    expect(fromSpans.requests).toBeGreaterThan(0);
  });
});

/**
 * An LLM serving engine whose source carries no generation figures (TGI's router spans: timings
 * and a token count, no first token) spends its time in inference. None of the compute rules'
 * classic forms (ONNX export and trtexec, FP16/INT8 builds, pruning a CNN) is a step for it, and
 * all three say so alike, on the first screen too (the headline names what blocked each).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';

const FIXTURE = new URL('../fixtures/serving/tgi-router-generate.synthetic.json', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ld-llm-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface OtlpSpan {
  traceId: string;
  spanId: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

/** The router's one `generate` span, as TGI exports it, repeated `n` times 50 ms apart, each in a trace of its own: enough requests to diagnose. */
function routerExport(n: number): string {
  const doc = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { resourceSpans: [{ scopeSpans: [{ spans: OtlpSpan[] }] }] };
  const scope = doc.resourceSpans[0].scopeSpans[0];
  const [span] = scope.spans;
  scope.spans = Array.from({ length: n }, (_, i) => {
    const shift = BigInt(i) * 50_000_000n;
    return {
      ...span!,
      traceId: (i + 1).toString(16).padStart(32, '0'),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      startTimeUnixNano: String(BigInt(span!.startTimeUnixNano) + shift),
      endTimeUnixNano: String(BigInt(span!.endTimeUnixNano) + shift),
    };
  });
  const file = join(dir, 'tgi-router.json');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('compute-bound on TGI, without generation figures', () => {
  it('optimized-runtime, quantization and prune-distill all decline their classic forms, naming the engine', async () => {
    const result = await analyzeFiles([routerExport(200)]);
    const model = result.models[0]!;
    expect(result.conventions.map((c) => c.label)).toEqual(['TGI router span']);
    expect(model.summary.phases.compute?.share).toBeGreaterThan(0.9);
    const d = model.diagnosis!;
    for (const id of ['optimized-runtime', 'quantization', 'prune-distill']) {
      const rule = d.rules.find((r) => r.rule === id)!;
      expect(rule.fired, id).toBe(false);
      expect(rule.reason, id).toMatch(/^already served by tgi, an LLM serving engine: /);
      expect(rule.inputs['engine'], id).toBe('tgi');
    }
    // Before, prune-distill alone judged the classic form and told a TGI user to "quantize first".
    expect(d.headline).toMatch(/prune-distill: already served by tgi/);
    expect(d.headline).not.toMatch(/quantize first|hardware-specific runtime first/);
    expect(d.recommendations.map((r) => r.nextStep.snippet?.code ?? '').join('\n')).not.toMatch(/trtexec|onnx|prune\./i);
  });
});

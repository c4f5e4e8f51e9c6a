/**
 * @module test/analyzer/conventions/duplicate-exports.test
 * The same serving export given twice (overlapping exports, a file copied under another name):
 * the trace-scoped conventions must see each span once, as the assembler counts it once. Before,
 * vLLM's llm_request span and its copy read as two parallel samples of one request (output tokens
 * doubled, TPOT halved, the report saying "parallel-sampling") and a TGI handler span's copy as one
 * more failed request, while the duplicate warning said the copies were counted once.
 */
import { describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import { SERVING, TGI_FAILED_CANCELLED } from './_helpers.js';

describe('a serving export given twice reads as given once', () => {
  it('vLLM llm_request spans under client spans: no parallel samples made of the copies, TPOT and tokens as in one copy', async () => {
    const file = SERVING + 'genai-client-vllm-busy-api-server.synthetic.json';
    const once = await analyzeFiles([file], { diagnose: false });
    const twice = await analyzeFiles([file, file], { diagnose: false });
    expect(twice.requests).toBe(60);
    expect(twice.conventions.map((c) => [c.label, c.requests])).toEqual(once.conventions.map((c) => [c.label, c.requests]));
    expect(twice.conventions.some((c) => /parallel-sampling/.test(c.label))).toBe(false);
    const [a, b] = [once.models[0]!.summary.generation!, twice.models[0]!.summary.generation!];
    expect(b.tpot?.p50Ms).toBe(a.tpot?.p50Ms);
    expect(b.tokensOut?.mean).toBe(a.tokensOut?.mean);
    expect(b.tokensPerS).toBe(a.tokensPerS);
    // Every span of the second copy is a duplicate, the llm_request spans included.
    expect(twice.assembly.duplicateSpans).toBe(120);
  });

  it('TGI router spans of failed and cancelled requests: each failure counted once', async () => {
    const file = SERVING + TGI_FAILED_CANCELLED;
    const twice = await analyzeFiles([file, file], { diagnose: false });
    expect(twice.models[0]!.summary).toMatchObject({ requests: 4, errors: 3, failures: { server: 1, client: 2, cancelled: 2 } });
    // The finished requests' handler spans are mapped one at a time (span-scoped): counted once in "Read as" too.
    expect(twice.conventions.find((c) => c.label === 'TGI router span')?.requests).toBe(4);
    expect(twice.conventions.filter((c) => c.ended !== undefined).map((c) => [c.ended, c.requests])).toEqual([
      ['client-error', 2],
      ['cancelled', 2],
      ['server-error', 1],
    ]);
  });

  it('vLLM llm_request spans without a parent (mapped one at a time): "Read as" counts the requests analysed, not the copies', async () => {
    const file = SERVING + 'vllm-llm-request-v1.synthetic.json';
    const twice = await analyzeFiles([file, file], { diagnose: false });
    expect(twice.requests).toBe(2);
    expect(twice.conventions.map((c) => [c.label, c.requests])).toEqual([['vLLM llm_request span (v1 engine)', 2]]);
  });
});

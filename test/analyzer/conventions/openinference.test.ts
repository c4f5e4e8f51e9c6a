/**
 * OpenInference spans (Arize-ai/openinference): LLM and EMBEDDING spans are client-side inference
 * requests, mapped as GenAI client spans are; the agent's own spans (AGENT, CHAIN, TOOL,
 * RETRIEVER) are not, nor is an LLM span above another model call; a span that carries both
 * OpenInference and GenAI attributes counts once; the model's inputs and outputs never reach a report.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import type { AnalysisResult } from '../../../src/analyzer/index.js';
import { timePerOutputTokenMs } from '../../../src/model/generation.js';
import { otlpToJaeger, otlpToZipkin } from '../../support/collector-export.js';
import type { TracesData } from '../../support/collector-export.js';
import { runCli } from '../../support/cli.js';
import { analyzeServing, phasesOf, SERVING } from './_helpers.js';

const AGENT = 'openinference-langchain-openai.synthetic.json';
const VLLM = 'openinference-vllm-server.synthetic.json';
const ALONE_STREAMED = 'OpenInference LLM span (alone: end-to-end and time to first chunk)';

const dir = mkdtempSync(join(tmpdir(), 'ld-openinference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each request as [model, e2e ms, TTFT ms, tokens in, out, cached], in start order. */
function requestsOf(result: AnalysisResult): unknown[] {
  return result.timings
    .rows()
    .sort((a, b) => Number(a.startNs - b.startNs))
    .map((r) => [r.model, r.e2eMs, r.ttftMs, r.tokensIn, r.tokensOut, r.tokensCached]);
}

describe('OpenInference LLM and EMBEDDING spans (synthetic, as openinference-instrumentation-langchain and -openai write them)', () => {
  it('counts each model call once: the OpenAI SDK’s spans under LangChain’s LLM spans, the embedding under the retriever, and a span with GenAI attributes too', async () => {
    const result = await analyzeServing(AGENT);
    expect(result.conventions.map((c) => [c.label, c.requests])).toEqual([[ALONE_STREAMED, 4]]);
    expect(result.requests).toBe(4);
    expect(requestsOf(result)).toEqual([
      // The streamed ChatCompletion: its First Token Stream Event 230 ms after its start; 256 of its 420 prompt tokens from the cache.
      ['gpt-4o-mini-2024-07-18', 880, 230, 420, 35, 256],
      ['text-embedding-3-small', 120, undefined, 12, undefined, undefined],
      ['gpt-4o-mini-2024-07-18', 1230, undefined, 610, 88, 0],
      // OpenLLMetry's client span with OpenInference's attributes added: its first chunk event is the first token.
      ['gpt-4o-mini', 812.5, 200, 42, 7, 0],
    ]);
    const streamed = result.timings.rows().find((r) => r.ttftMs === 230)!;
    expect(phasesOf(streamed)).toEqual({ other: 880, e2e: 880 });
    // (880 − 230) ÷ (35 − 1), by hand.
    expect(timePerOutputTokenMs(streamed.e2eMs, streamed.ttftMs, streamed.tokensOut)).toBeCloseTo(650 / 34, 9);
    expect(result.conventions[0]!.unseen).toEqual(['server-side phases (no server span in the trace)', 'batch size']);
  });

  it('with the vLLM server span under it: the request’s client span, client − server left unattributed', async () => {
    const result = await analyzeServing(VLLM);
    expect(result.conventions.map((c) => c.label).sort()).toEqual(['OpenInference LLM span (with the server span: client − server unattributed, the server records no split)', 'vLLM llm_request span (v1 engine)']);
    expect(result.requests).toBe(1);
    const [request] = result.timings;
    expect(request!.hasClient).toBe(true);
    expect(phasesOf(request!)).toEqual({ preprocess: 5.433, queue: 12.345, prefill: 87.654, decode: 1234.567, postprocess: 5.679, other: 54.322, e2e: 1400 });
    expect(request!.serverMs).toBeCloseTo(1345.678, 9);
  });

  it.each([AGENT, VLLM])('%s: the same requests from OTLP, Jaeger and Zipkin', async (name) => {
    const doc = JSON.parse(readFileSync(SERVING + name, 'utf8')) as TracesData;
    const jaeger = join(dir, `${name}.jaeger.json`);
    const zipkin = join(dir, `${name}.zipkin.json`);
    writeFileSync(jaeger, otlpToJaeger(doc));
    writeFileSync(zipkin, otlpToZipkin(doc));
    const otlp = await analyzeServing(name);
    const want = { conventions: otlp.conventions.map((c) => [c.label, c.requests]), requests: requestsOf(otlp) };
    expect(want.conventions.map(([label]) => label)).toContainEqual(expect.stringMatching(/^OpenInference LLM span/));
    for (const reader of ['fast', 'full'] as const) {
      for (const file of [jaeger, zipkin]) {
        const result = await analyzeFiles([file], { diagnose: false, reader });
        expect({ conventions: result.conventions.map((c) => [c.label, c.requests]), requests: requestsOf(result) }, `${file} ${reader}`).toEqual(want);
      }
    }
  });
});

describe('latency-doctor analyze on an OpenInference export (the built CLI)', { timeout: 120_000 }, () => {
  const file = 'test/fixtures/serving/' + AGENT;

  it('says what it read, and what the source does not record, on the first screen', async () => {
    const run = await runCli('analyze', file);
    expect(run.code, run.stderr).toBe(0);
    const firstScreen = run.stdout.split('\n').slice(0, 24).join('\n').replace(/\s+/g, ' ');
    expect(firstScreen).toMatch(/Read as OpenInference LLM span \(alone: end-to-end and time to first chunk\) \(4 requests\)/);
    expect(run.stdout.replace(/\s+/g, ' ')).toMatch(/Not in this source: server-side phases \(no server span in the trace\)/);
    expect(run.stdout).not.toMatch(/No request spans follow the span convention/);
  });

  it('never writes the model’s inputs or outputs (input.value, output.value, messages) in text, --json or --html', async () => {
    const html = join(dir, 'report.html');
    const [text, json, page] = await Promise.all([runCli('analyze', file), runCli('analyze', file, '--json'), runCli('analyze', file, '--html', html)]);
    for (const run of [text, json, page]) expect(run.code, run.stderr).toBe(0);
    const outputs = [text.stdout, text.stderr, json.stdout, json.stderr, page.stdout, page.stderr, readFileSync(html, 'utf8')];
    // The fixture's contents carry these markers, in input.value, output.value, the messages and the embedding text.
    expect(readFileSync(SERVING + AGENT, 'utf8')).toMatch(/PROMPT-SECRET-4b7e[\s\S]*COMPLETION-SECRET-9c2d/);
    for (const out of outputs) expect(out).not.toMatch(/SECRET|order 1182/);
    expect(JSON.parse(json.stdout)).toMatchObject({ requests: 4 });
  });
});

/**
 * @module test/formats/quoted-enums.test
 * OTLP/JSON span kinds and status codes written as their number in a string (`"kind": "3"`,
 * `"code": "2"`: what a tool that quotes every number writes, and what proto3 JSON parsers such
 * as protobuf's Python json_format read as the number) read as those numbers, by the full reader
 * (a document) and the fast one (JSON lines). Before, they read as no kind and no status: the
 * GenAI client spans of a busy vLLM service were no client spans (e2e p50 733 → 379 ms, the API
 * server's 350 ms gone) and TGI's failed requests were no errors (3 → 0), without a warning.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import type { AnalysisResult } from '../../src/analyzer/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface OtlpDoc {
  resourceSpans: { resource: unknown; scopeSpans: { scope?: unknown; spans: { kind?: unknown; status?: { code?: unknown } }[] }[] }[];
}

/** The serving fixture with every kind and status code quoted, as one document and as JSON lines of one span each. */
function quoted(name: string): { document: string; lines: string } {
  const doc = JSON.parse(readFileSync(`test/fixtures/serving/${name}`, 'utf8')) as OtlpDoc;
  const lines: string[] = [];
  for (const rs of doc.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        if (typeof span.kind === 'number') span.kind = String(span.kind);
        if (typeof span.status?.code === 'number') span.status.code = String(span.status.code);
        lines.push(JSON.stringify({ resourceSpans: [{ resource: rs.resource, scopeSpans: [{ scope: ss.scope, spans: [span] }] }] }));
      }
    }
  }
  return { document: tmp.write(`${name}.quoted.json`, JSON.stringify(doc)), lines: tmp.write(`${name}.quoted.jsonl`, `${lines.join('\n')}\n`) };
}

async function analyze(file: string): Promise<AnalysisResult> {
  return analyzeFiles([file], { diagnose: false });
}

describe('OTLP/JSON enums written as numbers in strings', () => {
  it('a quoted CLIENT kind is a client span: the e2e of GenAI client spans over vLLM keeps the API server time', async () => {
    const name = 'genai-client-vllm-busy-api-server.synthetic.json';
    const original = await analyze(`test/fixtures/serving/${name}`);
    const { document, lines } = quoted(name);
    for (const file of [document, lines]) {
      const result = await analyze(file);
      expect(result.requests, file).toBe(60);
      expect(result.models[0]!.summary.e2e.p50Ms, file).toBe(original.models[0]!.summary.e2e.p50Ms);
      expect(result.models[0]!.summary.e2e.p50Ms, file).toBeGreaterThan(700);
      expect(result.conventions.map((c) => c.label), file).toEqual(original.conventions.map((c) => c.label));
    }
  });

  it('a quoted ERROR status is an error: TGI failures are counted and split as in the original', async () => {
    const name = 'tgi-router-failed-cancelled.synthetic.json';
    const { document, lines } = quoted(name);
    for (const file of [document, lines]) {
      const result = await analyze(file);
      expect(result.models[0]!.summary, file).toMatchObject({ requests: 4, errors: 3, failures: { server: 1, client: 2, cancelled: 2 } });
    }
  });
});

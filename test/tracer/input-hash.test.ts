/**
 * `req.hashInput` with what a JavaScript service may pass: a string and the input's bytes are
 * hashed (equal inputs, equal hashes; different inputs, different hashes), anything else (a plain
 * number[]) records no hash and is said once; written by the trace file fallback and read back.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-input-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `inference.input.hash` of each request span in the file, in order ('' when absent). */
function hashes(file: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const data = JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] };
    for (const rs of data.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          if (!s.attributes.some((a) => a.key === ATTR.MODEL_NAME)) continue;
          out.push(s.attributes.find((a) => a.key === ATTR.INPUT_HASH)?.value.stringValue ?? '');
        }
  }
  return out;
}

describe('req.hashInput', () => {
  it('hashes strings and bytes by content, and records no hash for a plain array', async () => {
    const file = join(dir, 'hashes.jsonl');
    const warnings: string[] = [];
    const tracing = setupTracing({ exporter: { file }, metrics: false, onWarning: (m) => warnings.push(m) });
    const tracer = createInferenceTracer({ model: 'm', hashInputs: { key: 'fleet-key' } });
    const inputs: unknown[] = [
      new Float32Array([0.1, 0.2]),
      new Float32Array([0.1, 0.2]).buffer,
      new Float32Array([0.3, 0.4]),
      'a prompt',
      'another prompt',
      [0.1, 0.2],
      [0.3, 0.4],
    ];
    const returned = inputs.map((input) => tracer.infer((req) => req.hashInput(input as string)));
    await tracing.shutdown();
    const recorded = hashes(file);
    expect(recorded).toEqual(returned.map((h) => h ?? ''));
    const [f1, f1Buffer, f2, s1, s2, a1, a2] = recorded;
    expect(f1).toMatch(/^[0-9a-f]{32}$/);
    expect(f1Buffer).toBe(f1);
    expect(new Set([f1, f2, s1, s2]).size).toBe(4);
    // Before: both arrays (and every other array) got the hash of no bytes at all.
    expect([a1, a2]).toEqual(['', '']);
    expect(warnings.filter((w) => w.includes('hashInput'))).toEqual([
      "latency-doctor tracer: req.hashInput() takes a string or the input's bytes (a typed array, Buffer, DataView or ArrayBuffer), got an array; no hash recorded",
    ]);
  });
});

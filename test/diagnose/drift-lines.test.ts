/**
 * Every latency-drift line reads earlier → later, and its gain is worded as the expectation it is
 * (now → once fixed), on the trace path; test/prometheus/triton-vllm-backend.test.ts checks the
 * same on a replayed Prometheus run, where the bug was reported ("p95 1414 → 984 ms" printed
 * next to "p95 rises from 984 ms to 1414 ms").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { driftLines } from '../support/drift-lines.js';
import { writeAs } from '../support/synth.js';
import { generate } from './gen.js';
import { HALF_THROTTLED } from './scenarios.js';
import { toSpans } from './to-spans.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-drift-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Without GPU samples the drift's cause is unknown: it ranks by saving, second after the runtime swap.
describe('latency-drift lines in the text report (trace file)', () => {
  it('the rise reads earlier → later, and the gain beside it is labelled as expected (now → once fixed)', async () => {
    const traces = join(dir, 'drift.jsonl');
    writeFileSync(traces, writeAs('otlp-jsonl', toSpans(generate(HALF_THROTTLED))));
    const d = (await analyzeFiles([traces])).models[0]!.diagnosis!;
    expect(d.recommendations.map((r) => r.fix)).toEqual(['optimized-runtime', 'latency-drift']);
    const drift = driftLines(d);
    expect(drift.rise.from).toBeLessThan(drift.rise.to);
    expect(drift.gain, drift.gainLine).toBeDefined();
    // Now is the last window's level (where the rise ends), once fixed the first's (where it starts).
    expect(drift.gain!.now).toBeCloseTo(drift.rise.to, -1);
    expect(drift.gain!.fixed).toBeCloseTo(drift.rise.from, -1);
    expect(drift.gainLine).toMatch(/\(latency-drift, confidence [\d.]+, effort investigation; expected p(50|95) [\d.]+ ms → [\d.]+ ms\)/);
  });
});

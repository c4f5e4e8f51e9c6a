/**
 * `latency-doctor diff` on the demo's real runs: the example service (child process, real
 * onnxruntime model, real tracer) without batching and with the dynamic-batching fix, under the
 * same 32-client load (the demo's bottleneck, quick profile). The fix must come out as a
 * significant gain with its interval; the same pair read backwards is a real regression and
 * must trip the gate; the fixed pair must not.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QUICK_PROFILE, SCENARIOS } from '../../examples/scenarios/scenario-matrix.js';
import { runPair } from '../../examples/scenarios/run-scenario.js';
import { killAllChildren } from '../../examples/scenarios/child-processes.js';
import { runCli as cli } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ld-diff-demo-'));
afterAll(() => {
  killAllChildren();
  rmSync(tmp, { recursive: true, force: true });
});


describe('diff on the demo runs (no batching → dynamic batching)', () => {
  it('reports the gain with its interval; only the reversed pair trips --fail-on-regression', { timeout: 300_000, retry: 1 }, async () => {
    const scenario = SCENARIOS.find((s) => s.id === 'batching')!;
    const [before, after] = await runPair(scenario.before, scenario.after, QUICK_PROFILE);
    try {
      const html = join(tmp, 'diff.html');
      const fixed = await cli('diff', ...before.traceFiles, '--', ...after.traceFiles, '--json', '--html', html, '--fail-on-regression', 'p50=10%');
      expect(fixed.code, fixed.stderr).toBe(0);
      const model = JSON.parse(fixed.stdout).models[0];
      expect(model.verdict.before).toBe('dynamic-batching');
      expect(model.verdict.text).toMatch(/^dynamic-batching → /);
      const p50 = model.e2e.quantiles[0];
      expect(p50.quantile).toBe('p50');
      expect(p50.significant).toBe(true);
      expect(p50.ci_high_ms).toBeLessThan(0);
      expect(p50.ci_low_ms).toBeLessThanOrEqual(p50.change_ms);
      expect(p50.ci_high_ms).toBeGreaterThanOrEqual(p50.change_ms);
      expect(model.e2e.mann_whitney.probability_slower).toBeLessThan(0.5);
      expect(readFileSync(html, 'utf8')).toContain('data-table="diff"');
      const row = (q: { quantile: string; before_ms: number; after_ms: number; change_ratio: number; ci_low_ms: number | null; ci_high_ms: number | null }): string =>
        `${q.quantile} ${q.before_ms.toFixed(1)} → ${q.after_ms.toFixed(1)} ms (${(q.change_ratio * 100).toFixed(1)}%, CI ${q.ci_low_ms?.toFixed(1) ?? '–'} … ${q.ci_high_ms?.toFixed(1) ?? '–'} ms)`;
      console.log(`diff on the demo runs, n ${model.e2e.before_count} → ${model.e2e.after_count}: ${model.verdict.text}; ${model.e2e.quantiles.map(row).join('; ')}`);

      const reversed = await cli('diff', ...after.traceFiles, '--', ...before.traceFiles, '--fail-on-regression', 'p50=10%');
      expect(reversed.code, reversed.stderr).toBe(3);
      expect(reversed.stderr).toMatch(/^latency-doctor: regression: \S+ p50 [\d.]+ → [\d.]+ ms \(\+\d+\.\d%, 95% CI \+/);
    } finally {
      before.cleanup();
      after.cleanup();
    }
  });
});

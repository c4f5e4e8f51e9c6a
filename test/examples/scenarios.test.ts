/**
 * The scenario matrix (docs/demo.md): five configurations of the real example service under real
 * load (child process, real onnxruntime model, real tracer, real analyzer). For each, the
 * analyzer's primary verdict must be the expected fix, and the same load against the service
 * with that fix applied must improve the metric the fix targets, measured in the same run.
 * Loads are small (QUICK_PROFILE); `npm run bench scenarios` runs the longer version.
 * One retry: a few seconds of load on a shared 2-core CI box can be disturbed by a burst from a
 * neighbouring process (the drift rule then rightly sees latency rising); a wrong verdict or a
 * missing gain in two separate measurements still fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { improved, QUICK_PROFILE, SCENARIOS } from '../../examples/scenarios/scenario-matrix.js';
import { runPair, type RunOutcome } from '../../examples/scenarios/run-scenario.js';
import { killAllChildren } from '../../examples/scenarios/child-processes.js';

function measurement(outcome: RunOutcome): { load: RunOutcome['load']; summary: RunOutcome['summary'] } {
  return { load: outcome.load, summary: outcome.summary };
}

describe.sequential('scenario matrix: the advice is right, and applying it helps', () => {
  const rows: string[] = [];
  afterAll(() => {
    killAllChildren();
    if (rows.length > 0) console.log(`scenario matrix (quick profile)\n${rows.join('\n')}`);
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.title}: primary verdict ${scenario.expectedFix}; ${scenario.fixApplied} improves ${scenario.metrics.map((m) => m.label).join(' and ')}`, { timeout: 240_000, retry: 1 }, async () => {
      const [before, after] = await runPair(scenario.before, scenario.after, QUICK_PROFILE);
      try {
        const diagnosis = before.diagnosis;
        const verdict = `${String(diagnosis?.primary)}: ${diagnosis?.headline ?? ''}`;
        for (const metric of scenario.metrics) {
          const b = metric.read(measurement(before));
          const a = metric.read(measurement(after));
          rows.push(
            `  ${scenario.id.padEnd(16)} ${metric.label.padEnd(14)} ${b.toFixed(2).padStart(9)} → ${a.toFixed(2).padStart(9)} ${metric.unit}` +
              `  (primary: ${String(diagnosis?.primary)}; requests ${before.load.requests} → ${after.load.requests}; cached ${before.load.cachedResponses} → ${after.load.cachedResponses})`,
          );
          expect(Number.isFinite(b) && Number.isFinite(a), `${metric.label} measured before and after`).toBe(true);
          expect(improved(metric, b, a), `${metric.label}: ${b.toFixed(2)} → ${a.toFixed(2)} ${metric.unit} should be ${metric.better}`).toBe(true);
        }
        expect(before.load.errors).toBe(0);
        expect(after.load.errors).toBe(0);
        expect(diagnosis?.primary, verdict).toBe(scenario.expectedFix);
      } finally {
        before.cleanup();
        after.cleanup();
      }
    });
  }
});

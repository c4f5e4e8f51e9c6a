/**
 * The scenario matrix (docs/demo.md) at full length (FULL_PROFILE: 15 s of measured load per run,
 * at least 200 requests): for each bottleneck, the analyzer's primary verdict on the
 * bottlenecked service, and the targeted metric before and after applying that fix, plus the
 * client's p50/p99 and throughput. Prints a Markdown table for the README.
 * `npm run bench scenarios`; SCENARIO_SECONDS shortens or lengthens every run.
 */
import { FULL_PROFILE, improved, SCENARIOS, type LoadProfile } from '../examples/scenarios/scenario-matrix.js';
import { runPair } from '../examples/scenarios/run-scenario.js';
import { killAllChildren } from '../examples/scenarios/child-processes.js';

const seconds = Number(process.env.SCENARIO_SECONDS ?? FULL_PROFILE.durationS);
const profile: LoadProfile = { ...FULL_PROFILE, durationS: seconds };
const only = process.env.SCENARIO;

function fmt(value: number, unit: string): string {
  return unit === 'req/s' ? value.toFixed(0) : value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function ratio(better: 'lower' | 'higher', before: number, after: number): string {
  const r = better === 'lower' ? before / after : after / before;
  return `${r.toFixed(r >= 10 ? 0 : 1)}×`;
}

async function main(): Promise<void> {
  process.once('SIGINT', () => {
    killAllChildren();
    process.exitCode = 130;
  });
  const table: string[] = [
    '| Scenario | Primary verdict (expected) | Fix applied | Targeted metric | Before | After | Gain | Client p50 before → after (ms) | Client p99 before → after (ms) | Throughput before → after (req/s) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  let failures = 0;
  for (const scenario of SCENARIOS.filter((s) => only === undefined || s.id === only)) {
    console.log(`\n${scenario.title} (${scenario.bottleneck}); ${profile.durationS} s per run`);
    const [before, after] = await runPair(scenario.before, scenario.after, profile);
    const primary = String(before.diagnosis?.primary);
    const verdictOk = primary === scenario.expectedFix;
    if (!verdictOk) failures += 1;
    console.log(`  primary verdict: ${primary}${verdictOk ? '' : ` (expected ${scenario.expectedFix})`}: ${before.diagnosis?.headline ?? ''}`);
    const b = before.load;
    const a = after.load;
    for (const metric of scenario.metrics) {
      const vb = metric.read(before);
      const va = metric.read(after);
      const ok = improved(metric, vb, va);
      if (!ok) failures += 1;
      console.log(`  ${metric.label}: ${fmt(vb, metric.unit)} → ${fmt(va, metric.unit)} ${metric.unit} (${ratio(metric.better, vb, va)}${ok ? '' : ', NOT improved'})`);
      table.push(
        `| ${scenario.title} | \`${primary}\`${verdictOk ? '' : ` (expected \`${scenario.expectedFix}\`)`} | ${scenario.fixApplied} | ${metric.label} | ${fmt(vb, metric.unit)} ${metric.unit} | ${fmt(va, metric.unit)} ${metric.unit} | ${ratio(metric.better, vb, va)} | ` +
          `${fmt(b.latencyMs.p50, 'ms')} → ${fmt(a.latencyMs.p50, 'ms')} | ${fmt(b.latencyMs.p99, 'ms')} → ${fmt(a.latencyMs.p99, 'ms')} | ${fmt(b.throughputRps, 'req/s')} → ${fmt(a.throughputRps, 'req/s')} |`,
      );
    }
    console.log(`  client: p50 ${fmt(b.latencyMs.p50, 'ms')} → ${fmt(a.latencyMs.p50, 'ms')} ms, p99 ${fmt(b.latencyMs.p99, 'ms')} → ${fmt(a.latencyMs.p99, 'ms')} ms, ${fmt(b.throughputRps, 'req/s')} → ${fmt(a.throughputRps, 'req/s')} req/s; ${b.requests} → ${a.requests} requests`);
    before.cleanup();
    after.cleanup();
  }
  console.log(`\n${table.join('\n')}`);
  if (failures > 0) {
    console.log(`\n${failures} check(s) did not hold`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  killAllChildren();
  console.error(`scenario bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
});

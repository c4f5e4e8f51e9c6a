/**
 * @module examples/demo
 * `npm run demo`: the whole product on a real model in under two minutes.
 *   1. Start the example service in a deliberately bottlenecked configuration (wide fp32 MLP,
 *      no batching) and drive it with 32 concurrent clients; spans go to local files.
 *   2. Run `latency-doctor analyze` on those files and print its diagnosis.
 *   3. Restart the service with the recommended fix applied, rerun the same load, analyze again.
 *   4. Print before/after latency and throughput side by side.
 *   5. Run `latency-doctor diff` on the two runs: the gain with its confidence interval, and the
 *      before/after HTML page (diff.html) next to the HTML report of the first run (report.html).
 *   6–8. The same for a token-streaming service (examples/generation): a language model built in
 *      code streams tokens over SSE from a scheduler that runs one request at a time; diagnose,
 *      apply the generation fix (continuous batching), and print TTFT/TPOT before and after.
 * Children are killed on exit and on Ctrl-C; nothing is left running.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pc from 'picocolors';
import { serviceFlagsForFix } from './scenarios/apply-fix.js';
import { killAllChildren, REPO_ROOT } from './scenarios/child-processes.js';
import { runConfiguration, type RunOutcome } from './scenarios/run-scenario.js';
import type { LoadProfile, RunConfig } from './scenarios/scenario-matrix.js';
import { loadLmSession } from './generation/lm-session.js';
import { applyGenerationFix, generationScenarios, runGeneration, type GenerationRun } from './generation/scenario.js';

/** Seconds of load per phase of the demo; DEMO_SECONDS overrides (e.g. for a quick smoke run). */
const PROFILE: LoadProfile = { warmupS: 1, durationS: Number(process.env.DEMO_SECONDS ?? 8), minRequests: 100 };
const CLIENTS = 32;
const BOTTLENECKED: RunConfig = {
  service: ['--precision', 'fp32', '--hidden', '4096'],
  load: { mode: { kind: 'closed', concurrency: CLIENTS }, payload: { encoding: 'binary' } },
};

let interrupted = false;
const stopLoad = new AbortController();

function step(text: string): void {
  console.log(`\n${pc.bold(pc.cyan('▶'))} ${pc.bold(text)}`);
}

function note(text: string): void {
  console.log(pc.dim(`  ${text}`));
}

/** Runs the built CLI (`latency-doctor ARGS…`) so the user sees exactly what they would see. */
function printCli(args: readonly string[]): void {
  const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'latency-doctor.js'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
  });
  process.stdout.write(cli.stdout.split('\n').map((line) => `  ${line}`).join('\n'));
  if (cli.status !== 0 && cli.stderr) console.log(pc.yellow(`  latency-doctor ${args[0]} exited with ${cli.status}: ${cli.stderr.trim()}`));
}

function row(label: string, before: number, after: number, unit: string, better: 'lower' | 'higher'): string {
  const fmt = (v: number): string => (Number.isFinite(v) ? (unit === 'req/s' ? v.toFixed(0) : v.toFixed(1)) : '–').padStart(9);
  const line = `  ${label.padEnd(22)}${fmt(before)}${fmt(after)}  ${unit.padEnd(6)}`;
  // No ratio from a figure that is missing or 0 (a phase not measured in one run): "NaN×" or "Infinity×" told nothing.
  if (!(before > 0 && after > 0)) return `${line}${pc.dim('–')}`;
  const ratio = better === 'lower' ? before / after : after / before;
  const shown = ratio >= 1 ? ratio.toFixed(1) : ratio.toFixed(2);
  // Within the shown precision of 1: the same, neither better nor worse.
  if (Number(shown) === 1) return `${line}${pc.dim('about the same')}`;
  const good = ratio > 1;
  return `${line}${(good ? pc.green : pc.red)(`${shown}× ${good ? 'better' : 'worse'}`)}`;
}

function printComparison(before: RunOutcome, after: RunOutcome): void {
  const b = before.load;
  const a = after.load;
  console.log(pc.bold(`  ${''.padEnd(22)}${'before'.padStart(9)}${'after'.padStart(9)}`));
  console.log(row('client p50', b.latencyMs.p50, a.latencyMs.p50, 'ms', 'lower'));
  console.log(row('client p99', b.latencyMs.p99, a.latencyMs.p99, 'ms', 'lower'));
  console.log(row('throughput', b.throughputRps, a.throughputRps, 'req/s', 'higher'));
  const queue = (o: RunOutcome): number => o.summary.phases.queue?.p50Ms ?? Number.NaN;
  console.log(row('queue p50 (traces)', queue(before), queue(after), 'ms', 'lower'));
  const batch = (o: RunOutcome): string => {
    const sizes = o.analysis.timings.rows().map((t) => t.batchSize ?? 1);
    return (sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length)).toFixed(1);
  };
  console.log(pc.dim(`  ${'mean batch size'.padEnd(22)}${batch(before).padStart(9)}${batch(after).padStart(9)}`));
}

/** Progress of a load run: one updating line on a terminal, a line every 2 s otherwise. */
function progress(completed: number, elapsedMs: number): void {
  const text = `  … ${(elapsedMs / 1000).toFixed(0)} s, ${completed} requests`;
  if (process.stdout.isTTY) process.stdout.write(`\r${pc.dim(text)}`);
  else if (Math.round(elapsedMs / 1000) % 2 === 0) console.log(pc.dim(text));
}

function describeRun(outcome: RunOutcome): void {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  const l = outcome.load;
  note(`${l.requests} requests in ${l.durationS.toFixed(1)} s: ${l.throughputRps.toFixed(0)} req/s, p50 ${l.latencyMs.p50.toFixed(1)} ms, p99 ${l.latencyMs.p99.toFixed(1)} ms, ${l.errors} errors`);
}

/** Steps 5–7: the streaming service, before and after the generation fix. */
async function generationDemo(dir: string): Promise<void> {
  const lm = await loadLmSession();
  try {
    const { scheduler, load } = generationScenarios(lm.spec.vocab, PROFILE.durationS * 500).batching;
    step(`6/8  Streaming generation service (one request at a time) under ${load.concurrency} SSE clients`);
    note(`model: a recurrent language model (${lm.spec.vocab} tokens, ${lm.spec.hidden} wide) built in code, onnxruntime-node; ${load.maxTokens} tokens per request`);
    const before = await runGeneration(lm, scheduler, load, join(dir, 'generation-before.jsonl'));
    note(`${before.client.requests} streams: client TTFT p50 ${before.client.ttftP50Ms.toFixed(1)} ms, inter-token p50 ${before.client.itlP50Ms.toFixed(2)} ms`);
    step('7/8  latency-doctor analyze');
    printCli(['analyze', before.traceFile]);
    const fixed = applyGenerationFix(scheduler, before.result.models[0]?.diagnosis);
    if (fixed === undefined || interrupted) {
      if (!interrupted) console.log(pc.yellow(`\n  The generation verdict was ${String(before.result.models[0]?.diagnosis?.primary)}; this demo applies continuous batching and prefix caching only.`));
      return;
    }
    note(`applying it: scheduler ${JSON.stringify(scheduler)} → ${JSON.stringify(fixed)}`);
    const after = await runGeneration(lm, fixed, load, join(dir, 'generation-after.jsonl'));
    step('8/8  Before and after (TTFT and TPOT)');
    printGenerationComparison(before, after);
  } finally {
    await lm.close();
  }
}

function printGenerationComparison(before: GenerationRun, after: GenerationRun): void {
  const g = (r: GenerationRun) => r.result.overall?.generation;
  console.log(pc.bold(`  ${''.padEnd(22)}${'before'.padStart(9)}${'after'.padStart(9)}`));
  console.log(row('client TTFT p50', before.client.ttftP50Ms, after.client.ttftP50Ms, 'ms', 'lower'));
  console.log(row('client TTFT p95', before.client.ttftP95Ms, after.client.ttftP95Ms, 'ms', 'lower'));
  console.log(row('TTFT p95 (traces)', g(before)?.ttft?.p95Ms ?? Number.NaN, g(after)?.ttft?.p95Ms ?? Number.NaN, 'ms', 'lower'));
  console.log(row('TPOT p50 (traces)', g(before)?.tpot?.p50Ms ?? Number.NaN, g(after)?.tpot?.p50Ms ?? Number.NaN, 'ms', 'lower'));
  console.log(row('output tokens/s', g(before)?.tokensPerS ?? Number.NaN, g(after)?.tokensPerS ?? Number.NaN, 'req/s', 'higher').replace('req/s', 'tok/s'));
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = join(tmpdir(), `latency-doctor-demo-${Date.now()}`);
  mkdirSync(join(dir, 'before'), { recursive: true });
  mkdirSync(join(dir, 'after'), { recursive: true });
  console.log(pc.bold('latency-doctor demo: diagnose a real inference service, apply the fix, measure the gain'));
  note(`model: a 1024→4096→4096→1000 MLP (25 M weights) built in code, onnxruntime-node on the CPU, 1 thread`);
  note(`traces: ${dir}`);

  step(`1/8  Bottlenecked service (fp32, no batching) under ${CLIENTS} concurrent clients for ${PROFILE.durationS} s`);
  note('starting the service (the first start builds the model, a few seconds)');
  const before = await runConfiguration(BOTTLENECKED, PROFILE, join(dir, 'before'), progress, stopLoad.signal);
  if (interrupted) return;
  describeRun(before);

  step('2/8  latency-doctor analyze');
  printCli(['analyze', ...before.traceFiles, '--html', join(dir, 'report.html')]);
  note(`HTML report: ${join(dir, 'report.html')}`);
  const diagnosis = before.diagnosis;
  const primary = diagnosis?.primary;
  const recommendation = diagnosis?.recommendations.find((r) => r.fix === primary);
  const fixFlags = serviceFlagsForFix(primary, recommendation, CLIENTS);
  if (fixFlags === undefined) {
    console.log(pc.yellow(`\n  The diagnosis was ${String(primary)}; this demo knows how to apply dynamic-batching, quantization and scale-and-cache. Stopping here.`));
    process.exitCode = 1;
    return;
  }
  note(`primary verdict: ${primary}; applying it as: ${fixFlags.join(' ')}`);

  if (interrupted) return;
  step(`3/8  Same load against the service with the fix applied`);
  const after = await runConfiguration({ service: [...BOTTLENECKED.service, ...fixFlags], load: BOTTLENECKED.load }, PROFILE, join(dir, 'after'), progress, stopLoad.signal);
  if (interrupted) return;
  describeRun(after);
  const afterVerdict = after.diagnosis?.primary;
  note(`after the fix, latency-doctor says: ${afterVerdict === null ? 'nothing stands out any more' : (after.diagnosis?.headline ?? 'no diagnosis')}`);

  step('4/8  Before and after');
  printComparison(before, after);

  step('5/8  latency-doctor diff BEFORE -- AFTER: is the gain real?');
  printCli(['diff', ...before.traceFiles, '--', ...after.traceFiles, '--html', join(dir, 'diff.html')]);
  note(`before/after HTML: ${join(dir, 'diff.html')}`);
  if (!interrupted) await generationDemo(dir);
  console.log(pc.dim(`\n  done in ${((performance.now() - started) / 1000).toFixed(0)} s; trace files are in ${dir}`));
}

process.once('SIGINT', () => {
  interrupted = true;
  stopLoad.abort();
  killAllChildren();
  console.log(pc.yellow('\ninterrupted; every child process was stopped'));
  process.exitCode = 130;
});

main().catch((error: unknown) => {
  killAllChildren();
  if (!interrupted) {
    console.error(pc.red(`demo failed: ${(error as Error).message}`));
    process.exitCode = 1;
  }
});

/**
 * Cost of the tracer's per-token path (`req.token()` inside `tracer.generate`) with spans and the
 * generation histograms on, against a baseline in the same run: the same loop incrementing a
 * plain counter object. Prints CPU ns per token (median of interleaved rounds) and the added
 * cost; the goal is below 0.1 µs (100 ns) per token. Then the cost per generated request
 * (request span, prefill and decode spans, first-token event, metrics) against `infer` with
 * one compute span.
 */
import { createInferenceTracer, setupTracing } from '../src/tracer/index.js';
import type { GenerationRequest } from '../src/tracer/index.js';
import { CollectingReader, discardSpans } from '../test/support/telemetry-sinks.js';

const TOKENS_PER_ROUND = 2_000_000;
const REQUESTS_PER_ROUND = 500;
const ROUNDS = 25;

/** The baseline: what any streaming loop does anyway, count its tokens. */
class PlainCounter {
  outputTokens = 0;
  token(): void {
    this.outputTokens++;
  }
}

let sink = 0;

function tokenLoop(counter: { token(): void }, n: number): void {
  for (let i = 0; i < n; i++) counter.token();
}

function cpuUs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function main(): Promise<void> {
  const tracing = setupTracing({ serviceName: 'bench', exporter: { spanExporter: discardSpans }, metrics: { readers: [new CollectingReader()], otlp: false }, maxQueueSize: 65_536 });
  const tracer = createInferenceTracer({ model: 'tiny-lm', runtime: 'onnxruntime' });
  console.log(`${(TOKENS_PER_ROUND / 1e6).toFixed(0)} M tokens × ${ROUNDS} rounds per variant, spans and histograms on; Node ${process.version}`);

  // Per token: one long-lived generation request, tokens counted in a tight loop.
  const baseline: number[] = [];
  const ours: number[] = [];
  await tracer.generate(async (req: GenerationRequest) => {
    req.token();
    const plain = new PlainCounter();
    for (let round = 0; round < ROUNDS + 5; round++) {
      const b = cpuUs(() => tokenLoop(plain, TOKENS_PER_ROUND));
      const o = cpuUs(() => tokenLoop(req, TOKENS_PER_ROUND));
      if (round >= 5) {
        baseline.push((b * 1000) / TOKENS_PER_ROUND);
        ours.push((o * 1000) / TOKENS_PER_ROUND);
      }
      await yieldToLoop();
    }
    sink += plain.outputTokens + req.outputTokens;
  });
  const baseNs = median(baseline);
  const oursNs = median(ours);
  const added = oursNs - baseNs;
  console.log('\nPer token');
  console.log(`  plain counter (baseline)              ${baseNs.toFixed(2).padStart(8)} CPU ns/token`);
  console.log(`  latency-doctor req.token()            ${oursNs.toFixed(2).padStart(8)} CPU ns/token`);
  // Both loops are a few ns; a negative difference means the cost is below what this resolves.
  console.log(`  added: ${added.toFixed(2)} ns/token${added <= 0 ? ' (within noise)' : ''} (goal < 100 ns) ${added < 100 ? 'OK' : 'ABOVE GOAL'}`);

  // Per request: generate (prefill, decode, 32 tokens) against infer with one compute span.
  const gen: number[] = [];
  const inf: number[] = [];
  const runGenerate = (): void => {
    for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
      tracer.generate((req) => {
        req.setInputTokens(16);
        req.prefill(() => req.token());
        req.decode(() => {
          for (let t = 0; t < 31; t++) req.token();
        });
      });
    }
  };
  const runInfer = (): void => {
    for (let i = 0; i < REQUESTS_PER_ROUND; i++) tracer.infer((req) => req.compute(() => (sink += i)));
  };
  for (let round = 0; round < ROUNDS + 5; round++) {
    const g = cpuUs(runGenerate);
    await yieldToLoop();
    const f = cpuUs(runInfer);
    await yieldToLoop();
    if (round >= 5) {
      gen.push(g / REQUESTS_PER_ROUND);
      inf.push(f / REQUESTS_PER_ROUND);
    }
  }
  console.log('\nPer request');
  console.log(`  infer + compute span                  ${median(inf).toFixed(2).padStart(8)} CPU µs/request`);
  console.log(`  generate + prefill + decode, 32 tok   ${median(gen).toFixed(2).padStart(8)} CPU µs/request`);
  await tracing.shutdown();
  console.log(`\nsummary: ${added.toFixed(2)} ns added per token (baseline ${baseNs.toFixed(2)} ns) (sink ${sink % 10})`);
}

await main();

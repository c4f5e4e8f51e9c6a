/**
 * Cost of the diagnosis next to the rest of the pipeline: `diagnose()` on generated request sets
 * of growing size (queueing with repeated inputs, so the cache replay and every rule run), against
 * `summarize()` (the percentile stage) on the same rows as the baseline measured in the same run.
 * The diagnosis should stay a small fraction of the analysis and grow as n log n.
 */
import { performance } from 'node:perf_hooks';
import { diagnose } from '../src/analyzer/diagnose/index.js';
import { summarize } from '../src/analyzer/measure.js';
import { exp, generate } from '../test/diagnose/gen.js';

for (const n of [10_000, 100_000, 500_000]) {
  const requests = generate({ n, seed: 1, rps: 2000, phases: { preprocess: 2, serialize: 0.5, queue: exp(20), compute: 5 }, batchSize: 1, duplicateShare: 0.3, runtime: 'onnxruntime', precision: 'fp32' });
  globalThis.gc?.();
  let t = performance.now();
  const summary = summarize('resnet50', requests);
  const summarizeMs = performance.now() - t;
  t = performance.now();
  const d = diagnose({ model: 'resnet50', requests, summary });
  const diagnoseMs = performance.now() - t;
  const rss = process.memoryUsage().rss / 1024 / 1024;
  console.log(
    `${n.toLocaleString('en-US').padStart(8)} requests: summarize ${summarizeMs.toFixed(0).padStart(5)} ms, diagnose ${diagnoseMs.toFixed(0).padStart(5)} ms ` +
      `(${Math.round(n / (diagnoseMs / 1000)).toLocaleString('en-US')} requests/s, ${(diagnoseMs / summarizeMs).toFixed(2)}× summarize), primary ${d.primary}, RSS ${rss.toFixed(0)} MB`,
  );
}

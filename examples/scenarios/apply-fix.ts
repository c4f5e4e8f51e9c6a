/**
 * @module examples/scenarios/apply-fix
 * Turns the analyzer's primary verdict into service flags, the way an engineer would apply it:
 * for dynamic batching the queue delay comes from the recommendation's Triton snippet
 * (`max_queue_delay_microseconds`), the max batch size from its preferred sizes or the
 * concurrency seen.
 */
import type { Recommendation } from '../../src/model/diagnosis.js';
import type { FixId } from '../../src/semconv.js';

/** Service flags that apply `fix`, or undefined for a fix the example service cannot apply by configuration. */
export function serviceFlagsForFix(
  fix: FixId | 'insufficient-data' | null | undefined,
  recommendation: Recommendation | undefined,
  concurrency: number,
): string[] | undefined {
  switch (fix) {
    case 'dynamic-batching': {
      const code = recommendation?.nextStep.snippet?.code ?? '';
      const delay = /max_queue_delay_microseconds\s*:\s*(\d+)/.exec(code)?.[1];
      const maxBatch = /max_batch_size\s*:\s*(\d+)/.exec(code)?.[1];
      return ['--batching', '--max-batch-size', maxBatch ?? String(concurrency), '--max-queue-delay-us', delay ?? '1000'];
    }
    case 'quantization':
      return ['--precision', 'int8'];
    case 'scale-and-cache':
      return ['--cache', 'memory'];
    default:
      return undefined;
  }
}

/**
 * @module test/support/lm-spans
 * Spans of a token-streaming model's requests, as the tracer records them: a server request
 * span with the output-token count and a first-token event, and its prefill and decode spans.
 */
import { ATTR, FIRST_TOKEN_EVENT } from '../../src/semconv.js';
import { seededRandom } from '../../examples/model/seeded-random.js';
import type { SynthSpan } from './synth.js';

/** What to generate; `prefillMs(frac)` gives the mean prefill time at that point of the run (0–1). */
export interface LmRun {
  n: number;
  seed: number;
  prefillMs: (frac: number) => number;
  /** Mean time per output token after the first, ms. Default 8.5. */
  tokenMs?: number;
  /** Added to the request number in trace ids. */
  idOffset?: number;
}

/** `n` requests 20 ms apart of model `tiny-lm`, 40–79 output tokens each. */
export function lmSpans(run: LmRun): SynthSpan[] {
  const rand = seededRandom(run.seed);
  const spans: SynthSpan[] = [];
  for (let i = 0; i < run.n; i++) {
    const k = i + (run.idOffset ?? 0);
    const traceId = (0xa000 + k).toString(16).padStart(32, '0');
    const id = (j: number): string => (0x50000 + k * 4 + j).toString(16).padStart(16, '0');
    const start = 1_767_225_600_000_000_000n + BigInt(i) * 20_000_000n;
    const at = (ms: number): bigint => start + BigInt(Math.round(ms * 1000)) * 1000n;
    const prefill = run.prefillMs(i / run.n) * (0.9 + 0.2 * rand());
    const tokens = 40 + Math.floor(rand() * 40);
    const decode = (tokens - 1) * (run.tokenMs ?? 8.5) * (0.9 + 0.2 * rand());
    const phase = (j: number, name: string, from: number, to: number): SynthSpan => ({ traceId, spanId: id(j), parentSpanId: id(0), name, service: 'lm', kind: 'internal', startNs: at(from), endNs: at(to), attributes: { [ATTR.PHASE]: name } });
    spans.push(
      { traceId, spanId: id(0), name: 'generate', service: 'lm', kind: 'server', startNs: at(0), endNs: at(prefill + decode + 1), attributes: { [ATTR.MODEL_NAME]: 'tiny-lm', [ATTR.TOKENS_OUTPUT]: tokens }, events: [{ name: FIRST_TOKEN_EVENT, timeNs: at(prefill) }] },
      phase(1, 'prefill', 0, prefill),
      phase(2, 'decode', prefill, prefill + decode),
    );
  }
  return spans;
}

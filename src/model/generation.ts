/**
 * @module model/generation
 * The one definition of the generation metrics of a token-streaming request: time to first
 * token (TTFT), time per output token (TPOT, also called inter-token latency when averaged
 * per request) and output tokens per second. The assembler (our spans), the readers of vLLM
 * and TGI exports (durations without start times) and the tracer all derive them here, so a
 * TTFT from one source means the same as a TTFT from another.
 *
 * Definitions (docs/conventions.md, "Generation"):
 * - TTFT = first output token − request start. The request start is the start of the
 *   end-to-end interval (the client span's start where there is one), so TTFT ≤ e2e always.
 * - TPOT = (e2e − TTFT) ÷ (output tokens − 1): the mean gap between output tokens after the
 *   first. Undefined below two output tokens, and when the first token came at the end. This is vLLM's per-request
 *   `mean_time_per_output_token` (decode ÷ (n − 1)) with e2e − TTFT for the decode time, so it
 *   also counts the time after the last token (detokenizing, closing the stream).
 *   https://docs.vllm.ai/en/latest/design/metrics.html
 * - tokens/s = output tokens ÷ duration in seconds: per request over its e2e, or for a set of
 *   requests over the window they ran in (total output tokens ÷ window), as throughput is.
 */

/** What one generative request says about its tokens, from whichever source. All optional. */
export interface GenerationTiming {
  /** Request start → first output token, ms (TTFT); absent when no first token was marked. */
  readonly ttftMs?: number;
  /** Prompt tokens (`inference.tokens.input`). */
  readonly tokensIn?: number;
  /** Generated tokens (`inference.tokens.output`). */
  readonly tokensOut?: number;
  /** Prompt tokens served from a prefix (KV) cache (`inference.tokens.cached`). */
  readonly tokensCached?: number;
}

/** TTFT in ms from two timestamps (ns since epoch), clamped to [0, e2eMs] when e2eMs is given. */
export function timeToFirstTokenMs(requestStartNs: bigint, firstTokenNs: bigint, e2eMs?: number): number {
  const ms = Number(firstTokenNs - requestStartNs) / 1e6;
  return clampTtft(ms, e2eMs);
}

/** Clamps a TTFT to [0, e2eMs]: a first token cannot come before the request or after its end. */
export function clampTtft(ttftMs: number, e2eMs?: number): number {
  const low = Math.max(0, ttftMs);
  return e2eMs === undefined ? low : Math.min(low, Math.max(0, e2eMs));
}

/**
 * TPOT in ms: (e2e − TTFT) ÷ (output tokens − 1); undefined without a TTFT, below two output
 * tokens, or when no time passed after the first token (a response read in one piece, whose
 * first chunk is its end: no decode was timed, and 0 ms would pull the percentiles down).
 */
export function timePerOutputTokenMs(e2eMs: number, ttftMs: number | undefined, tokensOut: number | undefined): number | undefined {
  if (ttftMs === undefined || tokensOut === undefined || !(tokensOut >= 2) || !(e2eMs > ttftMs)) return undefined;
  return (e2eMs - ttftMs) / (tokensOut - 1);
}

/** Output tokens per second over `durationMs`; undefined when either is missing or the duration is not positive. */
export function outputTokensPerSecond(tokensOut: number | undefined, durationMs: number): number | undefined {
  if (tokensOut === undefined || !(durationMs > 0)) return undefined;
  return tokensOut / (durationMs / 1000);
}

/** Valid token count from an attribute or field: a finite non-negative integer, else undefined. */
export function tokenCount(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

/** True when a request carries any generation field, i.e. it streamed tokens. */
export function isGenerative(timing: GenerationTiming): boolean {
  return timing.ttftMs !== undefined || timing.tokensOut !== undefined;
}

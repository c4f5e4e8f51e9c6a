/**
 * @module examples/generation/stream-load
 * A closed-loop load generator for the streaming service: `concurrency` clients each send a
 * prompt, read the Server-Sent Events as they arrive and send the next prompt when the stream
 * ends. Measured on the client side: time to first token (request sent → first `data:` event),
 * inter-token latency (gaps between later events) and the whole stream.
 */
import { quantileSorted, sortNumbers } from '../../src/analyzer/diagnose/stats.js';

/** What to send. */
export interface StreamLoadOptions {
  readonly url: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** The prompt of the i-th request. */
  readonly prompt: (i: number) => number[];
  readonly maxTokens: number;
  /** Keep going past `durationMs` until this many streams completed (a diagnosis wants 50), up to 5 × durationMs. Default 0. */
  readonly minRequests?: number;
}

/** Client-side results. */
export interface StreamLoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly ttftP50Ms: number;
  readonly ttftP95Ms: number;
  readonly itlP50Ms: number;
  readonly itlP95Ms: number;
  readonly e2eP50Ms: number;
  readonly tokens: number;
}

async function oneStream(url: string, prompt: number[], maxTokens: number): Promise<{ ttft: number; gaps: number[]; e2e: number; tokens: number }> {
  const start = performance.now();
  const response = await fetch(`${url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: maxTokens }) });
  if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ttft = Number.NaN;
  let last = 0;
  let tokens = 0;
  const gaps: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const now = performance.now();
    let end: number;
    let arrived = 0;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: ') continue;
      if (tokens === 0) {
        ttft = now - start;
        last = now;
      } else arrived++;
      tokens++;
    }
    // Tokens read together arrived together: the time since the previous read is shared among
    // them (the mean gap stays true), instead of one real gap and the rest counted as 0 ms.
    for (let k = 0; k < arrived; k++) gaps.push((now - last) / arrived);
    if (arrived > 0) last = now;
  }
  return { ttft, gaps, e2e: performance.now() - start, tokens };
}

/** Runs the load for `durationMs` and summarizes what the clients saw. */
export async function runStreamLoad(options: StreamLoadOptions): Promise<StreamLoadResult> {
  const start = performance.now();
  const until = start + options.durationMs;
  const hardStop = start + 5 * options.durationMs;
  const minRequests = options.minRequests ?? 0;
  const ttfts: number[] = [];
  const gaps: number[] = [];
  const e2es: number[] = [];
  let errors = 0;
  let tokens = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (;;) {
        const now = performance.now();
        if (now >= hardStop || (now >= until && e2es.length + errors >= minRequests)) break;
        try {
          const r = await oneStream(options.url, options.prompt(next++), options.maxTokens);
          // A stream that ended without a token has no first token: counted, but no TTFT.
          if (Number.isFinite(r.ttft)) ttfts.push(r.ttft);
          gaps.push(...r.gaps);
          e2es.push(r.e2e);
          tokens += r.tokens;
        } catch {
          errors++;
        }
      }
    }),
  );
  const q = (values: number[], p: number): number => (values.length === 0 ? Number.NaN : quantileSorted(sortNumbers(values), p));
  return { requests: e2es.length, errors, ttftP50Ms: q(ttfts, 0.5), ttftP95Ms: q(ttfts, 0.95), itlP50Ms: q(gaps, 0.5), itlP95Ms: q(gaps, 0.95), e2eP50Ms: q(e2es, 0.5), tokens };
}

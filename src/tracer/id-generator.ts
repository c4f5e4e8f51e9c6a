/**
 * @module tracer/id-generator
 * Trace and span ids for the SDK that `setupTracing` starts. The SDK's RandomIdGenerator turns
 * a buffer into hex for every id (a call into C++ each): a trace and a span id cost ~0.26 µs on
 * the bench machine, a large part of what a request the sampler drops costs. Here one
 * conversion fills a pool of hex digits that serves 42 id pairs, and each id is a substring of
 * the pool (V8 shares the characters instead of copying them): ~0.13 µs a pair in the same
 * loop. Same random source (Math.random, 32 bits at a time, as the SDK's generator) and same
 * format: lowercase hex, 32 digits for a trace id, 16 for a span id, never all zeros.
 */
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * Random bytes per refill: 2,048 hex digits. Small on purpose: an id shares the pool's memory,
 * so one id kept for long keeps at most 2 KiB alive.
 */
const POOL_WORDS = 256;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** An IdGenerator that takes ids from a pool of random hex digits. */
export class PooledIdGenerator implements IdGenerator {
  private readonly words = new Uint32Array(POOL_WORDS);
  private readonly bytes = Buffer.from(this.words.buffer);
  private pool = '';
  private next = 0;
  private presetSpanId: string | undefined;
  private presetTraceId: string | undefined;

  /** A random 32-digit lowercase hex trace id (W3C Trace Context), never all zeros. */
  generateTraceId(): string {
    const preset = this.presetTraceId;
    if (preset !== undefined) {
      this.presetTraceId = undefined;
      return preset;
    }
    const id = this.take(32);
    // All zeros is not a valid id; as the SDK's generator does, the last digit is set then.
    return id === ZERO_TRACE_ID ? `${id.slice(0, 31)}1` : id;
  }

  /** A random 16-digit lowercase hex span id, never all zeros. */
  generateSpanId(): string {
    const preset = this.presetSpanId;
    if (preset !== undefined) {
      this.presetSpanId = undefined;
      return preset;
    }
    const id = this.take(16);
    return id === ZERO_SPAN_ID ? `${id.slice(0, 15)}1` : id;
  }

  /**
   * The next span id (and trace id, if given) this generator returns: ids the tracer drew for a
   * span whose sampling decision it took before the SDK starts the span (src/tracer/presample.ts).
   */
  preset(spanId: string, traceId: string | undefined): void {
    this.presetSpanId = spanId;
    this.presetTraceId = traceId;
  }

  /** Forgets preset ids the SDK did not take. */
  clearPreset(): void {
    this.presetSpanId = undefined;
    this.presetTraceId = undefined;
  }

  private take(digits: number): string {
    if (this.next + digits > this.pool.length) this.refill();
    const start = this.next;
    this.next = start + digits;
    return this.pool.substring(start, start + digits);
  }

  private refill(): void {
    const words = this.words;
    // `>>> 0` keeps the integer part in 0..2^32-1, as the SDK's generator does.
    for (let i = 0; i < words.length; i += 1) words[i] = (Math.random() * 2 ** 32) >>> 0;
    this.pool = this.bytes.toString('hex');
    this.next = 0;
  }
}

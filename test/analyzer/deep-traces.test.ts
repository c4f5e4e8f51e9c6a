/**
 * Per-trace work is linear (or n log n) in the trace's span count, whatever its shape: 100 000
 * spans nested in one chain (generic spans, phase spans under one request, request spans) and
 * 100 000 children of one root. Complexity is asserted by counting parent lookups, the step
 * every ancestor walk repeats, not by timing: a quadratic walk over a 100 000-span chain makes
 * ~5·10⁹ lookups (it never finished in 60 s), a linear one a small multiple of 100 000. The
 * bound below is 10 lookups per span, 5 000 times under quadratic. Each case runs in seconds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assembleRequests } from '../../src/analyzer/assemble.js';
import { SpanIndex } from '../../src/analyzer/_trace-span.js';
import type { SpanRecord } from '../../src/model/span.js';
import { ATTR } from '../../src/semconv.js';
import { EPOCH_NS, traceId } from './_spans.js';

afterEach(() => vi.restoreAllMocks());

const N = 100_000;
const id = (i: number): string => (i + 1).toString(16).padStart(16, '0');

/** N spans of one trace; span i's parent is i − 1 (a chain) or 0 (a fan-out); exporters write children first. */
function trace(shape: 'chain' | 'fan-out', attributes: (i: number) => Record<string, string | number>): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (let i = 0; i < N; i++) {
    spans.push({
      traceId: traceId(7),
      spanId: id(i),
      ...(i > 0 ? { parentSpanId: id(shape === 'chain' ? i - 1 : 0) } : {}),
      name: `op-${i % 10}`,
      service: 'svc',
      kind: 'internal',
      // Nested intervals for the chain, siblings side by side for the fan-out.
      startNs: EPOCH_NS + BigInt(shape === 'chain' ? i * 10 : i === 0 ? 0 : i * 10),
      endNs: EPOCH_NS + BigInt(shape === 'chain' ? 2 * N * 10 - i * 10 : i === 0 ? 2 * N * 10 : i * 10 + 5),
      attributes: attributes(i),
      error: false,
    });
  }
  return spans.reverse();
}

async function lookupsPerSpan(spans: SpanRecord[]): Promise<{ perSpan: number; result: Awaited<ReturnType<typeof assembleRequests>> }> {
  const parentOf = vi.spyOn(SpanIndex.prototype, 'parentOf');
  const result = await assembleRequests([spans]);
  return { perSpan: parentOf.mock.calls.length / spans.length, result };
}

describe('deep and wide traces take linear work', { timeout: 120_000 }, () => {
  it('a 100 000-span chain of generic spans', async () => {
    const { perSpan, result } = await lookupsPerSpan(trace('chain', () => ({})));
    expect(perSpan).toBeLessThan(10);
    const report = result.generic.report();
    expect(report.spans).toBe(N);
    // Every span is on the path for its 10 ns before the next one starts, and 10 ns after it ends.
    expect(report.rootMs).toBeCloseTo((2 * N * 10) / 1e6, 9);
  });

  it('a 100 000-span chain of phase spans under one request span', async () => {
    const spans = trace('chain', (i) => (i === 0 ? { [ATTR.MODEL_NAME]: 'm' } : { [ATTR.PHASE]: i % 2 === 0 ? 'compute' : 'queue' }));
    const { perSpan, result } = await lookupsPerSpan(spans);
    expect(perSpan).toBeLessThan(10);
    expect(result.requests).toHaveLength(1);
    expect(result.stats.unattachedPhaseSpans).toBe(0);
    expect(result.requests.row(0).phases.compute).toBeGreaterThan(0);
  });

  it('a 100 000-span chain of request spans (each its own request)', async () => {
    const { perSpan, result } = await lookupsPerSpan(trace('chain', () => ({ [ATTR.MODEL_NAME]: 'm' })));
    expect(perSpan).toBeLessThan(10);
    expect(result.requests).toHaveLength(N);
  });

  it('a 100 000-span fan-out under one root', async () => {
    const { perSpan, result } = await lookupsPerSpan(trace('fan-out', () => ({})));
    expect(perSpan).toBeLessThan(10);
    const report = result.generic.report();
    expect(report.spans).toBe(N);
    expect(report.pieces).toBe(1);
  });
});

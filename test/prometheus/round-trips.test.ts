/**
 * @module test/prometheus/round-trips.test
 * How the reader's queries reach a real Prometheus (2.42, on loopback): a recording proxy in
 * front of it holds every whole-range quantile answer back for a while, as a loaded engine would.
 * A classic histogram's lowest-bucket check goes out beside its quantile queries, not after their
 * answers (one more round trip per histogram), and is asked once per histogram, not again for the
 * replicas' p99s.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { useReplayedJob } from './_prometheus.js';
import { vllmQueue } from './scenarios.js';

const job = useReplayedJob('vllm', () => [vllmQueue(81), vllmQueue(82)], 6);

/** One query as the proxy saw it: when it arrived and when its answer left, ms on one clock. */
interface Seen {
  readonly path: string;
  readonly expr: string;
  readonly arrivedMs: number;
  answeredMs: number;
}

const HOLD_MS = 300;
const seen: Seen[] = [];
const proxy = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? '/', 'http://proxy');
    const expr = new URLSearchParams(body).get('query') ?? url.searchParams.get('query') ?? '';
    const entry: Seen = { path: url.pathname, expr, arrivedMs: performance.now(), answeredMs: Number.NaN };
    seen.push(entry);
    const hold = url.pathname === '/api/v1/query' && expr.startsWith('histogram_quantile(') ? HOLD_MS : 0;
    void (async () => {
      const upstream = await fetch(new URL(`${url.pathname}${url.search}`, job().url), { method: req.method ?? 'GET', headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' }, ...(req.method === 'POST' ? { body } : {}) });
      const text = await upstream.text();
      await new Promise((r) => setTimeout(r, hold));
      entry.answeredMs = performance.now();
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    })();
  });
});
afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

describe('the lowest-bucket check of a classic histogram (vLLM, replayed into a real Prometheus)', { timeout: 60_000 }, () => {
  it('goes out with the quantile queries, once per histogram', async () => {
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const run = job();
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const result = await analyzePrometheus({ url, startS: run.startS, endS: run.endS, stepS: 2 });
    // The check still does its work: vLLM's 800 ms queue reads by its mean only where it fell in a first bucket.
    expect(result.models[0]?.summary.phases.queue?.meanMs).toBeGreaterThan(500);

    const bounds = seen.filter((s) => s.expr.startsWith('group by (le) (last_over_time('));
    expect(bounds.length).toBeGreaterThan(3);
    expect(new Set(bounds.map((b) => b.expr)).size).toBe(bounds.length);
    for (const bound of bounds) {
      const histogram = /\(([^{(]+_bucket)\{/.exec(bound.expr)?.[1];
      const quantileAnswers = seen.filter((s) => s.path === '/api/v1/query' && s.expr.startsWith('histogram_quantile(') && s.expr.includes(`${histogram}{`)).map((s) => s.answeredMs);
      expect(quantileAnswers.length, histogram).toBeGreaterThan(0);
      // Sent before the first of its quantile answers came back: no round trip of its own.
      expect(bound.arrivedMs, histogram).toBeLessThan(Math.min(...quantileAnswers));
    }
  });
});

/**
 * @module test/prometheus/tgi-failures.test
 * TGI's failed and cancelled requests on the Prometheus path: a real Prometheus (2.42) scrapes
 * TGI's real capture replayed (test/prometheus/replay-exporter.ts) with failures under each `err`
 * value TGI's router counts, and `analyze --prometheus` counts them apart: a dropped stream is the
 * client's cancellation (not an error), a validation error the client's own, the rest server errors.
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { phaseTable } from '../../src/report/html/analysis.js';
import { renderJson } from '../../src/report/json.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import { useReplayedJob } from './_prometheus.js';
import { tgiFailures } from './scenarios.js';

const job = useReplayedJob('tgi', () => [tgiFailures(71)], 8);

describe('TGI failures by tgi_request_failure{err}, replayed into a real Prometheus', { timeout: 60_000 }, () => {
  it('counts cancellations, client errors and server errors apart; only the errors are errors', async () => {
    const run = job();
    const result = await analyzePrometheus({ url: run.url, startS: run.startS, endS: run.endS, stepS: 2 });
    const s = result.models[0]!.summary;
    const f = s.failures!;
    // Per 100 requests: 20 dropped, 10 validation, 5 overloaded + 2 generation (increase() extrapolates at the range edges).
    const per100 = (n: number): number => (n / s.requests) * 100;
    expect(per100(f.cancelled)).toBeGreaterThan(20 * 0.75);
    expect(per100(f.cancelled)).toBeLessThan(20 * 1.25);
    expect(per100(f.client)).toBeGreaterThan(10 * 0.75);
    expect(per100(f.client)).toBeLessThan(10 * 1.25);
    expect(per100(f.server)).toBeGreaterThan(7 * 0.6);
    expect(per100(f.server)).toBeLessThan(7 * 1.4);
    expect(f.cancelled).toBeGreaterThan(f.client);
    expect(f.client).toBeGreaterThan(f.server);
    expect(s.errors).toBe(f.server + f.client);
    expect(result.prometheus?.queries.map((q) => q.expr)).toContain(`sum by (err) (increase(tgi_request_failure{job="tgi"}[${run.endS - run.startS}s]))`);

    const text = renderText(result);
    expect(text.replace(/\s+/g, ' ')).toContain(`${s.errors} errors (${f.server} server, ${f.client} client), ${f.cancelled} cancelled by the client`);
    // The counts line wraps at 80 columns like the rest of the model section.
    const lines = text.split('\n');
    const counts = lines.findIndex((l) => l.startsWith(`  ${s.requests} requests,`));
    expect(lines.slice(counts, counts + 2).every((l) => l.length <= 80)).toBe(true);
    expect(renderMarkdown(result)).toContain(`${s.errors} errors (${f.server} server, ${f.client} client), ${f.cancelled} cancelled by the client;`);
    expect(phaseTable(s)).toContain(`; ${s.errors} errors (${f.server} server, ${f.client} client), ${f.cancelled} cancelled by the client.</p>`);
    const json = JSON.parse(renderJson(result)) as { models: { errors: number; failures: unknown }[] };
    expect(json.models[0]?.failures).toEqual({ server_errors: f.server, client_errors: f.client, cancelled: f.cancelled });
    expect(json.models[0]?.errors).toBe(s.errors);
    expect(result.prometheus?.sources[0]?.notes.join(' ')).toMatch(/dropped = cancelled by the client/);
  });
});

/**
 * A service process that ends while spans wait in the export queue, with the OTLP JSON lines file
 * fallback: when its event loop runs out (a script, a batch job, a worker that finished) the queue
 * is written before the process exits, from the ES module and the CommonJS build alike, and
 * `analyze` reads the requests back; after process.exit() without shutdown() the loss is said once.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { ensureTracerBuilt, repoRoot } from '../support/built-tracer.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ld-process-exit-'));
beforeAll(ensureTracerBuilt, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A service body: 5 requests with a 2 ms compute each, then `ending` (no shutdown). */
function service(load: string, file: string, ending: string): string {
  return `${load}
const tracing = setupTracing({ serviceName: 'batch-job', exporter: { file: ${JSON.stringify(file)} }, metrics: false });
const tracer = createInferenceTracer({ model: 'mlp' });
const spin = (ms) => { const until = performance.now() + ms; while (performance.now() < until); };
for (let i = 0; i < 5; i += 1) tracer.infer((req) => req.compute(() => spin(2)));
${ending}
`;
}

async function runScript(name: string, text: string): Promise<{ stderr: string }> {
  const script = join(dir, name);
  writeFileSync(script, text);
  const { stderr } = await run(process.execPath, [script], { cwd: dir, timeout: 60_000 });
  return { stderr };
}

describe('a process that ends with spans still queued', () => {
  it('writes them when its event loop runs out: ES module and CommonJS, read back by analyze', async () => {
    const esm = join(dir, 'esm.jsonl');
    const cjs = join(dir, 'cjs.jsonl');
    const esmRun = await runScript(
      'esm.mjs',
      service(`import { setupTracing, createInferenceTracer } from ${JSON.stringify(join(repoRoot, 'dist/tracer/index.js'))};`, esm, '// the script ends here'),
    );
    const cjsRun = await runScript(
      'cjs.cjs',
      service(`const { setupTracing, createInferenceTracer } = require(${JSON.stringify(join(repoRoot, 'dist/cjs/tracer/index.js'))});`, cjs, '// the script ends here'),
    );
    expect(esmRun.stderr).toBe('');
    expect(cjsRun.stderr).toBe('');
    for (const file of [esm, cjs]) {
      const result = await analyzeFiles([file], { diagnose: false });
      expect(result.requests).toBe(5);
      const compute = result.overall!.phases.compute!;
      expect(compute.present).toBe(5);
      // Each compute span holds a 2 ms spin.
      expect(compute.p50Ms).toBeGreaterThanOrEqual(2);
    }
  }, 120_000);

  it('says once how many spans process.exit() left behind without shutdown()', async () => {
    const file = join(dir, 'exit.jsonl');
    const { stderr } = await runScript(
      'exit.mjs',
      service(`import { setupTracing, createInferenceTracer } from ${JSON.stringify(join(repoRoot, 'dist/tracer/index.js'))};`, file, 'process.exit(0);'),
    );
    expect(stderr.trim().split('\n')).toEqual([
      'latency-doctor tracer: the process exited with 10 span(s) not exported; call tracing.shutdown() (awaited) before process.exit() or in your signal handler',
    ]);
    expect(existsSync(file) ? readFileSync(file, 'utf8') : '').toBe('');
  }, 120_000);

  it('sends the last metrics and the queued spans over OTLP/HTTP when its event loop runs out', async () => {
    const received: { path: string; body: string }[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { stderr } = await runScript(
        'otlp.mjs',
        `import { setupTracing, createInferenceTracer } from ${JSON.stringify(join(repoRoot, 'dist/tracer/index.js'))};
setupTracing({ serviceName: 'batch-job', exporter: { otlpEndpoint: ${JSON.stringify(url)}, protocol: 'http/json' }, metrics: { otlp: { intervalMillis: 60000 } } });
const tracer = createInferenceTracer({ model: 'mlp' });
for (let i = 0; i < 3; i += 1) tracer.infer((req) => req.compute(() => i));
`,
      );
      expect(stderr).toBe('');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const traces = received.filter((r) => r.path === '/v1/traces').map((r) => r.body).join('');
    const metricBodies = received.filter((r) => r.path === '/v1/metrics').map((r) => r.body);
    const metrics = metricBodies.join('');
    expect(traces.match(/"name":"infer mlp"/g)).toHaveLength(3);
    // The 60 s interval never came: before, no metric left the process.
    expect(metrics).toContain('"name":"inference.request.duration"');
    // Three requests measured, in one push.
    const counts = metricBodies.flatMap((body) =>
      (JSON.parse(body) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; histogram?: { dataPoints: { count: string | number }[] } }[] }[] }[] }).resourceMetrics
        .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
        .filter((m) => m.name === 'inference.request.duration')
        .flatMap((m) => m.histogram?.dataPoints.map((p) => Number(p.count)) ?? []),
    );
    expect(counts).toEqual([3]);
  }, 120_000);
});

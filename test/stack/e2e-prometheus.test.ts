/**
 * @module test/stack/e2e-prometheus.test
 * End to end on loopback with a real Prometheus (Debian's `prometheus`): it scrapes the GPU
 * sidecar (replaying a real H100 capture through the fake nvidia-smi) and the example inference
 * service (tracer histograms on the OpenTelemetry Prometheus exporter) while the load generator
 * drives it. The PromQL is read from the committed dashboard JSON, variables substituted as
 * Grafana would, and must return data; every other panel query must at least execute.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrafanaDashboard } from '../../dashboards/generate.js';
import { substituteVariables } from './_promql.js';
import { eventually, freePort, start, waitForOutput, type Started } from './_processes.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SERVICE_JOB = 'latency-doctor-example';
const SIDECAR_JOB = 'gpu-sidecar';
/** Set through the fake nvidia-smi, so the value read back through Prometheus is known. */
const GPU_TEMPERATURE_C = 71;

const scratch = mkdtempSync(join(tmpdir(), 'ld-stack-e2e-'));
const started: Started[] = [];
let promUrl = '';

/** Children must not inherit an OTLP endpoint from the developer's shell. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_')) env[k] = v;
  return { ...env, ...extra };
}

function dashboard(file: string): GrafanaDashboard {
  return JSON.parse(readFileSync(join(ROOT, 'dashboards', file), 'utf8')) as GrafanaDashboard;
}

function panelExpr(board: GrafanaDashboard, title: string): string {
  const expr = board.panels.find((p) => p.title === title)?.targets[0]?.expr;
  if (expr === undefined) throw new Error(`no panel "${title}" in ${board.uid}`);
  return expr;
}

interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

async function instantQuery(expr: string): Promise<{ status: string; data?: { result: PromSeries[] }; error?: string }> {
  const response = await fetch(`${promUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }).toString(),
  });
  return (await response.json()) as { status: string; data?: { result: PromSeries[] }; error?: string };
}

async function rangeQuery(expr: string): Promise<{ status: string; error?: string }> {
  const end = Date.now() / 1000;
  const response = await fetch(`${promUrl}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr, start: String(end - 120), end: String(end), step: '5' }).toString(),
  });
  return (await response.json()) as { status: string; error?: string };
}

beforeAll(async () => {
  // GPU sidecar through the real CLI module, the fake nvidia-smi first on PATH.
  const sidecar = start(process.execPath, ['--import', 'tsx', 'test/sidecar/run-sidecar.ts', 'sidecar', '--host', '127.0.0.1', '--port', '0', '--period', '250', '--xml-period', '0'], {
    cwd: ROOT,
    env: childEnv({
      PATH: `${join(ROOT, 'test', 'sidecar', 'fake-nvidia-smi')}${delimiter}${process.env['PATH'] ?? ''}`,
      FAKE_NVSMI_SET: `temperature.gpu=${GPU_TEMPERATURE_C}`,
    }),
  });
  started.push(sidecar);
  // Example service: tracer histograms on a Prometheus endpoint, spans recorded but not exported.
  const service = start(process.execPath, ['--import', 'tsx', 'examples/service/main.ts', '--port', '0', '--metrics-port', '0', '--service-name', SERVICE_JOB], {
    cwd: ROOT,
    env: childEnv({ EXIT_ON_STDIN_CLOSE: '1' }),
  });
  started.push(service);
  const [sidecarUrl, listening] = await Promise.all([
    waitForOutput(sidecar, /serving (http:\/\/[^\s]+)\/metrics/, 30_000),
    waitForOutput(service, /\{"event":"listening".*\}/, 60_000),
  ]);
  const serviceInfo = JSON.parse(listening[0]) as { url: string; metricsUrl: string | null };
  if (serviceInfo.metricsUrl === null) throw new Error(`service serves no metrics:\n${service.output()}`);
  const sidecarTarget = new URL(sidecarUrl[1] ?? '').host;
  const serviceTarget = new URL(serviceInfo.metricsUrl).host;

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(scratch, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${SERVICE_JOB}`,
      '    static_configs:',
      `      - targets: ["${serviceTarget}"]`,
      `  - job_name: ${SIDECAR_JOB}`,
      '    static_configs:',
      `      - targets: ["${sidecarTarget}"]`,
      '',
    ].join('\n'),
  );
  const prometheus = start('prometheus', [
    `--config.file=${join(scratch, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(scratch, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  started.push(prometheus);
  await eventually(async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 30_000, `Prometheus ready\n${prometheus.output()}`);

  // A few seconds of real load through the example load generator.
  const loadgen = start(process.execPath, ['--import', 'tsx', 'examples/loadgen/main.ts', '--url', serviceInfo.url, '--rate', '40', '--duration', '4', '--warmup', '0', '--json'], {
    cwd: ROOT,
    env: childEnv({}),
  });
  started.push(loadgen);
  await waitForOutput(loadgen, /"requests":\s*[1-9]/, 60_000);
  await loadgen.stop();

  // Both targets up, and at least three scrapes of the service after the load.
  await eventually(
    async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      const up = body.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.job);
      return up.includes(SERVICE_JOB) && up.includes(SIDECAR_JOB) ? true : undefined;
    },
    30_000,
    'both scrape targets up',
  );
  await new Promise((r) => setTimeout(r, 3_500));
}, 180_000);

afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
  rmSync(scratch, { recursive: true, force: true });
}, 30_000);

describe('Prometheus on loopback scraping the sidecar and the traced example service', () => {
  it('answers the "Phase p99" panel of the inference dashboard with a p99 per phase', async () => {
    const expr = substituteVariables(panelExpr(dashboard('inference-latency.json'), 'Phase p99'), { job: SERVICE_JOB, instance: '.*', model: '.+' });
    const answer = await instantQuery(expr);
    expect(answer.status, answer.error).toBe('success');
    const byPhase = new Map((answer.data?.result ?? []).map((s) => [s.metric['inference_phase'], Number(s.value[1])]));
    // A phase with no request in the window answers NaN; the load above ran preprocess and
    // compute, so those two must come back as numbers (an answer of only NaN fails here).
    const measured = new Map([...byPhase].filter(([, seconds]) => Number.isFinite(seconds)));
    expect([...measured.keys()]).toEqual(expect.arrayContaining(['preprocess', 'compute']));
    for (const [phase, seconds] of measured) {
      expect(seconds, String(phase)).toBeGreaterThan(0);
      expect(seconds, String(phase)).toBeLessThan(10);
    }
  });

  it('answers the "Request rate" and "Share of e2e per phase" panels with plausible numbers', async () => {
    const board = dashboard('inference-latency.json');
    const vars = { job: SERVICE_JOB, instance: '.*', model: '.+' };
    const rate = await instantQuery(substituteVariables(panelExpr(board, 'Request rate'), vars));
    expect(rate.status).toBe('success');
    expect(Number(rate.data?.result[0]?.value[1] ?? 'NaN')).toBeGreaterThanOrEqual(0);
    const share = await instantQuery(substituteVariables(panelExpr(board, 'Share of e2e per phase'), vars));
    expect(share.status).toBe('success');
    const total = (share.data?.result ?? []).map((s) => Number(s.value[1])).filter((v) => Number.isFinite(v)).reduce((a, b) => a + b, 0);
    // Phases are nested in the request span: together they cover most of it, never much more.
    expect(total).toBeGreaterThan(0.3);
    expect(total).toBeLessThan(1.2);
  });

  it('answers the "GPU temperature" panel of the GPU dashboard with the temperature nvidia-smi reported', async () => {
    const expr = substituteVariables(panelExpr(dashboard('gpu-health.json'), 'GPU temperature'), { job: SIDECAR_JOB, instance: '.*', gpu: '.*' });
    const answer = await instantQuery(expr);
    expect(answer.status, answer.error).toBe('success');
    const gpuSensor = (answer.data?.result ?? []).find((s) => s.metric['hw_sensor_location'] === 'gpu');
    expect(gpuSensor?.metric['hw_name']).toMatch(/^gpu\d+$/);
    expect(Number(gpuSensor?.value[1])).toBe(GPU_TEMPERATURE_C);
  });

  it('answers every GPU panel for the replayed H100 (driver 590) with one series per GPU', async () => {
    const board = dashboard('gpu-health.json');
    const vars = { job: SIDECAR_JOB, instance: '.*', gpu: '.*', service: SERVICE_JOB };
    const empty: string[] = [];
    for (const panel of board.panels) {
      const series: PromSeries[] = [];
      for (const t of panel.targets) {
        const answer = await instantQuery(substituteVariables(t.expr, vars));
        expect(answer.status, `${panel.title}: ${answer.error ?? ''}`).toBe('success');
        series.push(...(answer.data?.result ?? []));
      }
      if (series.length === 0) empty.push(panel.title);
      for (const s of series) {
        if (s.metric['hw_name'] !== undefined) expect(s.metric['hw_name'], panel.title).toMatch(/^gpu\d+$/);
      }
    }
    expect(empty).toEqual([]);
    const throttle = await instantQuery(substituteVariables(panelExpr(board, 'Throttle reasons'), vars));
    // One row per reason the NVML mask defines, 0 or 1 each.
    expect((throttle.data?.result ?? []).length).toBeGreaterThanOrEqual(8);
    expect((throttle.data?.result ?? []).every((s) => ['0', '1'].includes(s.value[1]))).toBe(true);
  });

  it('answers the "E2E p99 of the inference service" panel next to the GPU panels', async () => {
    const expr = substituteVariables(panelExpr(dashboard('gpu-health.json'), 'E2E p99 of the inference service'), { service: SERVICE_JOB });
    const answer = await instantQuery(expr);
    expect(answer.status, answer.error).toBe('success');
    expect((answer.data?.result ?? []).some((s) => Number(s.value[1]) > 0)).toBe(true);
  });

  it('executes every panel query of both dashboards without a PromQL error', async () => {
    const vars = { job: '.+', instance: '.*', model: '.+', gpu: '.*', service: '.+' };
    const failures: string[] = [];
    for (const file of ['inference-latency.json', 'gpu-health.json']) {
      for (const panel of dashboard(file).panels) {
        for (const t of panel.targets) {
          const answer = await rangeQuery(substituteVariables(t.expr, vars));
          if (answer.status !== 'success') failures.push(`${file} "${panel.title}" ${t.refId}: ${answer.error ?? answer.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

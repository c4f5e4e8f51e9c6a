import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusName, SIDECAR_METRICS } from '../../src/semconv.js';
import { fakeEnv, processesWithMarker, REPO_ROOT, SIDECAR_TEST_DIR, waitFor } from './support.js';
import { PROMTOOL } from '../support/promtool.js';

const marker = `prometheus-test-${process.pid}`;
const children: ChildProcess[] = [];
let dir = '';
let sidecarUrl = '';
let prometheusUrl = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ld-prom-'));
  // The sidecar as its own process through the real CLI module, the fake nvidia-smi first on PATH.
  const sidecar = spawn(process.execPath, ['--import', 'tsx', join(SIDECAR_TEST_DIR, 'run-sidecar.ts'), 'sidecar', '--port', '0', '--period', '500', '--xml-period', '0'], {
    cwd: REPO_ROOT,
    env: fakeEnv(marker),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(sidecar);
  let stderr = '';
  sidecar.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  sidecarUrl = await waitFor('sidecar URL', () => /serving (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr)?.[1], 20_000);
  const port = await freePort();
  const target = new URL(sidecarUrl).host;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: latency-doctor-sidecar\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const prometheus = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { env: fakeEnv(marker), stdio: 'ignore' },
  );
  children.push(prometheus);
  prometheusUrl = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map(stop));
  await waitFor('no leftover processes', () => (processesWithMarker(marker).length === 0 ? true : undefined), 10_000);
  rmSync(dir, { recursive: true, force: true });
});

interface QueryResult {
  readonly status: string;
  readonly data: { readonly result: ReadonlyArray<{ readonly metric: Record<string, string>; readonly value: [number, string] }> };
}

describe('real Prometheus scraping the sidecar on loopback', () => {
  it('reads the fixture GPU temperature (59 °C, H100 under load) back through the HTTP API', async () => {
    const name = prometheusName(SIDECAR_METRICS.TEMPERATURE);
    const query = `${name}{hw_type="gpu",hw_sensor_location="gpu"}`;
    const result = await waitFor(
      'the temperature in Prometheus',
      async () => {
        try {
          const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
          if (!res.ok) return undefined;
          const body = (await res.json()) as QueryResult;
          return body.data.result.length > 0 ? body.data.result : undefined;
        } catch {
          return undefined;
        }
      },
      40_000,
      250,
    );
    expect(result).toHaveLength(1);
    expect(result[0]?.value[1]).toBe('59');
    expect(result[0]?.metric).toMatchObject({ hw_id: 'GPU-00000000-0000-0000-0000-000000000000', hw_model: 'NVIDIA H100 80GB HBM3', job: 'latency-doctor-sidecar' });
    const up = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="latency-doctor-sidecar"}')}`)).json()) as QueryResult;
    expect(up.data.result[0]?.value[1]).toBe('1');
  }, 60_000);

  it('promtool check metrics passes on /metrics', async () => {
    const text = await (await fetch(`${sidecarUrl}/metrics`)).text();
    expect(text).toContain('gpu_clock_event_active{');
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });
});

/**
 * @module test/stack/config-tools.test
 * The real tools validate the stack's files: Debian's docker-compose (v1 parser) on
 * docker-compose.yml, promtool on prometheus.yml and the alert rules, including the rules'
 * unit tests. Each tool is also shown a broken file, so a pass means something.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_SIDECAR_PORT } from '../../src/sidecar/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'ld-stack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function exitOf(cmd: string, args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  healthcheck?: { test: string[] };
  deploy?: { resources?: { reservations?: { devices?: { driver: string; capabilities: string[] }[] } } };
  networks?: Record<string, { aliases?: string[] }>;
  volumes?: string[];
  [key: string]: unknown;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const env = Object.fromEntries(
  readFileSync(join(ROOT, '.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q` (Compose v1 parser)', async () => {
    const { code, output } = await exitOf('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q']);
    expect(output.trim()).toBe('');
    expect(code).toBe(0);
  });

  it('docker-compose rejects a broken copy, so the check above can fail', async () => {
    const dir = join(scratch, 'compose-broken');
    mkdirSync(dir);
    copyFileSync(join(ROOT, '.env'), join(dir, '.env'));
    writeFileSync(join(dir, 'docker-compose.yml'), readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8').replace('healthcheck:', 'healthcheckk:'));
    const { code, output } = await exitOf('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], dir);
    expect(code).not.toBe(0);
    expect(output).toMatch(/healthcheckk/);
  });

  it('pins every image through .env and builds the Node images from docker/node.Dockerfile', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const image = service.image ?? '';
      const vars = [...image.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1] ?? '');
      expect(vars.length, `${name}: image ${image} is not pinned through .env`).toBeGreaterThan(0);
      for (const v of vars) {
        expect(env[v], `${name}: ${v} missing from .env`).toBeTruthy();
        expect(env[v], `${name}: ${v} must not float`).not.toMatch(/latest/);
      }
    }
    expect(compose.services['service']?.build).toEqual({ context: '.', dockerfile: 'docker/node.Dockerfile', args: { NODE_IMAGE: '${NODE_IMAGE}' } });
    expect(compose.services['service']?.['command']).toEqual(expect.arrayContaining(['--import', 'tsx']));
  });

  it('has healthchecks on every long-running service whose image can run one', () => {
    // volume-init and analyze are one-shots, the loadgen has no port, and the collector image is FROM scratch.
    const exempt = new Set(['volume-init', 'analyze', 'loadgen', 'collector']);
    for (const [name, service] of Object.entries(compose.services)) {
      if (!exempt.has(name)) expect(service.healthcheck?.test.length, `${name} has no healthcheck`).toBeGreaterThan(1);
    }
  });

  it('reserves the GPUs for the sidecar and offers the same sidecar without a GPU under another profile', () => {
    const gpu = compose.services['sidecar'];
    const cpu = compose.services['sidecar-nogpu'];
    expect(gpu?.profiles).toEqual(['gpu']);
    expect(cpu?.profiles).toEqual(['nogpu']);
    expect(gpu?.deploy?.resources?.reservations?.devices?.[0]).toMatchObject({ driver: 'nvidia', capabilities: expect.arrayContaining(['gpu', 'utility']) });
    expect(cpu?.deploy).toBeUndefined();
    expect(cpu?.['command']).toEqual(gpu?.['command']);
    expect(gpu?.networks?.['default']?.aliases).toContain('gpu-sidecar');
    expect(cpu?.networks?.['default']?.aliases).toContain('gpu-sidecar');
    expect(env['COMPOSE_PROFILES']).toBe('gpu');
    const port = String(DEFAULT_SIDECAR_PORT);
    expect(gpu?.['command']).toEqual(expect.arrayContaining(['sidecar', '--host', '0.0.0.0', '--port', port]));
    expect(readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8')).toContain(`"gpu-sidecar:${port}"`);
  });

  it('keeps trace files and samples in named volumes, and every scrape target is a service or alias of the compose file', () => {
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['traces', 'gpu-samples']));
    const hosts = new Set<string>(Object.keys(compose.services));
    for (const s of Object.values(compose.services)) for (const n of Object.values(s.networks ?? {})) for (const a of n.aliases ?? []) hosts.add(a);
    hosts.add('localhost');
    const prom = parse(readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets.length).toBeGreaterThanOrEqual(4);
    for (const t of targets) expect(hosts, t).toContain(t.split(':')[0]);
    // Collector exporters carry the traced service's job/instance: honor_labels must keep them.
    const honoring = prom.scrape_configs.filter((c) => (c as { honor_labels?: boolean }).honor_labels === true);
    expect(honoring.flatMap((c) => c.static_configs.flatMap((x) => x.targets)).sort()).toEqual(['collector:8889', 'collector:8890']);
  });
});

describe('prometheus/', () => {
  it('promtool check config passes with the rule files resolved', async () => {
    const config = readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8').replace(
      '/etc/prometheus/rules/*.rules.yml',
      join(ROOT, 'prometheus', 'rules', '*.rules.yml'),
    );
    const file = join(scratch, 'prometheus.yml');
    writeFileSync(file, config);
    const { code, output } = await exitOf('promtool', ['check', 'config', file]);
    expect(output).toContain('SUCCESS');
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(code).toBe(0);
  });

  it('promtool check rules passes on the alert rules and fails on a rule with bad PromQL', async () => {
    const good = await exitOf('promtool', ['check', 'rules', 'prometheus/rules/latency-doctor.rules.yml']);
    expect(good.output).toContain('SUCCESS');
    expect(good.code).toBe(0);
    const broken = join(scratch, 'broken.rules.yml');
    writeFileSync(broken, readFileSync(join(ROOT, 'prometheus', 'rules', 'latency-doctor.rules.yml'), 'utf8').replace('> 0.5', '> > 0.5'));
    const bad = await exitOf('promtool', ['check', 'rules', broken]);
    expect(bad.code).not.toBe(0);
  });

  it('promtool test rules: each alert fires on its condition and stays quiet on the look-alike', async () => {
    const { code, output } = await exitOf('promtool', ['test', 'rules', 'latency-doctor.rules.test.yml'], join(ROOT, 'prometheus', 'rules'));
    expect(output).not.toContain('FAILED');
    expect(code).toBe(0);
  });
});

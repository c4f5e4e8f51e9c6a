/**
 * @module test/stack/dashboards.test
 * The provisioned dashboards and alert rules query only series the tracer, the sidecar or the
 * span-metrics connector emit (names from src/semconv.ts), and the dashboards follow the rules
 * of Grafana's dashboard-linter: a datasource variable that every panel and variable uses, no
 * hard-coded datasource uid, a unit on every panel, $__rate_interval in rate/irate/increase,
 * a job matcher on every query.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allDashboards, GRAFANA_SCHEMA_VERSION, serializeDashboard, type GrafanaDashboard } from '../../dashboards/generate.js';
import { ATTR, SPANMETRICS, TRACER_METRICS, prometheusLabel, prometheusName } from '../../src/semconv.js';
import { CLOCK_EVENT_BITS } from '../../src/sidecar/index.js';
import { emittedSeries, labelMatchers, metricNames, substituteVariables } from './_promql.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DASHBOARD_DIR = join(ROOT, 'dashboards');

function committedDashboards(): [string, GrafanaDashboard][] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(DASHBOARD_DIR, f), 'utf8')) as GrafanaDashboard]);
}

/** Dashboard-linter style findings for one dashboard; empty when clean. */
function lintDashboard(board: GrafanaDashboard): string[] {
  const problems: string[] = [];
  const vars = board.templating.list;
  const dsVar = vars.find((v) => v.type === 'datasource');
  if (dsVar === undefined || dsVar['query'] !== 'prometheus') problems.push('template-datasource-rule: no Prometheus datasource variable');
  const dsRef = dsVar === undefined ? '' : `\${${dsVar.name}}`;
  if (!vars.some((v) => v.name === 'job')) problems.push('template-job-rule: no job variable');
  if (!vars.some((v) => v.name === 'instance')) problems.push('template-instance-rule: no instance variable');
  for (const v of vars.filter((x) => x.type === 'query')) {
    const ds = v['datasource'] as { uid?: string } | undefined;
    if (ds?.uid !== dsRef) problems.push(`template-datasource-rule: variable ${v.name} does not use ${dsRef}`);
    if (!/^label_values\(.+\)$/.test(String(v['definition']))) problems.push(`template-label-promql-rule: variable ${v.name} is not a label_values() query`);
    if (v['refresh'] !== 2) problems.push(`template-on-time-change-reload-rule: variable ${v.name} does not refresh on time range change`);
  }
  for (const panel of board.panels) {
    const where = `panel "${panel.title}"`;
    if (panel.datasource.uid !== dsRef) problems.push(`panel-datasource-rule: ${where} uses datasource ${panel.datasource.uid}`);
    if (!panel.title || !panel.description) problems.push(`panel-title-description-rule: ${where} lacks a title or description`);
    const unit = panel.fieldConfig.defaults['unit'];
    if (typeof unit !== 'string' || unit === '') problems.push(`panel-units-rule: ${where} has no unit`);
    if (panel.targets.length === 0) problems.push(`panel-no-targets-rule: ${where} has no queries`);
    for (const t of panel.targets) {
      if (t.datasource.uid !== dsRef) problems.push(`panel-datasource-rule: ${where} query ${t.refId} uses datasource ${t.datasource.uid}`);
      for (const m of t.expr.matchAll(/\b(rate|irate|increase)\s*\([^[]*\[([^\]]+)\]/g)) {
        if (m[2] !== '$__rate_interval') problems.push(`target-rate-interval-rule: ${where} ${m[1]}() over [${m[2]}] instead of [$__rate_interval]`);
      }
      const selectors = t.expr.match(/\{[^}]*\}/g) ?? [];
      const bare = metricNames(t.expr).filter((name) => new RegExp(`\\b${name}\\b(?!\\s*\\{)`).test(t.expr));
      const withJob = selectors.filter((block) => labelMatchers(block).some((lm) => lm.name === 'job' && lm.op === '=~' && lm.value.startsWith('$')));
      if (selectors.length === 0 || bare.length > 0 || withJob.length !== selectors.length) {
        problems.push(`target-job-rule: ${where} query ${t.refId} lacks job=~"$var" on every selector`);
      }
    }
  }
  const text = JSON.stringify(board);
  for (const m of text.matchAll(/"uid":\s*"([^"]*)"/g)) {
    if (m[1] !== dsRef && m[1] !== board.uid) problems.push(`panel-datasource-rule: hard-coded datasource uid "${m[1]}"`);
  }
  return problems;
}

describe('dashboards', () => {
  it('the committed JSON is exactly what dashboards/generate.ts builds from src/semconv.ts', () => {
    const built = allDashboards();
    const committed = committedDashboards();
    expect(committed.map(([f]) => f)).toEqual(Object.keys(built).sort());
    for (const [file, board] of committed) {
      expect(serializeDashboard(board), `${file} is stale: run node --import tsx dashboards/generate.ts`).toBe(
        readFileSync(join(DASHBOARD_DIR, file), 'utf8'),
      );
      expect(board).toEqual(JSON.parse(serializeDashboard(built[file] as GrafanaDashboard)));
    }
  });

  it.each(committedDashboards())('%s is at the schema version Grafana 12 writes, with nothing its v40–v42 migrations would change', (_file, board) => {
    expect(GRAFANA_SCHEMA_VERSION).toBe(42);
    expect(board.schemaVersion).toBe(GRAFANA_SCHEMA_VERSION);
    const raw = board as unknown as Record<string, unknown>;
    // v40: refresh is a string; v41: timepicker.time_options is gone; v42: hideFrom.viz implies hideFrom.tooltip.
    expect(typeof raw['refresh']).toBe('string');
    expect(JSON.stringify(raw['timepicker'] ?? {})).not.toContain('time_options');
    for (const match of JSON.stringify(board).matchAll(/"id":"custom\.hideFrom","value":(\{[^}]*\})/g)) {
      const value = JSON.parse(match[1] ?? '{}') as { viz?: boolean; tooltip?: boolean };
      if (value.viz === true) expect(value.tooltip).toBe(true);
    }
  });

  it.each(committedDashboards())('%s passes the dashboard-linter rules', (_file, board) => {
    expect(lintDashboard(board)).toEqual([]);
  });

  it('the linter catches a hard-coded uid, a missing unit, a fixed rate window and a missing job matcher', () => {
    const [, board] = committedDashboards()[0] as [string, GrafanaDashboard];
    const broken = structuredClone(board) as unknown as { panels: { fieldConfig: { defaults: Record<string, unknown> }; datasource: { uid: string }; targets: { expr: string }[] }[] };
    const first = broken.panels[0];
    if (first === undefined || first.targets[0] === undefined) throw new Error('dashboard has no panel');
    delete first.fieldConfig.defaults['unit'];
    first.datasource.uid = 'PBFA97CFB590B2093';
    first.targets[0].expr = first.targets[0].expr.replace('$__rate_interval', '5m').replace(/job=~"\$[a-z]+",? ?/g, '');
    const problems = lintDashboard(broken as unknown as GrafanaDashboard).join('\n');
    expect(problems).toContain('panel-units-rule');
    expect(problems).toContain('hard-coded datasource uid "PBFA97CFB590B2093"');
    expect(problems).toContain('target-rate-interval-rule');
    expect(problems).toContain('target-job-rule');
  });

  it.each(committedDashboards())('%s queries only series that the tracer, the sidecar or span metrics emit', (_file, board) => {
    const emitted = emittedSeries();
    const queried = new Set<string>();
    for (const panel of board.panels) for (const t of panel.targets) for (const n of metricNames(t.expr)) queried.add(n);
    for (const v of board.templating.list.filter((x) => x.type === 'query')) {
      const selector = /^label_values\((.+),\s*[A-Za-z_]+\)$/.exec(String(v['definition']))?.[1];
      if (selector !== undefined) for (const n of metricNames(selector)) queried.add(n);
    }
    expect(queried.size).toBeGreaterThan(3);
    expect([...queried].filter((n) => !emitted.has(n))).toEqual([]);
  });

  it('every panel query is valid PromQL shape once variables are substituted (balanced brackets, no leftover $)', () => {
    for (const [, board] of committedDashboards()) {
      for (const panel of board.panels) {
        for (const t of panel.targets) {
          const plain = substituteVariables(t.expr);
          expect(plain, panel.title).not.toContain('$');
          for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']] as const) {
            expect(plain.split(open).length, `${panel.title}: ${open}${close}`).toBe(plain.split(close).length);
          }
        }
      }
    }
  });

  it.each(committedDashboards())('%s lays panels out on the 24-column grid without overlaps', (_file, board) => {
    const cells = new Map<string, string>();
    for (const panel of board.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      expect(w * h, panel.title).toBeGreaterThan(0);
      for (let cx = x; cx < x + w; cx++) {
        for (let cy = y; cy < y + h; cy++) {
          const other = cells.get(`${cx},${cy}`);
          expect(other, `"${panel.title}" overlaps "${other ?? ''}"`).toBeUndefined();
          cells.set(`${cx},${cy}`, panel.title);
        }
      }
    }
  });

  it('the inference dashboard reads phase percentiles from the tracer and exemplars from span metrics', () => {
    const board = allDashboards()['inference-latency.json'] as GrafanaDashboard;
    const byTitle = new Map(board.panels.map((p) => [p.title, p]));
    const p99 = byTitle.get('Phase p99')?.targets[0]?.expr ?? '';
    expect(p99).toContain(`${prometheusName(TRACER_METRICS.PHASE_DURATION)}_bucket`);
    expect(p99).toContain(`by (${prometheusLabel(ATTR.PHASE)}, le)`);
    const heatmap = byTitle.get('E2E latency heatmap (span metrics)');
    expect(heatmap?.targets[0]?.expr).toContain(`${SPANMETRICS.DURATION}_bucket`);
    expect(heatmap?.targets[0]?.exemplar).toBe(true);
    expect(board.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance', 'model']);
  });
});

describe('metric name extraction', () => {
  it('finds selected series and skips functions, labels, keywords, durations and numbers', () => {
    expect(
      metricNames('histogram_quantile(0.99, sum by (le, job) (rate(a_bucket{job=~"$job", le!="x"}[$__rate_interval]))) / on() group_left() sum(b_sum) * 1e6 > bool 0.5'),
    ).toEqual(['a_bucket', 'b_sum']);
    expect(metricNames('max by (hw_name, reason) (avg_over_time(gpu_x{reason=~"a|b"}[5m:1m]) offset 5m) and on (job) up')).toEqual(['gpu_x', 'up']);
  });
});

describe('alert rules', () => {
  const rules = parse(readFileSync(join(ROOT, 'prometheus', 'rules', 'latency-doctor.rules.yml'), 'utf8')) as {
    groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  const all = rules.groups.flatMap((g) => g.rules);

  it('query only emitted series, series recorded in the same file, or Prometheus\' own `up`', () => {
    const known = emittedSeries();
    for (const r of all) if (r.record !== undefined) known.add(r.record);
    // `up` is written by Prometheus for every scrape: the one series a dead target still has.
    known.add('up');
    const unknown = all.flatMap((r) => metricNames(r.expr).filter((n) => !known.has(n)).map((n) => `${r.alert ?? r.record}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it('match throttle reasons by the names the sidecar decodes from the NVML bitmask', () => {
    const reasons = new Set<string>(CLOCK_EVENT_BITS.map((b) => b.reason));
    const used = all.flatMap((r) => labelMatchers(r.expr).filter((m) => m.name === 'reason').flatMap((m) => m.value.split('|')));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((r) => !reasons.has(r))).toEqual([]);
    expect(used).not.toContain('sw_power_cap');
  });

  it('name only the scrape jobs of prometheus.yml, and alert on each of our scrape targets going down', () => {
    const config = parse(readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    const jobs = new Set(config.scrape_configs.map((c) => c.job_name));
    const named = all.flatMap((r) => labelMatchers(r.expr).filter((m) => m.name === 'job').flatMap((m) => m.value.split('|')));
    expect(named.filter((j) => !jobs.has(j))).toEqual([]);
    // Every job but Prometheus' own is watched through `up` (a dead target has no other series).
    const watched = new Set(all.filter((r) => metricNames(r.expr).includes('up')).flatMap((r) => labelMatchers(r.expr).filter((m) => m.name === 'job').flatMap((m) => m.value.split('|'))));
    expect([...jobs].filter((j) => j !== 'prometheus' && !watched.has(j))).toEqual([]);
  });

  it('cover the three diagnosed conditions', () => {
    expect(all.map((r) => r.alert).filter(Boolean)).toEqual(
      expect.arrayContaining(['InferenceQueueShareHigh', 'GpuThermalThrottlingSustained', 'InferenceP99RisingAtConstantLoad']),
    );
  });
});

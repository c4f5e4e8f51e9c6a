/**
 * `analyze --json` against docs/json-schema.md, field by field: every documented field present with
 * its documented type, no field the page does not name. The schema below is transcribed from the
 * page, and the first test checks the transcription against the page itself (its tables and the
 * names it puts in backticks), so the page, this schema and the output cannot drift apart silently.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { writeThermalRun } from '../diagnose/to-spans.js';
import { PHASES } from '../../src/semconv.js';

const doc = readFileSync(new URL('../../docs/json-schema.md', import.meta.url), 'utf8');

// ── A small typed schema language: enough for the page's tables. ──
type Spec =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'null'
  | { readonly anyOf: readonly Spec[] }
  | { readonly enum: readonly string[] }
  | { readonly array: Spec }
  | { readonly object: Readonly<Record<string, Spec>>; readonly optional?: readonly string[] }
  | { readonly record: Spec; readonly keys?: readonly string[] };

const nullable = (s: Spec): Spec => ({ anyOf: [s, 'null'] });
const arrayOf = (s: Spec): Spec => ({ array: s });
const object = (o: Record<string, Spec>, optional: readonly string[] = []): { object: Record<string, Spec>; optional: readonly string[] } => ({ object: o, optional });

const STATISTIC: Spec = { enum: ['percentile', 'bucket-percentile', 'mean'] };
const CLOCK: Spec = { enum: ['epoch', 'monotonic'] };
const PERCENTILES = object({
  statistic: STATISTIC,
  count: 'integer',
  mean_ms: 'number',
  p50_ms: nullable('number'),
  p90_ms: nullable('number'),
  p95_ms: nullable('number'),
  p99_ms: nullable('number'),
  max_ms: nullable('number'),
});
const PHASE = object({ ...PERCENTILES.object, share: 'number', present: 'integer' });
const PHASE_RECORD: Spec = { record: PHASE, keys: [...PHASES, 'other'] };
const COUNTS = object({ statistic: STATISTIC, count: 'integer', mean: 'number', p50: nullable('number'), p95: nullable('number'), max: nullable('number') });
const GENERATION = object({
  requests: 'integer',
  ttft: nullable(PERCENTILES),
  tpot: nullable(PERCENTILES),
  itl: nullable(PERCENTILES),
  tokens_in: nullable(COUNTS),
  tokens_out: nullable(COUNTS),
  tokens_cached: nullable(COUNTS),
  cached_share: nullable('number'),
  tokens_per_s: nullable('number'),
});
const WINDOW = object({ start: nullable('string'), end: nullable('string'), clock: CLOCK, start_unix_nano: 'string', end_unix_nano: 'string', duration_s: 'number' });
const DIAGNOSIS = object({
  model: 'string',
  primary: nullable('string'),
  headline: 'string',
  dominant_phase: nullable('string'),
  warmup_trimmed: 'integer',
  population: nullable(object({ basis: { enum: ['requests', 'aggregates'] }, requests: 'integer', diagnosed: 'integer', warmup_trimmed: 'integer', errors_excluded: 'integer' })),
  insufficient_data: nullable(arrayOf('string')),
  slo: nullable(object({ met: 'boolean', statistic: STATISTIC, checks: arrayOf(object({ metric: { enum: ['e2e', 'ttft', 'tpot', 'itl'] }, quantile: 'string', target_ms: 'number', actual_ms: nullable('number'), met: 'boolean', statistic: STATISTIC, unmeasured: nullable('string') })) })),
  tail: nullable(object({ basis: 'string', phase: 'string', tail_share: 'number', median_share: 'number', text: 'string', example_trace_ids: arrayOf('string') })),
  caveats: arrayOf(object({ rule: 'string', kind: 'string', text: 'string', values: { record: 'number' } })),
  recommendations: arrayOf(
    object({
      fix: 'string',
      title: 'string',
      confidence: 'number',
      effort: 'string',
      evidence: arrayOf(object({ text: 'string', values: { record: 'number' } })),
      estimated_gain: nullable(object({ metric: 'string', statistic: nullable(STATISTIC), current_value: 'number', expected_value: 'number', basis: 'string', confounded_by: nullable(object({ fix: 'string', note: 'string' })) })),
      next_step: object({ text: 'string', snippet: nullable(object({ language: 'string', code: 'string' })) }),
      example_trace_ids: arrayOf('string'),
      cause: nullable('string'),
    }),
  ),
  rules: arrayOf(
    object({
      rule: 'string',
      fired: 'boolean',
      skipped: nullable({ enum: ['insufficient-data', 'missing-input'] }),
      reason: 'string',
      inputs: { record: { anyOf: ['number', 'string', 'boolean', 'null'] } },
      thresholds: { record: 'number' },
    }),
  ),
});
const MODEL = object({
  model: 'string',
  services: arrayOf('string'),
  requests: 'integer',
  errors: 'integer',
  failures: nullable(object({ server_errors: 'integer', client_errors: 'integer', cancelled: 'integer' })),
  throughput_rps: nullable('number'),
  window: WINDOW,
  runtime: nullable('string'),
  runtime_provider: nullable('string'),
  precision: nullable('string'),
  device: nullable('string'),
  model_version: nullable('string'),
  e2e: PERCENTILES,
  phases: PHASE_RECORD,
  coverage: 'number',
  generation: nullable(GENERATION),
  diagnosis: nullable(DIAGNOSIS),
});
const OPERATION = object({ service: nullable('string'), operation: 'string', spans: 'integer', errors: 'integer', total_ms: 'number', self_ms: 'number', critical_path_ms: 'number', critical_path_share: 'number' });
const GENERIC = object({ traces: 'integer', spans: 'integer', root_ms: 'number', pieces: 'integer', fragmented_traces: 'integer', async_traces: 'integer', skewed_traces: 'integer', by_critical_path: arrayOf(OPERATION), by_self_time: arrayOf(OPERATION) });
/** The warning codes the page lists (the `warnings[]` row); the second test checks them against the model's. */
const WARNING_CODES = [...doc.match(/\| `warnings\[\]` \|[^|]*\| `code` \(([^;]*);/)![1]!.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!);
const TIMELINE_GPU = object({
  uuid: 'string',
  name: nullable('string'),
  samples: 'integer',
  max_temperature_c: nullable('number'),
  mean_sm_clock_mhz: nullable('number'),
  sm_clock_max_mhz: nullable('number'),
  throttled_share: nullable('number'),
  thermal_throttled_share: nullable('number'),
  power_throttled_share: nullable('number'),
  mean_utilization: nullable('number'),
  memory_used_bytes: nullable('number'),
});
const TOP = object(
  {
    schema: { enum: ['latency-doctor/analysis@1'] },
    files: arrayOf(object({ file: 'string', format: 'string', spans: 'integer', skipped: 'integer' })),
    spans: 'integer',
    traces: 'integer',
    requests: 'integer',
    window: nullable(WINDOW),
    // Only with --start/--end on trace files.
    time_range: object({ start: nullable('string'), end: nullable('string'), start_unix_nano: nullable('string'), end_unix_nano: nullable('string'), input_requests: 'integer', input_traces: 'integer' }),
    throughput_rps: nullable('number'),
    conventions: arrayOf(object({ id: { enum: ['triton', 'vllm', 'tgi', 'sglang', 'genai-client'] }, label: 'string', requests: 'integer', clock: CLOCK, unseen: arrayOf('string'), ended: nullable({ enum: ['server-error', 'client-error', 'cancelled'] }) })),
    e2e: nullable(PERCENTILES),
    phases: PHASE_RECORD,
    coverage: nullable('number'),
    generation: nullable(GENERATION),
    models: arrayOf(MODEL),
    diagnosis: nullable(DIAGNOSIS),
    generic: nullable(GENERIC),
    assembly: object(Object.fromEntries(['traces', 'request_traces', 'duplicate_spans', 'late_spans', 'invalid_spans', 'orphan_spans', 'fragmented_traces', 'unattached_phase_spans', 'clock_skew_requests'].map((k) => [k, 'integer' as Spec]))),
    warnings: arrayOf(object({ code: { enum: WARNING_CODES }, file: nullable('string'), location: nullable('string'), message: 'string', count: 'integer' })),
    timeline: arrayOf(object({ start: 'string', end: 'string', requests: 'integer', e2e_p50_ms: nullable('number'), e2e_p99_ms: nullable('number'), gpus: arrayOf(TIMELINE_GPU) })),
    // Only with --prometheus (docs/prometheus.md); files never write it.
    prometheus: { object: {} },
  },
  ['prometheus', 'time_range'],
);

/** Every place where `value` breaks `spec`, as "path: what" lines (empty: it conforms). */
function check(value: unknown, spec: Spec, path = '$'): string[] {
  if (spec === 'null') return value === null ? [] : [`${path}: expected null, got ${JSON.stringify(value)}`];
  if (spec === 'string') return typeof value === 'string' ? [] : [`${path}: expected a string, got ${JSON.stringify(value)}`];
  if (spec === 'boolean') return typeof value === 'boolean' ? [] : [`${path}: expected a boolean, got ${JSON.stringify(value)}`];
  if (spec === 'number' || spec === 'integer') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return [`${path}: expected a finite number, got ${JSON.stringify(value)}`];
    if (spec === 'integer' && !Number.isInteger(value)) return [`${path}: expected an integer, got ${value}`];
    // docs/json-schema.md "Conventions": durations are ms rounded to 6 decimals (nanosecond resolution).
    if (/_ms$/.test(path) && Math.abs(value * 1e6 - Math.round(value * 1e6)) > 1e-6 * Math.max(1, Math.abs(value))) return [`${path}: ${value} has more than 6 decimals`];
    return [];
  }
  if ('anyOf' in spec) {
    // A value that is not null is reported against the branches that are not: "expected null" says nothing.
    const branches = value === null ? spec.anyOf : spec.anyOf.filter((s) => s !== 'null');
    const each = branches.map((s) => check(value, s, path));
    return each.some((e) => e.length === 0) ? [] : each.reduce((a, b) => (a.length <= b.length ? a : b));
  }
  if ('enum' in spec) return typeof value === 'string' && spec.enum.includes(value) ? [] : [`${path}: expected one of ${spec.enum.join(', ')}, got ${JSON.stringify(value)}`];
  if ('array' in spec) return Array.isArray(value) ? value.flatMap((v, i) => check(v, spec.array, `${path}[${i}]`)) : [`${path}: expected an array, got ${JSON.stringify(value)}`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object, got ${JSON.stringify(value)}`];
  const entries = Object.entries(value);
  if ('record' in spec) {
    const keys = spec.keys;
    return entries.flatMap(([k, v]) => [...(keys && !keys.includes(k) ? [`${path}.${k}: not a documented key`] : []), ...check(v, spec.record, `${path}.${k}`)]);
  }
  // An empty `object` spec is an opaque block documented elsewhere.
  if (Object.keys(spec.object).length === 0) return [];
  const errors: string[] = [];
  for (const [k, s] of Object.entries(spec.object)) {
    if (!(k in value)) {
      if (!(spec.optional ?? []).includes(k)) errors.push(`${path}.${k}: documented but missing`);
    } else errors.push(...check((value as Record<string, unknown>)[k], s, `${path}.${k}`));
  }
  for (const [k] of entries) if (!(k in spec.object)) errors.push(`${path}.${k}: not documented`);
  return errors;
}

/** The rows of the table under `## heading`: the backticked names of each row's first cell, `[]` dropped. */
function tableFields(heading: string): string[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading + '\n'));
  if (!section) throw new Error(`docs/json-schema.md has no section "${heading}"`);
  const rows = section.split('\n').filter((l) => /^\| `/.test(l));
  return rows.flatMap((r) => [...r.split('|')[1]!.matchAll(/`([a-z0-9_]+)(?:\[\])?`/g)].map((m) => m[1]!));
}

/** The page's text under `## heading` (or the whole page). */
function section(heading?: string): string {
  if (heading === undefined) return doc;
  const s = doc.split(/^## /m).find((x) => x.startsWith(heading + '\n'));
  if (!s) throw new Error(`docs/json-schema.md has no section "${heading}"`);
  return s;
}

/**
 * Every key of an object spec with its path, through arrays, nullables and nested objects, but not
 * into the types that have a section of their own (`stop`): those are checked in their section.
 */
function keysOf(spec: Spec, path: string, stop: readonly Spec[]): [string, string][] {
  if (typeof spec === 'string' || 'enum' in spec || 'record' in spec || stop.includes(spec)) return [];
  if ('anyOf' in spec) return spec.anyOf.flatMap((s) => keysOf(s, path, stop));
  if ('array' in spec) return keysOf(spec.array, `${path}[]`, stop);
  return Object.entries(spec.object).flatMap(([k, s]) => [[k, `${path}.${k}`] as [string, string], ...keysOf(s, `${path}.${k}`, stop)]);
}

/** Whether `text` names `key` in backticks: `key`, `key[]`, or inside `{key, …}`. */
function names(text: string, key: string): boolean {
  const word = new RegExp(`\\b${key}\\b`);
  return [...text.matchAll(/`([^`\n]*)`/g)].some((m) => word.test(m[1]!));
}

const dir = mkdtempSync(join(tmpdir(), 'ld-json-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/json-schema.md and this schema say the same', () => {
  it('the tables list exactly the fields of the schema', () => {
    const objectKeys = (s: Spec): string[] => (typeof s === 'object' && 'object' in s ? Object.keys(s.object) : []);
    expect(tableFields('Top level').sort()).toEqual(objectKeys(TOP).sort());
    expect(tableFields('Percentiles').sort()).toEqual(objectKeys(PERCENTILES).sort());
    expect(tableFields('Phase (extends Percentiles)').sort()).toEqual(['present', 'share']);
    expect(tableFields('Model').sort()).toEqual(objectKeys(MODEL).sort());
    expect(tableFields('Generation').sort()).toEqual(objectKeys(GENERATION).sort());
  });

  it('every nested field of the schema is named on the page, in its section', () => {
    const where: [Spec, string, string | undefined][] = [
      [TOP, '$', 'Top level'],
      [WINDOW, 'Window', 'Window'],
      [COUNTS, 'Counts', 'Generation'],
      [DIAGNOSIS, 'Diagnosis', 'Diagnosis'],
      [GENERIC, 'Generic', 'Generic (traces outside the convention)'],
    ];
    // Types with a table of their own are checked by the test above.
    const sectioned = [...where.map(([spec]) => spec), PERCENTILES, PHASE, MODEL, GENERATION];
    const missing = where.flatMap(([spec, name, heading]) =>
      keysOf(spec, name, sectioned.filter((s) => s !== spec)).filter(([k]) => !names(section(heading), k)).map(([, p]) => p),
    );
    expect(missing).toEqual([]);
    // The codes the page lists are the ones the model declares.
    const codes = readFileSync(new URL('../../src/model/analysis.ts', import.meta.url), 'utf8').match(/export type WarningCode =([\s\S]*?);/)![1]!;
    expect([...codes.matchAll(/\| '([a-z-]+)'/g)].map((m) => m[1]).sort()).toEqual([...WARNING_CODES].sort());
  });
});

describe('analyze --json conforms to docs/json-schema.md', () => {
  // Each input also shows the part of the schema it is here for, so a conforming but empty output cannot pass.
  const runs: [string, () => string[], (json: Record<string, any>) => unknown][] = [
    ["the README's demo, with an SLO", () => ['examples/traces/inference-demo.otlp.jsonl', '--slo', 'p95=30ms,p99=250ms'], (j) => [j['diagnosis'].slo.checks.length, j['diagnosis'].recommendations.length > 0]],
    ['Jaeger, a GenAI agent trace of two models', () => ['test/fixtures/traces/jaeger-json/jaeger-ui-genai-agent-trace.json'], (j) => j['models'].length],
    ['vLLM request spans (generation, a convention, a TTFT objective)', () => ['test/fixtures/serving/vllm-llm-request-v1.synthetic.json', '--slo', 'ttft:p95=10s,p99=60s'], (j) => [j['generation'] !== null, j['conventions'][0].id, j['diagnosis'].slo.checks.map((c: { metric: string; unmeasured: unknown }) => [c.metric, c.unmeasured])]],
    ["a Triton trace file (the server's monotonic clock; a TTFT objective it cannot measure)", () => ['test/fixtures/serving/triton_trace_v2_docs_example.json', '--slo', 'ttft:p95=1s'], (j) => [j['window'].clock, j['diagnosis'].slo.checks[0].unmeasured]],
    ['Zipkin outside the convention (the generic report)', () => ['test/fixtures/traces/zipkin-json/zipkin-lens-skew.json'], (j) => j['generic'].by_critical_path.length > 0],
    ['traces with GPU samples (the timeline)', () => writeThermalRun(dir), (j) => j['timeline'].length > 0 && j['timeline'][0].gpus.length > 0],
    ["the README's demo cut by --end (the range and the input's count)", () => ['examples/traces/inference-demo.otlp.jsonl', '--end', '2026-03-02T14:00:01Z'], (j) => [j['time_range'].start, j['time_range'].end_unix_nano, j['time_range'].input_requests, j['requests'] < 220]],
  ];
  const shown = [[2, true], 2, [true, 'vllm', [['e2e', null], ['ttft', null]]], ['monotonic', 'no first token recorded in the input'], true, true, [null, '1772460001000000000', 220, true]];
  it.each(runs.map((r, i) => [...r, shown[i]] as const))('%s', async (_, args, part, expected) => {
    const run = await runCli('analyze', '--json', ...args());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as Record<string, any>;
    expect(part(json)).toEqual(expected);
    expect(check(json, TOP)).toEqual([]);
  });

  it('the checks above can fail: a renamed, a missing and a mistyped field are each caught', async () => {
    const run = await runCli('analyze', '--json', 'examples/traces/inference-demo.otlp.jsonl');
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    const { traces, ...rest } = json;
    expect(check({ ...rest, trace_count: traces }, TOP)).toEqual(['$.traces: documented but missing', '$.trace_count: not documented']);
    expect(check({ ...json, coverage: '99%' }, TOP)).toEqual(['$.coverage: expected a finite number, got "99%"']);
  });
});

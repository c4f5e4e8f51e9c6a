/**
 * @module test/stack/file-export.test
 * The collector's file exporter output feeds `latency-doctor analyze` as is: lines shaped the
 * way the Collector's pdata JSON marshaler writes them (one TracesData per line, hex ids, int64
 * and intValue as strings, integer enums, empty status objects), split over a rotated file and
 * the live one with a trace crossing the boundary, read through the exact shell command of the
 * compose `analyze` service.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ATTR } from '../../src/semconv.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'ld-stack-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const T0 = 1_764_337_200_000_000_000n;
/** Phase layout of every request, in ms from the request start: [phase, start, end]. */
const PHASES: readonly [string, number, number][] = [
  ['preprocess', 0, 2],
  ['queue', 2, 5],
  ['compute', 5, 17],
  ['postprocess', 17, 18],
];
const REQUEST_MS = 20;
const REQUESTS = 60;

type OtlpValue = { stringValue: string } | { intValue: string };
const attr = (key: string, value: string | number): { key: string; value: OtlpValue } =>
  ({ key, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value } });
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const ns = (ms: number): bigint => BigInt(Math.round(ms * 1e6));

function requestSpans(i: number): object[] {
  const traceId = hex(0xabc000 + i, 32);
  const rootId = hex(0x1000 + i * 16, 16);
  const start = T0 + BigInt(i) * 50_000_000n;
  return [
    {
      traceId, spanId: rootId, name: 'POST /v1/predict', kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + ns(REQUEST_MS)),
      attributes: [attr(ATTR.MODEL_NAME, 'mlp'), attr(ATTR.RUNTIME, 'onnxruntime')], status: {},
    },
    ...PHASES.map(([phase, from, to], k) => ({
      traceId, spanId: hex(0x1000 + i * 16 + k + 1, 16), parentSpanId: rootId, name: `inference.${phase}`, kind: 1,
      startTimeUnixNano: String(start + ns(from)), endTimeUnixNano: String(start + ns(to)),
      attributes: [attr(ATTR.PHASE, phase), ...(phase === 'compute' ? [attr(ATTR.BATCH_SIZE, 1)] : [])], status: {},
    })),
  ];
}

function tracesDataLine(spans: object[]): string {
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [attr('service.name', 'latency-doctor-example')] }, scopeSpans: [{ scope: { name: 'latency-doctor' }, spans }] }],
  });
}

/** The compose analyze entrypoint, pointed at local folders and the TypeScript CLI. */
function analyzeCommand(tracesDir: string, gpuDir: string): { script: string; arg0: string } {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { entrypoint?: string[] }>;
  };
  const [sh, flag, script, arg0] = compose.services['analyze']?.entrypoint ?? [];
  expect([sh, flag]).toEqual(['sh', '-c']);
  return {
    // Compose turns `$$` into a literal `$` before the shell sees the script.
    script: (script ?? '')
      .replaceAll('$$', '$')
      .replace('node bin/latency-doctor.js', `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts`)
      .replace('/traces/', `${tracesDir}/`)
      .replace('/gpu/', `${gpuDir}/`),
    arg0: arg0 ?? 'analyze',
  };
}

describe('collector file export → latency-doctor analyze', () => {
  it('reads the rotated and the live file through the compose analyze command, merging a trace split by rotation', async () => {
    const traces = join(scratch, 'traces');
    const gpu = join(scratch, 'gpu');
    mkdirSync(traces);
    mkdirSync(gpu);
    const spans = Array.from({ length: REQUESTS }, (_, i) => requestSpans(i)).flat();
    // The cut falls inside a trace: its root is in the rotated file, some children in the live one.
    const cut = Math.floor(spans.length / 2) + 2;
    writeFileSync(join(traces, 'traces-2026-11-28T13-00-00.000.jsonl'), `${tracesDataLine(spans.slice(0, cut / 2))}\n${tracesDataLine(spans.slice(cut / 2, cut))}\n`);
    writeFileSync(join(traces, 'traces.jsonl'), `${tracesDataLine(spans.slice(cut))}\n`);

    const { script, arg0 } = analyzeCommand(traces, gpu);
    const { stdout } = await run('sh', ['-c', script, arg0, '--json'], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    const report = JSON.parse(stdout) as {
      files: { file: string; spans: number; skipped: number }[];
      traces: number;
      requests: number;
      e2e: { p50_ms: number };
      phases: Record<string, { p50_ms: number; share: number }>;
    };
    expect(report.files.map((f) => f.skipped)).toEqual([0, 0]);
    expect(report.files.reduce((n, f) => n + f.spans, 0)).toBe(spans.length);
    expect(report.traces).toBe(REQUESTS);
    expect(report.requests).toBe(REQUESTS);
    expect(report.e2e.p50_ms).toBeCloseTo(REQUEST_MS, 1);
    for (const [phase, from, to] of PHASES) {
      expect(report.phases[phase]?.p50_ms, phase).toBeCloseTo(to - from, 1);
      expect(report.phases[phase]?.share, phase).toBeCloseTo((to - from) / REQUEST_MS, 2);
    }
  });
});

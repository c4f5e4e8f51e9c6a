/**
 * `--start`/`--end` on trace files (docs/analyzer.md, "A time range"): an incident's minutes out
 * of a longer export. The requests that start in the range are analysed, exactly those; a range
 * none starts in is "nothing measured" (exit 4) saying where the requests lie; a file on a
 * server's monotonic clock (a Triton trace file) cannot be cut by dates (exit 2).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles, summarize } from '../../src/analyzer/index.js';
import { runCli as cli, ensureBuilt } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const DEMO = 'examples/traces/inference-demo.otlp.jsonl';

beforeAll(ensureBuilt, 180_000);

/** RFC 3339 of ns since the epoch, to the ms (the demo's requests are apart by more). */
function iso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** RFC 3339 of ns since the epoch, every digit to the ns. */
function isoExact(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

describe('analyze --start/--end on trace files', () => {
  it('analyses exactly the requests that start in the range: their count, percentiles and a gate on them', async () => {
    const whole = await analyzeFiles([join(root, DEMO)], { diagnose: false });
    const starts = [...whole.timings.startNs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // From the 60th request's start to the 180th's: [start, end) holds requests 60 … 179.
    const from = starts[60]!;
    const to = starts[180]!;
    const expected = summarize('resnet50', whole.timings.where((i) => whole.timings.startNs[i]! >= from && whole.timings.startNs[i]! < to));
    const run = await cli('analyze', DEMO, '--start', iso(from), '--end', iso(to), '--json');
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    const inRange = starts.filter((t) => t >= from && t < to).length;
    expect(json.requests).toBe(inRange);
    expect(json.e2e.p50_ms).toBeCloseTo(expected.e2e.p50Ms, 6);
    expect(json.e2e.p99_ms).toBeCloseTo(expected.e2e.p99Ms, 6);
    expect(json.phases.queue.p95_ms).toBeCloseTo(expected.phases.queue!.p95Ms, 6);
    const note = json.warnings.find((w: { code: string }) => w.code === 'time-range');
    expect(note.count).toBe(220 - inRange);
    expect(note.message).toContain(`${inRange} of 220 requests start between`);
    // --range counts back from --end: the same requests.
    const back = await cli('analyze', DEMO, '--end', iso(to), '--range', `${Number(to - from) / 1e6}ms`, '--json');
    expect(JSON.parse(back.stdout).requests).toBe(inRange);
    // A gate judges the selected requests only.
    const gate = await cli('analyze', DEMO, '--start', iso(from), '--end', iso(to), '--slo', `p99=${Math.ceil(expected.e2e.p99Ms) + 1}ms`, '--fail-on-slo');
    expect(gate.code, gate.stderr).toBe(0);
  }, 120_000);

  it('a range no request starts in is nothing measured (exit 4), naming where the requests lie', async () => {
    const run = await cli('analyze', DEMO, '--start', '2026-03-03T00:00:00Z', '--slo', 'p99=1s', '--fail-on-slo');
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      `latency-doctor: nothing measured: no request of ${DEMO} starts at or after 2026-03-03T00:00:00Z (the range asked for); its requests start from 2026-03-02T14:00:00.000123935Z to 2026-03-02T14:00:02.333772319Z`,
    );
  });

  it('option mistakes are one line, exit 2: --range without --end, an empty range, a monotonic clock', async () => {
    const noEnd = await cli('analyze', DEMO, '--range', '10m');
    expect(noEnd.code).toBe(2);
    expect(noEnd.stderr).toContain('with trace files, --range needs --end');
    const backwards = await cli('analyze', DEMO, '--start', '2026-03-02T14:00:02Z', '--end', '2026-03-02T14:00:01Z');
    expect(backwards.code).toBe(2);
    expect(backwards.stderr.trim()).toBe('latency-doctor: --start (2026-03-02T14:00:02Z) must be before --end (2026-03-02T14:00:01Z)');
    const triton = await cli('analyze', 'test/fixtures/serving/triton_trace_v2_docs_example.json', '--end', '2026-03-03T00:00:00Z');
    expect(triton.code).toBe(2);
    expect(triton.stderr).toContain("needs wall-clock times: a Triton trace file in test/fixtures/serving/triton_trace_v2_docs_example.json is timed on the server's monotonic clock");
    // Still refused where they mean nothing.
    const step = await cli('analyze', DEMO, '--step', '1m');
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('--step only applies with --prometheus URL');
  });

  it("failures a source counts without timing attributes (TGI's router spans): kept by a range that keeps every request, left out and said by one that cuts the input", async () => {
    const file = 'test/fixtures/serving/tgi-router-failed-cancelled.synthetic.json';
    const all = JSON.parse((await cli('analyze', file, '--json')).stdout);
    expect(all.models[0].errors).toBe(3);
    const around = JSON.parse((await cli('analyze', file, '--start', '2000-01-01T00:00:00Z', '--json')).stdout);
    expect(around.requests).toBe(all.requests);
    expect(around.models[0].errors).toBe(3);
    expect(around.warnings.filter((w: { code: string }) => w.code === 'time-range')).toEqual([]);
    // From the second request's start: the first is cut, and the failures cannot be placed.
    const whole = await analyzeFiles([join(root, file)], { diagnose: false });
    const starts = [...whole.timings.startNs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const run = await cli('analyze', file, '--start', isoExact(starts[1]!), '--json');
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.requests).toBeLessThan(all.requests);
    expect(json.models[0].errors).toBe(0);
    expect(json.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(/5 failed or cancelled requests that the source records without timing attributes \(TGI's router spans\) left out/);
  });

  it('bounds are read to the ns, and input with no inference request says the range did not cut it', async () => {
    const whole = await analyzeFiles([join(root, DEMO)], { diagnose: false });
    const first = [...whole.timings.startNs].reduce((a, b) => (b < a ? b : a));
    // One ns after the first request's start, written in full: that request is out, and only it.
    const run = JSON.parse((await cli('analyze', DEMO, '--start', isoExact(first + 1n), '--json')).stdout);
    expect(run.requests).toBe(219);
    const web = await cli('analyze', 'test/fixtures/traces/jaeger-json/jaeger-ui-petclinic-31char-traceid.json', '--start', '2030-01-01T00:00:00Z', '--json');
    expect(web.code, web.stderr).toBe(0);
    expect(JSON.parse(web.stdout).warnings.map((w: { message: string }) => w.message)).toContain('the range selects inference requests, and the input has none: the report of its traces covers all of them');
  });
});

describe('span times past 2^63 ns (2262-04-11): OTLP times are unsigned 64-bit (fixed64)', () => {
  const FILE = 'test/fixtures/traces/hand-written/otlp-times-past-2262.jsonl';

  it('are read as the dates they are, not turned negative: the window, the clock and a range over them', async () => {
    const run = await cli('analyze', FILE, '--json');
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.requests).toBe(2);
    expect(json.window).toMatchObject({ clock: 'epoch', start: '2262-04-11T23:47:16.854Z', start_unix_nano: '9223372036854775808', end_unix_nano: '18446744073709551615' });
    // The last start is 2^63 ns after the first: rounded, and said to be.
    expect(json.warnings.map((w: { code: string }) => w.code)).toContain('time-precision');
    const late = JSON.parse((await cli('analyze', FILE, '--start', '2500-01-01T00:00:00Z', '--json')).stdout);
    expect(late.requests).toBe(1);
    expect(late.window.start).toBe('2554-07-21T23:34:33.709Z');
    const early = await cli('analyze', FILE, '--end', '2500-01-01T00:00:00Z', '--json');
    expect(JSON.parse(early.stdout).window.start_unix_nano).toBe('9223372036854775808');
  });
});

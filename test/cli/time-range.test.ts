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

  it('bounds are read to the ns', async () => {
    const whole = await analyzeFiles([join(root, DEMO)], { diagnose: false });
    const first = [...whole.timings.startNs].reduce((a, b) => (b < a ? b : a));
    // One ns after the first request's start, written in full: that request is out, and only it.
    const run = JSON.parse((await cli('analyze', DEMO, '--start', isoExact(first + 1n), '--json')).stdout);
    expect(run.requests).toBe(219);
  });

  it('under a range, the report says how many requests of the input it kept, and counts of the whole input say so', async () => {
    const end = '2026-03-02T14:00:01Z';
    const json = JSON.parse((await cli('analyze', DEMO, '--end', end, '--json')).stdout);
    expect(json.time_range).toEqual({ start: null, end, start_unix_nano: null, end_unix_nano: '1772460001000000000', input_requests: 220, input_traces: 0 });
    expect(json.requests).toBeLessThan(220);
    const text = (await cli('analyze', DEMO, '--end', end)).stdout;
    expect(text.split('\n').slice(0, 2).join(' ').replace(/\s+/g, ' ')).toBe(`latency-doctor: ${json.requests} of 220 requests (those that start before ${end}) analysed from 1,980 spans in 1 file`);
    const markdown = (await cli('analyze', DEMO, '--end', end, '--markdown')).stdout;
    expect(markdown).toContain(`**${json.requests}** of 220 requests (those that start before ${end}) analysed from 1,980 spans`);
    // A source's request count ("Read as") is of the input, read before the range cut it.
    const tgi = 'test/fixtures/serving/tgi-router-failed-cancelled.synthetic.json';
    const whole = await analyzeFiles([join(root, tgi)], { diagnose: false });
    const starts = [...whole.timings.startNs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const cut = (await cli('analyze', tgi, '--start', isoExact(starts[1]!))).stdout.replace(/\s+/g, ' ');
    expect(cut).toContain(`latency-doctor: ${starts.length - 1} of ${starts.length} requests (those that start at or after ${isoExact(starts[1]!).replace(/0+Z$/, 'Z')})`);
    expect(cut).toMatch(/Read as TGI router span \(\d+ requests in the input\)/);
    // Without a range: no such key, no such words.
    const plain = JSON.parse((await cli('analyze', DEMO, '--json')).stdout);
    expect('time_range' in plain).toBe(false);
    expect((await cli('analyze', tgi)).stdout).not.toContain('in the input)');
  });
});

describe('--start/--end on traces without request spans (the generic report)', () => {
  // Two real Jaeger exports a day apart: a trace of 2019-11-07 (its first span at 12:57:12.955) and one of 2019-11-08.
  const PETCLINIC = 'test/fixtures/traces/jaeger-json/jaeger-ui-petclinic-31char-traceid.json';
  const LONGER = 'test/fixtures/traces/jaeger-json/jaeger-ui-child-longer-than-parent.json';
  const generic = async (...args: string[]): Promise<Record<string, any>> => {
    const run = await cli('analyze', ...args, '--json');
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout);
  };

  it('describes only the traces whose first span starts in the range: the same operations as that trace alone', async () => {
    const [cut, alone] = await Promise.all([generic(PETCLINIC, LONGER, '--start', '2019-11-08T00:00:00Z'), generic(LONGER)]);
    expect(cut.traces).toBe(2);
    expect(cut.generic.traces).toBe(1);
    expect(cut.generic.by_critical_path).toEqual(alone.generic.by_critical_path);
    expect(cut.generic.by_self_time).toEqual(alone.generic.by_self_time);
    expect(cut.time_range).toMatchObject({ input_requests: 0, input_traces: 2 });
    expect(cut.warnings.map((w: { message: string }) => w.message)).toContain('1 of 2 traces start at or after 2019-11-08T00:00:00Z (the range asked for; a trace starts with its first span); the other 1 are left out');
    const [before, first] = await Promise.all([generic(PETCLINIC, LONGER, '--end', '2019-11-08T00:00:00Z'), generic(PETCLINIC)]);
    expect(before.generic.traces).toBe(1);
    expect(before.generic.by_critical_path).toEqual(first.generic.by_critical_path);
    // Placed by the first span's start, to the µs Jaeger writes: from it, that trace is in; a µs later, out.
    expect((await generic(PETCLINIC, LONGER, '--start', '2019-11-07T12:57:12.955Z')).generic.traces).toBe(2);
    expect((await generic(PETCLINIC, LONGER, '--start', '2019-11-07T12:57:12.955001Z')).generic.traces).toBe(1);
    const text = (await cli('analyze', PETCLINIC, LONGER, '--end', '2019-11-08T00:00:00Z')).stdout.replace(/\s+/g, ' ');
    expect(text).toContain('Where the time goes by operation instead, over 1 of 2 traces (those whose first span starts before 2019-11-08T00:00:00Z):');
  });

  it('a range no trace starts in is nothing measured (exit 4), naming where the traces lie', async () => {
    const run = await cli('analyze', PETCLINIC, LONGER, '--start', '2030-01-01T00:00:00Z');
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(`latency-doctor: nothing measured: no trace of ${PETCLINIC}, ${LONGER} starts at or after 2030-01-01T00:00:00Z (the range asked for); its traces start from 2019-11-07T12:57:12.955Z to 2019-11-08T07:06:50.396Z`);
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

describe('diff --start/--end: both sides cut as analyze cuts, or AFTER by its own range (--after-start …)', () => {
  const T = '2026-03-02T14:00:01Z';

  it('"the second before T" against "the seconds after it" from one file: each side has exactly the requests analyze keeps', async () => {
    const whole = await analyzeFiles([join(root, DEMO)], { diagnose: false });
    const cut = BigInt(Date.parse(T)) * 1_000_000n;
    const before = [...whole.timings.startNs].filter((t) => t < cut).length;
    const run = await cli('diff', DEMO, '--', DEMO, '--end', T, '--after-start', T, '--json');
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.time_range.before).toEqual({ start: null, end: T, start_unix_nano: null, end_unix_nano: '1772460001000000000', input_requests: 220, input_traces: 0, requests: before });
    expect(json.time_range.after).toMatchObject({ start: T, end: null, input_requests: 220, requests: 220 - before });
    expect([json.models[0].e2e.before_count, json.models[0].e2e.after_count]).toEqual([before, 220 - before]);
    // As many as analyze keeps, and the slowest of them the same.
    const [early, late] = await Promise.all([cli('analyze', DEMO, '--end', T, '--json'), cli('analyze', DEMO, '--start', T, '--json')]);
    expect([JSON.parse(early.stdout).requests, JSON.parse(late.stdout).requests]).toEqual([before, 220 - before]);
    const max = (side: 'before' | 'after'): number => Math.max(...whole.timings.rows().filter((r) => (side === 'before' ? r.startNs < cut : r.startNs >= cut)).map((r) => r.e2eMs));
    expect([JSON.parse(early.stdout).e2e.max_ms, JSON.parse(late.stdout).e2e.max_ms]).toEqual([max('before'), max('after')].map((v) => Math.round(v * 1e6) / 1e6));
    const text = (await cli('diff', DEMO, '--', DEMO, '--end', T, '--after-start', T)).stdout;
    expect(text.split('\n').slice(1, 3)).toEqual([`  BEFORE: ${before} of 220 requests (those that start before ${T})`, `  AFTER: ${220 - before} of 220 requests (those that start at or after ${T})`]);
    const markdown = (await cli('diff', DEMO, '--', DEMO, '--end', T, '--after-start', T, '--markdown')).stdout;
    expect(markdown).toContain(`- BEFORE: ${before} of 220 requests (those that start before ${T})`);
  }, 120_000);

  it('--start/--end/--range alone cut both sides; a side with nothing in its range is exit 4 naming that side', async () => {
    const both = JSON.parse((await cli('diff', DEMO, '--', DEMO, '--end', T, '--range', '1s', '--json')).stdout);
    expect(both.time_range.before).toEqual(both.time_range.after);
    expect(both.time_range.before).toMatchObject({ start: '2026-03-02T14:00:00Z', end: T, start_unix_nano: '1772460000000000000', input_requests: 220 });
    expect(both.models[0].e2e.before_count).toBe(both.time_range.before.requests);
    const none = await cli('diff', DEMO, '--', DEMO, '--after-start', '2026-03-03T00:00:00Z', '--fail-on-regression', 'p99=10%');
    expect(none.code).toBe(4);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim()).toBe(`latency-doctor: nothing measured: no request of AFTER (${DEMO}) starts at or after 2026-03-03T00:00:00Z (the range asked for); its requests start from 2026-03-02T14:00:00.000123935Z to 2026-03-02T14:00:02.333772319Z`);
    // Without a range: no such key.
    expect('time_range' in JSON.parse((await cli('diff', DEMO, '--', DEMO, '--json')).stdout)).toBe(false);
  }, 120_000);

  it('option mistakes are analyze\'s, named by the option given: one line, exit 2, nothing on stdout', async () => {
    const cases: [string[], string][] = [
      [['--range', '10m'], 'latency-doctor: with trace files, --range needs --end (it counts back from --end; a file has no "now"), or give --start'],
      [['--after-range', '10m'], 'latency-doctor: with trace files, --after-range needs --after-end (it counts back from --after-end; a file has no "now"), or give --after-start'],
      [['--after-start', T, '--after-end', T], `latency-doctor: --after-start (${T}) must be before --after-end (${T})`],
      [['--start', T, '--range', '1h'], 'latency-doctor: give --range or --start, not both'],
      [['--after-end', 'yesterday'], 'latency-doctor: --after-end: expected an RFC 3339 time (2026-01-01T10:00:00Z) or unix seconds, got "yesterday"'],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli('diff', DEMO, '--', DEMO, ...args)));
    for (const [i, run] of runs.entries()) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim()).toBe(cases[i]![1]);
    }
  }, 120_000);
});

/**
 * The same situation gives the same exit code and the same shape of message on every input path
 * of `analyze` and `diff` (trace files of each format, `--prometheus URL` on a real Prometheus
 * scraping replayed captures), so a CI gate or a script can rely on them (docs/analyzer.md#exit-codes):
 * a `--model` that matches no model is a user mistake (2) naming the input and the models seen;
 * a range that holds nothing is "nothing measured" (4) naming the range and where the data is;
 * `--fail-on-slo` without `--slo` is a bad option (2) before anything is read or printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../diagnose/gen.js';
import { toSpans } from '../diagnose/to-spans.js';
import { toOtlpJsonLines, toZipkinJson } from '../support/synth.js';
import { runCli as cli, ensureBuilt } from '../support/cli.js';
import type { CliRun as Run } from '../support/cli.js';
import { useReplayedJob } from '../prometheus/_prometheus.js';
import { torchserveQueue, tritonQueue } from '../prometheus/scenarios.js';
import { writeTgiVariant } from '../analyzer/conventions/_helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ld-exit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(ensureBuilt, 180_000);

// Triton's capture serves densenet_onnx, TorchServe's resnet18; both replayed with traffic, and a
// third replica of Triton's capture that serves none (its counters never move).
const job = useReplayedJob('exit-codes', () => [tritonQueue(81), torchserveQueue(82), { ...tritonQueue(83), rps: 0 }], 6);

/** Requests of each model in `models` (40 each) as spans, ids apart so they share one file. */
function spansOf(models: readonly string[]): ReturnType<typeof toSpans> {
  return models.flatMap((model, k) => toSpans(generate({ n: 40, seed: 90 + k, model, rps: 100, idOffset: k * 1000, phases: { queue: 5, compute: 8 } })));
}

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

/** The one stderr line of a run that ended with `code` (no stack trace, nothing else). */
function oneLine(run: Run, code: number): string {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0]!;
}

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`;

/** Unix seconds as the messages write them: ISO 8601 UTC to the second. */
const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

describe('--model that matches no model: exit 2 on every path, naming the input and the models seen', { timeout: 120_000 }, () => {
  it('trace files (OTLP JSON lines, Zipkin), with or without a gate', async () => {
    const otlp = write('two.otlp.jsonl', toOtlpJsonLines(spansOf(['yolo', 'resnet50'])));
    const zipkin = write('two.zipkin.json', toZipkinJson(spansOf(['yolo', 'resnet50'])));
    const runs = await Promise.all([cli('analyze', '--model', 'bert', otlp), cli('analyze', '--model', 'bert', zipkin), cli('analyze', '--model', 'bert', '--slo', 'p99=1s', '--fail-on-slo', '--json', otlp)]);
    expect(oneLine(runs[0]!, 2)).toBe(`latency-doctor: --model "bert" matches no model in ${otlp}; models seen: resnet50, yolo (2)`);
    expect(oneLine(runs[1]!, 2)).toBe(`latency-doctor: --model "bert" matches no model in ${zipkin}; models seen: resnet50, yolo (2)`);
    // A user mistake: no report (exit 2 promises no JSON on stdout).
    expect(oneLine(runs[2]!, 2)).toBe(`latency-doctor: --model "bert" matches no model in ${otlp}; models seen: resnet50, yolo (2)`);
    for (const r of runs) expect(r.stdout).toBe('');
  });

  it('many models are listed sorted, the first 10 and how many more', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `m${String(12 - i).padStart(2, '0')}`);
    const file = write('twelve.otlp.jsonl', toOtlpJsonLines(spansOf(names)));
    expect(oneLine(await cli('analyze', '--model', 'm13', file), 2)).toBe(`latency-doctor: --model "m13" matches no model in ${file}; models seen: m01, m02, m03, m04, m05, m06, m07, m08, m09, m10 and 2 more (12)`);
  });

  it('traces with no inference request at all: the same exit 2, saying none was seen', async () => {
    const petclinic = join(root, 'test/fixtures/traces/jaeger-json/jaeger-ui-petclinic-31char-traceid.json');
    expect(oneLine(await cli('analyze', '--model', 'bert', petclinic), 2)).toBe(`latency-doctor: --model "bert" matches no model in ${petclinic}; models seen: none (no span names inference.model.name)`);
  });

  it('TGI traces whose every request failed or was cancelled: the model is seen by its failures (--model finds it, exit 0; another name lists it, exit 2), and --fail-on-slo says every request failed (exit 4)', async () => {
    const file = writeTgiVariant(tmp, 'tgi-all-failed.json');
    const [found, missed, gate] = await Promise.all([
      cli('analyze', '--model', 'text-generation-inference.router', '--json', file),
      cli('analyze', '--model', 'tgi', file),
      cli('analyze', '--slo', 'p99=1s', '--fail-on-slo', file),
    ]);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).models).toMatchObject([{ model: 'text-generation-inference.router', requests: 0, errors: 3, failures: { server_errors: 1, client_errors: 2, cancelled: 2 } }]);
    expect(oneLine(missed, 2)).toBe(`latency-doctor: --model "tgi" matches no model in ${file}; models seen: text-generation-inference.router (1)`);
    // The same line as a run of our tracer whose every request failed (test/cli/trust.test.ts), not "no inference requests".
    expect(oneLine(gate, 4)).toBe('latency-doctor: SLO not checked: p99 of text-generation-inference.router (every request failed) not measured');
    expect(gate.stdout.replace(/\s+/g, ' ')).toContain('0 requests, no rate, 3 errors (1 server, 2 client), 2 cancelled by the client');
  });

  it('--prometheus: the same line, naming the engine and the range', async () => {
    const { url, startS, endS } = job();
    const range = ['--prometheus', url, '--start', String(startS), '--end', String(endS), '--step', '2s'];
    const [plain, gate] = await Promise.all([cli('analyze', ...range, '--model', 'bert'), cli('analyze', ...range, '--model', 'bert', '--slo', 'p99=1s', '--fail-on-slo')]);
    const line = `latency-doctor: --model "bert" matches no model in ${url} between ${iso(startS)} and ${iso(endS)}; models seen: densenet_onnx, resnet18 (2)`;
    expect(oneLine(plain, 2)).toBe(line);
    expect(oneLine(gate, 2)).toBe(line);
  });

  it('--prometheus: a model whose series are there but count no request (idle, or every request failed) measured nothing: exit 4, not "matches no model"', async () => {
    const { url, startS, endS } = job();
    // Triton's capture also holds model "simple", whose counters no replica advances.
    const run = await cli('analyze', '--prometheus', url, '--start', String(startS), '--end', String(endS), '--step', '2s', '--model', 'simple');
    expect(oneLine(run, 4)).toBe(`latency-doctor: nothing measured: no request of model "simple" completed in ${url} between ${iso(startS)} and ${iso(endS)} (the range asked for): its latency series are there, but count none (idle, or every request failed)`);
  });

  it('diff: each side on its own, naming the side’s files and the option that named the model', async () => {
    const a = write('a.otlp.jsonl', toOtlpJsonLines(spansOf(['resnet50'])));
    const b = write('b.otlp.jsonl', toOtlpJsonLines(spansOf(['resnet50', 'yolo'])));
    const [before, after, renamed] = await Promise.all([cli('diff', '--model', 'yolo', a, '--', b), cli('diff', '--model', 'resnet50', a, '--', write('c.otlp.jsonl', toOtlpJsonLines(spansOf(['yolo'])))), cli('diff', '--model', 'resnet50', '--after-model', 'resnet50-v2', a, '--', b)]);
    expect(oneLine(before, 2)).toBe(`latency-doctor: --model "yolo" matches no model in ${a}; models seen: resnet50 (1)`);
    expect(oneLine(after, 2)).toBe(`latency-doctor: --model "resnet50" matches no model in ${join(tmp, 'c.otlp.jsonl')}; models seen: yolo (1)`);
    expect(oneLine(renamed, 2)).toBe(`latency-doctor: --after-model "resnet50-v2" matches no model in ${b}; models seen: resnet50, yolo (2)`);
    // Neither side has it: BEFORE is named, however long each side takes to read (BEFORE here is 200 times AFTER).
    const big = write('big.otlp.jsonl', toOtlpJsonLines(spansOf(Array.from({ length: 200 }, (_, i) => `big${i}`))));
    for (let i = 0; i < 3; i++) expect(oneLine(await cli('diff', '--model', 'bert', big, '--', a), 2)).toMatch(new RegExp(`matches no model in ${big};`));
  });
});

describe('a range that holds nothing: exit 4, naming the range asked for and the extent of the data', { timeout: 120_000 }, () => {
  it('--prometheus: a range before the data and one after it, with or without a gate', async () => {
    const { url, startS, endS } = job();
    const before = ['--prometheus', url, '--start', String(startS - 7200), '--end', String(startS - 3600)];
    const after = ['--prometheus', url, '--start', String(endS + 3600), '--end', String(endS + 7200)];
    const runs = await Promise.all([cli('analyze', ...before), cli('analyze', ...before, '--slo', 'p99=1s', '--fail-on-slo'), cli('analyze', ...after, '--json')]);
    for (const [run, [from, to]] of [
      [runs[0]!, [startS - 7200, startS - 3600]],
      [runs[1]!, [startS - 7200, startS - 3600]],
      [runs[2]!, [endS + 3600, endS + 7200]],
    ] as const) {
      const line = oneLine(run, 4);
        const match = new RegExp(`^latency-doctor: nothing measured: no inference requests in ${url} between ${iso(from)} and ${iso(to)} \\(the range asked for\\); its inference latency data runs from (${ISO}) to (${ISO})$`).exec(line);
      expect(match, line).not.toBeNull();
      // The extent is what Prometheus holds: scraped from before the traffic began until now.
      const first = Date.parse(match![1]!) / 1000;
      const last = Date.parse(match![2]!) / 1000;
      expect(first).toBeLessThanOrEqual(startS);
      expect(first).toBeGreaterThan(startS - 120);
      expect(last).toBeGreaterThanOrEqual(endS - 2);
      expect(last).toBeLessThanOrEqual(Date.now() / 1000 + 1);
      expect(run.stdout).toBe('');
    }
  });

  it('--prometheus: latency series in the range but no request completed (an idle replica): exit 4, saying so, with the extent', async () => {
    const { url, startS, endS, targets } = job();
    const idle = `{instance="${targets[2]!}"}`;
    const run = await cli('analyze', '--prometheus', url, '--start', String(startS), '--end', String(endS), '--selector', idle);
    const line = oneLine(run, 4);
    const asked = `latency-doctor: nothing measured: no inference requests in ${url} between ${iso(startS)} and ${iso(endS)} (the range asked for) matching ${idle}: its latency series are there, but no request completed; `;
    expect(line.startsWith(asked), line).toBe(true);
    const match = new RegExp(`^its inference latency data runs from (${ISO}) to (${ISO})$`).exec(line.slice(asked.length));
    expect(match, line).not.toBeNull();
    expect(Date.parse(match![1]!) / 1000).toBeLessThanOrEqual(startS);
    expect(Date.parse(match![2]!) / 1000).toBeGreaterThanOrEqual(endS - 2);
  });

  it('--prometheus with no data at all for the selector keeps its message: no series at all, exit 2', async () => {
    const { url, startS, endS } = job();
    const run = await cli('analyze', '--prometheus', url, '--start', String(startS), '--end', String(endS), '--selector', '{job="nope"}');
    expect(oneLine(run, 2)).toMatch(/: no series at all between .* matching \{job="nope"\}: check --range and --selector$/);
  });

  it('trace files: a --start/--end range no request starts in is nothing measured too (exit 4), naming the range and where the requests lie', async () => {
    const file = write('range.otlp.jsonl', toOtlpJsonLines(spansOf(['resnet50'])));
    expect(oneLine(await cli('analyze', '--end', '2000-01-01T00:00:00Z', file), 4)).toMatch(/: nothing measured: no request of \S+range\.otlp\.jsonl starts before 2000-01-01T00:00:00Z \(the range asked for\); its requests start from \S+Z to \S+Z$/);
  });
});

describe('--fail-on-slo without --slo: exit 2 before anything is read or printed, on every path', { timeout: 120_000 }, () => {
  it('trace files and --prometheus', async () => {
    const { url, startS, endS } = job();
    const file = write('gate.otlp.jsonl', toOtlpJsonLines(spansOf(['resnet50'])));
    const runs = await Promise.all([
      cli('analyze', '--fail-on-slo', file),
      cli('analyze', '--fail-on-slo', '--prometheus', url, '--start', String(startS), '--end', String(endS), '--step', '2s'),
      // A range with nothing in it: still the option mistake first, as on a file.
      cli('analyze', '--fail-on-slo', '--prometheus', url, '--start', String(startS - 7200), '--end', String(startS - 3600)),
    ]);
    for (const run of runs) {
      expect(oneLine(run, 2)).toBe('latency-doctor: --fail-on-slo needs --slo, e.g. --slo p99=250ms');
      expect(run.stdout).toBe('');
    }
  });
});

describe('--help says what each exit code now covers', () => {
  it('analyze and diff: a --model that matches no model is 2, a --prometheus range with no request is 4', async () => {
    for (const command of ['analyze', 'diff']) {
      const help = (await cli(command, '--help')).stdout.replace(/\s+/g, ' ');
      expect(help).toContain('2 bad option or unusable input, or a --model that matches no model (one line naming it)');
      expect(help).toContain('4 nothing measured: no readable span, a --prometheus range with no request, or a gate');
    }
  });
});

/**
 * `latency-doctor diff BEFORE… -- AFTER…` end to end, on trace files written in OTLP JSON lines
 * from generated requests (log-normal queue and compute times, Poisson arrivals): the gate
 * stays quiet on a no-change pair, exits 3 on a small real regression at high n, says so and
 * fails closed (exit 4, as analyze's gates do) when n is too small, and bad pairs get one clear line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../diagnose/gen.js';
import type { Draw } from '../diagnose/gen.js';
import { toSpans } from '../diagnose/to-spans.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { lmSpans } from '../support/lm-spans.js';
import { runCli as cli, ensureBuilt } from '../support/cli.js';
import { TGI_FAILED_CANCELLED, writeTgiVariant } from '../analyzer/conventions/_helpers.js';
import { simulate } from '../../examples/traces/simulate.js';
import type { CliRun as Run } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ld-diff-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(ensureBuilt, 180_000);


/** Log-normal draw (median m ms, σ 0.4) scaled by `factor`. */
const logNormal = (m: number, factor: number): Draw => ({ rand }) => m * factor * Math.exp(0.4 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));

/** Writes `n` generated requests of `model` (times × `factor`) as an OTLP JSON lines file. */
function run(name: string, n: number, seed: number, factor = 1, model = 'resnet50'): string {
  const requests = generate({ n, seed, model, rps: 200, phases: { preprocess: 1.5, queue: logNormal(6, factor), compute: logNormal(9, factor) } });
  const file = join(tmp, `${name}.otlp.jsonl`);
  writeFileSync(file, toOtlpJsonLines(toSpans(requests)));
  return file;
}

function oneLine(result: Run): string {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).not.toMatch(/^\s+at /);
  return lines[0]!;
}

describe('latency-doctor diff', { timeout: 120_000 }, () => {
  it('a no-change pair (n 6000 each): nothing significant, the p99=10% gate passes', async () => {
    const result = await cli('diff', run('same-a', 6000, 1), '--', run('same-b', 6000, 2), '--fail-on-regression', 'p99=10%', '--json');
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.schema).toBe('latency-doctor/diff@1');
    const e2e = json.models[0].e2e;
    expect(e2e.before_count).toBe(6000);
    expect(e2e.after_count).toBe(6000);
    expect(e2e.quantiles.map((q: { significant: boolean }) => q.significant)).toEqual([false, false, false]);
    expect(e2e.mann_whitney.significant).toBe(false);
    expect(json.models[0].load.differs).toBe(false);
    expect(json.models[0].notes).toEqual([]);
  });

  it('runs under different loads: the verdict says "not like for like" and a note gives both rates and concurrencies (checked against the spans)', async () => {
    // The bundled demo's service at 95 requests/s, then the same service (no fix) at 60/s: less queueing, no fix.
    const write = (name: string, rps: number, seed: number): string => {
      const file = join(tmp, `${name}.otlp.jsonl`);
      writeFileSync(file, toOtlpJsonLines(simulate({ seed, requests: 600, arrivalRps: rps })));
      return file;
    };
    const before = write('load-95', 95, 3);
    const after = write('load-60', 60, 4);
    const result = await cli('diff', before, '--', after, '--json');
    expect(result.code, result.stderr).toBe(0);
    const m = JSON.parse(result.stdout).models[0];
    // By hand from the client spans: requests ÷ (last end − first start), and Σ e2e ÷ the same window.
    const load = (file: string): { rps: number; inFlight: number } => {
      const calls = readFileSync(file, 'utf8').trim().split('\n').flatMap((line) => JSON.parse(line).resourceSpans.flatMap((rs: { scopeSpans: { spans: { kind: number; startTimeUnixNano: string; endTimeUnixNano: string }[] }[] }) => rs.scopeSpans.flatMap((ss) => ss.spans)))
        .filter((span: { kind: number }) => span.kind === 3)
        .map((span: { startTimeUnixNano: string; endTimeUnixNano: string }) => [Number(BigInt(span.startTimeUnixNano) / 1000n) / 1e6, Number(BigInt(span.endTimeUnixNano) / 1000n) / 1e6] as const);
      const windowS = Math.max(...calls.map(([, end]) => end)) - Math.min(...calls.map(([start]) => start));
      return { rps: calls.length / windowS, inFlight: calls.reduce((sum, [start, end]) => sum + end - start, 0) / windowS };
    };
    const b = load(before);
    const a = load(after);
    expect(m.load.before_rps).toBeCloseTo(b.rps, 3);
    expect(m.load.after_rps).toBeCloseTo(a.rps, 3);
    expect(m.load.before_in_flight).toBeCloseTo(b.inFlight, 3);
    expect(m.load.after_in_flight).toBeCloseTo(a.inFlight, 3);
    expect(m.load.differs).toBe(true);
    // Rounded as analyze --json is (6 decimals): no '-11.837276000000001'.
    expect(result.stdout.match(/"(?:\w+_ms|\w+_ratio|\w+_rps|\w+_in_flight)": -?\d+\.\d{7,}/g)).toBeNull();
    expect(m.verdict.text).toBe(`dynamic-batching → none: the fix worked (under a different load, ${b.rps.toFixed(1)} → ${a.rps.toFixed(1)} req/s: not like for like)`);
    expect(m.notes).toContainEqual(expect.stringMatching(/^load: [\d.]+ → [\d.]+ req\/s \(−3\d%\), [\d.]+ → [\d.]+ requests in flight \(−[56]\d%\): neither the request rate nor the concurrency held within 10%/));

    // The table of the same pair: an interval called significant never shows a bound of "0.00"
    // (network p95's upper bound is −0.004 ms: it printed as "−0.14 … 0.00  faster").
    const table = (await cli('diff', before, '--', after)).stdout.split('\n').filter((l) => /(faster|slower)$/.test(l) && !l.includes('Mann-Whitney'));
    expect(table.length).toBeGreaterThan(3);
    for (const line of table) expect(line, line).not.toMatch(/(^|\s)0\.00(\s|$)/);
    expect(table.join('\n')).toMatch(/ −0\.14 … −0\.004 +faster$/m);

    // What a closed-loop load (the same clients, each waiting for its answer) shows when a fix halves latency: twice
    // the rate at the same concurrency (generated as such). That is the fix showing, not another load.
    const closed = (name: string, seed: number, rps: number, factor: number): string => {
      const file = join(tmp, `${name}.otlp.jsonl`);
      writeFileSync(file, toOtlpJsonLines(toSpans(generate({ n: 3000, seed, model: 'resnet50', rps, phases: { queue: logNormal(6, factor), compute: logNormal(9, factor) } }))));
      return file;
    };
    const faster = await cli('diff', closed('closed-before', 21, 200, 1), '--', closed('closed-after', 22, 400, 0.5), '--json');
    expect(faster.code, faster.stderr).toBe(0);
    const f = JSON.parse(faster.stdout).models[0];
    expect(f.load.after_rps / f.load.before_rps).toBeGreaterThan(1.8);
    expect(f.load.differs).toBe(false);
    expect(f.verdict.text).not.toContain('different load');
  });

  it('a small real regression at high n (+15% on queue and compute, n 6000 each): exit 3 naming p99 and its interval', async () => {
    const before = run('reg-before', 6000, 3);
    const after = run('reg-after', 6000, 4, 1.15);
    const result = await cli('diff', before, '--', after, '--fail-on-regression', 'p99=10%');
    expect(result.code, result.stderr).toBe(3);
    expect(oneLine(result)).toMatch(/^latency-doctor: regression: resnet50 p99 [\d.]+ → [\d.]+ ms \(\+1\d\.\d%, 95% CI \+[\d.]+% to \+[\d.]+%; limit 10\.0%\)$/);
    expect(result.stdout).toMatch(/^  end-to-end  p50 .* slower$/m);
    expect(result.stdout).toMatch(/^  e2e: n 6,000 → 6,000; Mann-Whitney: .*: slower$/m);
    // The same pair under a looser limit passes: the gate is about the limit, not just significance.
    expect((await cli('diff', before, '--', after, '--fail-on-regression', 'p99=25%')).code).toBe(0);
  });

  it('n too small (80 each): says so instead of a verdict, and the gate fails closed with exit 4 (nothing measured), not 3', async () => {
    const result = await cli('diff', run('small-a', 80, 5), '--', run('small-b', 80, 6, 1.3), '--fail-on-regression', 'p99=10%');
    expect(result.code).toBe(4);
    expect(result.stdout).toContain('e2e: too few requests for a significant answer at p95/p99 (80 before, 80 after; p95 needs 100, p99 needs 500 per side)');
    expect(result.stdout).toMatch(/^              p99 .* n < 500$/m);
    expect(oneLine(result)).toBe('latency-doctor: --fail-on-regression cannot tell, failing closed: resnet50 p99: too few requests to tell (80 before, 80 after; needs 500 per side)');
  });

  it('a release that fails requests fast is not "faster": latency compares successful requests, errors are a note, and a run whose every request failed fails the gate closed', async () => {
    const before = run('err-before', 6000, 11);
    // AFTER: the same service, 30% of its requests failing in 0.4 ms of preprocess (a 500 before the model runs).
    const failing = generate({ n: 6000, seed: 12, model: 'resnet50', rps: 200, errorShare: 0.3, phases: { preprocess: 1.5, queue: logNormal(6, 1), compute: logNormal(9, 1) } })
      .map((r) => (r.error ? { ...r, phases: { preprocess: 0.4 }, otherMs: 0, e2eMs: 0.4 } : r));
    const after = join(tmp, 'err-after.otlp.jsonl');
    writeFileSync(after, toOtlpJsonLines(toSpans(failing)));
    const result = await cli('diff', before, '--', after, '--fail-on-regression', 'p50=10%', '--json');
    expect(result.code, result.stderr).toBe(0);
    const m = JSON.parse(result.stdout).models[0];
    expect(m.e2e.after_count).toBe(failing.filter((r) => !r.error).length);
    const p50 = m.e2e.quantiles.find((q: { quantile: string }) => q.quantile === 'p50');
    expect(p50.significant, JSON.stringify(p50)).toBe(false);
    expect(m.notes.join('\n')).toMatch(/^errors: 0 of 6000 \(0\.0%\) requests BEFORE → \d+ of 6000 \(\d\d\.\d%\) AFTER; latency compares successful requests only$/m);
    // Every request failed: nothing measured AFTER, so the gate cannot pass.
    const allFailed = join(tmp, 'err-all.otlp.jsonl');
    writeFileSync(allFailed, toOtlpJsonLines(toSpans(failing.map((r) => ({ ...r, error: true })))));
    const gate = await cli('diff', before, '--', allFailed, '--fail-on-regression', 'p50=10%');
    expect(gate.code).toBe(4);
    expect(oneLine(gate)).toMatch(/failing closed: resnet50 p50: too few requests to tell \(6000 before, 0 after/);
    expect(gate.stdout).not.toMatch(/NaN/);
  });

  it('counts TGI router failures per side, as it counts failed request spans: a split in the note and in --json outcomes, and a side whose every request failed fails the gate closed', async () => {
    const tgi = join(root, 'test/fixtures/serving', TGI_FAILED_CANCELLED);
    const allFailed = writeTgiVariant(tmp, 'tgi-all-failed.json');
    // Completed requests on both sides: the failures beside them are counted all the same.
    const same = await cli('diff', tgi, '--', tgi);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout.replace(/\s+/g, ' ')).toContain('note: errors: 3 of 9 (33.3%) requests (1 server, 2 client; 2 cancelled by the client) BEFORE → 3 of 9 (33.3%) (1 server, 2 client; 2 cancelled by the client) AFTER');
    const result = await cli('diff', tgi, '--', allFailed, '--json');
    expect(result.code, result.stderr).toBe(0);
    const m = JSON.parse(result.stdout).models[0];
    expect(m.model).toBe('text-generation-inference.router');
    // BEFORE: 4 completed, 3 failed, 2 cancelled; AFTER: the same failures, nothing completed.
    expect(m.outcomes).toEqual({
      before: { requests: 9, errors: 3, failures: { server_errors: 1, client_errors: 2, cancelled: 2 } },
      after: { requests: 5, errors: 3, failures: { server_errors: 1, client_errors: 2, cancelled: 2 } },
    });
    expect(m.notes).toContain('errors: 3 of 9 (33.3%) requests (1 server, 2 client; 2 cancelled by the client) BEFORE → 3 of 5 (60.0%) (1 server, 2 client; 2 cancelled by the client) AFTER; latency compares successful requests only');
    expect([m.e2e.before_count, m.e2e.after_count]).toEqual([4, 0]);
    const text = await cli('diff', tgi, '--', allFailed);
    expect(text.stdout).toContain('note: errors: 3 of 9 (33.3%) requests (1 server, 2 client; 2 cancelled by the client) BEFORE → 3 of 5 (60.0%)');
    const gate = await cli('diff', tgi, '--', allFailed, '--fail-on-regression', 'p50=10%');
    expect(gate.code).toBe(4);
    expect(oneLine(gate)).toMatch(/failing closed: text-generation-inference\.router p50: too few requests to tell \(4 before, 0 after/);
  });

  it('a model that served BEFORE and has no request AFTER fails the gate closed', async () => {
    const before = [run('two-resnet', 600, 13), run('two-bert', 600, 14, 1, 'bert')];
    const result = await cli('diff', ...before, '--', run('one-resnet', 600, 15), '--fail-on-regression', 'p50=10%');
    expect(result.stdout).toContain('only BEFORE has model bert: not compared');
    expect(result.code, result.stderr).toBe(4);
    expect(oneLine(result)).toBe('latency-doctor: --fail-on-regression cannot tell, failing closed: bert: requests BEFORE, none AFTER');
  });

  it('a side with no readable span: nothing measured, exit 4 as analyze gives, gate or not', async () => {
    const empty = join(tmp, 'empty.otlp.json');
    writeFileSync(empty, '{"resourceSpans":[]}');
    const file = run('beside-empty', 100, 16);
    for (const args of [[empty, '--', file], [file, '--', empty, '--fail-on-regression', 'p50=10%']]) {
      const result = await cli('diff', ...args);
      expect(result.code, args.join(' ')).toBe(4);
      expect(oneLine(result)).toBe(`latency-doctor: nothing measured: no readable spans in ${empty}`);
      expect((await cli('analyze', empty)).code).toBe(4);
    }
  });

  it('analyze --help and diff --help end with the same exit-code table', async () => {
    const table = (text: string): string => text.slice(text.indexOf('Exit codes:'));
    const [analyze, diff] = await Promise.all([cli('analyze', '--help'), cli('diff', '--help')]);
    expect(table(analyze.stdout)).toMatch(/^Exit codes:\n {2}0 {2}done.*\n {2}1 .*\n {2}2 .*\n {2}3 {2}a gate failed: --fail-on-slo .*--fail-on-regression .*\n {2}4 {2}nothing measured.*\n+$/);
    expect(table(diff.stdout)).toBe(table(analyze.stdout));
  });

  it('--help shows no JavaScript default ("(default: [])") and offers the --verbose its exit-code table points to', async () => {
    const [analyze, diff] = await Promise.all([cli('analyze', '--help'), cli('diff', '--help')]);
    for (const help of [analyze.stdout, diff.stdout]) {
      expect(help).not.toContain('(default: [])');
      expect(help).toContain('details with --verbose');
      expect(help).toMatch(/^ {2}--verbose /m);
    }
    // Accepted by diff too: the report is unchanged by it.
    const before = run('verbose-a', 60, 7);
    const after = run('verbose-b', 60, 8);
    const [plain, verbose] = await Promise.all([cli('diff', before, '--', after), cli('diff', '--verbose', before, '--', after)]);
    expect(verbose.code, verbose.stderr).toBe(plain.code);
    expect(verbose.stdout).toBe(plain.stdout);
  });

  it('a side with readable spans but no inference request: nothing measured, exit 4, naming the side and its file', async () => {
    // A real Zipkin export of a web app: spans, none an inference request.
    const web = join(root, 'test/fixtures/traces/zipkin-json/zipkin-lens-skew.json');
    const model = run('no-requests', 60, 7);
    const before = await cli('diff', web, '--', model);
    expect(before.code).toBe(4);
    expect(oneLine(before)).toBe(`latency-doctor: nothing measured: BEFORE (${web}) has no inference requests, nothing to compare (a request is a span with inference.model.name, or one a server's convention maps: docs/formats.md)`);
    expect(before.stdout).toBe('');
    const after = await cli('diff', model, '--', web, '--fail-on-regression', 'p99=10%');
    expect(after.code).toBe(4);
    expect(oneLine(after)).toMatch(/^latency-doctor: nothing measured: AFTER \(.*zipkin-lens-skew\.json\) has no inference requests/);
  });

  it('different models: one line, exit 2, no verdict', async () => {
    const before = run('model-a', 100, 7);
    const after = run('model-b', 100, 8, 1, 'bert');
    const result = await cli('diff', before, '--', after);
    expect(result.code).toBe(2);
    expect(oneLine(result)).toBe('latency-doctor: BEFORE has model resnet50, AFTER has model bert: no model in common, nothing to compare (models are matched by inference.model.name; for a model renamed between the runs give both names: --model BEFORE_NAME --after-model AFTER_NAME)');
    expect(result.stdout).toBe('');
    // What the line advises works: the renamed model is compared, and says so.
    const html = join(tmp, 'renamed.html');
    const renamed = await cli('diff', before, '--', after, '--model', 'resnet50', '--after-model', 'bert', '--json', '--html', html);
    expect(renamed.code, renamed.stderr).toBe(0);
    const json = JSON.parse(renamed.stdout);
    expect(json.models.map((m: { model: string; after_model: string | null }) => [m.model, m.after_model])).toEqual([['resnet50', 'bert']]);
    expect(json.models[0].e2e.before_count).toBe(100);
    expect(json.models[0].e2e.after_count).toBe(100);
    expect(json.models[0].notes[0]).toBe('model: resnet50 BEFORE is compared with bert AFTER (--after-model)');
    expect([json.only_before, json.only_after]).toEqual([[], []]);
    // The page draws AFTER's requests of the renamed model too (its data is embedded as JSON).
    const data = JSON.parse(/<script[^>]*id="ld-data"[^>]*>([\s\S]*?)<\/script>/.exec(readFileSync(html, 'utf8'))![1]!) as { models: { after: { histogram: { counts: number[] } } }[] };
    expect(data.models[0]!.after.histogram.counts.reduce((x, y) => x + y, 0)).toBe(100);
    const alone = await cli('diff', before, '--', after, '--after-model', 'bert');
    expect(alone.code).toBe(2);
    expect(oneLine(alone)).toBe('latency-doctor: --after-model needs --model (the name BEFORE), e.g. --model resnet50 --after-model resnet50-v2');
  });

  it('an --html path that cannot be written: one line, exit 2', async () => {
    const file = run('html-a', 50, 12);
    const result = await cli('diff', file, '--', file, '--html', join(tmp, 'missing-dir', 'diff.html'));
    expect(result.code).toBe(2);
    expect(oneLine(result)).toBe(`latency-doctor: --html ${join(tmp, 'missing-dir', 'diff.html')}: cannot write the report (ENOENT: no such directory)`);
  });

  it('no -- between the runs: one line saying how to call it', async () => {
    const file = run('alone', 50, 9);
    const result = await cli('diff', file);
    expect(result.code).toBe(2);
    expect(oneLine(result)).toContain('expected BEFORE files, then --, then AFTER files');
    // A -- with nothing after it, or only an option: the same line, not Commander naming its hidden
    // option ("option '--after <file...>' argument missing") or reading --json as a file name.
    for (const tail of [['--'], ['--', '--json']]) {
      const cut = await cli('diff', file, ...tail);
      expect(cut.code, tail.join(' ')).toBe(2);
      expect(oneLine(cut)).toBe('latency-doctor: diff: expected BEFORE files, then --, then AFTER files, e.g. latency-doctor diff before.jsonl -- after.jsonl');
    }
  });

  it('a generation model: TTFT and TPOT compared too (slower prefill moves TTFT, not TPOT)', async () => {
    const write = (name: string, prefillMs: number, seed: number): string => {
      const file = join(tmp, `${name}.otlp.jsonl`);
      writeFileSync(file, toOtlpJsonLines(lmSpans({ n: 400, seed, prefillMs: () => prefillMs })));
      return file;
    };
    const result = await cli('diff', write('lm-before', 30, 13), '--', write('lm-after', 45, 14), '--json');
    expect(result.code, result.stderr).toBe(0);
    const { ttft, tpot } = JSON.parse(result.stdout).models[0].generation;
    expect(ttft.before_count).toBe(400);
    expect(ttft.quantiles[0].significant).toBe(true);
    expect(ttft.quantiles[0].change_ratio).toBeGreaterThan(0.35);
    expect(ttft.quantiles[0].change_ratio).toBeLessThan(0.65);
    expect(tpot.quantiles[0].significant).toBe(false);
  });

  it('--markdown and --html render the same comparison', async () => {
    const before = run('md-a', 600, 10);
    const after = run('md-b', 600, 11, 0.7);
    const html = join(tmp, 'diff.html');
    const result = await cli('diff', before, '--', after, '--markdown', '--html', html);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\| end-to-end \| p50 \| [\d.]+ \| [\d.]+ \| −[\d.]+ \| −\d+\.\d% \| −[\d.]+ … −[\d.]+ \| faster \|$/m);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('data-table="diff"');
    expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });
});

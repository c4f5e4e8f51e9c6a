import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOtlpJsonLines } from '../support/synth.js';
import { simulate } from '../../examples/traces/simulate.js';
import { runCli as cli, ensureBuilt } from '../support/cli.js';
import type { CliRun as Run } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const demo = (name: string): string => join(root, 'examples/traces', name);
const tmp = mkdtempSync(join(tmpdir(), 'ld-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// The tests run the installed binary (bin/latency-doctor.js → dist/); `npm test` builds first.
beforeAll(ensureBuilt, 180_000);


/** A user mistake: exit 2 and exactly one line on stderr, no stack trace. */
function expectOneLineError(run: Run, ...fragments: string[]): void {
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).not.toMatch(/^\s+at /);
  for (const f of fragments) expect(lines[0]).toContain(f);
}

describe('latency-doctor analyze (end to end)', { timeout: 90_000 }, () => {
  it('a GPU sample file given alone: exit 4 saying it is one and that the trace is missing, not "no readable spans"', async () => {
    const samples = join(root, 'test/fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl');
    const run = await cli('analyze', samples);
    expect(run.code, run.stderr).toBe(4);
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toEqual([`latency-doctor: nothing measured: ${samples} is a GPU sample file (the sidecar's), with no trace: give the trace export of the same window beside it`]);
  });

  it("reports the Jaeger query API's own errors: the error when no trace came back, a warning beside the traces", async () => {
    // What jaeger-query answers when a trace id is not found (data null, its errors), saved by
    // `curl …/api/traces/ID > trace.json` as an on-call engineer would.
    const failed = join(tmp, 'jaeger-query-404.json');
    writeFileSync(failed, JSON.stringify({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] }));
    expectOneLineError(await cli('analyze', failed), failed, '$.errors', 'the query API answered with errors', '404 trace not found');
    const demo = JSON.parse(readFileSync(join(root, 'examples/traces/inference-demo.jaeger.json'), 'utf8')) as Record<string, unknown>;
    const partial = join(tmp, 'jaeger-query-partial.json');
    writeFileSync(partial, JSON.stringify({ ...demo, errors: [{ code: 404, msg: 'trace not found', traceID: 'ab12' }] }));
    const run = await cli('analyze', partial);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('220 requests analysed');
    expect(run.stdout).toMatch(/Jaeger query API reported errors with these traces: 404 trace not found \(trace ab12\)/);
  });

  it("loads only what analyze needs: none of the sidecar's exporters or HTTP server", () => {
    // The CommonJS packages the sidecar pulls in land in require.cache when loaded; the CLI runs
    // in this child as bin/latency-doctor.js runs analyze (its bundle), and the cache is printed once it is done.
    const script = `process.argv.splice(1, process.argv.length, 'latency-doctor', 'analyze', ${JSON.stringify(demo('inference-demo.otlp.jsonl'))});
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = () => true;
      await import(${JSON.stringify(join(root, 'dist/cli/main.bundle.js'))});
      const { createRequire } = await import('node:module');
      write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as string[];
    expect(loaded.some((f) => f.includes('/node_modules/hdr-histogram-js/')), 'the analyzer itself ran').toBe(true);
    for (const pkg of ['@opentelemetry', 'express', 'systeminformation', 'fast-xml-parser']) expect(loaded.filter((f) => f.includes(`/node_modules/${pkg}/`)), pkg).toEqual([]);
  });

  it('analyze and diff run from one bundled module that imports none of our other files, with the output of the modules', () => {
    // The bundle alone in a copy of the package's layout (package.json for --version, the
    // dependencies): a file of ours it still imported would not be found there.
    const alone = join(tmp, 'bundle-alone');
    mkdirSync(join(alone, 'dist/cli'), { recursive: true });
    copyFileSync(join(root, 'dist/cli/main.bundle.js'), join(alone, 'dist/cli/main.bundle.js'));
    copyFileSync(join(root, 'package.json'), join(alone, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(alone, 'node_modules'), 'dir');
    const env = { ...process.env, LATENCY_DOCTOR_SUPERVISED: undefined, NO_COLOR: '1' };
    const run = (main: string, ...args: string[]): string => execFileSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', env });
    const analyze = ['analyze', '--json', demo('inference-demo.otlp.jsonl')];
    const diff = ['diff', demo('inference-demo.otlp.jsonl'), '--', demo('inference-demo.jaeger.json')];
    for (const args of [analyze, diff]) {
      const bundled = run(join(alone, 'dist/cli/main.bundle.js'), ...args);
      expect(bundled.length).toBeGreaterThan(100);
      expect(bundled).toBe(run(join(root, 'dist/cli/main.js'), ...args));
    }
  });

  it('--help names every input analyze reads: protobuf, Triton and Python console traces, GPU sample files, - for standard input', async () => {
    const run = await cli('analyze', '--help');
    expect(run.code).toBe(0);
    const help = run.stdout.replace(/\s+/g, ' ');
    for (const words of ['OTLP JSON/JSON lines/protobuf', 'Triton trace file', 'Python console', 'GPU sample files', '- reads standard input']) expect(help).toContain(words);
  });

  it('analyses the bundled OTLP demo: phase table, exit 0', async () => {
    const run = await cli('analyze', 'examples/traces/inference-demo.otlp.jsonl');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('220 requests analysed');
    expect(run.stdout).toMatch(/^  queue\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+%/m);
    expect(run.stdout).toContain('end-to-end');
    for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(run.stdout).not.toMatch(/\u001b\[/);
  });

  it('says which requests the diagnosis numbers cover, the same count in text, Markdown and JSON (issue 10 item 5)', async () => {
    const [text, markdown, json] = await Promise.all([
      cli('analyze', 'examples/traces/inference-demo.otlp.jsonl'),
      cli('analyze', '--markdown', 'examples/traces/inference-demo.otlp.jsonl'),
      cli('analyze', '--json', 'examples/traces/inference-demo.otlp.jsonl'),
    ]);
    for (const r of [text, markdown, json]) expect(r.code, r.stderr).toBe(0);
    const d = (JSON.parse(json.stdout) as Record<string, any>)['models'][0].diagnosis as Record<string, any>;
    const p = d['population'] as { requests: number; diagnosed: number; warmup_trimmed: number; errors_excluded: number };
    expect(p.requests).toBe(220);
    expect(p.diagnosed).toBe(p.requests - p.warmup_trimmed - p.errors_excluded);
    expect(p.warmup_trimmed).toBeGreaterThan(0);
    const label = (table: string): string => `Numbers below: ${p.diagnosed} requests after warm-up trim (${p.warmup_trimmed} warm-up, ${p.errors_excluded} errors left out); ${table} covers all ${p.requests}`;
    // Wrapped to 80 columns in the terminal; compare with whitespace folded. In Markdown the phase table follows the diagnosis.
    expect(text.stdout.replace(/\s+/g, ' ')).toContain(label('the table above'));
    expect(markdown.stdout.replace(/\s+/g, ' ')).toContain(label('the phase table below'));
    // The diagnosis' rate is the arrival rate of request starts, not the table's throughput.
    expect(text.stdout).toMatch(/arrival rate [\d.]+ requests\/s \(request starts\)/);
  });

  it('--json gives the documented fields, the same for the OTLP, Jaeger and Zipkin demos', async () => {
    const [otlp, jaeger, zipkin] = await Promise.all(['otlp.jsonl', 'jaeger.json', 'zipkin.json'].map((ext) => cli('analyze', '--json', demo(`inference-demo.${ext}`))));
    const parsed = [otlp!, jaeger!, zipkin!].map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, any>;
    });
    for (const json of parsed) {
      expect(json['requests']).toBe(220);
      expect(Object.keys(json['e2e'])).toEqual(expect.arrayContaining(['p50_ms', 'p95_ms', 'p99_ms']));
      for (const phase of ['queue', 'compute', 'network', 'preprocess', 'serialize', 'other']) {
        expect(Object.keys(json['phases'][phase])).toEqual(expect.arrayContaining(['p50_ms', 'p95_ms', 'p99_ms', 'share']));
      }
      expect(json['models'][0].model).toBe('resnet50');
      expect(json).toHaveProperty('diagnosis');
      // Jaeger and Zipkin carry µs: the same run agrees within a few µs per phase.
      expect(json['e2e'].p95_ms).toBeCloseTo(parsed[0]!['e2e'].p95_ms, 1);
      expect(json['phases'].queue.share).toBeCloseTo(parsed[0]!['phases'].queue.share, 2);
    }
    expect(parsed.map((j) => j['files'][0].format)).toEqual(['otlp-jsonl', 'jaeger-json', 'zipkin-json']);
    // The demo's bottleneck: requests wait in the queue behind a batch-size-1 worker.
    expect(parsed[0]!['phases'].queue.share).toBeGreaterThan(0.4);
  });

  it('--verbose counts the lines the byte-scanning reader read and those it handed to the full parser', async () => {
    const lines = readFileSync(demo('inference-demo.otlp.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
    // Spaces are still the fast reader's; an upper-case id (lower-cased, noted) is left to JSON.parse.
    lines[2] = lines[2]!.replace(/,"/g, ', "');
    lines[3] = lines[3]!.replace(/"traceId":"([0-9a-f]{32})"/, (_m, id: string) => `"traceId":"${id.toUpperCase()}"`);
    const file = join(tmp, 'verbose-fast.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await cli('analyze', '--verbose', file);
    expect(run.code, run.stderr).toBe(0);
    // Every line but the upper-case id's is the fast reader's, the first too (detection told its family from it).
    expect(run.stdout).toContain(`fast reader: ${lines.length - 1} lines read, 1 handed to the full parser`);
    expect(run.stdout).toContain('220 requests analysed');
  });

  it.each(['inference-demo.jaeger.json', 'inference-demo.zipkin.json'])('--verbose says a %s document was read by its byte scanner', async (name) => {
    const run = await cli('analyze', '--verbose', demo(name));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('fast reader: 1 document read, 0 handed to the full parser');
    expect(run.stdout).toContain('220 requests analysed');
  });

  it('--markdown prints a table for a ticket', async () => {
    const run = await cli('analyze', '--markdown', 'examples/traces/inference-demo.zipkin.json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('| Phase | p50 ms | p95 ms | p99 ms | max ms | Share of e2e |');
  });

  it('reads gzip input and merges a client-side and a server-side export by trace id', async () => {
    const lines = readFileSync(demo('inference-demo.otlp.jsonl'), 'utf8').trim().split('\n');
    const client: string[] = [];
    const server: string[] = [];
    for (const line of lines) {
      const doc = JSON.parse(line) as { resourceSpans: { resource: { attributes: { value: { stringValue: string } }[] } }[] };
      for (const rs of doc.resourceSpans) (rs.resource.attributes[0]!.value.stringValue === 'storefront' ? client : server).push(JSON.stringify({ resourceSpans: [rs] }));
    }
    writeFileSync(join(tmp, 'client.jsonl.gz'), gzipSync(client.join('\n') + '\n'));
    writeFileSync(join(tmp, 'server.jsonl'), server.join('\n') + '\n');
    const [both, serverOnly] = await Promise.all([cli('analyze', '--json', join(tmp, 'server.jsonl'), join(tmp, 'client.jsonl.gz')), cli('analyze', '--json', join(tmp, 'server.jsonl'))]);
    const merged = JSON.parse(both.stdout) as Record<string, any>;
    const alone = JSON.parse(serverOnly.stdout) as Record<string, any>;
    expect(merged['requests']).toBe(220);
    expect(merged['phases'].network.present).toBe(220);
    expect(alone['phases'].network).toBeUndefined();
    expect(merged['e2e'].p50_ms).toBeGreaterThan(alone['e2e'].p50_ms);
  });

  it('an export whose times are µs or ms where OTLP has ns is warned about, with the date it would mean, not only called a monotonic clock', async () => {
    // A buggy exporter: the demo's ns times divided by 1000 (µs) and by 10^6 (ms).
    const text = readFileSync(demo('inference-demo.otlp.jsonl'), 'utf8');
    const scaled = (divisor: bigint): string => text.replace(/"(start|end)TimeUnixNano":"(\d+)"/g, (_, which: string, ns: string) => `"${which}TimeUnixNano":"${BigInt(ns) / divisor}"`);
    writeFileSync(join(tmp, 'micros.jsonl'), scaled(1000n));
    writeFileSync(join(tmp, 'millis.jsonl'), scaled(1_000_000n));
    const [micros, millis, nanos] = await Promise.all([cli('analyze', '--json', join(tmp, 'micros.jsonl')), cli('analyze', join(tmp, 'millis.jsonl')), cli('analyze', '--json', demo('inference-demo.otlp.jsonl'))]);
    const warnings = (run: Run): { code: string; message: string }[] => (JSON.parse(run.stdout) as { warnings: { code: string; message: string }[] }).warnings;
    expect(warnings(micros).filter((w) => w.code === 'time-unit').map((w) => w.message)).toEqual([expect.stringContaining('read as µs since the epoch they would start at 2026-03-02 14:00:00 UTC')]);
    expect(millis.stdout).toMatch(/Warnings[\s\S]*read as ms since the epoch they would start at 2026-03-02 14:00:00 UTC[\s\S]*1,000,000× off/);
    expect(warnings(nanos).map((w) => w.code)).not.toContain('time-unit');
    // A Jaeger export holds µs: ms written there gives the same factor, and the line names that case too.
    const jaeger = readFileSync(demo('inference-demo.jaeger.json'), 'utf8').replace(/"(startTime|duration)":(\d+)/g, (_, key: string, us: string) => `"${key}":${Math.floor(Number(us) / 1000)}`);
    writeFileSync(join(tmp, 'jaeger-millis.json'), jaeger);
    const jaegerRun = await cli('analyze', '--json', join(tmp, 'jaeger-millis.json'));
    expect(warnings(jaegerRun).filter((w) => w.code === 'time-unit').map((w) => w.message)).toEqual([expect.stringContaining('in a Jaeger or Zipkin export: ms where µs are due')]);
  });

  it('a client span whose kind is a word objects inherit (constructor, __proto__) is still the client of its request, as any unknown kind word is', async () => {
    // The demo's client spans (inference.role=client, inference.model.name) with their kind as a name no exporter defines.
    const text = readFileSync(demo('inference-demo.otlp.jsonl'), 'utf8');
    const runs = await Promise.all(
      ['constructor', '__proto__', 'SPAN_KIND_BOGUS'].map((word) => {
        const file = join(tmp, `client-kind-${word}.jsonl`);
        writeFileSync(file, text.replaceAll('"kind":3,', `"kind":"${word}",`));
        return cli('analyze', '--json', file);
      }),
    );
    for (const run of runs) {
      const report = JSON.parse(run.stdout) as Record<string, any>;
      // Before: 440 requests, each client span read as a request of its own.
      expect(report['requests']).toBe(220);
      expect(report['phases'].network.present).toBe(220);
    }
  });

  it('a file that is not a trace: one line naming the file, exit 2', async () => {
    const file = join(tmp, 'notes.txt');
    writeFileSync(file, 'hello, this is not a trace\n');
    expectOneLineError(await cli('analyze', file), file);
  });

  it('a missing file and an empty file: one line each, exit 2', async () => {
    const empty = join(tmp, 'empty.json');
    writeFileSync(empty, '');
    const [missing, blank] = await Promise.all([cli('analyze', join(tmp, 'nope.json')), cli('analyze', empty)]);
    expectOneLineError(missing, 'nope.json');
    expectOneLineError(blank, 'empty.json');
  });

  it('a partly broken JSON lines file is analysed with a warning; --strict makes it an error', async () => {
    const lines = readFileSync(demo('inference-demo.otlp.jsonl'), 'utf8').trim().split('\n');
    const broken = [...lines.slice(0, 10), lines[10]!.slice(0, 200), ...lines.slice(11)].join('\n') + '\n';
    const file = join(tmp, 'broken.jsonl');
    writeFileSync(file, broken);
    const [lenient, strict] = await Promise.all([cli('analyze', file), cli('analyze', '--strict', file)]);
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(lenient.stdout).toMatch(/Warnings[\s\S]*broken\.jsonl:11/);
    expectOneLineError(strict, 'broken.jsonl:11');
  });

  it('bad options: one line, exit 2', async () => {
    const [both, slo, unknown] = await Promise.all([
      cli('analyze', '--json', '--markdown', 'examples/traces/inference-demo.otlp.jsonl'),
      cli('analyze', '--slo', 'p42=fast', 'examples/traces/inference-demo.otlp.jsonl'),
      cli('analyze', '--frobnicate', 'examples/traces/inference-demo.otlp.jsonl'),
    ]);
    expect(both.code).toBe(2);
    expectOneLineError(slo, '--slo');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
  });

  it('--html to a place that cannot be written: exit 2 before any analysis, so no JSON on stdout (as exit 2 promises)', async () => {
    const nowhere = join(tmp, 'no-such-dir', 'report.html');
    const [analyze, diff, directory] = await Promise.all([
      cli('analyze', '--json', '--html', nowhere, 'examples/traces/inference-demo.otlp.jsonl'),
      cli('diff', '--json', '--html', nowhere, 'examples/traces/inference-demo.otlp.jsonl', '--', 'examples/traces/inference-demo.jaeger.json'),
      cli('analyze', '--json', '--html', tmp, 'examples/traces/inference-demo.otlp.jsonl'),
    ]);
    for (const run of [analyze, diff]) {
      expectOneLineError(run, `--html ${nowhere}`, 'no such directory');
      expect(run.stdout).toBe('');
    }
    expectOneLineError(directory, `--html ${tmp}`, 'is a directory');
    expect(directory.stdout).toBe('');
  });

  it('--threads N splits a big JSON lines file over N reader threads for the same report as --threads 1; --threads 0 is refused', async () => {
    const file = join(tmp, 'big.jsonl');
    // About 17 MB: three 8 MiB ranges, read by the built worker (dist/), as users run it.
    writeFileSync(file, toOtlpJsonLines(simulate({ requests: 4400, seed: 12 }), 64));
    const [one, three, zero] = await Promise.all([cli('analyze', '--json', '--threads', '1', file), cli('analyze', '--json', '--threads', '3', file), cli('analyze', '--threads', '0', file)]);
    expect(one.code, one.stderr).toBe(0);
    expect(three.stdout).toBe(one.stdout);
    expect(JSON.parse(one.stdout).requests).toBe(4400);
    expectOneLineError(zero, '--threads must be a positive integer');
  });

  it('traces outside the convention get the critical-path report (real Jaeger trace)', async () => {
    const run = await cli('analyze', 'test/fixtures/traces/jaeger-json/jaeger-ui-petclinic-31char-traceid.json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('No request spans follow the span convention');
    expect(run.stdout).toContain('On the critical path');
  });
});

describe('errors from every domain end at the CLI edge as one line and their exit code', { timeout: 90_000 }, () => {
  it('--strict: a span the assembler drops (arriving after its trace was finalized) is an error, not a warning', async () => {
    const epoch = 1_767_225_600_000_000_000n;
    const span = (id: string, trace: string, atMs: number) => ({ traceId: trace.repeat(32), spanId: id.repeat(16), name: 'op', service: 's', kind: 'internal' as const, startNs: epoch + BigInt(atMs) * 1_000_000n, endNs: epoch + BigInt(atMs + 1) * 1_000_000n, attributes: {} });
    const file = join(tmp, 'late.jsonl');
    writeFileSync(file, toOtlpJsonLines([span('a', '1', 0), span('b', '2', 1), span('c', '2', 2), span('d', '2', 3), span('e', '1', 4)], 1));
    const [lenient, strict] = await Promise.all([cli('analyze', '--idle-spans', '2', file), cli('analyze', '--strict', '--idle-spans', '2', file)]);
    expect(lenient.code, lenient.stderr).toBe(0);
    expectOneLineError(strict, `latency-doctor: --strict: ${file}: 0 spans ending before they start, 1 span arriving after its trace was finalized`);
  });

  it('sidecar: a bad endpoint or a busy port is one line naming the sidecar, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const [endpoint, inUse] = await Promise.all([
        cli('sidecar', '--port', '0', '--otlp-endpoint', 'ftp://collector'),
        cli('sidecar', '--port', String(port), '--nvidia-smi', join(tmp, 'no-nvidia-smi')),
      ]);
      expectOneLineError(endpoint, 'latency-doctor: sidecar: --otlp-endpoint must be an http(s):// URL');
      expectOneLineError(inUse, `latency-doctor: sidecar: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      busy.close();
    }
  });
});

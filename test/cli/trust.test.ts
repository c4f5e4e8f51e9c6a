/**
 * The CLI on input a release gate or a new user meets: nothing measured fails closed with its own
 * exit code, option and input errors are one sanitized line, and standard input, pipes and FIFOs
 * are read as streams (or refused at once) instead of hanging. Runs the installed binary.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const demo = join(root, 'examples/traces/inference-demo.otlp.jsonl');
const petclinic = join(root, 'test/fixtures/traces/jaeger-json/jaeger-ui-petclinic-31char-traceid.json');
const tmp = mkdtempSync(join(tmpdir(), 'ld-trust-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(ensureBuilt, 180_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `latency-doctor …` as installed, with `input` on standard input; killed after 30 s (a hang fails). */
function cli(args: readonly string[], input?: Buffer): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/latency-doctor.js'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

function errorLines(run: Run): string[] {
  return run.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
}

describe('gates fail closed when nothing was measured', { timeout: 90_000 }, () => {
  it('a readable export with no spans exits 4, saying nothing was measured', async () => {
    const file = join(tmp, 'no-spans.json');
    writeFileSync(file, '{"resourceSpans":[]}\n');
    const run = await cli(['analyze', file]);
    expect(run.code, run.stderr).toBe(4);
    expect(errorLines(run)).toEqual([`latency-doctor: nothing measured: no readable spans in ${file}`]);
  });

  it('an export whose every span was skipped exits 4 and counts what was skipped', async () => {
    const file = join(tmp, 'all-skipped.jsonl');
    const span = { traceId: '', spanId: '', name: 'x', startTimeUnixNano: '1', endTimeUnixNano: '2' };
    writeFileSync(file, `${JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span, span] }] }] })}\n`);
    const run = await cli(['analyze', '--slo', 'p99=1ms', '--fail-on-slo', file]);
    expect(run.code, run.stderr).toBe(4);
    // …and says what was skipped first, where: what to repair.
    const why = `${file}:1: $.resourceSpans[0].scopeSpans[0].spans[0]: 2 spans skipped: expected a trace id (16 bytes, hex or base64) (first: got a string "")`;
    expect(errorLines(run)).toEqual([`latency-doctor: nothing measured: no readable spans in ${file} (2 unreadable spans, lines or records skipped); ${why}`]);
    // One skipped: said in the singular.
    writeFileSync(file, `${JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] })}\n`);
    const one = await cli(['analyze', file]);
    expect(one.code, one.stderr).toBe(4);
    expect(errorLines(one)).toEqual([`latency-doctor: nothing measured: no readable spans in ${file} (1 unreadable span, line or record skipped); ${why.replace('2 spans skipped', '1 span skipped')}`]);
    // Every line damaged (JSON lines after a first line that holds no span): the first damaged line's place and cause.
    const damaged = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c"';
    writeFileSync(file, `{"resourceSpans":[]}\n${damaged}\n`);
    const cut = await cli(['analyze', file]);
    expect(cut.code, cut.stderr).toBe(4);
    expect(errorLines(cut)).toEqual([`latency-doctor: nothing measured: no readable spans in ${file}; ${file}:2:${damaged.length + 1}: 1 line skipped: expected a JSON document on every line (first: got end of line (truncated?))`]);
  });

  it('--fail-on-slo on a run whose every request failed exits 4: failed requests are no latency to meet an SLO with', async () => {
    // The bundled demo export with every span's status ERROR (a model that fails each request, e.g. CUDA out of memory).
    const file = join(tmp, 'all-failed.otlp.jsonl');
    writeFileSync(file, readFileSync(demo, 'utf8').replace(/"status":\{\}/g, '"status":{"code":2,"message":"CUDA out of memory"}'));
    const run = await cli(['analyze', '--slo', 'p99=1s', '--fail-on-slo', file]);
    expect(run.stdout).toMatch(/220 errors/);
    expect(run.stdout).not.toMatch(/SLO met/);
    // The diagnosis has too few requests; the report still says how the SLO check went.
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('SLO not checked: p99 not measured (every request failed)');
    expect(run.code, run.stderr).toBe(4);
    expect(errorLines(run)).toEqual(['latency-doctor: SLO not checked: p99 of resnet50 (every request failed) not measured']);
  });

  it('--fail-on-slo on traces with no inference request exits 4: "SLO not checked", never 0', async () => {
    const [gate, report, model] = await Promise.all([
      cli(['analyze', '--slo', 'p99=1ms', '--fail-on-slo', petclinic]),
      cli(['analyze', '--slo', 'p99=1ms', petclinic]),
      cli(['analyze', '--slo', 'p99=1000s', '--fail-on-slo', '--model', 'nope', demo]),
    ]);
    expect(gate.code, gate.stderr).toBe(4);
    expect(errorLines(gate)).toEqual([`latency-doctor: SLO not checked: no inference requests in ${petclinic}`]);
    // Without the gate the report still runs (the generic report is useful) and says so.
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('SLO not checked: no inference requests in the input');
    // A --model that matches nothing is a mistake, not an empty measurement (test/cli/exit-codes.test.ts).
    expect(model.code, model.stderr).toBe(2);
    expect(errorLines(model)).toEqual([`latency-doctor: --model "nope" matches no model in ${demo}; models seen: resnet50 (1)`]);
  });
});

describe('error lines', { timeout: 90_000 }, () => {
  it('an option error is one line with the latency-doctor: prefix', async () => {
    const run = await cli(['analyze', '--top', 'x', demo]);
    expect(run.code).toBe(2);
    expect(errorLines(run)).toEqual([`latency-doctor: option '--top <n>' argument 'x' is invalid. --top must be a positive integer in decimal digits, got "x" (run with --help for usage)`]);
  });

  it('a count is decimal digits: hex, an exponent, spaces, a sign or trailing letters are refused (exit 2, one line), never read as another number', async () => {
    // Number() reads 0x10 as 16, 1e3 as 1000, " 12 " as 12 and "+5" as 5: each once passed.
    const cases: Array<[string[], string]> = [
      [['analyze', '--top', '0x10', demo], `option '--top <n>' argument '0x10' is invalid. --top must be a positive integer in decimal digits, got "0x10"`],
      [['analyze', '--idle-spans', '1e3', demo], `option '--idle-spans <n>' argument '1e3' is invalid. --idle-spans must be a positive integer in decimal digits, got "1e3"`],
      [['analyze', '--threads', ' 12 ', demo], `option '--threads <n>' argument ' 12 ' is invalid. --threads must be a positive integer in decimal digits, got " 12 "`],
      [['analyze', '--top', '+5', demo], `option '--top <n>' argument '+5' is invalid. --top must be a positive integer in decimal digits, got "+5"`],
      [['analyze', '--top', '12abc', demo], `option '--top <n>' argument '12abc' is invalid. --top must be a positive integer in decimal digits, got "12abc"`],
      [['analyze', '--top', '99999999999999999999', demo], `option '--top <n>' argument '99999999999999999999' is invalid. --top must be a positive integer in decimal digits, got "99999999999999999999"`],
      // The sidecar's ports, periods and sizes go through the same parser. Each line below was,
      // before, read as 16 or 10 and then refused for another reason (--samples-max-mb without a file).
      [['sidecar', '--port', '0x10', '--samples-max-mb', '1'], `option '--port <port>' argument '0x10' is invalid. --port must be an integer from 0 to 65535 in decimal digits, got "0x10"`],
      [['sidecar', '--samples-max-mb', '1e1'], `option '--samples-max-mb <mb>' argument '1e1' is invalid. --samples-max-mb must be an integer from 0 to 1000000 in decimal digits, got "1e1"`],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(2);
      expect(errorLines(run)).toEqual([`latency-doctor: ${cases[i]![1]} (run with --help for usage)`]);
    });
    // Plain digits still work, a leading zero included.
    const plain = await cli(['analyze', '--json', '--top', '012', '--idle-spans', '1000', '--threads', '1', demo]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).requests).toBeGreaterThan(0);
  });

  it('control bytes and escape sequences from the input are shown escaped, never raw', async () => {
    const file = join(tmp, 'escape.json');
    writeFileSync(file, '{"resourceSpans":\u001b[31mred\u009b2J\n');
    const run = await cli(['analyze', file]);
    expect(run.code).toBe(2);
    expect(errorLines(run)).toHaveLength(1);
    expect(run.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(run.stderr).toContain('\\x1b');
  });

  it('a directory with nothing in it and a device are named as such', async () => {
    // A directory stands for its files (test/cli/directory-input.test.ts); an empty one has none.
    const empty = mkdtempSync(join(tmp, 'empty-'));
    const [dir, device] = await Promise.all([cli(['analyze', empty]), cli(['analyze', '/dev/null'])]);
    expect(errorLines(dir)).toEqual([`latency-doctor: ${empty}: expected a directory holding trace files, got an empty directory`]);
    expect(errorLines(device)[0]).toContain('got a character device');
    expect(dir.code).toBe(2);
    expect(device.code).toBe(2);
  });
});

describe('standard input and pipes', { timeout: 90_000 }, () => {
  it('`-` reads standard input as a stream, compressed or not, with the same result as the file', async () => {
    const text = readFileSync(demo);
    const [file, plain, gzip] = await Promise.all([cli(['analyze', '--json', demo]), cli(['analyze', '--json', '-'], text), cli(['analyze', '--json', '-'], gzipSync(text))]);
    for (const run of [plain, gzip]) {
      expect(run.code, run.stderr).toBe(0);
      const json = JSON.parse(run.stdout) as { requests: number; e2e: unknown; files: { file: string; format: string }[] };
      expect(json.requests).toBe(220);
      expect(json.e2e).toEqual((JSON.parse(file.stdout) as { e2e: unknown }).e2e);
      expect(json.files[0]).toMatchObject({ file: '-', format: 'otlp-jsonl' });
    }
  });

  it('a pipe given as a path is read like a file (zcat … | analyze /dev/stdin, <(…))', async () => {
    // Node gives a child a socket as stdin; a shell pipeline gives a real pipe, as users have.
    const jaeger = join(root, 'examples/traces/inference-demo.jaeger.json');
    const bin = join(root, 'bin/latency-doctor.js');
    const sh = (script: string): string => execFileSync('bash', ['-c', script], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 }).toString();
    expect(sh(`cat '${jaeger}' | '${process.execPath}' '${bin}' analyze /dev/stdin`)).toContain('220 requests analysed');
    expect(sh(`'${process.execPath}' '${bin}' analyze <(gzip -c '${jaeger}')`)).toContain('220 requests analysed');
  });

  it('a FIFO with no writer is refused at once instead of hanging', async () => {
    const fifo = join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const run = await cli(['analyze', fifo]);
    expect(run.code, run.stderr).toBe(2);
    expect(errorLines(run)).toEqual([`latency-doctor: ${fifo}: expected a trace export, got no data (nothing was written to the pipe)`]);
  });

  it('an empty standard input says so (not a pipe: < /dev/null, a closed stdin)', async () => {
    const run = await cli(['analyze', '-'], Buffer.alloc(0));
    expect(run.code, run.stderr).toBe(2);
    expect(errorLines(run)).toEqual(['latency-doctor: -: expected a trace export, got no data (standard input was empty)']);
  });

  it('`-` twice is refused', async () => {
    const run = await cli(['analyze', '-', '-']);
    expect(run.code).toBe(2);
    expect(errorLines(run)[0]).toContain('standard input (-) named once');
  });
});

describe('traces outside the convention', { timeout: 90_000 }, () => {
  it('a fragmented trace gets a warning line and says how many pieces it was measured in', async () => {
    const run = await cli(['analyze', join(root, 'test/fixtures/traces/zipkin-json/zipkin-lens-messaging2-orphans.json')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 of them in 7 disconnected pieces/);
    expect(run.stdout).toMatch(/! 6 spans whose parent is not in the input: 1 trace in 7 disconnected pieces, each measured on its own/);
    for (const line of run.stdout.split('\n').filter((l) => !l.startsWith('  ! '))) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('long names that differ only at the end stay apart; errors per operation; an unknown service is null in JSON', async () => {
    const base = 'GET /api/v1/customers/accounts/statements/monthly/';
    const mk = (id: string, parent: string | undefined, name: string, error: boolean, service: boolean): Record<string, unknown> => ({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      id,
      ...(parent ? { parentId: parent } : {}),
      name,
      timestamp: 1_700_000_000_000_000 + (parent ? 10 : 0),
      duration: parent ? 100 : 1000,
      ...(service ? { localEndpoint: { serviceName: 'bank' } } : {}),
      ...(error ? { tags: { error: 'boom' } } : {}),
    });
    const file = join(tmp, 'names.json');
    writeFileSync(file, JSON.stringify([mk('0000000000000001', undefined, `${base}pdf`, false, true), mk('0000000000000002', '0000000000000001', `${base}csv`, true, true), mk('0000000000000003', '0000000000000001', 'no-service', true, false)]));
    const [text, json] = await Promise.all([cli(['analyze', file]), cli(['analyze', '--json', file])]);
    expect(text.code, text.stderr).toBe(0);
    const rows = text.stdout.split('\n').filter((l) => l.includes('…'));
    expect(rows.some((l) => l.includes('…') && l.includes('monthly/pdf'))).toBe(true);
    expect(rows.some((l) => l.includes('…') && l.includes('monthly/csv'))).toBe(true);
    const csvRow = text.stdout.split('\n').find((l) => l.includes('monthly/csv'))!;
    expect(csvRow).toMatch(/monthly\/csv\s+1\s+1\s/);
    expect(text.stdout).toContain('(unknown) / no-service');
    const generic = (JSON.parse(json.stdout) as { generic: { by_self_time: { service: string | null; operation: string; errors: number }[] } }).generic;
    expect(generic.by_self_time.find((o) => o.operation === 'no-service')).toMatchObject({ service: null, errors: 1 });
    expect(generic.by_self_time.find((o) => o.operation === `${base}csv`)).toMatchObject({ service: 'bank', errors: 1 });
  });

  it("Ray Serve's console spans with a flat resource object are attributed to their service", async () => {
    const file = join(tmp, 'ray.json');
    const span = {
      name: 'replica.handle_request',
      context: { trace_id: '0x0af7651916cd43dd8448eb211c80319c', span_id: '0xb7ad6b7169203331', trace_state: '[]' },
      kind: 'SpanKind.SERVER',
      parent_id: null,
      start_time: '2026-01-01T00:00:00.000000Z',
      end_time: '2026-01-01T00:00:00.250000Z',
      status: { status_code: 'UNSET' },
      attributes: {},
      events: [],
      links: [],
      resource: { 'service.name': 'ray-serve', 'telemetry.sdk.language': 'python' },
    };
    writeFileSync(file, JSON.stringify(span) + '\n');
    const run = await cli(['analyze', '--json', file]);
    expect(run.code, run.stderr).toBe(0);
    const generic = (JSON.parse(run.stdout) as { generic: { by_self_time: { service: string | null }[] } }).generic;
    expect(generic.by_self_time[0]!.service).toBe('ray-serve');
  });
});

/**
 * @module test/prometheus/errors.test
 * `analyze --prometheus` when it cannot analyse: a bad URL, nothing listening, a refused login,
 * an engine that does not answer in time, a page that is not the Prometheus API, a query the
 * real Prometheus rejects, and a Prometheus with nothing to analyse. Each is one line on stderr
 * and exit code 2, never a stack trace.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../stack/_processes.js';
import { analyzePrometheus, parseHeaders, PrometheusError } from '../../src/prometheus/index.js';
import { startPrometheus } from './_prometheus.js';
import type { RunningPrometheus } from './_prometheus.js';

const ROOT = join(import.meta.dirname, '..', '..');
let prometheus: RunningPrometheus | undefined;
const servers: Server[] = [];

/** An HTTP server on loopback that answers every request with `handler`. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'analyze', ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  prometheus = await startPrometheus({});
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
}, 30_000);

async function failure(options: Parameters<typeof analyzePrometheus>[0]): Promise<string> {
  try {
    await analyzePrometheus(options);
  } catch (error) {
    expect(error).toBeInstanceOf(PrometheusError);
    return (error as Error).message;
  }
  throw new Error('expected a PrometheusError');
}

describe('analyze --prometheus: failures are one line and exit 2', () => {
  it('names the URL and what was expected for each kind of failure', async () => {
    const refused = `http://127.0.0.1:${await freePort()}`;
    const auth = await serve((_req, res) => res.writeHead(401, 'Unauthorized').end('login required'));
    const silent = await serve(() => undefined);
    const html = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Grafana</html>'));
    const url = prometheus?.url ?? '';
    const cases: { options: Parameters<typeof analyzePrometheus>[0]; line: RegExp }[] = [
      { options: { url: 'not a url' }, line: /^not a url: expected a URL such as http:\/\/127\.0\.0\.1:9090$/ },
      { options: { url: 'ftp://127.0.0.1/' }, line: /expected an http:\/\/ or https:\/\/ URL, got ftp:/ },
      { options: { url: refused }, line: /cannot reach the engine: connection refused/ },
      { options: { url: auth, headers: { Authorization: 'Bearer wrong' } }, line: /HTTP 401 .*refused the credentials/ },
      { options: { url: silent, timeoutMs: 500 }, line: /no answer within 0.5 s/ },
      { options: { url: html }, line: /expected a Prometheus API answer from \/api\/v1\/label\/__name__\/values, got HTTP 200/ },
      { options: { url, selector: '{job=~"("}' }, line: /rejected the query.*bad_data/ },
      { options: { url, rangeS: 300 }, line: /no series at all between .* check --range and --selector/ },
    ];
    for (const c of cases) {
      const message = await failure(c.options);
      expect(message, c.options.url).toMatch(c.line);
      expect(message).not.toContain('\n');
    }
  }, 60_000);

  it('keeps every header name the HTTP grammar allows, __proto__ too', () => {
    expect(Object.entries(parseHeaders(['__proto__: a', 'X-Scope-OrgID: t1']))).toEqual([['__proto__', 'a'], ['X-Scope-OrgID', 't1']]);
  });

  it('the CLI prints one line and exits 2 (a usage mistake, an engine that refuses)', async () => {
    const refused = `http://127.0.0.1:${await freePort()}`;
    const cases: { args: string[]; line: RegExp }[] = [
      { args: ['--prometheus', refused, '--range', '10m'], line: /^latency-doctor: http:\/\/127\.0\.0\.1:\d+: cannot reach the engine: connection refused$/ },
      { args: ['--prometheus', refused, '--range', 'ten minutes'], line: /--range: expected a duration such as 90s, 10m, 1h or 1h30m, got "ten minutes"/ },
      { args: [], line: /nothing to analyse: give trace export files, or --prometheus URL/ },
      // A header value with a line break (a token pasted with its newline) is named as such, not as an unreachable engine.
      { args: ['--prometheus', refused, '--header', 'X-Scope-OrgID: tenant\nsecond'], line: /--header: expected a header value on one line \(no CR, LF or NUL\), got "X-Scope-OrgID: tenant\\nsecond"$/ },
    ];
    const results = await Promise.all(cases.map((c) => cli(c.args)));
    results.forEach((r, i) => {
      const c = cases[i] as (typeof cases)[number];
      expect(r.code, `${c.args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), c.args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), c.args.join(' ')).toMatch(c.line);
    });
  }, 120_000);
});

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Each case starts tsx in a child process (seconds on a quiet machine, far more on a loaded one):
// the child's own 60 s limit is the bound, not vitest's default.
describe('example command lines: a user mistake is one line and a non-zero exit', { timeout: 150_000 }, () => {
  it('service: a bad flag value names the flag and what was expected (exit 2)', () => {
    const r = run('examples/service/main.ts', ['--precision', 'fp16']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('example service: --precision: expected fp32 or int8, got "fp16"');
  });

  it('service: an unreachable Redis fails the start in one line (exit 1), leaving nothing running', () => {
    const r = run('examples/service/main.ts', ['--port', '0', '--hidden', '16', '--cache', 'redis', '--redis-url', 'redis://127.0.0.1:1']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('example service: cannot reach Redis at redis://127.0.0.1:1: gave up after 5 connection attempts');
  });

  it('load generator: a missing --url and a bad encoding are one line each (exit 2)', () => {
    const missing = run('examples/loadgen/main.ts', ['--concurrency', '2']);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('loadgen: --url: required, e.g. --url http://127.0.0.1:8080');
    const encoding = run('examples/loadgen/main.ts', ['--url', 'http://127.0.0.1:9', '--encoding', 'xml']);
    expect(encoding.status).toBe(2);
    expect(encoding.stderr.trim()).toBe('loadgen: --encoding: expected json or binary, got "xml"');
  });
});

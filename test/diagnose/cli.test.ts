import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOtlpJsonLines } from '../support/synth.js';
import { generate } from './gen.js';
import { BOTTLENECKS } from './scenarios.js';
import { toSpans } from './to-spans.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ld-diagnose-cli-'));
const file = join(dir, 'queueing.jsonl');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => writeFileSync(file, toOtlpJsonLines(toSpans(generate(BOTTLENECKS[0]!.spec)), 50)));

/** Runs the CLI from source (no build needed) and returns exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'analyze', ...args], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each case starts the CLI from source (tsx) once or twice: allow for a busy two-core CI machine.
describe('latency-doctor analyze: diagnosis flags', { timeout: 90_000 }, () => {
  it('--json carries diagnosis.primary and ranked recommendations', async () => {
    const { code, stdout } = await cli(file, '--json', '--slo', 'p99=10s');
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as { diagnosis: { primary: string; recommendations: { fix: string; next_step: { snippet: { code: string } } }[]; slo: { met: boolean } } };
    expect(json.diagnosis.primary).toBe('dynamic-batching');
    expect(json.diagnosis.recommendations[0]!.fix).toBe('dynamic-batching');
    expect(json.diagnosis.recommendations[0]!.next_step.snippet.code).toContain('dynamic_batching {');
    expect(json.diagnosis.slo.met).toBe(true);
  });

  it('--fail-on-slo exits 3 when the SLO is missed, and --explain prints every rule', async () => {
    const missed = await cli(file, '--slo', 'p99=5ms', '--fail-on-slo', '--explain');
    expect(missed.code).toBe(3);
    expect(missed.stderr.trim()).toMatch(/^latency-doctor: SLO violated for resnet50 \(p99=5ms\)$/);
    expect(missed.stdout).toMatch(/^Diagnosis: dynamic-batching$/m);
    expect(missed.stdout).toMatch(/^ {2}SLO violated \(p99 /m);
    expect(missed.stdout).toMatch(/fired dynamic-batching/);
    expect(missed.stdout).toMatch(/ {2}– {3}hardware-limit\n {10}no GPU samples/);
  });

  it('a --threshold override changes the verdict; a bad one is one line and exit 2', async () => {
    const changed = await cli(file, '--threshold', 'batching.min_queue_share=0.99', '--threshold', 'scale.min_queue_share=0.99');
    expect(changed.code).toBe(0);
    expect(changed.stdout).not.toMatch(/^Diagnosis: dynamic-batching$/m);
    const bad = await cli(file, '--threshold', 'batching.min_queue_share=lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--threshold "batching\.min_queue_share=lots": expected a finite, non-negative decimal number/);
  });
});

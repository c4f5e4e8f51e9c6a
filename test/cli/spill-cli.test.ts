/**
 * The analysis of a large input keeps its requests' cold columns in a temporary file
 * (model/_cold-columns.ts) past 65,536 requests; LATENCY_DOCTOR_SPILL_ROWS sets the block size,
 * so here inputs of every kind go through the file a few requests at a time, and their reports
 * must be byte for byte the reports made with every column in memory.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { simulate } from '../../examples/traces/simulate.js';
import { BIN, ensureBuilt, runCliWith } from '../support/cli.js';
import type { CliRun } from '../support/cli.js';
import { lmSpans } from '../support/lm-spans.js';
import { toJaegerJson, toOtlpJsonLines } from '../support/synth.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ld-spill-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => ensureBuilt());

/** `latency-doctor ARGS` with the environment given. */
const run = (env: Record<string, string>, ...args: string[]): Promise<CliRun> => runCliWith(env, BIN, ...args);

describe('an analysis whose requests go to a temporary file', () => {
  const inputs: [string, string[]][] = [];
  beforeAll(() => {
    const generated = join(tmp, 'generated.otlp.jsonl');
    // Several models (one in a few failed, out of order across blocks) and a generative one.
    writeFileSync(generated, toOtlpJsonLines([...simulate({ requests: 700, seed: 11 }), ...lmSpans({ n: 400, seed: 4, prefillMs: (f) => 30 + 40 * f })]));
    const jaeger = join(tmp, 'generated.jaeger.json');
    writeFileSync(jaeger, toJaegerJson(simulate({ requests: 300, seed: 12 })));
    const serving = join(root, 'test/fixtures/serving');
    inputs.push(
      ['the demo export', [join(root, 'examples/traces/inference-demo.otlp.jsonl')]],
      ['a generated export, two models and a generative one', [generated]],
      ['the same, one model, with an SLO', [generated, '--model', 'tiny-lm', '--slo', 'ttft:p95=60ms']],
      ['a Jaeger document', [jaeger]],
      ['a Triton trace file', [join(serving, 'triton-trace-v2-grpc-ensemble.synthetic.json')]],
      ['vLLM spans', [join(serving, 'vllm-llm-request-v1.synthetic.json')]],
      ['SGLang spans', [join(serving, 'sglang-trace-level-unified.synthetic.json')]],
      ['TGI router spans with failures', [join(serving, 'tgi-router-failed-cancelled.synthetic.json')]],
    );
  });

  it('reports byte for byte what it reports with every column in memory, and says where it held them', async () => {
    for (const [what, args] of inputs) {
      const memory = await run({ LATENCY_DOCTOR_SPILL_ROWS: '0' }, 'analyze', ...args, '--json');
      expect(memory.code, `${what}: ${memory.stderr}`).toBe(0);
      const disk = await run({ LATENCY_DOCTOR_SPILL_ROWS: '2' }, 'analyze', ...args, '--json');
      expect(disk.code, what).toBe(0);
      expect(disk.stdout, what).toBe(memory.stdout);
    }
    // Text and Markdown too, and blocks of 1 and 7; --verbose says where the columns were.
    const [, generated] = inputs[1]!;
    for (const format of [['--markdown'], ['--verbose']]) {
      const memory = await run({ LATENCY_DOCTOR_SPILL_ROWS: '0' }, 'analyze', ...generated, ...format);
      for (const rows of ['1', '7']) {
        const disk = await run({ LATENCY_DOCTOR_SPILL_ROWS: rows }, 'analyze', ...generated, ...format);
        const held = /\n  the requests' ids, phases and optional numbers held in a temporary file in \S+ \(\d[\d.]* (?:B|KiB|MiB), unlinked[^\n]*\n/;
        if (format[0] === '--verbose') {
          expect(disk.stdout).toMatch(held);
          expect(memory.stdout).not.toMatch(held);
          expect(disk.stdout.replace(held, '\n')).toBe(memory.stdout);
        } else expect(disk.stdout).toBe(memory.stdout);
      }
    }
  }, 180_000);

  it('leaves no file behind in the temporary directory', async () => {
    const dir = mkdtempSync(join(tmp, 'tmpdir-'));
    const r = await run({ LATENCY_DOCTOR_SPILL_ROWS: '2', TMPDIR: dir }, 'analyze', inputs[1]![1][0]!, '--verbose');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`held in a temporary file in ${dir} (`);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);
});

/**
 * `inference.batch.size` counts requests: a positive integer (docs/conventions.md). A compute or
 * decode span whose value is anything else (0.5, -3, "0x10") carries no batch size, and the
 * analysis says how many did, once (warning `invalid-batch-size`), on every reader: the fast and
 * the full JSON lines readers, Zipkin's string tags, Jaeger's typed tags, and reader threads
 * (columns). Inputs: the demo exports (examples/traces) with their batch sizes rewritten.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/files.js';
import type { AnalysisResult } from '../../src/model/analysis.js';
import { renderText } from '../../src/report/text.js';
import { simulate } from '../../examples/traces/simulate.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { runCli, ensureBuilt } from '../support/cli.js';
import { tempDir } from '../formats/helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const demo = (name: string): string => readFileSync(join(root, 'examples/traces', name), 'utf8');
const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(ensureBuilt, 180_000);

/** `text` with every other match of `pattern` (the first, third, …) replaced by `by`. */
function everyOther(text: string, pattern: string, by: string): string {
  let k = 0;
  return text.split(pattern).reduce((out, part, i) => (i === 0 ? part : `${out}${k++ % 2 === 0 ? by : pattern}${part}`), '');
}

function write(name: string, text: string): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, text);
  return file;
}

/** The text report with its lines joined (it wraps at 80 columns). */
function report(result: AnalysisResult): string {
  return renderText(result).replace(/\s+/g, ' ');
}

function batchWarning(result: AnalysisResult): number | undefined {
  return result.warnings.find((w) => w.code === 'invalid-batch-size')?.count;
}

const OTLP_ONE = '"inference.batch.size","value":{"intValue":"1"}';

describe('a batch size that is no positive integer is no batch size, counted once', { timeout: 120_000 }, () => {
  it('OTLP JSON lines, fast and full reader alike: 0.5 on half the compute spans leaves the others\' mean batch of 1', async () => {
    const file = write('half.otlp.jsonl', everyOther(demo('inference-demo.otlp.jsonl'), OTLP_ONE, '"inference.batch.size","value":{"doubleValue":0.5}'));
    const [fast, full] = await Promise.all([analyzeFiles([file]), analyzeFiles([file], { reader: 'full' })]);
    for (const result of [fast, full]) {
      expect(result.requests).toBe(220);
      expect(batchWarning(result)).toBe(110);
      // Before, the 0.5s were batch sizes: "mean batch size 0.8".
      expect(report(result)).toContain('mean batch size 1.0 with 2.9 requests in flight');
    }
    expect(fast.warnings.find((w) => w.code === 'invalid-batch-size')?.message).toBe('110 compute or decode spans whose inference.batch.size is no positive integer (e.g. 0.5, 0 or -3): read as carrying no batch size');
  });

  it('Zipkin tags (strings): "0x10" is no batch of 16; decimal digits ("1") still are, with no warning', async () => {
    const file = write('hex.zipkin.json', demo('inference-demo.zipkin.json').replaceAll('"inference.batch.size":"1"', '"inference.batch.size":"0x10"'));
    const [hex, plain] = await Promise.all([analyzeFiles([file]), analyzeFiles([join(root, 'examples/traces/inference-demo.zipkin.json')])]);
    expect(batchWarning(hex)).toBe(220);
    // Before: "batches are full: 100% of requests ran in a batch of 16", scale out.
    expect(hex.models[0]?.diagnosis?.primary).toBe('dynamic-batching');
    expect(report(hex)).toContain('batch size not recorded');
    expect(batchWarning(plain)).toBeUndefined();
    expect(report(plain)).toContain('mean batch size 1.0');
  });

  it('Jaeger typed tags: -3 is no batch size', async () => {
    const file = write('negative.jaeger.json', demo('inference-demo.jaeger.json').replaceAll('"key":"inference.batch.size","type":"int64","value":1}', '"key":"inference.batch.size","type":"int64","value":-3}'));
    const result = await analyzeFiles([file]);
    expect(batchWarning(result)).toBe(220);
    expect(report(result)).toContain('batch size not recorded');
  });

  it('reader threads (columns, the installed CLI): the same count and report as one thread', async () => {
    // About 5 MB: past the 4 MiB below which no thread is started.
    const text = toOtlpJsonLines(simulate({ requests: 1500, seed: 5 }), 64);
    expect(text.length).toBeGreaterThan(4 * 1024 * 1024);
    const file = write('big-half.otlp.jsonl', everyOther(text, OTLP_ONE, '"inference.batch.size","value":{"doubleValue":0.5}'));
    const [one, two] = await Promise.all([runCli('analyze', '--json', '--threads', '1', file), runCli('analyze', '--json', '--threads', '2', file)]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    const warning = (JSON.parse(one.stdout) as { warnings: Array<{ code: string; count: number }> }).warnings.find((w) => w.code === 'invalid-batch-size');
    expect(warning?.count).toBe(750);
  });
});

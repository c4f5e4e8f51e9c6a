import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { renderText } from '../../src/report/text.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { toJsonReport } from '../../src/report/json.js';
import { writeThermalRun } from '../diagnose/to-spans.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-timeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The thermal-drift recipe: compute rises at constant load; the GPU throttles in the last 40% of the run. */
async function thermalRun() {
  return analyzeFiles(writeThermalRun(dir));
}

describe('latency and GPU state per time window', () => {
  it('lines up the latency rise with the thermal slowdown, window by window', async () => {
    const result = await thermalRun();
    expect(result.timeline.length).toBeGreaterThanOrEqual(5);
    const first = result.timeline[0]!;
    const last = result.timeline[result.timeline.length - 1]!;
    expect(first.gpus[0]!.maxTemperatureC).toBe(71);
    expect(last.gpus[0]!.maxTemperatureC).toBe(88);
    expect(last.gpus[0]!.meanSmClockMhz).toBeLessThan(first.gpus[0]!.meanSmClockMhz!);
    expect(last.e2eP50Ms!).toBeGreaterThan(first.e2eP50Ms!);
    expect(result.timeline.reduce((n, w) => n + w.requests, 0)).toBe(result.requests);
  });

  it('is shown in the text, Markdown and JSON reports, and absent without samples', async () => {
    const result = await thermalRun();
    const text = renderText(result);
    expect(text).toContain('Latency and GPU over time (NVIDIA A10G GPU-8a7c2d1e');
    expect(text).toMatch(/^ {2}0\.0\s+\d+\s+[\d.]+\s+[\d.]+\s+71\s+1710\s+0\.0%/m);
    expect(text).toMatch(/\s88\s+1100\s+100\.0%/);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(renderMarkdown(result)).toContain('| from s | req | p50 ms | p99 ms | max °C |');
    const json = toJsonReport(result);
    expect(json.timeline[json.timeline.length - 1]!.gpus[0]!.max_temperature_c).toBe(88);

    const withoutSamples = await analyzeFiles([join(dir, 'traces.jsonl')]);
    expect(withoutSamples.timeline).toEqual([]);
    expect(renderText(withoutSamples)).not.toContain('Latency and GPU over time');
  });
});

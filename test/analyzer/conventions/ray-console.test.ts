import { describe, expect, it } from 'vitest';
import { analyzeServing, phasesOf, SERVING } from './_helpers.js';
import { detectFile } from '../../../src/formats/index.js';

describe('Ray Serve console output (synthetic): pretty-printed Python console spans behind (Actor pid=…) prefixes', () => {
  it('reads each process’s lines after the prefix, skipping log lines, and maps the vLLM spans in them', async () => {
    expect((await detectFile(SERVING + 'ray-serve-console-spans.synthetic.log')).format).toBe('python-console');
    const result = await analyzeServing('ray-serve-console-spans.synthetic.log');
    expect(result.files[0]!.leniencies.join('\n')).toMatch(/process prefixes .* stripped/);
    expect(result.requests).toBe(2);
    const byTokens = new Map(result.timings.rows().map((t) => [t.tokensOut, t]));
    // pid 5678: TTFT 60 = pre 6 + queue 4 + prefill 50; decode 585; output 650 − 60 − 585 = 5.
    expect(phasesOf(byTokens.get(60)!)).toEqual({ preprocess: 6, queue: 4, prefill: 50, decode: 585, postprocess: 5, other: 0, e2e: 650 });
    // pid 5702 (with ip= in its prefix): TTFT 130 = pre 10 + queue 100 + prefill 20; decode 660; output 10.
    expect(phasesOf(byTokens.get(100)!)).toEqual({ preprocess: 10, queue: 100, prefill: 20, decode: 660, postprocess: 10, other: 0, e2e: 800 });
    expect(result.timings.rows().every((t) => t.service === 'ray-serve-llm')).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  DiagnoseOptionError,
  THRESHOLD_SPECS,
  RULES,
  checkSlo,
  diagnose,
  parseSlo,
  parseThresholdOverride,
  parseThresholdOverrides,
  resolveThresholds,
} from '../../src/analyzer/diagnose/index.js';
import { laplaceTrend, mannKendall, quantile, theilSenSlope } from '../../src/analyzer/diagnose/stats.js';
import { classifyPrecision, classifyRuntime } from '../../src/analyzer/diagnose/_compute.js';
import { rankFindings } from '../../src/analyzer/diagnose/rank.js';
import type { Finding } from '../../src/analyzer/diagnose/rule.js';
import { diagnosisToJson } from '../../src/report/diagnosis-json.js';
import { renderDiagnosisText, wrap } from '../../src/report/diagnosis-text.js';
import { renderDiagnosisMarkdown } from '../../src/report/diagnosis-markdown.js';
import type { Diagnosis, GainEstimate, Recommendation } from '../../src/model/diagnosis.js';
import { generate, summarize } from './gen.js';
import { BOTTLENECKS } from './scenarios.js';

describe('statistics', () => {
  it('Mann-Kendall on a strictly rising series of 10 gives S = 45 and p ≈ 4.2e-5', () => {
    const mk = mannKendall([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(mk.s).toBe(45);
    expect(mk.z).toBeCloseTo(44 / Math.sqrt(125), 6);
    expect(mk.pIncreasing).toBeGreaterThan(3e-5);
    expect(mk.pIncreasing).toBeLessThan(5e-5);
    expect(mannKendall([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]).pIncreasing).toBeGreaterThan(0.999);
    // Ties shrink the variance: constant series has no trend.
    expect(mannKendall([3, 3, 3, 3, 3]).pIncreasing).toBe(1);
  });

  it('Theil-Sen ignores an outlier that would bend a least-squares line', () => {
    const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const ys = xs.map((x) => 2 * x + 1);
    ys[9] = 500;
    expect(theilSenSlope(xs, ys)).toBeCloseTo(2, 9);
  });

  it('Laplace test: uniform arrivals show no trend, a ramp does', () => {
    const uniform = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    expect(Math.abs(laplaceTrend(uniform, 1).z)).toBeLessThan(0.01);
    // Rate rising linearly from 1 to 3: arrival times are the inverse of the cumulative intensity.
    const ramp = Array.from({ length: 1000 }, (_, i) => {
      const u = (i + 0.5) / 1000;
      return (-1 + Math.sqrt(1 + 8 * u)) / 2;
    });
    expect(laplaceTrend(ramp, 1).pIncreasing).toBeLessThan(1e-6);
  });

  it('quantile interpolates between ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.99)).toBe(5);
    expect(Number.isNaN(quantile([], 0.5))).toBe(true);
  });
});

describe('attribute classes', () => {
  it('precision', () => {
    expect(['fp32', 'FP32', 'float32', 'tf32'].map(classifyPrecision)).toEqual(['high', 'high', 'high', 'high']);
    expect(['fp16', 'bf16', 'int8', 'INT8', 'fp8', 'int4'].map(classifyPrecision)).toEqual(['low', 'low', 'low', 'low', 'low', 'low']);
    expect(classifyPrecision(undefined)).toBe('unknown');
    expect(classifyPrecision('weird')).toBe('unknown');
  });

  it('runtime: ONNX Runtime is generic on CPU/CUDA providers and optimized on TensorRT/OpenVINO', () => {
    expect(classifyRuntime('onnxruntime', undefined)).toBe('generic');
    expect(classifyRuntime('onnxruntime', 'CUDAExecutionProvider')).toBe('generic');
    expect(classifyRuntime('onnxruntime', 'CPUExecutionProvider')).toBe('generic');
    expect(classifyRuntime('onnxruntime', 'TensorrtExecutionProvider')).toBe('optimized');
    expect(classifyRuntime('onnxruntime', 'OpenVINOExecutionProvider')).toBe('optimized');
    expect(classifyRuntime('pytorch', undefined)).toBe('generic');
    expect(classifyRuntime('tensorflow', undefined)).toBe('generic');
    expect(classifyRuntime('tensorrt', undefined)).toBe('optimized');
    expect(classifyRuntime('openvino', undefined)).toBe('optimized');
    expect(classifyRuntime(undefined, undefined)).toBe('unknown');
  });
});

describe('options parsing', () => {
  it('parses SLO targets with units', () => {
    expect(parseSlo('p99=250ms,p95=100ms')).toEqual({ p99Ms: 250, p95Ms: 100 });
    expect(parseSlo('p50=0.05s')).toEqual({ p50Ms: 50 });
    expect(parseSlo('p99<500us')).toEqual({ p99Ms: 0.5 });
    expect(parseSlo('p95=80')).toEqual({ p95Ms: 80 });
  });

  it('rejects a bad SLO with one line naming what was expected', () => {
    // Names every object inherits (constructor, toString) are no metrics either.
    for (const bad of ['', 'p98=10ms', 'p99=fast', 'p99=0ms', 'p99=10 minutes', 'constructor:p95=5ms', 'toString:p99=1s', 'ttfb:p95=1s']) {
      expect(() => parseSlo(bad)).toThrow(DiagnoseOptionError);
    }
    expect(() => parseSlo('p98=10ms')).toThrow(/--slo "p98=10ms": expected .*p99=250ms/);
    // A target given twice (a bare pNN is e2e's) would keep one and drop the other from a gate unsaid.
    expect(() => parseSlo('p99=5ms,p99=1s')).toThrow('--slo "p99=5ms,p99=1s": expected each target once (e2e:p99 is given twice)');
    expect(() => parseSlo('e2e:p95=5ms,p95=1s')).toThrow(/e2e:p95 is given twice/);
    expect(parseSlo('ttft:p95=500ms,p95=1s')).toEqual({ p95Ms: 1000, ttft: { p95Ms: 500 } });
  });

  it('checks SLO targets against e2e percentiles', () => {
    const r = checkSlo({ p50Ms: 10, p99Ms: 100 }, { e2e: { p50Ms: 8, p95Ms: 50, p99Ms: 120 } });
    expect(r.met).toBe(false);
    expect(r.checks).toEqual([
      { metric: 'e2e', quantile: 'p50', targetMs: 10, actualMs: 8, met: true },
      { metric: 'e2e', quantile: 'p99', targetMs: 100, actualMs: 120, met: false },
    ]);
  });

  it('parses generation targets by metric; a bare quantile stays end-to-end, as does e2e:', () => {
    expect(parseSlo('ttft:p95=500ms,tpot:p99=50ms,p99=2s')).toEqual({ p99Ms: 2000, ttft: { p95Ms: 500 }, tpot: { p99Ms: 50 } });
    expect(parseSlo('e2e:p99=2s, TTFT:p50<0.2s, itl:p95=30')).toEqual({ p99Ms: 2000, ttft: { p50Ms: 200 }, itl: { p95Ms: 30 } });
    // The old colon form still reads as a bare end-to-end quantile.
    expect(parseSlo('p99:0.25s')).toEqual({ p99Ms: 250 });
  });

  it('names the part and what was expected for a bad metric, quantile or duration', () => {
    expect(() => parseSlo('ttft:p95=abc')).toThrow(/^--slo "ttft:p95=abc": expected a duration after p95=, like 500ms, 0.5s or 800us \(got "abc"\)$/);
    expect(() => parseSlo('p99=1s,foo:p95=1ms')).toThrow(/^--slo "foo:p95=1ms": expected a metric e2e, ttft, tpot or itl before the quantile, like ttft:p95=500ms \(got "foo"\)$/);
    expect(() => parseSlo('tpot:p90=5ms')).toThrow(/^--slo "tpot:p90=5ms": expected a quantile p50, p95 or p99/);
    expect(() => parseSlo('ttft=500ms')).toThrow(/^--slo "ttft=500ms": expected a comma-separated list like p99=250ms,ttft:p95=500ms/);
  });

  it('a generation target on a model without generation data is not measured, never met nor violated', () => {
    const r = checkSlo({ p99Ms: 100, ttft: { p95Ms: 500 } }, { e2e: { p50Ms: 8, p95Ms: 50, p99Ms: 90 } });
    expect(r.met).toBe(false);
    expect(r.checks[1]).toMatchObject({ metric: 'ttft', quantile: 'p95', met: false, unmeasuredWhy: 'no first token recorded in the input' });
    expect(r.unmeasured).toEqual(['ttft:p95']);
    // Histogram TTFT (--prometheus): the check names its statistic; a mean-only TPOT is "means only".
    const h = checkSlo({ ttft: { p99Ms: 400 }, tpot: { p95Ms: 20 } }, { e2e: { p50Ms: 1, p95Ms: 2, p99Ms: 3 }, ttft: { statistic: 'bucket-percentile', p50Ms: 100, p95Ms: 300, p99Ms: 450 }, tpot: { statistic: 'mean', p50Ms: Number.NaN, p95Ms: Number.NaN, p99Ms: Number.NaN } });
    expect(h.checks).toEqual([
      { metric: 'ttft', quantile: 'p99', targetMs: 400, actualMs: 450, met: false, statistic: 'bucket-percentile' },
      { metric: 'tpot', quantile: 'p95', targetMs: 20, actualMs: Number.NaN, met: false, statistic: 'mean', unmeasuredWhy: 'means only' },
    ]);
  });

  it('parses threshold overrides, including percentages', () => {
    expect(parseThresholdOverride('batching.min_queue_share=0.4')).toEqual({ key: 'batching.min_queue_share', value: 0.4 });
    expect(parseThresholdOverride(' cache.min_duplicate_share = 5% ')).toEqual({ key: 'cache.min_duplicate_share', value: 0.05 });
    expect(parseThresholdOverrides(['validity.min_requests=20', 'drift.max_p_value=0.05'])).toEqual({ 'validity.min_requests': 20, 'drift.max_p_value': 0.05 });
    expect(() => parseThresholdOverride('nope=1')).toThrow(/known threshold name/);
    expect(() => parseThresholdOverride('batching.min_queue_share')).toThrow(/key=value/);
    expect(() => parseThresholdOverride('batching.min_queue_share=-1')).toThrow(/non-negative/);
    // Number() read these as 0 and 16: the run went on with a threshold nobody gave.
    expect(() => parseThresholdOverride('batching.min_queue_share=%')).toThrow(/decimal number/);
    expect(() => parseThresholdOverride('batching.min_queue_share=0x10')).toThrow(/decimal number/);
    expect(() => parseThresholdOverride('batching.min_queue_share=0b1')).toThrow(/decimal number/);
    expect(parseThresholdOverride('validity.min_requests=1e3')).toEqual({ key: 'validity.min_requests', value: 1000 });
    expect(parseThresholdOverride('batching.min_queue_share=.5')).toEqual({ key: 'batching.min_queue_share', value: 0.5 });
    // A share given as 25 meaning 25%: the rule silently never fired, and warmup.share=5 trimmed 400 of 80 requests.
    expect(() => parseThresholdOverride('batching.min_queue_share=25')).toThrow(/at most 1 \(ratio of e2e; a percentage is written 25%\)/);
    expect(() => parseThresholdOverride('warmup.share=5')).toThrow(/at most 1/);
    expect(() => parseThresholdOverride('drift.max_p_value=5')).toThrow(/at most 1/);
    expect(() => resolveThresholds({ 'validity.min_coverage': 60 })).toThrow(/at most 1/);
    expect(parseThresholdOverride('warmup.share=100%')).toEqual({ key: 'warmup.share', value: 1 });
    expect(parseThresholdOverride('validity.min_requests=500')).toEqual({ key: 'validity.min_requests', value: 500 });
    // 2.5 windows made a third window of the requests past the last, with no phase means.
    expect(() => parseThresholdOverride('windows.count=2.5')).toThrow(/a whole number of windows, e\.g\. 10/);
    expect(() => resolveThresholds({ 'windows.count': 0.5 })).toThrow(/whole number/);
    expect(parseThresholdOverride('windows.count=4')).toEqual({ key: 'windows.count', value: 4 });
    expect(parseThresholdOverride('drift.memory_growth=1.5')).toEqual({ key: 'drift.memory_growth', value: 1.5 });
    for (const [key, spec] of Object.entries(THRESHOLD_SPECS)) expect(spec.value, key).toBeLessThanOrEqual(spec.max ?? Number.POSITIVE_INFINITY);
    expect(() => resolveThresholds({ ['bogus' as 'warmup.share']: 1 })).toThrow(DiagnoseOptionError);
  });

  it('a threshold override changes a verdict', () => {
    const s = BOTTLENECKS[0]!;
    const requests = generate(s.spec);
    const input = { model: 'm', requests, summary: summarize(requests) };
    expect(diagnose(input).primary).toBe('dynamic-batching');
    const d = diagnose(input, { thresholds: { 'batching.min_queue_share': 0.99 } });
    expect(d.primary).not.toBe('dynamic-batching');
    expect(d.rules.find((r) => r.rule === 'dynamic-batching')?.thresholds['batching.min_queue_share']).toBe(0.99);
  });
});

describe('ranking', () => {
  const finding = (savedMeanMs: number): Finding => ({ confidence: 0.5, evidence: [], savedMeanMs, nextStep: { text: 'x' }, exampleTraceIds: [] });

  it('orders by saving, and prefers the cheaper fix only at similar saving', () => {
    const fixes = rankFindings([
      { rule: { id: 'prune-distill', effort: 'retraining' }, finding: finding(10) },
      { rule: { id: 'optimized-runtime', effort: 'runtime' }, finding: finding(9) },
      { rule: { id: 'dynamic-batching', effort: 'config' }, finding: finding(2) },
    ]).map((r) => r.fix);
    expect(fixes).toEqual(['optimized-runtime', 'prune-distill', 'dynamic-batching']);
    const far = rankFindings([
      { rule: { id: 'prune-distill', effort: 'retraining' }, finding: finding(20) },
      { rule: { id: 'optimized-runtime', effort: 'runtime' }, finding: finding(9) },
    ]).map((r) => r.fix);
    expect(far).toEqual(['prune-distill', 'optimized-runtime']);
  });
});

describe('rendering', () => {
  const scenario = BOTTLENECKS[0]!;
  const requests = generate(scenario.spec);
  const d = diagnose({ model: 'resnet50', requests, summary: summarize(requests) }, { slo: { p99Ms: 50 } });

  it('text: verdict first, evidence with numbers, next step snippet, example traces; 80 columns', () => {
    const lines = renderDiagnosisText(d);
    expect(lines[0]).toBe('Diagnosis: dynamic-batching');
    const text = lines.join('\n');
    expect(text).toMatch(/SLO violated \(p99 /);
    expect(text).toMatch(/• queue p95 = [\d.]+ ms, \d+% of e2e; mean batch size 1\.0 with/);
    expect(text).toMatch(/max_queue_delay_microseconds: \d+/);
    expect(text).toMatch(/Example traces: [0-9a-f]{32}/);
    expect(text).not.toMatch(/\x1b\[/);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('text --explain lists every rule with inputs and thresholds', () => {
    const text = renderDiagnosisText(d, { explain: true }).join('\n');
    for (const rule of ['validity', 'dynamic-batching', 'quantization', 'optimized-runtime', 'prune-distill', 'preprocessing-pipeline', 'scale-and-cache', 'latency-drift', 'device-transfer', 'hardware-limit']) {
      expect(text).toContain(`${rule}\n`);
    }
    expect(text).toMatch(/inputs: queue_share=[\d.]+/);
    expect(text).toMatch(/thresholds: batching\.min_queue_share=0\.25/);
  });

  it('"Also consider" names each gain as the top one does: metric in words, its unit, histogram percentiles as such', () => {
    const top = d.recommendations[0]!;
    const alt = (fix: Recommendation['fix'], estimatedGain: GainEstimate): Recommendation => ({ ...top, fix, estimatedGain });
    const many: Diagnosis = {
      ...d,
      recommendations: [
        top,
        alt('scale-and-cache', { metric: 'ttft_p95_ms', currentValue: 812.4, expectedValue: 120, basis: 'b' }),
        alt('hardware-limit', { metric: 'throughput_rps', currentValue: 95, expectedValue: 190, basis: 'b' }),
        alt('quantization', { metric: 'p99_ms', statistic: 'bucket-percentile', currentValue: 250, expectedValue: 180, basis: 'b' }),
      ],
    };
    const text = renderDiagnosisText(many).join('\n').replace(/\s+/g, ' ');
    // Labelled as the top one's "Expected:" is: bare, a drift's "p95 1414 → 984 ms" read as the drift printed backwards.
    expect(text).toContain('(scale-and-cache, confidence 0.86, effort config; expected ttft p95 812 ms → 120 ms)'.replace('0.86', top.confidence.toFixed(2)));
    expect(text).toContain('effort config; expected throughput 95 req/s → 190 req/s)');
    expect(text).toContain('effort config; expected histogram p99 250 ms → 180 ms)');
    expect(text).not.toMatch(/_ms|_rps|ttft_p95/);
  });

  it('wraps without losing words', () => {
    expect(wrap('a bb ccc dddd', 8, '  ')).toEqual(['  a bb', '  ccc', '  dddd']);
  });

  it('markdown: heading, evidence bullets, fenced snippet, rules table', () => {
    const md = renderDiagnosisMarkdown(d).join('\n');
    expect(md).toMatch(/^### Diagnosis: `dynamic-batching`/);
    expect(md).toMatch(/\n- queue p95 = /);
    expect(md).toMatch(/\n```protobuf\n# resnet50\/config\.pbtxt\nmax_batch_size: \d+\ndynamic_batching \{/);
    expect(md).toMatch(/\| dynamic-batching \| yes \|/);
  });

  it('JSON: snake_case keys, primary, ranked recommendations, rules; survives JSON round trip', () => {
    const json = JSON.parse(JSON.stringify(diagnosisToJson(d))) as Record<string, unknown>;
    expect(json['primary']).toBe('dynamic-batching');
    const recs = json['recommendations'] as Record<string, unknown>[];
    expect(Object.keys(recs[0]!).sort()).toEqual(['cause', 'confidence', 'effort', 'estimated_gain', 'evidence', 'example_trace_ids', 'fix', 'next_step', 'title']);
    expect(recs[0]!['estimated_gain']).toMatchObject({ metric: 'p95_ms' });
    expect((json['slo'] as { met: boolean }).met).toBe(false);
    expect((json['rules'] as unknown[]).length).toBe(RULES.length + 1);
    expect(JSON.stringify(json)).not.toMatch(/[a-z][A-Z][a-z]+":/);
  });
});

describe('docs/diagnosis.md', () => {
  it('lists every threshold with its default, and nothing else', () => {
    const doc = readFileSync('docs/diagnosis.md', 'utf8');
    const table = doc.slice(doc.indexOf('<!-- thresholds:begin -->'), doc.indexOf('<!-- thresholds:end -->'));
    const rows = [...table.matchAll(/^\| `([a-z0-9_.]+)` \| ([\d.]+) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(DEFAULT_THRESHOLDS);
    for (const [key, spec] of Object.entries(THRESHOLD_SPECS)) {
      expect(spec.source.length, key).toBeGreaterThan(3);
      expect(spec.why.length, key).toBeGreaterThan(10);
    }
  });
});

describe('degenerate inputs', () => {
  const base = generate({ n: 120, phases: { queue: 2, compute: 10 }, runtime: 'tensorrt', precision: 'fp16' });

  it('no requests: insufficient data, no throw', () => {
    const d = diagnose({ model: 'm', requests: [], summary: summarize(base) });
    expect(d.primary).toBe('insufficient-data');
    expect(d.insufficientData?.[0]).toMatch(/^only 0 requests left/);
  });

  it('every request starting at the same instant, and zero-length phases', () => {
    const same = base.map((r) => ({ ...r, startNs: base[0]!.startNs, phases: { ...r.phases, preprocess: 0 } }));
    const d = diagnose({ model: 'm', requests: same, summary: summarize(same) });
    expect(d.primary).not.toBe('insufficient-data');
    const numbers = d.recommendations.flatMap((r) => [...r.evidence.flatMap((e) => Object.values(e.values)), r.confidence, r.estimatedGain?.currentValue ?? 0, r.estimatedGain?.expectedValue ?? 0]);
    expect(numbers.length).toBeGreaterThan(0);
    for (const x of numbers) expect(Number.isFinite(x)).toBe(true);
    expect(d.headline).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('requests in reverse start order are ordered before trimming warm-up', () => {
    const reversed = [...base].reverse();
    const a = diagnose({ model: 'm', requests: base, summary: summarize(base) });
    const b = diagnose({ model: 'm', requests: reversed, summary: summarize(reversed) });
    expect(b.rules.find((r) => r.rule === 'validity')?.inputs).toEqual(a.rules.find((r) => r.rule === 'validity')?.inputs);
    expect(b.primary).toBe(a.primary);
  });

  it('requests without any phase span: coverage fails', () => {
    const bare = base.map((r) => ({ ...r, phases: {}, otherMs: r.e2eMs }));
    const d = diagnose({ model: 'm', requests: bare, summary: summarize(bare) });
    expect(d.primary).toBe('insufficient-data');
    expect(d.insufficientData?.join(' ')).toMatch(/cover only 0%/);
  });
});

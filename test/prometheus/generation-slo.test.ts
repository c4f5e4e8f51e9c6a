/**
 * @module test/prometheus/generation-slo.test
 * `analyze --prometheus --slo ttft:…,itl:…` on captures replayed into a real Prometheus (2.42):
 * vLLM 0.10's layout (TTFT histogram, the between-tokens histogram as ITL, no per-request TPOT
 * histogram), Triton (µs counters, means only, beside its first-response histogram: TTFT) and
 * TorchServe (counters, no first token). Generation targets are checked on histogram quantiles,
 * named as such, met and missed both ways (exit 0 / 3); a target on a figure the source does not
 * export fails closed (exit 4) and says which, as an end-to-end p99 on means only always did.
 */
import { describe, expect, it } from 'vitest';
import { analyzePrometheus } from '../../src/prometheus/index.js';
import { parseSlo } from '../../src/analyzer/index.js';
import { runCli } from '../support/cli.js';
import { useReplayedJob } from './_prometheus.js';
import { torchserveQueue, tritonQueue, vllmQueueV010 } from './scenarios.js';

const VLLM = 'meta-llama/Llama-3.1-8B-Instruct';
const TRITON = 'densenet_onnx';
const TORCHSERVE = 'resnet18';
const job = useReplayedJob('generation-slo', () => [vllmQueueV010(71), tritonQueue(72), torchserveQueue(73)], 8);

describe('generation objectives on histograms, replayed into a real Prometheus', { timeout: 90_000 }, () => {
  it('vLLM: TTFT (800 ms queue + 50 ms prefill, log-normal) and ITL (5 ms steps) are histogram quantiles, met and missed', async () => {
    const { url, startS, endS } = job();
    const met = await analyzePrometheus({ url, startS, endS, stepS: 2, model: VLLM, diagnose: { slo: parseSlo('ttft:p95=5s,itl:p99=100ms') } });
    const m = met.models[0]!;
    const g = m.summary.generation!;
    expect(g.ttft?.statistic).toBe('bucket-percentile');
    expect(m.diagnosis?.slo?.checks).toEqual([
      { metric: 'ttft', quantile: 'p95', targetMs: 5000, actualMs: g.ttft!.p95Ms, met: true, statistic: 'bucket-percentile' },
      { metric: 'itl', quantile: 'p99', targetMs: 100, actualMs: g.itl!.p99Ms, met: true, statistic: 'bucket-percentile' },
    ]);
    expect(m.diagnosis?.headline).toMatch(/SLO met \(TTFT histogram p95 [\d.,]+ ms ≤ 5000 ms, ITL histogram p99 [\d.,]+ ms ≤ 100 ms\)/);
    const missed = await analyzePrometheus({ url, startS, endS, stepS: 2, model: VLLM, diagnose: { slo: parseSlo('ttft:p50=300ms,itl:p50=1ms') } });
    expect(missed.models[0]!.diagnosis?.slo?.checks.map((c) => [c.metric, c.met])).toEqual([
      ['ttft', false],
      ['itl', false],
    ]);
    expect(missed.models[0]!.diagnosis?.headline).toMatch(/SLO violated \(TTFT histogram p50 [\d.,]+ ms > 300 ms, ITL histogram p50 [\d.,]+ ms > 1\.00 ms\)/);
  });

  it('--fail-on-slo: exit 0 when met, 3 when missed, 4 naming a target the source cannot measure', async () => {
    const { url, startS, endS } = job();
    const analyze = (model: string, slo: string) => runCli('analyze', '--prometheus', url, '--start', String(startS), '--end', String(endS), '--step', '2s', '--model', model, '--slo', slo, '--fail-on-slo');
    const [met, missed, noTpot, tritonTtft, tritonP99, torchserve] = await Promise.all([
      analyze(VLLM, 'ttft:p95=5s,itl:p99=100ms'),
      analyze(VLLM, 'ttft:p95=300ms'),
      // vLLM 0.10 exports no per-request TPOT histogram.
      analyze(VLLM, 'ttft:p95=5s,tpot:p99=50ms'),
      // Triton: TTFT from its first-response histogram (about 50 ms here), end-to-end means only.
      analyze(TRITON, 'ttft:p99=1s'),
      analyze(TRITON, 'p99=1s,ttft:p99=1s'),
      analyze(TORCHSERVE, 'ttft:p99=1s'),
    ]);
    expect(met.code, met.stderr).toBe(0);
    expect(missed.code, missed.stderr).toBe(3);
    expect(missed.stderr.trim()).toBe(`latency-doctor: SLO violated for ${VLLM} (ttft:p95=300ms)`);
    expect(noTpot.code, noTpot.stderr).toBe(4);
    expect(noTpot.stderr.trim()).toBe(
      `latency-doctor: SLO not checked: tpot:p99 of ${VLLM} (no time per output token in the input: it needs a first token and two or more output tokens per request, or a TPOT histogram) not measured`,
    );
    expect(tritonTtft.code, tritonTtft.stderr).toBe(0);
    expect(tritonTtft.stdout).toMatch(/SLO met \(TTFT histogram p99 [\d.,]+ ms ≤ 1000 ms\)/);
    expect(tritonP99.code, tritonP99.stderr).toBe(4);
    expect(tritonP99.stderr.trim()).toBe(`latency-doctor: SLO not checked: p99 of ${TRITON} (means only) not measured`);
    expect(torchserve.code, torchserve.stderr).toBe(4);
    expect(torchserve.stderr.trim()).toBe(`latency-doctor: SLO not checked: ttft:p99 of ${TORCHSERVE} (no first token recorded in the input) not measured`);
  });
});

/**
 * @module analyzer/diagnose/replica-outlier
 * One replica is much slower than its peers serving the same model: a diagnosis of its own
 * (noisy neighbour, thermal throttling or a slower device on that host, a hot shard that gets
 * more than its share of traffic). Needs per-replica series, so it runs on the Prometheus path;
 * traces name no replica.
 */
import type { Phase } from '../../semconv.js';
import type { ThresholdSpec } from './threshold-spec.js';
import { confidenceFrom, defineRule, ms, pct, round } from './rule.js';
import { statName } from './statistic.js';
import type { ReplicaSignal } from './signals.js';
import { quantileSorted, sortNumbers } from './stats.js';

/** Thresholds of the replica-outlier rule. */
export const REPLICA_THRESHOLDS = {
  'replica.outlier_ratio': {
    value: 2,
    unit: 'ratio replica ÷ median of the other replicas (p99, else mean)',
    source: 'ours',
    why: 'replicas of one model behind one load balancer should agree within tens of percent; twice the others is a host problem, not noise',
  },
  'replica.min_requests': {
    value: 20,
    unit: 'requests per replica in the range',
    source: 'ours',
    why: 'a p99 over fewer requests is its maximum; such replicas are left out of the comparison',
  },
} as const satisfies Record<string, ThresholdSpec>;

function median(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : quantileSorted(sortNumbers(values), 0.5);
}

/** p99 where every compared replica has one, else the mean. */
function latencyOf(r: ReplicaSignal, useP99: boolean): number {
  return useP99 ? r.e2eP99Ms : r.e2eMeanMs;
}

/** The replica-outlier rule. */
export const replicaOutlierRule = defineRule({
  id: 'replica-outlier',
  effort: 'investigation',
  // Per-replica series come from aggregates (Prometheus `instance`); traces name no replica, so
  // on the trace path the rule reports that it has nothing to compare.
  needs: { inputs: ['phase-distributions'], refinedBy: [], gpu: 'unused' },
  content: { title: 'One replica is much slower than the others' },
  thresholds: REPLICA_THRESHOLDS,
  verdict(ctx) {
    const s = ctx.signals;
    const t = ctx.thresholds;
    const replicas = (s.replicas ?? []).filter((r) => r.requests >= t['replica.min_requests']);
    if (replicas.length < 2) {
      const why = s.replicas === undefined ? 'no per-replica data (traces name no replica; run analyze --prometheus)' : `only ${replicas.length} replica(s) with at least ${t['replica.min_requests']} requests`;
      return { inputs: { replicas: replicas.length }, reason: why };
    }
    const useP99 = replicas.every((r) => Number.isFinite(r.e2eP99Ms) && r.e2eP99Ms > 0);
    // Per-replica p99 exist only in aggregates: interpolated from the replica's histogram buckets.
    const stat = useP99 ? statName('bucket-percentile', 'p99') : 'mean';
    let worst: { replica: ReplicaSignal; ratio: number; othersMs: number } | undefined;
    for (const r of replicas) {
      const othersMs = median(replicas.filter((o) => o !== r).map((o) => latencyOf(o, useP99)));
      const ratio = othersMs > 0 ? latencyOf(r, useP99) / othersMs : 0;
      if (!worst || ratio > worst.ratio) worst = { replica: r, ratio, othersMs };
    }
    const w = worst as { replica: ReplicaSignal; ratio: number; othersMs: number };
    const inputs = { replicas: replicas.length, statistic: useP99 ? 'p99' : 'mean', worst_replica: w.replica.replica, worst_ms: round(latencyOf(w.replica, useP99)), others_median_ms: round(w.othersMs), ratio: round(w.ratio) };
    if (w.ratio < t['replica.outlier_ratio']) {
      return { inputs, reason: `replicas agree: the slowest (${w.replica.replica}) is ${w.ratio.toFixed(2)}× the others' ${stat} (< ${t['replica.outlier_ratio']}×)` };
    }
    // The phase whose mean differs most from the other replicas' median carries the difference.
    let phase: Phase | undefined;
    let phaseExtra = 0;
    for (const [p, v] of Object.entries(w.replica.phaseMeanMs) as [Phase, number][]) {
      const others = median(replicas.filter((o) => o !== w.replica).map((o) => o.phaseMeanMs[p] ?? Number.NaN).filter(Number.isFinite));
      if (Number.isFinite(others) && v - others > phaseExtra) [phase, phaseExtra] = [p, v - others];
    }
    const totalRequests = replicas.reduce((a, r) => a + r.requests, 0);
    const trafficShare = totalRequests > 0 ? w.replica.requests / totalRequests : 0;
    const fairShare = 1 / replicas.length;
    const hotShard = trafficShare >= fairShare * 1.5;
    const meanOthers = median(replicas.filter((o) => o !== w.replica).map((o) => o.e2eMeanMs));
    const saved = Math.max(0, (w.replica.e2eMeanMs - meanOthers) * trafficShare);
    const where = phase === undefined ? '' : `; the extra time is in ${phase} (+${ms(phaseExtra)} per request against the others)`;
    const cause = hotShard
      ? `it takes ${pct(trafficShare)} of the traffic against a fair share of ${pct(fairShare)}: a hot shard (routing or session affinity sends it more)`
      : phase === 'queue'
        ? 'it queues longer at the same traffic share: it serves requests more slowly (a noisy neighbour on its host, or fewer workers)'
        : 'same traffic share, slower execution: a noisy neighbour, thermal or power throttling, or a slower device on that host';
    return {
      inputs,
      reason: `replica ${w.replica.replica} ${stat} is ${w.ratio.toFixed(1)}× the other replicas'`,
      finding: {
        title: `One replica is the outlier: ${w.replica.replica}`,
        confidence: confidenceFrom(w.ratio / t['replica.outlier_ratio'] - 1, s),
        evidence: [
          {
            text: `replica ${w.replica.replica} ${stat} ${ms(latencyOf(w.replica, useP99))} is ${w.ratio.toFixed(1)}× the median of the other ${replicas.length - 1} replica${replicas.length === 2 ? '' : 's'} (${ms(w.othersMs)})${where}`,
            values: { ratio: round(w.ratio), replica_ms: round(latencyOf(w.replica, useP99)), others_median_ms: round(w.othersMs), ...(phase !== undefined ? { phase_extra_ms: round(phaseExtra) } : {}) },
          },
          { text: cause, values: { traffic_share: round(trafficShare), fair_share: round(fairShare) } },
        ],
        savedMeanMs: saved,
        estimatedGain: {
          metric: 'mean_ms',
          currentValue: round(s.e2e.meanMs),
          expectedValue: round(s.e2e.meanMs - saved),
          basis: `the outlier's extra mean time × its ${pct(trafficShare)} share of the traffic`,
        },
        nextStep: {
          text: hotShard
            ? `Check the load balancer's routing for ${w.replica.replica} (session affinity, consistent hashing on a hot key) and spread its traffic.`
            : `Drain ${w.replica.replica} and compare its host with a healthy one: GPU clocks and throttle reasons (latency-doctor sidecar), other processes on the GPU (nvidia-smi), CPU steal. Replace the node if it stays slow.`,
        },
        exampleTraceIds: [],
      },
    };
  },
});

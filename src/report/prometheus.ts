/**
 * @module report/prometheus
 * What the reports add when the input was a Prometheus-compatible engine: the sources found,
 * per model the replicas (the outlier stands out), LLM generation latency and exemplar trace
 * ids, and under --explain what each rule can do on aggregates and every PromQL query run.
 */
import type { PrometheusInput } from '../model/prometheus.js';
import { formatMs } from './_format.js';

/** How the generation histograms a server exports are named in the text report. */
const GENERATION_LABELS: Readonly<Record<string, string>> = { ttft: 'Time to first token', tpot: 'Time per output token', itl: 'Inter-token latency' };

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The line that replaces "from N spans in M files". */
export function prometheusHeadline(p: PrometheusInput): string {
  const latency = p.sources.filter((s) => s.kind === 'latency').map((s) => s.title);
  const gpu = p.sources.filter((s) => s.kind === 'gpu').map((s) => s.title);
  return `from ${p.url} (${iso(p.startS)} → ${iso(p.endS)}, step ${p.stepS} s${p.selector === '' ? '' : `, {${p.selector}}`}); sources found: ${[...latency, ...gpu].join(', ')}`;
}

/** Text lines per model: replicas, generation latency, gauges, exemplars. */
export function prometheusModelText(p: PrometheusInput, model: string): string[] {
  const m = p.models.find((x) => x.model === model);
  if (m === undefined) return [];
  const lines: string[] = [];
  if (m.replicas.length > 1) {
    lines.push(`  Replicas (${m.replicas.length})${' '.repeat(Math.max(1, 24 - String(m.replicas.length).length))}${'req/s'.padStart(8)}${'mean ms'.padStart(10)}${'p99 ms'.padStart(10)}`);
    for (const r of m.replicas) lines.push(`    ${r.replica.padEnd(32).slice(0, 32)}${r.rps.toFixed(1).padStart(8)}${formatMs(r.e2eMeanMs).padStart(10)}${formatMs(r.e2eP99Ms).padStart(10)}`);
  }
  for (const [key, d] of Object.entries(m.generation)) {
    const label = GENERATION_LABELS[key] ?? key;
    lines.push(
      d.statistic === 'bucket-percentile'
        ? `  ${label}: histogram p50 ${formatMs(d.p50Ms)} ms, p95 ${formatMs(d.p95Ms)} ms, p99 ${formatMs(d.p99Ms)} ms; mean ${formatMs(d.meanMs)} ms`
        : Number.isFinite(d.meanMs)
          ? `  ${label}: mean ${formatMs(d.meanMs)} ms (sum ÷ count, no percentiles)`
          : `  ${label}: no figure (neither percentiles nor a sum ÷ count in the range)`,
    );
  }
  const gauges = Object.entries(m.gauges).filter(([, v]) => Number.isFinite(v));
  if (gauges.length > 0) lines.push(`  Gauges (mean over the range): ${gauges.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  if (m.meanBatchSize !== undefined) lines.push(`  Mean batch size ${m.meanBatchSize.toFixed(2)}`);
  if (m.exemplarTraceIds.length > 0) lines.push(`  Exemplar traces (slowest first): ${m.exemplarTraceIds.join(', ')}`);
  lines.push(
    m.exemplarTraceIds.length > 0
      ? '  Per-request evidence (tail attribution, example traces) needs traces: open the exemplar traces above, or run latency-doctor analyze on a trace export that holds them.'
      : '  Per-request evidence (tail attribution, example traces) needs traces: run latency-doctor analyze on a trace export (tail sampling in the Collector keeps the slow ones).',
  );
  return lines;
}

/** --explain: what each rule does on aggregates, the sources' notes, and every query. */
export function prometheusExplainText(p: PrometheusInput): string[] {
  const lines = ['Rules on aggregates'];
  for (const r of p.rules) lines.push(`  ${r.rule.padEnd(24)}${r.aggregates.padEnd(9)}${r.note ?? ''}`);
  lines.push('', 'Sources');
  for (const s of p.sources) {
    lines.push(`  ${s.title}${s.models.length > 0 ? ` (models: ${s.models.join(', ')})` : ''}`);
    for (const n of s.notes) lines.push(`    - ${n}`);
  }
  lines.push('', `PromQL (${p.queries.length} queries)`);
  for (const q of p.queries) lines.push(`  # ${q.purpose}`, `  ${q.expr}`);
  return lines;
}

/** Markdown lines for the input section. */
export function prometheusMarkdown(p: PrometheusInput): string[] {
  const lines = [`Read ${prometheusHeadline(p).replace(/^from /, 'from ')}.`, ''];
  for (const m of p.models) if (m.exemplarTraceIds.length > 0) lines.push(`Exemplar traces of \`${m.model}\` (slowest first): ${m.exemplarTraceIds.map((id) => `\`${id}\``).join(', ')}`, '');
  for (const m of p.models) {
    if (m.replicas.length < 2) continue;
    lines.push(`| Replica of \`${m.model}\` | req/s | mean ms | p99 ms |`, '|---|---:|---:|---:|');
    for (const r of m.replicas) lines.push(`| ${r.replica} | ${r.rps.toFixed(1)} | ${formatMs(r.e2eMeanMs)} | ${formatMs(r.e2eP99Ms)} |`);
    lines.push('');
  }
  return lines;
}

/** The `prometheus` block of the JSON report. */
export function prometheusJson(p: PrometheusInput): Record<string, unknown> {
  const n = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);
  return {
    url: p.url,
    start: new Date(p.startS * 1000).toISOString(),
    end: new Date(p.endS * 1000).toISOString(),
    step_s: p.stepS,
    selector: p.selector,
    sources: p.sources.map((s) => ({ id: s.id, title: s.title, kind: s.kind, models: s.models, notes: s.notes })),
    models: p.models.map((m) => ({
      model: m.model,
      source: m.source,
      replicas: m.replicas.map((r) => ({ replica: r.replica, rps: n(r.rps), e2e_mean_ms: n(r.e2eMeanMs), e2e_p99_ms: n(r.e2eP99Ms) })),
      generation: Object.fromEntries(Object.entries(m.generation).map(([k, d]) => [k, { statistic: d.statistic ?? 'mean', mean_ms: n(d.meanMs), p50_ms: n(d.p50Ms), p95_ms: n(d.p95Ms), p99_ms: n(d.p99Ms) }])),
      gauges: Object.fromEntries(Object.entries(m.gauges).map(([k, v]) => [k, n(v)])),
      mean_batch_size: m.meanBatchSize === undefined ? null : n(m.meanBatchSize),
      exemplar_trace_ids: m.exemplarTraceIds,
    })),
    rules: p.rules.map((r) => ({ rule: r.rule, aggregates: r.aggregates, note: r.note ?? null })),
    queries: p.queries,
  };
}

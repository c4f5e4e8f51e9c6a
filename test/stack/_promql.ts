/**
 * @module test/stack/_promql
 * Just enough PromQL reading for the stack checks: which metric names an expression selects,
 * which label matchers it carries, and which range functions it calls. Grafana's template
 * variables are substituted first so the text is plain PromQL.
 */
import { SIDECAR_METRICS, SPANMETRICS, TRACER_METRICS, prometheusName, type MetricSpec } from '../../src/semconv.js';

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'inf', 'nan',
]);

/** Grafana's built-in interval variables, replaced by a duration Prometheus accepts. */
const GRAFANA_INTERVALS = ['$__rate_interval', '$__interval', '$__range'];

/** Replaces Grafana variables with values PromQL accepts: intervals with `1m`, `$var` with `values[var]` or `.*`. */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>> = {}): string {
  let out = expr;
  for (const v of GRAFANA_INTERVALS) out = out.split(v).join('1m');
  return out.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}?/g, (_m, name: string) => values[name] ?? '.*');
}

function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Metric names an expression selects (after variable substitution). */
export function metricNames(expr: string): string[] {
  let text = stripStrings(substituteVariables(expr));
  text = text.replace(/\{[^}]*\}/g, ' ');          // label matchers
  text = text.replace(/\[[^\]]*\]/g, ' ');          // ranges and subqueries
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  text = text.replace(/\boffset\s+-?[0-9a-z]+/g, ' ');
  const names = new Set<string>();
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const word = m[0];
    const after = text.slice(m.index + word.length).trimStart();
    const before = text.slice(0, m.index);
    if (after.startsWith('(')) continue;                       // function call
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (/[0-9.]$/.test(before) || /^[eE][0-9]/.test(word)) continue; // exponent of a number like 1e6
    names.add(word);
  }
  return [...names].sort();
}

/** Label matchers (`name op "value"`) of every selector in an expression. */
export function labelMatchers(expr: string): { name: string; op: string; value: string }[] {
  const out: { name: string; op: string; value: string }[] = [];
  for (const block of expr.match(/\{[^}]*\}/g) ?? []) {
    const re = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
    for (let m = re.exec(block); m !== null; m = re.exec(block)) out.push({ name: m[1] ?? '', op: m[2] ?? '', value: m[3] ?? '' });
  }
  return out;
}

/** The Prometheus series names one metric of the convention produces. */
export function seriesOf(metric: MetricSpec): string[] {
  const base = prometheusName(metric);
  return metric.kind === 'histogram' ? [`${base}_bucket`, `${base}_sum`, `${base}_count`] : [base];
}

/** Every series name the tracer, the sidecar and the span-metrics connector emit, from src/semconv.ts. */
export function emittedSeries(): Set<string> {
  const names = new Set<string>();
  for (const metric of [...Object.values(TRACER_METRICS), ...Object.values(SIDECAR_METRICS)]) {
    for (const s of seriesOf(metric)) names.add(s);
  }
  names.add(SPANMETRICS.CALLS);
  for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${SPANMETRICS.DURATION}${suffix}`);
  return names;
}

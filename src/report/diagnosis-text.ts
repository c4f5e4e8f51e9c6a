/**
 * @module report/diagnosis-text
 * The diagnosis block of the terminal report, the first thing after the title: the verdict,
 * the top recommendation with its evidence, expected gain, next step and example trace ids,
 * then the ranked alternatives. `--explain` adds every rule's inputs, thresholds and outcome.
 * Fits 80 columns; colour only when asked.
 */
import pc from 'picocolors';
import type { Diagnosis, GainEstimate, Recommendation } from '../model/diagnosis.js';
import { gainStatistic } from './diagnosis-json.js';
import { modelName } from './_format.js';

/** Options of the diagnosis block. */
export interface DiagnosisTextOptions {
  /** ANSI colours. Default false. */
  readonly color?: boolean;
  /** Print every rule's inputs and thresholds. Default false. */
  readonly explain?: boolean;
  /** Name the model in the heading (several models in one report). Default false. */
  readonly named?: boolean;
  /** Line width. Default 80. */
  readonly width?: number;
}

/** Word-wrap `text` to `width`, every line prefixed by `indent`. */
export function wrap(text: string, width: number, indent: string, firstIndent = indent): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : String(Number(x.toPrecision(3)));
}

/** "Expected: p99 250 ms → 120 ms (basis)", or undefined without an estimate. */
export function gainLine(r: Recommendation): string | undefined {
  const g = r.estimatedGain;
  if (!g) return undefined;
  return `Expected: ${gainFigures(g)} (${g.basis})${confoundedSuffix(g)}`;
}

/**
 * "p99 250 ms → 120 ms", "throughput 95 req/s → 190 req/s": the gain's metric in words, both
 * values with their unit, now → once fixed. Every report prints it after "Expected": a drift's
 * estimate (now the last window's level, once fixed the first's) printed bare beside "rises from
 * 984 ms to 1414 ms" read as the drift printed backwards.
 */
export function gainFigures(g: GainEstimate, num: (x: number) => string = fmt): string {
  const unit = g.metric === 'throughput_rps' ? ' req/s' : ' ms';
  return `${gainMetricName(g)} ${num(g.currentValue)}${unit} → ${num(g.expectedValue)}${unit}`;
}

/** "; measured while the GPU was thermally throttled; re-measure … (see latency-drift)", or '' when no cause confounds the estimate. */
export function confoundedSuffix(g: GainEstimate): string {
  return g.confoundedBy ? `; ${g.confoundedBy.note} (see ${g.confoundedBy.fix})` : '';
}

/** The gain's metric in words: `p95`, `histogram p95` (from buckets), `mean`, `ttft mean`, `throughput`. */
export function gainMetricName(g: GainEstimate): string {
  const words = g.metric.replace(/_ms$|_rps$/, '').replace('_', ' ');
  return gainStatistic(g) === 'bucket-percentile' ? words.replace(/\b(p\d\d)\b/, 'histogram $1') : words;
}

/**
 * "Numbers below: 212 requests after warm-up trim (…); the table above covers all 220", or
 * undefined when the rules saw every request. The table and the rules use different
 * populations and quantile methods; without this line their p95s look contradictory.
 */
export function populationLine(d: Diagnosis, table = 'the table above'): string | undefined {
  const p = d.population;
  if (!p || p.basis !== 'requests' || p.diagnosed === p.requests) return undefined;
  return `Numbers below: ${p.diagnosed} requests after warm-up trim (${p.warmupTrimmed} warm-up, ${p.errorsExcluded} error${p.errorsExcluded === 1 ? '' : 's'} left out); ${table} covers all ${p.requests}.`;
}

/** Render one model's diagnosis as terminal lines: the verdict, then the details. */
export function renderDiagnosisText(d: Diagnosis, options: DiagnosisTextOptions = {}): string[] {
  return [...renderVerdictText(d, options), ...renderDiagnosisDetails(d, options)];
}

/**
 * The verdict alone (heading, one-sentence headline, and the top fix's expected gain), so the
 * report can put it above the phase table and keep the answer and the table on the first screen.
 */
export function renderVerdictText(d: Diagnosis, options: DiagnosisTextOptions = {}): string[] {
  const c = pc.createColors(options.color ?? false);
  const width = options.width ?? 80;
  const label = d.primary === null ? c.green('nothing stands out') : d.primary === 'insufficient-data' ? c.yellow('insufficient data') : c.red(c.bold(d.primary));
  // The SLO verdict and any failed validity assumption are part of the headline.
  const lines = [`${c.bold('Diagnosis')}${options.named ? ` (${modelName(d.model)})` : ''}: ${label}`, ...wrap(d.headline, width, '  ')];
  // What the fix is worth belongs to the answer; its basis and the step to paste follow under "Why".
  const top = d.recommendations[0];
  if (top?.estimatedGain) lines.push(...wrap(`Fix ${top.fix}: expected ${gainFigures(top.estimatedGain)}; next step below.`, width, '    ', '  '));
  // What the gain assumes (a GPU held at its power cap) belongs beside it.
  for (const caveat of d.caveats ?? []) lines.push(...wrap(caveat.text, width, '    ', '  ').map((l) => c.yellow(l)));
  return lines;
}

/** Everything after the verdict: evidence, expected gain, next step, examples, alternatives, `--explain`. */
export function renderDiagnosisDetails(d: Diagnosis, options: DiagnosisTextOptions = {}): string[] {
  const c = pc.createColors(options.color ?? false);
  const width = options.width ?? 80;
  const out: string[] = [];
  const [top, ...rest] = d.recommendations;
  if (top) {
    out.push(`${c.bold('Why')}${options.named ? ` (${modelName(d.model)})` : ''} ${c.dim(`(fix ${top.fix} · confidence ${top.confidence.toFixed(2)} · effort ${top.effort})`)}`);
    const population = populationLine(d);
    if (population) out.push(...wrap(population, width, '  ').map((l) => c.dim(l)));
    for (const e of top.evidence) out.push(...wrap(e.text, width, '    ', '  • '));
    const gain = gainLine(top);
    if (gain) out.push(...wrap(gain, width, '    ', '  '));
    out.push(...wrap(`Next step: ${top.nextStep.text}`, width, '    ', '  '));
    if (top.nextStep.snippet) {
      out.push('');
      for (const line of top.nextStep.snippet.code.split('\n')) out.push(c.cyan(`    ${line}`));
      out.push('');
    }
    if (top.exampleTraceIds.length > 0) out.push(...wrap(`Example traces: ${top.exampleTraceIds.join(' ')}`, width, '    ', '  '));
  }
  if (d.tail) out.push(...wrap(`Tail: ${d.tail.text}.${d.tail.exampleTraceIds.length > 0 ? ` Slowest examples: ${d.tail.exampleTraceIds.join(' ')}` : ''}`, width, '    ', '  '));
  if (rest.length > 0) {
    out.push('', c.bold('Also consider'));
    rest.forEach((r, i) => {
      const gain = r.estimatedGain ? `; expected ${gainFigures(r.estimatedGain)}${confoundedSuffix(r.estimatedGain)}` : '';
      out.push(...wrap(`${i + 2}. ${r.title} (${r.fix}, confidence ${r.confidence.toFixed(2)}, effort ${r.effort}${gain})`, width, '    ', '  '));
      const first = r.evidence[0];
      if (first) out.push(...wrap(first.text, width, '    ', '    '));
    });
  }
  if (options.explain) out.push('', ...renderExplain(d, { color: options.color ?? false, width }));
  return out;
}

/** The `--explain` block: every rule's inputs, thresholds and whether it fired. */
export function renderExplain(d: Diagnosis, options: { color?: boolean; width?: number } = {}): string[] {
  const c = pc.createColors(options.color ?? false);
  const width = options.width ?? 80;
  const out = [c.bold(`Rules${d.warmupTrimmed > 0 ? ` (${d.warmupTrimmed} warm-up requests trimmed first)` : ''}`)];
  for (const r of d.rules) {
    const mark = r.fired ? c.red('fired') : c.dim('  –  ');
    out.push(`  ${mark} ${c.bold(r.rule)}`);
    out.push(...wrap(r.reason, width, '          ', '          '));
    const inputs = Object.entries(r.inputs).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : String(v)}`);
    if (inputs.length > 0) out.push(...wrap(`inputs: ${inputs.join(' ')}`, width, '            ', '          '));
    const thresholds = Object.entries(r.thresholds).map(([k, v]) => `${k}=${fmt(v)}`);
    if (thresholds.length > 0) out.push(...wrap(`thresholds: ${thresholds.join(' ')}`, width, '            ', '          ').map((l) => c.dim(l)));
  }
  return out;
}

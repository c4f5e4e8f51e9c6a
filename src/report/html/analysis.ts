/**
 * @module report/html/analysis
 * The markup of one model's section of `analyze --html`: the first screen (verdict card, phase
 * table, phase mix at p50/p95/p99) rendered on the server so it reads without script and in
 * print, then the chart slots the client fills, then every rule (`--explain`) folded away.
 */
import type { ModelAnalysis } from '../../analyzer/index.js';
import type { Diagnosis } from '../../model/diagnosis.js';
import type { ModelSummary } from '../../model/summary.js';
import { OTHER, PHASES } from '../../semconv.js';
import type { PhaseOrOther } from '../../semconv.js';
import { failureSplit, NO_COMPLETED, formatCountOf, formatMs, formatRate, formatShare, statisticNotes } from '../_format.js';
import { gainLine, populationLine, renderExplain } from '../diagnosis-text.js';
import { escapeHtml as h } from './page.js';

/** The verdict card: fix id, why, confidence, expected gain, next step with a copy button. */
export function verdictCard(d: Diagnosis | undefined): string {
  if (d === undefined) return `<div class="card verdict none"><h2>Verdict</h2><p class="fix" data-field="fix">not diagnosed</p></div>`;
  const top = d.recommendations.find((r) => r.fix === d.primary);
  const kind = d.primary === null ? 'none' : d.primary === 'insufficient-data' ? 'insufficient' : 'fix';
  const fix = d.primary === null ? 'nothing stands out' : d.primary;
  const facts: [string, string][] = [];
  if (top) {
    facts.push(['confidence', top.confidence.toFixed(2)], ['effort', top.effort]);
    const gain = gainLine(top);
    facts.push(['expected gain', gain === undefined ? 'not estimated' : gain.replace(/^Expected: /, '').replace(/ \(.*\)$/, '')]);
  }
  if (d.slo) facts.push(['SLO', d.slo.met ? 'met' : d.slo.checks.some((c) => !c.met && Number.isFinite(c.actualMs)) ? 'violated' : 'not checked (not measured)']);
  const next = top?.nextStep;
  // The card sits above the phase table, whose percentiles cover every request.
  const population = top ? populationLine(d, 'the phase table') : undefined;
  const copyText = next === undefined ? '' : next.snippet ? `${next.text}\n\n${next.snippet.code}` : next.text;
  return `<div class="card verdict ${kind}" data-primary="${h(d.primary ?? 'none')}">
<h2>Verdict${d.model ? ` · ${h(d.model)}` : ''}</h2>
<p class="fix" data-field="fix">${h(fix)}</p>
<p class="why" data-field="headline">${h(d.headline)}</p>
${facts.length > 0 ? `<dl class="facts">${facts.map(([k, v]) => `<div><dt>${h(k)}</dt><dd data-field="${h(k.replace(/ /g, '-'))}">${h(v)}</dd></div>`).join('')}</dl>` : ''}
${top?.estimatedGain ? `<p class="note">${h(top.estimatedGain.basis)}</p>` : ''}
${(d.caveats ?? []).map((c) => `<p class="note" data-field="caveat" data-kind="${h(c.kind)}">${h(c.text)}</p>`).join('')}
${population ? `<p class="note" data-field="population">${h(population)}</p>` : ''}
${
  next
    ? `<div class="next"><button class="copy" type="button" data-copy="${h(copyText)}" aria-label="Copy the next step">Copy</button><p><strong>Next step:</strong> <span data-field="next-step">${h(next.text)}</span></p>${
        next.snippet ? `<pre data-field="snippet"><code>${h(next.snippet.code)}</code></pre>` : ''
      }</div>`
    : ''
}
</div>`;
}

/** Phases in table order: the convention's order, then `other`, only those present. */
export function presentPhases(summary: ModelSummary): PhaseOrOther[] {
  return [...PHASES, OTHER].filter((p) => summary.phases[p] !== undefined);
}

/** The per-phase table: p50/p95/p99/max and share of e2e, with the e2e row last. */
export function phaseTable(summary: ModelSummary): string {
  if (summary.requests === 0) {
    return `<div class="card phases"><h2>Where the time goes · ${formatCountOf(0, 'request')}</h2><p class="note">${h(NO_COMPLETED)} ${formatCountOf(summary.errors, 'error')}${h(failureSplit(summary))}.</p></div>`;
  }
  const rows = presentPhases(summary).map((p) => {
    const s = summary.phases[p]!;
    return `<tr data-phase="${p}"><td><span class="sw" style="background:var(--c-${p})"></span>${p}</td><td class="num" data-q="p50">${formatMs(s.p50Ms)}</td><td class="num" data-q="p95">${formatMs(s.p95Ms)}</td><td class="num" data-q="p99">${formatMs(s.p99Ms)}</td><td class="num" data-q="max">${formatMs(s.maxMs)}</td><td class="num" data-q="share">${formatShare(s.share)}</td></tr>`;
  });
  const e = summary.e2e;
  rows.push(
    `<tr class="e2e" data-phase="e2e"><td>end-to-end</td><td class="num" data-q="p50">${formatMs(e.p50Ms)}</td><td class="num" data-q="p95">${formatMs(e.p95Ms)}</td><td class="num" data-q="p99">${formatMs(e.p99Ms)}</td><td class="num" data-q="max">${formatMs(e.maxMs)}</td><td class="num">100%</td></tr>`,
  );
  return `<div class="card phases"><h2>Where the time goes · ${formatCountOf(summary.requests, 'request')} · ${formatRate(summary.requests, summary.throughputRps)}</h2>
<div class="scroll"><table data-table="phases"><thead><tr><th>phase</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>share</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>
<p class="note">Phase spans cover ${formatShare(summary.coverage)} of end-to-end time${summary.errors > 0 || summary.failures !== undefined ? `; ${formatCountOf(summary.errors, 'error')}${h(failureSplit(summary))}` : ''}.</p>${statisticNotes(summary).map((n) => `<p class="note" data-note="statistic">${h(n)}</p>`).join('')}</div>`;
}

/** A chart slot the client fills: a titled card with a canvas. */
export function chartSlot(id: string, title: string, note = '', size: '' | 'tall' | 'short' = ''): string {
  return `<div class="card"><h2>${h(title)}</h2><div class="chart ${size}"><canvas data-chart="${h(id)}" role="img" aria-label="${h(title)}"></canvas></div>${note ? `<p class="note">${h(note)}</p>` : ''}</div>`;
}

/** A chart's card with a sentence instead of empty axes. */
function unchartedSlot(title: string, why: string): string {
  return `<div class="card uncharted"><h2>${h(title)}</h2><p class="note">${h(why)}</p></div>`;
}

/** Why an over-time chart has no point: every window holds fewer than the 3 requests a percentile point needs. */
function tooFewOverTime(requests: number): string {
  return `Not drawn: ${formatCountOf(requests, 'request')} in all, and no time window holds the 3 requests a percentile point needs.`;
}

/** "Every rule" (the `--explain` text), collapsed. */
export function rulesSection(d: Diagnosis | undefined): string {
  if (d === undefined) return '';
  return `<details class="rules card"><summary>Every rule: inputs, thresholds, outcome (--explain)</summary><pre>${h(renderExplain(d, { width: 110 }).join('\n'))}</pre></details>`;
}

/** One model's whole section. `hasGpu`/`hasExamples` say which optional charts have data. */
export function modelSection(
  m: ModelAnalysis,
  index: number,
  charts: { hasGpu: boolean; examples: readonly { label: string; e2eMs: number; traceId: string }[]; generation: boolean; perRequest?: boolean; overTimePoints?: boolean; generationPoints?: boolean },
): string {
  const s = m.summary;
  // Aggregates (Prometheus) have percentiles but no requests to plot: say so instead of drawing empty axes.
  if (charts.perRequest === false) {
    return `<div class="first">
${verdictCard(m.diagnosis)}
${phaseTable(s)}
<div class="card mix"><h2>Charts need per-request data</h2><p>This analysis was computed from aggregated metrics, which hold percentiles but no single request: the phase mix, latency over time, the e2e histogram and example traces need a trace export. Run <code>latency-doctor analyze --html</code> on a trace export of the same window for them.</p></div>
</div>
${rulesSection(m.diagnosis)}`;
  }
  // GPU state is drawn on the latency chart even when no window holds a latency point.
  const timeTitle = charts.hasGpu ? 'e2e latency over time, with GPU state' : 'e2e latency over time';
  const slots = [
    charts.overTimePoints === false && !charts.hasGpu
      ? unchartedSlot(timeTitle, tooFewOverTime(s.e2e.count))
      : chartSlot(`time-${index}`, timeTitle, charts.hasGpu ? 'Shaded: share of the window the GPU was throttled.' : '', 'tall'),
    chartSlot(`hist-${index}`, 'e2e latency histogram', s.e2e.count > 0 ? 'Bins from 0.9 × the fastest request to 1.1 × p99; slower requests are counted in the last bin.' : ''),
  ];
  const generationTitle = 'Time to first token and time per output token over time';
  if (charts.generation)
    slots.push(
      charts.generationPoints === false
        ? unchartedSlot(generationTitle, tooFewOverTime(s.e2e.count))
        : chartSlot(`generation-${index}`, generationTitle, 'TTFT: request start → first token. TPOT: (e2e − TTFT) ÷ (output tokens − 1).', 'tall'),
    );
  charts.examples.forEach((example, k) =>
    slots.push(chartSlot(`waterfall-${index}-${k}`, `Example trace: the ${example.label} request (${formatMs(example.e2eMs)} ms)`, `Trace ${example.traceId}; each bar is one span, from the request start (ms).`, 'tall')),
  );
  return `<div class="first">
${verdictCard(m.diagnosis)}
${phaseTable(s)}
<div class="card mix"><h2>Phase mix of requests at p50, p95 and p99</h2><div class="chart short"><canvas data-chart="mix-${index}" role="img" aria-label="phase mix"></canvas></div></div>
</div>
<div class="charts">${slots.join('\n')}</div>
${rulesSection(m.diagnosis)}`;
}

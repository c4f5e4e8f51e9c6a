/**
 * @module report/html/client/main
 * The page's script (bundled with Chart.js by esbuild, inlined into the page): reads the
 * embedded data, draws each chart with Chart.js, and wires the tabs and copy buttons. Glue
 * only: every chart is a Chart.js configuration (https://www.chartjs.org/docs/4.4.1/).
 */
import { BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import type { ModelCharts, PageData } from '../index.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
const phaseColor = (phase: string): string => css(`--c-${phase}`);

function applyTheme(): void {
  Chart.defaults.color = css('--muted');
  Chart.defaults.borderColor = css('--grid');
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
}

const charts: Chart[] = [];

function draw(id: string, config: ChartConfiguration): void {
  const canvas = document.querySelector<HTMLCanvasElement>(`canvas[data-chart="${id}"]`);
  if (canvas === null) return;
  charts.push(new Chart(canvas, config));
}

const axis = (title: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ title: { display: true, text: title }, ...extra });
const points = (t: number[], ys: (number | null)[]): { x: number; y: number | null }[] => t.map((x, i) => ({ x, y: ys[i] ?? null }));

type LineData = ChartDataset<'line', { x: number; y: number | null }[]>;

function line(label: string, data: { x: number; y: number | null }[], color: string, extra: Partial<LineData> = {}): LineData {
  return { type: 'line', label, data, borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 2, spanGaps: true, tension: 0.2, ...extra };
}

function mixChart(id: string, rows: { label: string; mix: ModelCharts['mix']; index: number }[]): void {
  const phases = rows[0]?.mix.phases.map((p) => p.phase) ?? [];
  const labels: string[] = [];
  const values: Record<string, number[]> = Object.fromEntries(phases.map((p) => [p, []]));
  rows[0]?.mix.quantiles.forEach((q, qi) => {
    for (const row of rows) {
      labels.push(row.label ? `${row.label} ${q}` : q);
      for (const p of phases) values[p]!.push(row.mix.phases.find((x) => x.phase === p)?.ms[qi] ?? 0);
    }
  });
  draw(id, {
    type: 'bar',
    data: { labels, datasets: phases.map((p) => ({ label: p, data: values[p]!, backgroundColor: phaseColor(p), borderWidth: 0 })) },
    options: { indexAxis: 'y', scales: { x: axis('mean ms of the requests around the quantile', { stacked: true }), y: { stacked: true } }, plugins: { legend: { position: 'bottom' } } },
  });
}

function timeChart(id: string, series: { label: string; data: ModelCharts; dashed: boolean; quantiles: ('p50' | 'p95' | 'p99')[] }[]): void {
  const datasets: ChartDataset[] = [];
  for (const s of series) {
    for (const q of s.quantiles) {
      const color = s.label === 'before' ? css('--c-before') : s.label === 'after' ? css(q === 'p50' ? '--c-after' : '--c-p99') : css(`--c-${q}`);
      const dash = s.dashed ? (q === 'p50' ? [6, 4] : [2, 3]) : [];
      datasets.push(line(`${s.label ? `${s.label} ` : ''}${q}`, points(s.data.overTime.t, s.data.overTime[q]), color, { borderDash: dash }) as ChartDataset);
    }
  }
  const gpu = series.length === 1 ? series[0]!.data.gpu : undefined;
  const scales: Record<string, unknown> = { x: axis('seconds since the first request', { type: 'linear' }), y: axis('e2e ms', { beginAtZero: true }) };
  if (gpu) {
    datasets.push(line('throttled', points(gpu.t, gpu.throttled), css('--c-throttle'), { yAxisID: 'share', fill: 'origin', stepped: 'middle', borderWidth: 0, tension: 0 }) as ChartDataset);
    datasets.push(line('GPU °C', points(gpu.t, gpu.temperatureC), css('--c-gpu'), { yAxisID: 'temp', borderDash: [2, 3], borderWidth: 1.5 }) as ChartDataset);
    datasets.push(line('SM MHz', points(gpu.t, gpu.smClockMhz), css('--c-clock'), { yAxisID: 'clock', borderDash: [8, 3], borderWidth: 1.5 }) as ChartDataset);
    scales['temp'] = axis('°C', { position: 'right', grid: { drawOnChartArea: false } });
    scales['clock'] = axis('SM MHz', { position: 'right', grid: { drawOnChartArea: false } });
    scales['share'] = { display: false, min: 0, max: 1 };
  }
  draw(id, { type: 'line', data: { datasets }, options: { scales, interaction: { mode: 'nearest', intersect: false }, plugins: { legend: { position: 'bottom' } } } } as ChartConfiguration);
}

function generationChart(id: string, generation: NonNullable<ModelCharts['generation']>, slo: ModelCharts['slo']): void {
  const { ttft, tpot } = generation;
  // TTFT and TPOT targets as level lines across the run, each on its own axis.
  const span = [Math.min(...ttft.t, ...tpot.t), Math.max(...ttft.t, ...tpot.t)];
  const targets = slo
    .filter((s) => s.metric === 'ttft' || s.metric === 'tpot')
    .map((s) => line(s.label, span.map((x) => ({ x, y: s.ms })), css('--bad'), { borderDash: [6, 4], tension: 0, ...(s.metric === 'tpot' ? { yAxisID: 'tpot' } : {}) }));
  draw(id, {
    type: 'line',
    data: {
      datasets: [
        line('TTFT p50', points(ttft.t, ttft.p50), css('--c-p50')),
        line('TTFT p95', points(ttft.t, ttft.p95), css('--c-p95')),
        line('TPOT p50', points(tpot.t, tpot.p50), css('--c-clock'), { yAxisID: 'tpot', borderDash: [6, 4] }),
        line('TPOT p95', points(tpot.t, tpot.p95), css('--c-gpu'), { yAxisID: 'tpot', borderDash: [6, 4] }),
        ...targets,
      ],
    },
    options: {
      scales: { x: axis('seconds since the first request', { type: 'linear' }), y: axis('TTFT ms', { beginAtZero: true }), tpot: axis('TPOT ms', { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false } }) },
      interaction: { mode: 'nearest', intersect: false },
      plugins: { legend: { position: 'bottom' } },
    },
  } as ChartConfiguration);
}

function histogramChart(id: string, series: { label: string; data: ModelCharts; color: string }[]): void {
  const datasets: ChartDataset[] = series.map((s) => ({
    type: 'bar' as const,
    label: s.label || 'requests',
    data: s.data.histogram.centers.map((x, i) => ({ x, y: s.data.histogram.counts[i] ?? 0 })),
    backgroundColor: s.color,
    barPercentage: 1,
    categoryPercentage: 1,
    grouped: false,
  }));
  const top = Math.max(1, ...series.flatMap((s) => s.data.histogram.counts));
  for (const slo of (series[0]?.data.slo ?? []).filter((s) => s.metric === 'e2e')) {
    datasets.push(line(slo.label, [{ x: slo.ms, y: 0 }, { x: slo.ms, y: top }], css('--bad'), { borderDash: [6, 4], tension: 0 }) as ChartDataset);
  }
  const first = series[0]?.data.histogram;
  draw(id, {
    type: 'bar',
    data: { datasets },
    options: { scales: { x: axis('e2e ms', { type: 'linear', suggestedMin: first?.lowMs ?? 0, ticks: { precision: 0 } }), y: axis('requests', { beginAtZero: true }) }, plugins: { legend: { display: datasets.length > 1, position: 'bottom' } } },
  } as ChartConfiguration);
}

function waterfallChart(id: string, example: ModelCharts['examples'][number]): void {
  const rows = example.spans.map((s) => ({ label: s.name, range: [s.startMs, s.endMs] as [number, number], color: phaseColor(s.phase) }));
  draw(id, {
    type: 'bar',
    data: { labels: rows.map((r) => r.label), datasets: [{ label: 'span', data: rows.map((r) => r.range), backgroundColor: rows.map((r) => r.color), borderWidth: 0, barPercentage: 0.8 }] },
    options: { indexAxis: 'y', scales: { x: axis('ms from the request start', { type: 'linear' }), y: { ticks: { autoSkip: false, font: { size: 11 } } } }, plugins: { legend: { display: false } } },
  } as ChartConfiguration);
}

function drawAll(data: PageData): void {
  applyTheme();
  if (data.kind === 'analysis') {
    data.models.forEach((m, i) => {
      mixChart(`mix-${i}`, [{ label: '', mix: m.mix, index: i }]);
      timeChart(`time-${i}`, [{ label: '', data: m, dashed: false, quantiles: ['p50', 'p95', 'p99'] }]);
      histogramChart(`hist-${i}`, [{ label: '', data: m, color: css('--c-after') }]);
      if (m.generation) generationChart(`generation-${i}`, m.generation, m.slo);
      m.examples.forEach((example, k) => waterfallChart(`waterfall-${i}-${k}`, example));
    });
  } else {
    data.models.forEach((m, i) => {
      mixChart(`mix-${i}`, [
        { label: 'before', mix: m.before.mix, index: i },
        { label: 'after', mix: m.after.mix, index: i },
      ]);
      timeChart(`time-${i}`, [
        { label: 'before', data: m.before, dashed: true, quantiles: ['p50', 'p99'] },
        { label: 'after', data: m.after, dashed: false, quantiles: ['p50', 'p99'] },
      ]);
      histogramChart(`hist-${i}`, [
        { label: 'before', data: m.before, color: `${css('--c-before')}99` },
        { label: 'after', data: m.after, color: `${css('--c-after')}99` },
      ]);
    });
  }
}

function wireTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[data-tab]')];
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      for (const t of tabs) t.setAttribute('aria-selected', String(t === tab));
      document.querySelectorAll<HTMLElement>('section.model').forEach((s) => (s.hidden = s.dataset['modelIndex'] !== tab.dataset['tab']));
    });
  }
}

async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Some browsers refuse the async clipboard on file:// pages; a selected textarea still copies.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

function wireCopyButtons(): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('button.copy')) {
    button.addEventListener('click', () => {
      void copy(button.dataset['copy'] ?? '').then(() => {
        button.textContent = 'Copied';
        button.classList.add('done');
        setTimeout(() => {
          button.textContent = 'Copy';
          button.classList.remove('done');
        }, 1500);
      });
    });
  }
}

const element = document.getElementById('ld-data');
const data = JSON.parse(element?.textContent ?? '{"kind":"analysis","models":[]}') as PageData;
drawAll(data);
wireTabs();
wireCopyButtons();
// Redraw with the other palette when the system theme flips; resize for the printed page width.
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  for (const c of charts.splice(0)) c.destroy();
  drawAll(data);
});
// Printed, every rule is shown and the charts take the page's width.
let closedForPrint: HTMLDetailsElement[] = [];
addEventListener('beforeprint', () => {
  closedForPrint = [...document.querySelectorAll<HTMLDetailsElement>('details:not([open])')];
  for (const d of closedForPrint) d.open = true;
  for (const c of charts) c.resize();
});
addEventListener('afterprint', () => {
  for (const d of closedForPrint) d.open = false;
  for (const c of charts) c.resize();
});

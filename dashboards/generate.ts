/**
 * @module dashboards/generate
 * Builds the provisioned Grafana dashboards from the metric names in src/semconv.ts, so a
 * renamed metric changes the dashboards instead of silently emptying a panel.
 * `node --import tsx dashboards/generate.ts` rewrites dashboards/*.json; test/stack fails when
 * the committed JSON and this builder disagree.
 *
 * Which path feeds which panel (both exist once the stack runs):
 * - Per-phase percentiles, phase shares, request rate and batch size read the tracer's own
 *   histograms (scraped from the service). They count every request whatever the trace
 *   sampler keeps, work without a collector, and batch size exists only there.
 * - The e2e heatmap, the exemplar p99 and the error rate read the collector's span metrics:
 *   only that path carries exemplars (the trace id of a real request in a bucket), which is
 *   what links a latency spike to its trace in Jaeger; the JS Prometheus exporter writes none.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ATTR,
  BATCH_SPAN_NAME,
  GPU_ATTR,
  SIDECAR_METRICS,
  SPANMETRICS,
  TRACER_METRICS,
  prometheusLabel,
  prometheusName,
} from '../src/semconv.js';

/** The dashboard schema version Grafana 12 (the pinned GRAFANA_VERSION) writes; older ones are migrated on every load. */
export const GRAFANA_SCHEMA_VERSION = 42;

/** A Grafana panel as provisioned JSON (the subset these dashboards use). */
export interface GrafanaPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource: { readonly type: 'prometheus'; readonly uid: '${datasource}' };
  readonly targets: readonly GrafanaTarget[];
  readonly fieldConfig: { readonly defaults: Record<string, unknown>; readonly overrides: readonly unknown[] };
  readonly options: Record<string, unknown>;
}

/** One PromQL query of a panel. */
export interface GrafanaTarget {
  readonly refId: string;
  readonly datasource: { readonly type: 'prometheus'; readonly uid: '${datasource}' };
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  readonly exemplar: boolean;
  readonly format?: 'heatmap' | 'time_series';
}

/** A dashboard template variable (datasource or label_values query). */
export interface GrafanaVariable {
  readonly name: string;
  readonly label: string;
  readonly type: 'datasource' | 'query';
  readonly [key: string]: unknown;
}

/** A provisioned dashboard. */
export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly GrafanaPanel[];
  readonly templating: { readonly list: readonly GrafanaVariable[] };
  readonly [key: string]: unknown;
}

const DS = { type: 'prometheus', uid: '${datasource}' } as const;

const label = {
  phase: prometheusLabel(ATTR.PHASE),
  model: prometheusLabel(ATTR.MODEL_NAME),
  gpuName: prometheusLabel(GPU_ATTR.NAME),
  gpuId: prometheusLabel(GPU_ATTR.ID),
  sensor: prometheusLabel(GPU_ATTR.SENSOR_LOCATION),
  limitType: prometheusLabel(GPU_ATTR.LIMIT_TYPE),
  reason: prometheusLabel(GPU_ATTR.REASON),
};

const tracer = {
  phase: prometheusName(TRACER_METRICS.PHASE_DURATION),
  request: prometheusName(TRACER_METRICS.REQUEST_DURATION),
  batch: prometheusName(TRACER_METRICS.BATCH_SIZE),
};

const gpu = Object.fromEntries(
  Object.entries(SIDECAR_METRICS).map(([key, spec]) => [key, prometheusName(spec)]),
) as Record<keyof typeof SIDECAR_METRICS, string>;

function datasourceVariable(): GrafanaVariable {
  return {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    refresh: 1,
    regex: '',
    options: [],
  };
}

function queryVariable(name: string, title: string, query: string, allValue: string, multi = true): GrafanaVariable {
  return {
    name,
    label: title,
    type: 'query',
    datasource: DS,
    definition: query,
    query: { query, refId: `${name}-variable` },
    refresh: 2,
    includeAll: true,
    multi,
    allValue,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
    hide: 0,
    regex: '',
    options: [],
  };
}

function target(refId: string, expr: string, legendFormat: string, extra: Partial<GrafanaTarget> = {}): GrafanaTarget {
  return { refId, datasource: DS, expr, legendFormat, range: true, instant: false, exemplar: false, ...extra };
}

interface PanelSpec {
  readonly type: 'timeseries' | 'stat' | 'heatmap' | 'state-timeline';
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly gridPos: GrafanaPanel['gridPos'];
  readonly targets: readonly GrafanaTarget[];
  readonly defaults?: Record<string, unknown>;
  readonly options?: Record<string, unknown>;
  readonly overrides?: readonly unknown[];
}

function panels(specs: readonly PanelSpec[]): GrafanaPanel[] {
  return specs.map((spec, index) => ({
    id: index + 1,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    gridPos: spec.gridPos,
    datasource: DS,
    targets: spec.targets,
    fieldConfig: { defaults: { unit: spec.unit, ...spec.defaults }, overrides: spec.overrides ?? [] },
    options: {
      ...(spec.type === 'timeseries' || spec.type === 'state-timeline'
        ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
        : {}),
      ...spec.options,
    },
  }));
}

function dashboard(uid: string, title: string, description: string, variables: GrafanaVariable[], panelSpecs: PanelSpec[]): GrafanaDashboard {
  return {
    uid,
    title,
    description,
    tags: ['latency-doctor'],
    editable: false,
    graphTooltip: 1,
    refresh: '30s',
    // Grafana 12's last v1-API dashboard schema; nothing here needs its v40–v42 migrations (refresh
    // is a string, no timepicker.time_options, no hideFrom overrides), so Grafana loads it as is.
    // https://github.com/grafana/grafana/blob/main/apps/dashboard/pkg/migration/schemaversion/README.md
    schemaVersion: GRAFANA_SCHEMA_VERSION,
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    links: [],
    annotations: { list: [] },
    templating: { list: variables },
    panels: panels(panelSpecs),
  };
}

/** Matchers every tracer-path query carries: service (job), instance and model. */
const svc = `job=~"$job", instance=~"$instance", ${label.model}=~"$model"`;

/**
 * The request span among the span metrics: it has a model and no phase, and is neither the
 * client span nor the batch span (both can carry the model name too).
 */
const requestSpan = `${svc}, ${label.phase}="", ${SPANMETRICS.LABELS.SPAN_KIND}!="SPAN_KIND_CLIENT", ${SPANMETRICS.LABELS.SPAN_NAME}!="${BATCH_SPAN_NAME}"`;

const rate = (series: string, matchers: string): string => `rate(${series}{${matchers}}[$__rate_interval])`;

function phaseQuantile(q: number): string {
  return `histogram_quantile(${q}, sum by (${label.phase}, le) (${rate(`${tracer.phase}_bucket`, svc)}))`;
}

/** The "Inference latency" dashboard. */
export function inferenceLatencyDashboard(): GrafanaDashboard {
  const percentilePanel = (q: number, x: number): PanelSpec => ({
    type: 'timeseries',
    title: `Phase p${Math.round(q * 100)}`,
    description: `p${Math.round(q * 100)} of each phase (tracer histogram ${TRACER_METRICS.PHASE_DURATION.name}; every request, whatever the trace sampler keeps).`,
    unit: 's',
    gridPos: { x, y: 4, w: 8, h: 8 },
    targets: [target('A', phaseQuantile(q), `{{${label.phase}}}`)],
  });
  return dashboard(
    'latency-doctor-inference',
    'Inference latency',
    'Where inference latency goes: per-phase percentiles and shares from the tracer, e2e distribution with exemplars from the collector span metrics.',
    [
      datasourceVariable(),
      queryVariable('job', 'Service', `label_values(${tracer.request}_count, job)`, '.+'),
      queryVariable('instance', 'Instance', `label_values(${tracer.request}_count{job=~"$job"}, instance)`, '.*'),
      // `.+` for All: span metrics of non-inference spans (HTTP, Redis) have no model label.
      queryVariable('model', 'Model', `label_values(${tracer.request}_count{job=~"$job"}, ${label.model})`, '.+'),
    ],
    [
      {
        type: 'stat',
        title: 'Request rate',
        description: 'Inference requests per second (server side).',
        unit: 'reqps',
        gridPos: { x: 0, y: 0, w: 6, h: 4 },
        targets: [target('A', `sum(${rate(`${tracer.request}_count`, svc)})`, 'requests/s')],
      },
      {
        type: 'stat',
        title: 'E2E p99',
        description: 'p99 of the request span duration, all selected models.',
        unit: 's',
        gridPos: { x: 6, y: 0, w: 6, h: 4 },
        targets: [target('A', `histogram_quantile(0.99, sum by (le) (${rate(`${tracer.request}_bucket`, svc)}))`, 'p99')],
      },
      {
        type: 'stat',
        title: 'Queue share',
        description: 'Share of server time spent waiting in the queue. Above 50 % for 10 min fires InferenceQueueShareHigh.',
        unit: 'percentunit',
        gridPos: { x: 12, y: 0, w: 6, h: 4 },
        targets: [
          target(
            'A',
            `sum(${rate(`${tracer.phase}_sum`, `${svc}, ${label.phase}="queue"`)}) / sum(${rate(`${tracer.request}_sum`, svc)})`,
            'queue share',
          ),
        ],
        defaults: { min: 0, max: 1, thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 0.3 }, { color: 'red', value: 0.5 }] } },
      },
      {
        type: 'stat',
        title: 'Mean batch size',
        description: 'Requests per executed batch. Near 1 under load means batching is off or ineffective.',
        unit: 'short',
        gridPos: { x: 18, y: 0, w: 6, h: 4 },
        targets: [target('A', `sum(${rate(`${tracer.batch}_sum`, svc)}) / sum(${rate(`${tracer.batch}_count`, svc)})`, 'mean batch size')],
        defaults: { decimals: 1 },
      },
      percentilePanel(0.5, 0),
      percentilePanel(0.95, 8),
      percentilePanel(0.99, 16),
      {
        type: 'timeseries',
        title: 'Share of e2e per phase',
        description: 'Time spent in each phase divided by server-side request time, stacked. What is left below 100 % is not covered by a phase span.',
        unit: 'percentunit',
        gridPos: { x: 0, y: 12, w: 12, h: 8 },
        targets: [
          target(
            'A',
            `sum by (${label.phase}) (${rate(`${tracer.phase}_sum`, svc)}) / on() group_left() sum(${rate(`${tracer.request}_sum`, svc)})`,
            `{{${label.phase}}}`,
          ),
        ],
        defaults: { min: 0, custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 60, lineWidth: 1 } },
      },
      {
        type: 'timeseries',
        title: 'Request rate by model',
        description: 'Inference requests per second per model. A latency rise at a flat rate is drift, not load.',
        unit: 'reqps',
        gridPos: { x: 12, y: 12, w: 12, h: 8 },
        targets: [target('A', `sum by (${label.model}) (${rate(`${tracer.request}_count`, svc)})`, `{{${label.model}}}`)],
      },
      {
        type: 'heatmap',
        title: 'E2E latency heatmap (span metrics)',
        description: 'Distribution of request span durations from the collector span metrics (ms buckets). Exemplar dots link to the trace in Jaeger.',
        unit: 'ms',
        gridPos: { x: 0, y: 20, w: 12, h: 9 },
        targets: [
          target('A', `sum by (le) (increase(${SPANMETRICS.DURATION}_bucket{${requestSpan}}[$__rate_interval]))`, '{{le}}', {
            format: 'heatmap',
            exemplar: true,
          }),
        ],
        options: {
          calculate: false,
          yAxis: { unit: 'ms', axisPlacement: 'left' },
          cellGap: 1,
          color: { mode: 'scheme', scheme: 'Oranges', scale: 'exponential', exponent: 0.5, fill: 'dark-orange', steps: 64 },
          exemplars: { color: 'rgba(255,0,255,0.7)' },
          tooltip: { mode: 'single', yHistogram: true },
          legend: { show: true },
          rowsFrame: { layout: 'auto' },
        },
      },
      {
        type: 'timeseries',
        title: 'E2E p99 with exemplars (span metrics)',
        description: 'p99 of the request span from the collector span metrics; each exemplar is a real request: click it to open its trace in Jaeger.',
        unit: 'ms',
        gridPos: { x: 12, y: 20, w: 12, h: 9 },
        targets: [
          target('A', `histogram_quantile(0.99, sum by (le) (rate(${SPANMETRICS.DURATION}_bucket{${requestSpan}}[$__rate_interval])))`, 'p99', {
            exemplar: true,
          }),
        ],
      },
      {
        type: 'timeseries',
        title: 'Batch size',
        description: 'Requests per executed batch: mean and p95 (tracer histogram).',
        unit: 'short',
        gridPos: { x: 0, y: 29, w: 12, h: 8 },
        targets: [
          target('A', `sum(${rate(`${tracer.batch}_sum`, svc)}) / sum(${rate(`${tracer.batch}_count`, svc)})`, 'mean'),
          target('B', `histogram_quantile(0.95, sum by (le) (${rate(`${tracer.batch}_bucket`, svc)}))`, 'p95'),
        ],
      },
      {
        type: 'timeseries',
        title: 'Errors by span (span metrics)',
        description: 'Spans per second that ended with status ERROR, per span name (collector span metrics).',
        unit: 'reqps',
        gridPos: { x: 12, y: 29, w: 12, h: 8 },
        targets: [
          target(
            'A',
            `sum by (${SPANMETRICS.LABELS.SPAN_NAME}) (${rate(SPANMETRICS.CALLS, `job=~"$job", instance=~"$instance", ${SPANMETRICS.LABELS.STATUS_CODE}="STATUS_CODE_ERROR"`)})`,
            `{{${SPANMETRICS.LABELS.SPAN_NAME}}}`,
          ),
        ],
      },
      {
        // The way from the dashboard to a diagnosis of the same range: docs/prometheus.md.
        type: 'stat',
        title: 'Diagnose this range: latency-doctor analyze --prometheus',
        description:
          "Request rate of the selected services. Run the diagnosis on the same range and services: latency-doctor analyze --prometheus <Prometheus URL> --start ${__from:date:iso} --end ${__to:date:iso} --selector '{job=~\"$job\"}' (Grafana fills in the time range and job in this text).",
        unit: 'reqps',
        gridPos: { x: 0, y: 37, w: 24, h: 4 },
        targets: [target('A', `sum(${rate(`${tracer.request}_count`, svc)})`, 'requests/s')],
      },
    ],
  );
}

/** The "GPU health" dashboard. */
export function gpuHealthDashboard(): GrafanaDashboard {
  const dev = `job=~"$job", instance=~"$instance", ${label.gpuName}=~"$gpu"`;
  // GPUs are named per host (gpu0 on every machine): the host goes into every legend and every
  // aggregation, or two hosts' gpu0 share a legend and their throttled shares add up past 100 %.
  const perGpu = `{{instance}} {{${label.gpuName}}}`;
  return dashboard(
    'latency-doctor-gpu',
    'GPU health',
    'GPU state from the latency-doctor sidecar, per GPU, under the service e2e p99 so a thermal slowdown and a latency rise line up on the same time axis.',
    [
      datasourceVariable(),
      queryVariable('job', 'GPU sidecar', `label_values(${gpu.COLLECT_SUCCESS}, job)`, '.+'),
      queryVariable('instance', 'Instance', `label_values(${gpu.COLLECT_SUCCESS}{job=~"$job"}, instance)`, '.*'),
      queryVariable('gpu', 'GPU', `label_values(${gpu.GPU_MEMORY_LIMIT}{job=~"$job", instance=~"$instance"}, ${label.gpuName})`, '.*'),
      queryVariable('service', 'Inference service', `label_values(${tracer.request}_count, job)`, '.+'),
    ],
    [
      {
        type: 'timeseries',
        title: 'E2E p99 of the inference service',
        description: 'Server-side p99 per model (tracer histogram). Read it against the GPU panels below: same time axis, shared crosshair.',
        unit: 's',
        gridPos: { x: 0, y: 0, w: 24, h: 7 },
        targets: [
          target(
            'A',
            `histogram_quantile(0.99, sum by (${label.model}, le) (${rate(`${tracer.request}_bucket`, `job=~"$service"`)}))`,
            `p99 {{${label.model}}}`,
          ),
        ],
      },
      {
        type: 'state-timeline',
        title: 'Throttle reasons',
        description: 'Clock-event (throttle) reasons per GPU, decoded from the NVML bitmask. A power-cap flag on an idle GPU is not throttling; thermal and HW slowdown are.',
        unit: 'bool_on_off',
        gridPos: { x: 0, y: 7, w: 24, h: 8 },
        targets: [
          target('A', `max by (instance, ${label.gpuName}, ${label.reason}) (${gpu.CLOCK_EVENT_ACTIVE}{${dev}})`, `${perGpu} {{${label.reason}}}`),
        ],
        defaults: {
          mappings: [{ type: 'value', options: { '0': { text: 'off', color: 'transparent', index: 0 }, '1': { text: 'active', color: 'red', index: 1 } } }],
          color: { mode: 'thresholds' },
          thresholds: { mode: 'absolute', steps: [{ color: 'transparent', value: null }, { color: 'red', value: 1 }] },
        },
        options: { showValue: 'never', mergeValues: true, rowHeight: 0.8 },
      },
      {
        type: 'timeseries',
        title: 'GPU temperature',
        description: 'GPU and memory temperature per GPU, with the slowdown threshold where the driver reports it.',
        unit: 'celsius',
        gridPos: { x: 0, y: 15, w: 12, h: 8 },
        targets: [
          target('A', `${gpu.TEMPERATURE}{${dev}, ${label.sensor}=~"gpu|memory"}`, `${perGpu} {{${label.sensor}}}`),
          target('B', `${gpu.TEMPERATURE_LIMIT}{${dev}, ${label.limitType}="throttled"}`, `${perGpu} slowdown threshold`),
        ],
      },
      {
        type: 'timeseries',
        title: 'SM clock vs max',
        description: 'Current SM clock against its maximum: the depth of any throttling.',
        unit: 'rotmhz',
        gridPos: { x: 12, y: 15, w: 12, h: 8 },
        targets: [
          target('A', `${gpu.CLOCK_SM}{${dev}}`, `${perGpu} SM clock`),
          target('B', `${gpu.CLOCK_SM_MAX}{${dev}}`, `${perGpu} max`),
        ],
      },
      {
        type: 'timeseries',
        title: 'Power vs limit',
        description: 'Power draw (driver average) against the enforced power limit.',
        unit: 'watt',
        gridPos: { x: 0, y: 23, w: 12, h: 8 },
        targets: [
          target('A', `${gpu.POWER}{${dev}}`, `${perGpu} draw`),
          target('B', `${gpu.POWER_LIMIT}{${dev}}`, `${perGpu} limit`),
        ],
      },
      {
        type: 'timeseries',
        title: 'GPU utilization',
        description: 'Fraction of time a kernel ran (absent under MIG, not 0), and memory-controller busy time.',
        unit: 'percentunit',
        gridPos: { x: 12, y: 23, w: 12, h: 8 },
        targets: [
          target('A', `${gpu.GPU_UTILIZATION}{${dev}}`, `${perGpu} GPU`),
          target('B', `${gpu.GPU_MEMORY_BUSY}{${dev}}`, `${perGpu} memory controller`),
        ],
        defaults: { min: 0, max: 1 },
      },
      {
        type: 'timeseries',
        title: 'GPU memory used / total',
        description: 'Memory used against the total per GPU. Steady growth under constant load is a leak or allocator growth.',
        unit: 'bytes',
        gridPos: { x: 0, y: 31, w: 12, h: 8 },
        targets: [
          target('A', `${gpu.GPU_MEMORY_USAGE}{${dev}}`, `${perGpu} used`),
          target('B', `${gpu.GPU_MEMORY_LIMIT}{${dev}}`, `${perGpu} total`),
        ],
      },
      {
        type: 'timeseries',
        title: 'Time throttled by reason (drivers 580+)',
        description: 'Share of wall time each throttle reason was active, from the cumulative per-reason counters newer drivers report.',
        unit: 'percentunit',
        gridPos: { x: 12, y: 31, w: 12, h: 8 },
        targets: [
          target('A', `sum by (instance, ${label.gpuName}, ${label.reason}) (${rate(gpu.CLOCK_EVENT_DURATION, dev)})`, `${perGpu} {{${label.reason}}}`),
        ],
        defaults: { min: 0 },
      },
      {
        type: 'timeseries',
        title: 'Sidecar sample age',
        description: 'Age of the sample /metrics answers from; it grows while collection is wedged (GpuSidecarCollectionFailing).',
        unit: 's',
        gridPos: { x: 0, y: 39, w: 24, h: 6 },
        targets: [target('A', `${gpu.SAMPLE_AGE}{job=~"$job", instance=~"$instance"}`, '{{instance}}')],
      },
    ],
  );
}

/** Every provisioned dashboard, keyed by its file name in dashboards/. */
export function allDashboards(): Record<string, GrafanaDashboard> {
  return {
    'inference-latency.json': inferenceLatencyDashboard(),
    'gpu-health.json': gpuHealthDashboard(),
  };
}

/** The exact text written to a dashboard file. */
export function serializeDashboard(dashboardJson: GrafanaDashboard): string {
  return `${JSON.stringify(dashboardJson, null, 2)}\n`;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const [file, board] of Object.entries(allDashboards())) {
    writeFileSync(join(here, file), serializeDashboard(board));
    process.stdout.write(`wrote dashboards/${file} (${board.panels.length} panels)\n`);
  }
}

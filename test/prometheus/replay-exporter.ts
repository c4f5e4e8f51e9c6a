/**
 * @module test/prometheus/replay-exporter
 * A small exporter process for the Prometheus tests: it serves a real server's `/metrics`
 * capture (test/fixtures/serving/*.prom) and advances its counters and histograms over time as
 * a scenario says, so a real Prometheus scrapes the real series layout (names, labels, bucket
 * boundaries, quirks such as trailing commas and missing +Inf buckets) with known traffic.
 *
 * It answers in the format the scraper asks for where the scenario needs one: the protobuf
 * exposition when some families are served as native histograms (Prometheus asks for it with
 * `--enable-feature=native-histograms`), OpenMetrics text when the scenario adds exemplars
 * (trace ids on the buckets of slow requests), the classic text format otherwise.
 *
 * Usage: node --import tsx test/prometheus/replay-exporter.ts SCENARIO.json
 * Prints `{"event":"listening","url":"http://127.0.0.1:PORT/metrics"}` when ready.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../examples/model/seeded-random.js';
import { PROTOBUF_CONTENT_TYPE, encodeFamilies, observeNative } from './exposition-proto.js';
import type { NativeHistogram, ProtoFamily, ProtoMetric, ProtoType } from './exposition-proto.js';

/** A family that the capture lacks, added with a documented layout. */
export interface ExtraFamily {
  readonly name: string;
  readonly type: 'histogram' | 'counter' | 'gauge';
  readonly help: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Bucket upper bounds (histograms); +Inf is appended. */
  readonly le?: readonly number[];
}

/** What one replica of a server does. */
export interface ReplayScenario {
  /** The capture to serve. */
  readonly fixture: string;
  /** Only series carrying these labels advance; the rest stay as captured. */
  readonly labels: Readonly<Record<string, string>>;
  readonly rps: number;
  readonly seed: number;
  /** Per phase: a log-normal latency (median ms, sigma of the log). */
  readonly phases: Readonly<Record<string, { readonly medianMs: number; readonly sigma: number }>>;
  /**
   * Family base name → the phases whose sum it observes, and the unit it counts in; `count` for a
   * histogram of counts (tokens per request): a "phase" whose drawn value is the count itself;
   * `labels`: only the family's series carrying these (one phase of a histogram labelled by phase).
   */
  readonly observe: readonly { readonly family: string; readonly of: readonly string[]; readonly unit: 's' | 'ms' | 'us' | 'count'; readonly labels?: Readonly<Record<string, string>> }[];
  /** Counters that count requests (+1 each), executions (+1 per `per` requests), or add a "phase" drawn per request (`of`: tokens); `labels`: only the family's series carrying these (one `err` of a failure counter). */
  readonly count: readonly { readonly family: string; readonly per?: number; readonly of?: string; readonly labels?: Readonly<Record<string, string>> }[];
  /**
   * Series the capture lacks, added to a family it has (another value of a label), written after the family's captured
   * samples as the capture writes them, at 0. A histogram's series is its last series' buckets, `_count` and `_sum`
   * with `labels` put over that series' labels (another deployment of the same worker layout, say).
   */
  readonly addSeries?: readonly { readonly family: string; readonly labels: Readonly<Record<string, string>> }[];
  /** Gauges held at a value (requests running, KV cache use), by sample name. */
  readonly gauges?: Readonly<Record<string, number>>;
  /** Families of the capture left out (an excerpt that elides their +Inf bucket and _sum), to be served whole from `extra`. */
  readonly drop?: readonly string[];
  /** Latency multiplier grows by this much per second (drift). Default 0. */
  readonly growPerS?: number;
  /** The phases the drift applies to. Default: every phase. */
  readonly grow?: readonly string[];
  readonly extra?: readonly ExtraFamily[];
  /** Replace the bucket bounds of a family (a replica on another version). */
  readonly rebucket?: { readonly family: string; readonly le: readonly number[] };
  /** Histogram families served as native histograms (protobuf exposition) instead of classic buckets. */
  readonly native?: readonly { readonly family: string; readonly schema: number; readonly zeroThreshold: number }[];
  /** Exemplars (OpenMetrics): a trace id on the bucket of each observation of `family` above `aboveMs`. */
  readonly exemplars?: { readonly family: string; readonly aboveMs: number };
  /**
   * Every metric name that starts with `from` served with `to` in its place, in samples and HELP/TYPE lines (an
   * exporter that re-prefixes a server's families: NVIDIA Dynamo, Ray); `observe`, `count` and `gauges` keep the
   * capture's names.
   */
  readonly rename?: { readonly from: string; readonly to: string };
}

/** An exemplar the exporter serves: the trace id of one slow request, on its bucket. */
export interface ServedExemplar {
  readonly traceId: string;
  /** The observation, in the family's unit. */
  readonly value: number;
  readonly timestampS: number;
}

interface Sample {
  readonly name: string;
  /** The name in the capture, where `rename` serves it under another. */
  readonly capturedName?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The label text as captured, kept so quirks (trailing commas) reach the scraper. */
  readonly labelText: string;
  value: number;
  readonly le?: number;
  /** The latest slow observation in this bucket, served as its exemplar. */
  exemplar?: ServedExemplar;
}

type Line = string | Sample;

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out[m[1] as string] = m[2] as string;
  return out;
}

function parseCapture(text: string): Line[] {
  return text.split('\n').map((line): Line => {
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\d+)?\s*$/.exec(line);
    if (line.startsWith('#') || m === null) return line;
    const labels = parseLabels(m[2] ?? '');
    const le = labels['le'];
    return { name: m[1] as string, labels, labelText: m[2] ?? '', value: Number(m[3]), ...(le !== undefined ? { le: /inf/i.test(le) ? Infinity : Number(le) } : {}) };
  });
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function extraLines(f: ExtraFamily): Line[] {
  const lines: Line[] = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`];
  if (f.type !== 'histogram') return [...lines, { name: f.type === 'counter' ? `${f.name}_total` : f.name, labels: f.labels, labelText: labelText(f.labels), value: 0 }];
  for (const le of [...(f.le ?? []), Infinity]) {
    const labels = { ...f.labels, le: le === Infinity ? '+Inf' : String(le) };
    lines.push({ name: `${f.name}_bucket`, labels, labelText: labelText(labels), value: 0, le });
  }
  lines.push({ name: `${f.name}_sum`, labels: f.labels, labelText: labelText(f.labels), value: 0 });
  lines.push({ name: `${f.name}_count`, labels: f.labels, labelText: labelText(f.labels), value: 0 });
  return lines;
}

function rebucket(lines: Line[], family: string, bounds: readonly number[]): Line[] {
  const out: Line[] = [];
  const done = new Set<string>();
  for (const line of lines) {
    if (typeof line === 'string' || line.name !== `${family}_bucket`) {
      out.push(line);
      continue;
    }
    const { le: _le, ...rest } = line.labels;
    const key = JSON.stringify(rest);
    if (done.has(key)) continue;
    done.add(key);
    for (const le of [...bounds, Infinity]) {
      const labels = { ...rest, le: le === Infinity ? '+Inf' : String(le) };
      out.push({ name: `${family}_bucket`, labels, labelText: labelText(labels), value: 0, le });
    }
  }
  return out;
}

function matches(sample: Sample, want: Readonly<Record<string, string>>): boolean {
  return Object.entries(want).every(([k, v]) => sample.labels[k] === v);
}

const UNIT_PER_MS = { s: 0.001, ms: 1, us: 1000, count: 1 } as const;

/** A running exporter, with the changes a test can make while it runs. */
export interface ReplayExporter {
  readonly url: string;
  /** Every value that advances drops back to 0, as after a restart (a counter reset). */
  reset(): void;
  /** From now on latency grows by `perS` × the starting level per second (drift at constant load). */
  drift(perS: number): void;
  /** Every exemplar put on a bucket so far (a later one on the same bucket replaces it in the exposition). */
  exemplars(): readonly ServedExemplar[];
  /** Scrapes answered, by format. */
  readonly scrapes: Record<'text' | 'openmetrics' | 'protobuf', number>;
  close(): Promise<void>;
}

/** The series key of a sample: its labels without `le` and `quantile`. */
function seriesKey(labels: Readonly<Record<string, string>>): string {
  const { le: _le, quantile: _q, ...rest } = labels;
  return JSON.stringify(rest);
}

/** The family a sample belongs to: its declared name, else its name without a histogram or counter suffix. */
function familyOf(name: string, types: ReadonlyMap<string, ProtoType>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_total']) if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  return name;
}

/** The capture as protobuf families; `native` histograms replace the classic buckets of their families. */
function protobufFamilies(lines: readonly Line[], native: ReadonlyMap<string, Map<string, NativeHistogram>>): ProtoFamily[] {
  const types = new Map<string, ProtoType>();
  const help = new Map<string, string>();
  for (const l of lines) {
    if (typeof l !== 'string') continue;
    const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(l);
    if (m === null) continue;
    if (m[1] === 'HELP') help.set(m[2] as string, m[3] ?? '');
    else types.set(m[2] as string, (['counter', 'gauge', 'summary', 'histogram'].includes(m[3] ?? '') ? m[3] : 'untyped') as ProtoType);
  }
  const families = new Map<string, Map<string, Sample[]>>();
  for (const l of lines) {
    if (typeof l === 'string') continue;
    const family = familyOf(l.name, types);
    const series = families.get(family) ?? new Map<string, Sample[]>();
    families.set(family, series);
    series.set(seriesKey(l.labels), [...(series.get(seriesKey(l.labels)) ?? []), l]);
  }
  return [...families].map(([name, series]): ProtoFamily => {
    const type = types.get(name) ?? 'untyped';
    const metrics = [...series].map(([key, samples]): ProtoMetric => {
      const labels = JSON.parse(key) as Record<string, string>;
      const nativeState = native.get(name)?.get(key);
      if (nativeState !== undefined) return { labels, native: nativeState };
      const count = samples.find((s) => s.name === `${name}_count`)?.value;
      const sum = samples.find((s) => s.name === `${name}_sum`)?.value ?? 0;
      if (type === 'summary') return { labels, summary: { count: count ?? 0, sum, quantiles: samples.filter((s) => s.labels['quantile'] !== undefined).map((s) => [Number(s.labels['quantile']), s.value] as const) } };
      if (type === 'histogram') {
        const buckets = samples.filter((s) => s.le !== undefined).map((s) => [s.le as number, s.value] as const).sort((a, b) => a[0] - b[0]);
        return { labels, classic: { count: count ?? Math.max(0, ...buckets.map(([, n]) => n)), sum, buckets } };
      }
      return { labels, value: samples[0]?.value ?? 0 };
    });
    return { name, help: help.get(name) ?? '', type, metrics };
  });
}

/** The capture as OpenMetrics text: no blank lines, `unknown` for untyped, exemplars after their bucket, `# EOF`. */
function openMetricsText(lines: readonly Line[]): string {
  const out: string[] = [];
  for (const l of lines) {
    if (typeof l === 'string') {
      if (/^# (HELP|TYPE) /.test(l)) out.push(l.replace(/^(# TYPE \S+) untyped$/, '$1 unknown'));
      continue;
    }
    const e = l.exemplar;
    out.push(`${sampleText(l)}${e === undefined ? '' : ` # {trace_id="${e.traceId}"} ${e.value} ${e.timestampS.toFixed(3)}`}`);
  }
  return `${out.join('\n')}\n# EOF\n`;
}

function sampleText(l: Sample): string {
  return `${l.name}${l.labelText} ${Number.isInteger(l.value) ? l.value : l.value.toFixed(6)}`;
}

/** Starts the exporter for a scenario; resolves with its URL and a stop function. */
export async function startReplay(scenario: ReplayScenario): Promise<ReplayExporter> {
  let lines = parseCapture(readFileSync(scenario.fixture, 'utf8'));
  const dropped = new Set(scenario.drop ?? []);
  if (dropped.size > 0) {
    const familyOfLine = (l: Line): string => (typeof l === 'string' ? (/^# (?:HELP|TYPE) (\S+)/.exec(l)?.[1] ?? '') : l.name.replace(/_(bucket|sum|count)$/, ''));
    lines = lines.filter((l) => !dropped.has(familyOfLine(l)));
  }
  if (scenario.rebucket) lines = rebucket(lines, scenario.rebucket.family, scenario.rebucket.le);
  for (const f of scenario.extra ?? []) lines.push(...extraLines(f));
  for (const a of scenario.addSeries ?? []) {
    const histogram = ['_bucket', '_count', '_sum'].map((suffix) => `${a.family}${suffix}`);
    const last = lines.reduce((at, l, i) => (typeof l !== 'string' && (l.name === a.family || l.name === `${a.family}_total` || histogram.includes(l.name)) ? i : at), -1);
    if (last < 0) throw new Error(`addSeries: the capture has no family ${a.family}`);
    const sibling = lines[last] as Sample;
    if (!histogram.includes(sibling.name)) {
      lines.splice(last + 1, 0, { name: sibling.name, labels: a.labels, labelText: labelText(a.labels), value: 0 });
      continue;
    }
    const key = seriesKey(sibling.labels);
    const series = lines.filter((l): l is Sample => typeof l !== 'string' && histogram.includes(l.name) && seriesKey(l.labels) === key);
    lines.splice(last + 1, 0, ...series.map((l): Sample => {
      const labels = { ...l.labels, ...a.labels };
      return { name: l.name, labels, labelText: labelText(labels), value: 0, ...(l.le !== undefined ? { le: l.le } : {}) };
    }));
  }
  const rename = scenario.rename;
  if (rename !== undefined) {
    const renamed = (name: string): string => (name.startsWith(rename.from) ? `${rename.to}${name.slice(rename.from.length)}` : name);
    lines = lines.map((l) => (typeof l === 'string' ? l.replace(/^(# (?:HELP|TYPE) )(\S+)/, (_m, head: string, name: string) => `${head}${renamed(name)}`) : { ...l, name: renamed(l.name), capturedName: l.name }));
  }
  const samples = lines.filter((l): l is Sample => typeof l !== 'string' && matches(l, scenario.labels));
  // Native histograms: one per series of each native family (those of other models stay empty).
  const native = new Map<string, Map<string, NativeHistogram>>();
  for (const n of scenario.native ?? []) {
    const series = new Map<string, NativeHistogram>();
    for (const l of lines) if (typeof l !== 'string' && (l.name === `${n.family}_count` || l.name === `${n.family}_bucket`)) series.set(seriesKey(l.labels), series.get(seriesKey(l.labels)) ?? { schema: n.schema, zeroThreshold: n.zeroThreshold, zeroCount: 0, count: 0, sum: 0, buckets: new Map() });
    native.set(n.family, series);
  }
  for (const s of samples) {
    const held = scenario.gauges?.[s.capturedName ?? s.name];
    if (held !== undefined) s.value = held;
  }
  const advancing = new Set(samples.map((s) => seriesKey(s.labels)));
  const traceRandom = seededRandom(scenario.seed + 7919);
  const traceId = (): string => Array.from({ length: 32 }, () => Math.floor(traceRandom() * 16).toString(16)).join('');
  const scrapes = { text: 0, openmetrics: 0, protobuf: 0 };
  const exemplarsMade: ServedExemplar[] = [];
  const random = seededRandom(scenario.seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const started = Date.now();
  let owed = 0;
  let requests = 0;
  let growPerS = scenario.growPerS ?? 0;
  let growFrom = started;
  const tick = (): void => {
    owed += scenario.rps / 10;
    const factor = 1 + (growPerS * (Date.now() - growFrom)) / 1000;
    for (; owed >= 1; owed -= 1) {
      requests += 1;
      const phaseMs: Record<string, number> = {};
      for (const [p, d] of Object.entries(scenario.phases)) phaseMs[p] = d.medianMs * Math.exp(d.sigma * normal()) * (scenario.grow === undefined || scenario.grow.includes(p) ? factor : 1);
      for (const o of scenario.observe) {
        const ms = o.of.reduce((a, p) => a + (phaseMs[p] ?? 0), 0);
        const v = ms * UNIT_PER_MS[o.unit];
        for (const [key, h] of native.get(o.family) ?? []) if (advancing.has(key)) observeNative(h, v);
        const slow = scenario.exemplars?.family === o.family && ms > scenario.exemplars.aboveMs ? { traceId: traceId(), value: v, timestampS: Date.now() / 1000 } : undefined;
        if (slow !== undefined) exemplarsMade.push(slow);
        const exemplarBucket = new Set<string>();
        for (const s of samples) {
          if (s.labels['quantile'] !== undefined || (o.labels !== undefined && !matches(s, o.labels))) continue;
          const name = s.capturedName ?? s.name;
          if (name === `${o.family}_bucket` && s.le !== undefined && v <= s.le) {
            s.value += 1;
            // The exemplar goes on the bucket the observation falls in: the first bound above it (captures list buckets in ascending order).
            const key = seriesKey(s.labels);
            if (slow !== undefined && !exemplarBucket.has(key)) {
              s.exemplar = slow;
              exemplarBucket.add(key);
            }
          } else if (name === `${o.family}_sum` || name === o.family || name === `${o.family}_total`) s.value += v;
          else if (name === `${o.family}_count`) s.value += 1;
        }
      }
      for (const c of scenario.count) {
        if (requests % (c.per ?? 1) !== 0) continue;
        const add = c.of === undefined ? 1 : Math.round(phaseMs[c.of] ?? 0);
        for (const s of samples) {
          const name = s.capturedName ?? s.name;
          if ((name === c.family || name === `${c.family}_total`) && (c.labels === undefined || matches(s, c.labels))) s.value += add;
        }
      }
    }
  };
  const timer = setInterval(tick, 100);
  const server = createServer((req, res) => {
    const accept = req.headers.accept ?? '';
    if (native.size > 0 && accept.includes('application/vnd.google.protobuf')) {
      scrapes.protobuf += 1;
      res.writeHead(200, { 'content-type': PROTOBUF_CONTENT_TYPE }).end(encodeFamilies(protobufFamilies(lines, native)));
      return;
    }
    if (scenario.exemplars !== undefined && accept.includes('application/openmetrics-text')) {
      scrapes.openmetrics += 1;
      res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(openMetricsText(lines));
      return;
    }
    scrapes.text += 1;
    const body = lines.map((l) => (typeof l === 'string' ? l : sampleText(l))).join('\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${body}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    reset: () => {
      for (const s of samples) s.value = 0;
      for (const [key, h] of [...native.values()].flatMap((series) => [...series])) {
        if (!advancing.has(key)) continue;
        Object.assign(h, { zeroCount: 0, count: 0, sum: 0 });
        h.buckets.clear();
      }
    },
    exemplars: () => exemplarsMade,
    scrapes,
    drift: (perS) => {
      growPerS = perS;
      growFrom = Date.now();
    },
    close: () => {
      clearInterval(timer);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1]?.endsWith('replay-exporter.ts') === true) {
  const scenario = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ReplayScenario;
  const running = await startReplay(scenario);
  console.log(JSON.stringify({ event: 'listening', url: running.url }));
  const stop = (): void => void running.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

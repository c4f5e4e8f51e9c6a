/**
 * @module prometheus/client
 * A small client for the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`,
 * `/api/v1/label/__name__/values`, `/api/v1/query_exemplars`), on Node's own fetch (undici).
 * Every failure becomes one PrometheusError line; nothing here retries or caches.
 * API reference: "HTTP API", https://prometheus.io/docs/prometheus/latest/querying/api/
 */
import { PrometheusError } from './errors.js';

/** Options of the client. */
export interface PrometheusClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 (a path prefix such as /prometheus is kept). */
  readonly url: string;
  /** Extra request headers, e.g. `Authorization: Bearer …` for a managed engine. Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-request timeout in ms. Default 15 000. */
  readonly timeoutMs?: number;
}

/** One sample as the API writes it: [unix seconds, value as a string]. */
export type PromSample = readonly [number, string];

/** A series of an instant vector. */
export interface InstantSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: PromSample;
}

/** A series of a range matrix. */
export interface RangeSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly PromSample[];
}

/** A native histogram sample as the API writes it: buckets are [boundary rule, lower, upper, count]. */
export interface NativeHistogramValue {
  readonly count: string;
  readonly sum: string;
  readonly buckets?: readonly (readonly [number, string, string, string])[];
}

/** A series of an instant vector of native histograms. */
export interface HistogramSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly histogram: readonly [number, NativeHistogramValue];
}

/** A series of a range matrix of native histograms. */
export interface HistogramRangeSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly histograms: readonly (readonly [number, NativeHistogramValue])[];
}

/** Exemplars of one series. */
export interface ExemplarSeries {
  readonly seriesLabels: Readonly<Record<string, string>>;
  readonly exemplars: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: string; readonly timestamp: number }[];
}

interface ApiAnswer<T> {
  readonly status: 'success' | 'error';
  readonly data?: T;
  readonly errorType?: string;
  readonly error?: string;
  readonly warnings?: readonly string[];
}

/** Parses `Name: value` header lines as `--header` takes them. */
export function parseHeaders(lines: readonly string[]): Record<string, string> {
  // No prototype: a header named __proto__ is kept like any other name.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
      throw new PrometheusError('option', '--header', `expected "Name: value", e.g. "Authorization: Bearer TOKEN", got ${JSON.stringify(line)}`);
    }
    const value = line.slice(colon + 1).trim();
    // RFC 9110 §5.5 (https://www.rfc-editor.org/rfc/rfc9110#section-5.5): no CR, LF or NUL in a field value; said here, not later as "cannot reach the engine".
    if (/[\r\n\0]/.test(value)) throw new PrometheusError('option', '--header', `expected a header value on one line (no CR, LF or NUL), got ${JSON.stringify(line)}`);
    headers[name] = value;
  }
  return headers;
}

/** Talks to one Prometheus-compatible engine. */
export class PrometheusClient {
  readonly url: string;
  private readonly base: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly timeoutMs: number;
  /** Warnings the engine attached to answers (partial data from a federated engine, …). */
  readonly warnings: string[] = [];

  constructor(options: PrometheusClientOptions) {
    this.url = options.url;
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new PrometheusError('url', options.url, 'expected a URL such as http://127.0.0.1:9090');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new PrometheusError('url', options.url, `expected an http:// or https:// URL, got ${base.protocol}`);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.headers = options.headers ?? {};
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** An instant query at `time` (unix seconds). */
  async query(expr: string, time: number): Promise<InstantSeries[]> {
    const data = await this.call<{ resultType: string; result: InstantSeries[] }>('api/v1/query', { query: expr, time: String(time) }, expr);
    return data.resultType === 'vector' ? data.result : [];
  }

  /** An instant query whose result is native histograms (series with floats are left out). */
  async queryHistograms(expr: string, time: number): Promise<HistogramSeries[]> {
    const data = await this.call<{ resultType: string; result: (Partial<HistogramSeries> & { metric: Record<string, string> })[] }>('api/v1/query', { query: expr, time: String(time) }, expr);
    return data.resultType === 'vector' ? data.result.filter((s): s is HistogramSeries => s.histogram !== undefined) : [];
  }

  /** A range query from `start` to `end` (unix seconds) every `stepS` seconds. */
  async queryRange(expr: string, start: number, end: number, stepS: number): Promise<RangeSeries[]> {
    const data = await this.call<{ resultType: string; result: RangeSeries[] }>('api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(stepS) }, expr);
    return data.resultType === 'matrix' ? data.result : [];
  }

  /** A range query whose result is native histograms (series with floats are left out). */
  async queryRangeHistograms(expr: string, start: number, end: number, stepS: number): Promise<HistogramRangeSeries[]> {
    const data = await this.call<{ resultType: string; result: (Partial<HistogramRangeSeries> & { metric: Record<string, string> })[] }>('api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(stepS) }, expr);
    return data.resultType === 'matrix' ? data.result.filter((s): s is HistogramRangeSeries => s.histograms !== undefined) : [];
  }

  /** Metric names that have samples between `start` and `end`, optionally only those matching `match` selectors. */
  async metricNames(start: number, end: number, match: readonly string[] = []): Promise<string[]> {
    const params: [string, string][] = [['start', String(start)], ['end', String(end)], ...match.map((m): [string, string] => ['match[]', m])];
    return this.call<string[]>('api/v1/label/__name__/values', params, undefined, 'GET');
  }

  /** Exemplars (trace ids on histogram buckets) of `expr` over a time range; [] where the engine stores none. */
  async exemplars(expr: string, start: number, end: number): Promise<ExemplarSeries[]> {
    try {
      return (await this.call<ExemplarSeries[] | null>('api/v1/query_exemplars', { query: expr, start: String(start), end: String(end) }, expr)) ?? [];
    } catch (error) {
      // Exemplar storage is an opt-in feature; engines without it answer 404 or an error.
      if (error instanceof PrometheusError && (error.kind === 'http' || error.kind === 'rejected' || error.kind === 'not-prometheus')) return [];
      throw error;
    }
  }

  private async call<T>(path: string, params: Record<string, string> | readonly [string, string][], expr: string | undefined, method: 'GET' | 'POST' = 'POST'): Promise<T> {
    const target = new URL(path, this.base);
    const body = new URLSearchParams(params as Record<string, string>).toString();
    if (method === 'GET') target.search = body;
    const where = expr === undefined ? '' : ` (query ${JSON.stringify(expr.length > 160 ? `${expr.slice(0, 160)}…` : expr)})`;
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: { accept: 'application/json', ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...this.headers },
        ...(method === 'POST' ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'follow',
      });
    } catch (error) {
      throw this.networkError(error, where);
    }
    if (response.status === 401 || response.status === 403) {
      throw new PrometheusError('auth', this.url, `HTTP ${response.status} ${response.statusText || 'Unauthorized'}: the engine refused the credentials; pass them with --header 'Authorization: Bearer TOKEN'`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.networkError(error, where);
    }
    let answer: ApiAnswer<T> | undefined;
    try {
      answer = JSON.parse(text) as ApiAnswer<T>;
    } catch {
      answer = undefined;
    }
    if (answer === undefined || typeof answer !== 'object' || answer === null || (answer.status !== 'success' && answer.status !== 'error')) {
      const hint = response.status === 404 ? ` (no ${path} here: is this the Prometheus base URL, e.g. http://host:9090?)` : '';
      const kind = response.ok || response.status === 404 ? 'not-prometheus' : 'http';
      throw new PrometheusError(kind, this.url, `expected a Prometheus API answer from /${path}, got HTTP ${response.status} ${response.statusText}${hint}`.trim());
    }
    if (answer.status === 'error') {
      const kind = answer.errorType === 'timeout' ? 'timeout' : 'rejected';
      throw new PrometheusError(kind, this.url, `the engine rejected the query${where}: ${answer.errorType ?? 'error'}: ${answer.error ?? 'no reason given'}`);
    }
    for (const w of answer.warnings ?? []) if (!this.warnings.includes(w)) this.warnings.push(w);
    return answer.data as T;
  }

  private networkError(error: unknown, where: string): PrometheusError {
    const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return new PrometheusError('timeout', this.url, `no answer within ${this.timeoutMs / 1000} s${where}`);
    }
    const code = e.cause?.code ?? '';
    const reason = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found' : (e.cause?.message ?? e.message ?? String(error));
    return new PrometheusError('unreachable', this.url, `cannot reach the engine: ${reason}`);
  }
}

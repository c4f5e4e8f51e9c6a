/**
 * @module prometheus/errors
 * The one error type of the Prometheus input: a URL that does not answer, a refused login, a
 * timeout, a query the engine rejects, or nothing to analyse. Its message is one line naming the
 * URL (and the query when there is one) and what was expected; the CLI prints it and exits 2.
 */

/** What went wrong talking to the Prometheus-compatible engine. */
export type PrometheusErrorKind = 'url' | 'unreachable' | 'auth' | 'timeout' | 'http' | 'not-prometheus' | 'rejected' | 'empty' | 'option';

import { LatencyDoctorError } from '../errors.js';

/** A Prometheus query that cannot give an analysis. Exit code 2. */
export class PrometheusError extends LatencyDoctorError {
  override readonly name = 'PrometheusError';
  readonly kind: PrometheusErrorKind;
  /** The engine's base URL as the user gave it. */
  readonly url: string;

  constructor(kind: PrometheusErrorKind, url: string, message: string) {
    super(`${url}: ${message.replace(/\s*\n\s*/g, ' ')}`);
    this.kind = kind;
    this.url = url;
  }
}

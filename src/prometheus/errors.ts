/**
 * @module prometheus/errors
 * The one error type of the Prometheus input: a URL that does not answer, a refused login, a
 * timeout, a query the engine rejects, or nothing to analyse. Its message is one line naming the
 * URL (and the query when there is one) and what was expected; the CLI prints it and exits 2,
 * or 4 for a range that measured nothing (kind `nothing-measured`, worded as "nothing measured: …").
 */

/** What went wrong talking to the Prometheus-compatible engine. */
export type PrometheusErrorKind = 'url' | 'unreachable' | 'auth' | 'timeout' | 'http' | 'not-prometheus' | 'rejected' | 'empty' | 'option' | 'nothing-measured';

import { EXIT, LatencyDoctorError } from '../errors.js';

/** A Prometheus query that cannot give an analysis. Exit code 2; 4 when the range measured nothing. */
export class PrometheusError extends LatencyDoctorError {
  override readonly name = 'PrometheusError';
  readonly kind: PrometheusErrorKind;
  /** The engine's base URL as the user gave it. */
  readonly url: string;

  constructor(kind: PrometheusErrorKind, url: string, message: string) {
    const line = message.replace(/\s*\n\s*/g, ' ');
    // "nothing measured" leads, as on every input path; the message names the URL itself.
    if (kind === 'nothing-measured') super(`nothing measured: ${line}`, { exitCode: EXIT.NOTHING_MEASURED });
    else super(`${url}: ${line}`);
    this.kind = kind;
    this.url = url;
  }
}

/**
 * @module errors
 * The base of every user-facing error: a mistake in the input or on the command line (or a
 * verdict such as a missed SLO) that ends the run with an exit code and one line on stderr.
 * Each domain has its own subclass (TraceFormatError, DiagnoseOptionError, AnalysisError,
 * SidecarError, CliError, PrometheusError); `cli/main` catches the base once, and is the only code that exits.
 */

/** Exit codes of `latency-doctor`. */
export const EXIT = {
  OK: 0,
  /** Unexpected failure (a bug): the message, and the stack with --verbose. */
  INTERNAL: 1,
  /** A user mistake: bad file, bad option. */
  USAGE: 2,
  /** `--fail-on-slo` and an objective was missed. */
  SLO_VIOLATED: 3,
  /**
   * Nothing was measured: no readable span in the input (empty, or every record skipped), or
   * `--fail-on-slo` with no inference request to check the objective on. Gates fail closed.
   */
  NOTHING_MEASURED: 4,
} as const;

/** A failure the user can act on: its message is one line, printed as is, and the run ends with `exitCode`. */
export class LatencyDoctorError extends Error {
  override readonly name: string = 'LatencyDoctorError';
  /** Exit code of the CLI for this error. Default EXIT.USAGE. */
  readonly exitCode: number;
  /** Printed before the message (e.g. `sidecar`), naming the part that failed; empty for none. */
  readonly scope: string;

  constructor(message: string, options: { readonly exitCode?: number; readonly scope?: string } = {}) {
    super(message);
    this.exitCode = options.exitCode ?? EXIT.USAGE;
    this.scope = options.scope ?? '';
  }
}

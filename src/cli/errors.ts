/**
 * @module cli/errors
 * The CLI's own error type: a user mistake on the command line (or a verdict such as a failed
 * SLO) that ends the run with a given exit code and one line on stderr.
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

/** Ends the command with `exitCode` after printing `message` as one line on stderr. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.USAGE) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * @module cli/errors
 * The CLI's own error type: a user mistake on the command line (or a verdict such as a failed
 * SLO) that ends the run with a given exit code and one line on stderr.
 */
import { EXIT, LatencyDoctorError } from '../errors.js';

export { EXIT } from '../errors.js';

/** Ends the command with `exitCode` after printing `message` as one line on stderr. */
export class CliError extends LatencyDoctorError {
  override readonly name = 'CliError';

  constructor(message: string, exitCode: number = EXIT.USAGE) {
    super(message, { exitCode });
  }
}

/**
 * @module analyzer/diagnose/errors
 * The one error type of the diagnosis domain: a bad `--slo` or `--threshold` value.
 * The CLI turns it into one line and exit code 2.
 */

import { LatencyDoctorError } from '../../errors.js';

/** A diagnosis option the user wrote could not be understood. Exit code 2. */
export class DiagnoseOptionError extends LatencyDoctorError {
  override readonly name = 'DiagnoseOptionError';
  /** The option as the user wrote it, e.g. `--slo`. */
  readonly option: string;
  /** The offending text. */
  readonly input: string;

  constructor(option: string, input: string, expected: string) {
    super(`${option} ${JSON.stringify(input)}: expected ${expected}`);
    this.option = option;
    this.input = input;
  }
}

/**
 * @module analyzer/errors
 * The analyzer's error: in strict mode, spans the assembler had to drop (ending before they
 * start, or arriving after their trace was finalized) fail the run instead of a warning.
 */
import { LatencyDoctorError } from '../errors.js';

/** The input could be read, but not used as asked (strict mode). Exit code 2. */
export class AnalysisError extends LatencyDoctorError {
  override readonly name = 'AnalysisError';
}

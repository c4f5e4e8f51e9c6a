/**
 * @module cli/errors
 * The CLI's own error type: a user mistake on the command line (or a verdict such as a failed
 * SLO) that ends the run with a given exit code and one line on stderr.
 */
import type { AnalysisResult } from '../analyzer/index.js';
import { EXIT, EXIT_MEANINGS, LatencyDoctorError } from '../errors.js';
import { formatCount } from '../report/_format.js';

export { EXIT } from '../errors.js';

/** Ends the command with `exitCode` after printing `message` as one line on stderr. */
export class CliError extends LatencyDoctorError {
  override readonly name = 'CliError';

  constructor(message: string, exitCode: number = EXIT.USAGE) {
    super(message, { exitCode });
  }
}

/** The exit-code table both `analyze --help` and `diff --help` end with. */
export function exitCodesHelp(): string {
  return `\nExit codes:\n${Object.entries(EXIT_MEANINGS).map(([code, meaning]) => `  ${code}  ${meaning}`).join('\n')}\n`;
}

/**
 * Fails closed when `files` gave no span at all (empty, every record skipped, or only the
 * sidecar's GPU samples): exit 4, in `analyze` and in each side of `diff` alike.
 */
export function assertMeasured(result: AnalysisResult, files: readonly string[]): void {
  if (result.spans > 0) return;
  const skipped = result.files.reduce((n, f) => n + f.skipped, 0);
  // GPU sample files hold no spans by design: say what is missing, not that they are unreadable.
  if (result.files.length > 0 && result.files.every((f) => f.format === 'gpu-samples')) {
    // Named as read: a directory given stands for the files in it.
    const read = result.files.map((f) => f.file);
    throw new CliError(`nothing measured: ${read.join(', ')} ${read.length === 1 ? 'is a GPU sample file' : 'are GPU sample files'} (the sidecar's), with no trace: give the trace export of the same window beside ${read.length === 1 ? 'it' : 'them'}`, EXIT.NOTHING_MEASURED);
  }
  const what = skipped === 1 ? 'unreadable span, line or record' : 'unreadable spans, lines or records';
  // The first thing a reader skipped, where and why: the one line says what to repair.
  const first = result.warnings.find((w) => w.code === 'read' && w.file !== undefined && / skipped: /.test(w.message));
  const why = first === undefined ? '' : `; ${first.file}${first.location === undefined ? '' : `:${first.location}`}: ${first.message}`;
  throw new CliError(`nothing measured: no readable spans in ${files.join(', ')}${skipped > 0 ? ` (${formatCount(skipped)} ${what} skipped)` : ''}${why}`, EXIT.NOTHING_MEASURED);
}

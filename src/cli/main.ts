/**
 * @module cli/main
 * argv → command. The only module that turns errors into exit codes: a user mistake (any
 * LatencyDoctorError: TraceFormatError, DiagnoseOptionError, AnalysisError, SidecarError,
 * CliError; or a bad option) is one line on stderr and its exit code (2, 3 for a failed gate, 4 when
 * nothing was measured);
 * anything else is a bug, exit 1, stack with --verbose.
 * Each command lives in its own module and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { EXIT, LatencyDoctorError } from '../errors.js';
import { escapeControls } from '../report/_format.js';
import { registerAnalyzeCommand } from './analyze.js';
import { registerSidecarCommand } from './sidecar.js';
import { diffArgv, registerDiffCommand } from './diff.js';
import { followSupervisor, reportExitCode } from './supervise.js';

const program = new Command('latency-doctor')
  .description('Find where inference latency goes, and what to do about it.')
  .version(await packageVersion(), '-V, --version')
  .exitOverride()
  // Commander's own errors (bad option, missing argument) in the same one-line form as ours.
  .configureOutput({ outputError: (text, write) => write(`latency-doctor: ${oneLine(text.replace(/^error: /, ''))} (run with --help for usage)\n`) });

followSupervisor();
registerAnalyzeCommand(program).exitOverride();
registerSidecarCommand(program).exitOverride();
registerDiffCommand(program).exitOverride();

try {
  await program.parseAsync(diffArgv(process.argv));
} catch (error) {
  process.exitCode = exitCodeFor(error);
}
// Under the supervisor (analyze, diff), the code is final once the output is written.
reportExitCode(Number(process.exitCode ?? EXIT.OK));

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (usage errors) or the help/version text.
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof LatencyDoctorError) {
    process.stderr.write(`latency-doctor: ${error.scope === '' ? '' : `${error.scope}: `}${oneLine(error.message)}\n`);
    return error.exitCode;
  }
  const verbose = process.argv.includes('--verbose');
  const message = error instanceof Error ? (verbose && error.stack ? error.stack : error.message) : String(error);
  process.stderr.write(`latency-doctor: internal error: ${verbose ? message : oneLine(message)}${verbose ? '' : ' (run with --verbose for details)'}\n`);
  return EXIT.INTERNAL;
}

/**
 * One printable line: line breaks folded, and control bytes (ESC sequences, C1, bidi overrides)
 * copied from the input shown as `\xNN` / `\uNNNN` so they cannot drive the user's terminal.
 */
function oneLine(text: string): string {
  return escapeControls(text.trim().replace(/\s*[\n\r]+\s*/g, ' '));
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

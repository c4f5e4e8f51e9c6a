/**
 * @module cli/main
 * argv → command. The only module that turns errors into exit codes: a user mistake (any
 * LatencyDoctorError: TraceFormatError, DiagnoseOptionError, AnalysisError, SidecarError,
 * CliError; or a bad option) is one line on stderr and its exit code (2, or 3 for a missed SLO);
 * anything else is a bug, exit 1, stack with --verbose.
 * Each command lives in its own module and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { EXIT, LatencyDoctorError } from '../errors.js';
import { registerAnalyzeCommand } from './analyze.js';
import { registerSidecarCommand } from './sidecar.js';
import { diffArgv, registerDiffCommand } from './diff.js';

const program = new Command('latency-doctor')
  .description('Find where inference latency goes, and what to do about it.')
  .version(await packageVersion(), '-V, --version')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

registerAnalyzeCommand(program).exitOverride();
registerSidecarCommand(program).exitOverride();
registerDiffCommand(program).exitOverride();

try {
  await program.parseAsync(diffArgv(process.argv));
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

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

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

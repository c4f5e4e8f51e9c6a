/**
 * @module cli/main
 * argv → command. The only module that turns errors into exit codes: a user mistake
 * (TraceFormatError, DiagnoseOptionError, PrometheusError, CliError, a bad option) is one line on stderr and
 * exit 2 (or the CliError's own code); anything else is a bug, exit 1, stack with --verbose.
 * Each command lives in its own module and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { TraceFormatError } from '../formats/index.js';
import { DiagnoseOptionError } from '../analyzer/diagnose/index.js';
import { PrometheusError } from '../prometheus/index.js';
import { registerAnalyzeCommand } from './analyze.js';
import { registerSidecarCommand } from './sidecar.js';
import { CliError, EXIT } from './errors.js';

const program = new Command('latency-doctor')
  .description('Find where inference latency goes, and what to do about it.')
  .version(await packageVersion(), '-V, --version')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

registerAnalyzeCommand(program).exitOverride();
registerSidecarCommand(program).exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (usage errors) or the help/version text.
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof TraceFormatError || error instanceof DiagnoseOptionError || error instanceof PrometheusError) {
    process.stderr.write(`latency-doctor: ${oneLine(error.message)}\n`);
    return EXIT.USAGE;
  }
  if (error instanceof CliError) {
    process.stderr.write(`latency-doctor: ${oneLine(error.message)}\n`);
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

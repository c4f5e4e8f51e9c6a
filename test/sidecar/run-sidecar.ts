/**
 * Runs `latency-doctor sidecar` through the real CLI module, without the rest of the CLI
 * (tests and the benchmark spawn it as a separate process with the fake nvidia-smi on PATH).
 */
import { Command } from 'commander';
import { CliError } from '../../src/cli/errors.js';
import { registerSidecarCommand } from '../../src/cli/sidecar.js';

const program = new Command('latency-doctor');
registerSidecarCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // What cli/main does with a CliError: one line, its exit code.
  if (!(error instanceof CliError)) throw error;
  process.stderr.write(`latency-doctor: ${error.message}\n`);
  process.exitCode = error.exitCode;
}

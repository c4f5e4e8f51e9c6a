/**
 * Runs `latency-doctor sidecar` through the real CLI module, without the rest of the CLI
 * (tests and the benchmark spawn it as a separate process with the fake nvidia-smi on PATH).
 */
import { Command } from 'commander';
import { registerSidecarCommand } from '../../src/cli/sidecar.js';

const program = new Command('latency-doctor');
registerSidecarCommand(program);
await program.parseAsync(process.argv);

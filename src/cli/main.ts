/**
 * @module cli/main
 * argv → command. The only module that calls process.exit.
 */
import { Command } from 'commander';

const program = new Command('latency-doctor').description('Find where inference latency goes, and what to do about it.');
await program.parseAsync(process.argv);

#!/usr/bin/env node
// analyze and diff run in a child that is ended once it has said its exit code (Node's rare hang
// at exit, see dist/cli/supervise.js); the sidecar and --help/--version run here.
import { fileURLToPath } from 'node:url';
import { supervise, wantsSupervisor } from '../dist/cli/supervise.js';

if (wantsSupervisor(process.argv)) {
  process.exitCode = await supervise(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)), process.argv.slice(2));
} else {
  await import('../dist/cli/main.js');
}

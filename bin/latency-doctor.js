#!/usr/bin/env node
// analyze and diff run in a child that is ended once it has said its exit code (Node's rare hang
// at exit, see dist/cli/supervise.js), from the CLI bundled into one module
// (scripts/bundle-cli.mjs), which loads in about half the time of its ~150 files; the sidecar
// and --help/--version run here, from the modules.
import { fileURLToPath } from 'node:url';
import { supervise, wantsSupervisor } from '../dist/cli/supervise.js';

if (wantsSupervisor(process.argv)) {
  process.exitCode = await supervise(fileURLToPath(new URL('../dist/cli/main.bundle.js', import.meta.url)), process.argv.slice(2));
} else {
  await import('../dist/cli/main.js');
}

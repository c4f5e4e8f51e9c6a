/**
 * @module test/support/cli
 * Runs `latency-doctor …` as installed (bin/latency-doctor.js → dist/; `npm test` builds first),
 * for the tests that check what a user sees: stdout, stderr and the exit code.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/** The command as installed here. */
export const BIN = join(root, 'bin/latency-doctor.js');

/** What one CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `latency-doctor ARGS…` with colours off; never rejects (a failure is a non-zero code). */
export function runCli(...args: string[]): Promise<CliRun> {
  return runCliAt(BIN, ...args);
}


/** `runCli` with the command at `bin` (a copy of the package installed elsewhere). */
export function runCliAt(bin: string, ...args: string[]): Promise<CliRun> {
  return runCliWith({}, bin, ...args);
}

/** `runCliAt` with `env` added to this process's environment. */
export function runCliWith(env: Readonly<Record<string, string>>, bin: string, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Builds dist/ when a test run starts from a clean tree (`npm test` builds first; a single file run may not). */
export function ensureBuilt(): void {
  if (!existsSync(join(root, 'dist/cli/main.js'))) execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
}

/**
 * @module examples/scenarios/child-processes
 * Runs the example service as a child process (the load generator stays in the parent, so the
 * client's event loop never shares a thread with the server's) and makes sure no child outlives
 * its parent: every child is tracked and killed on exit (and by `killAllChildren` from SIGINT
 * handlers), and the service also stops by itself when its stdin (our pipe) closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root: children run from here so `--import tsx` resolves. */
export const REPO_ROOT = join(here, '..', '..');
const SERVICE_MAIN = join(here, '..', 'service', 'main.ts');

/** A child that failed to start or to finish. */
export class ChildProcessError extends Error {
  override readonly name = 'ChildProcessError';
}

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function track(child: ChildProcess): void {
  installHooks();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Kills every child still running (for SIGINT handlers). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** A service running in a child process. */
export interface ServiceProcess {
  readonly url: string;
  readonly metricsUrl: string | null;
  readonly pid: number;
  /** SIGTERM, then wait for the spans to be flushed and the process to exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Starts `examples/service/main.ts` with `args`; resolves once it listens. */
export function startServiceProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVICE_MAIN, '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, EXIT_ON_STDIN_CLOSE: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ChildProcessError(`service did not start within 60 s: ${stderr.trim()}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ChildProcessError(`service exited with code ${code} before listening: ${stderr.trim()}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let event: { event?: string; url?: string; metricsUrl?: string | null } | undefined;
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          continue;
        }
        if (event?.event === 'listening' && typeof event.url === 'string') {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          track(child);
          const url = event.url;
          resolve({
            url,
            metricsUrl: event.metricsUrl ?? null,
            pid: child.pid ?? -1,
            async stop() {
              child.kill('SIGTERM');
              await waitForExit(child, 10_000);
            },
          });
        }
      }
    });
  });
}

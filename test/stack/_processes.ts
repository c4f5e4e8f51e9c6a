/**
 * @module test/stack/_processes
 * Child processes for the loopback end-to-end test: start one, wait for a line or a URL, and
 * stop it for sure (SIGTERM, then SIGKILL), so no test leaves a server behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

/** A child we started, with everything it printed so far (for failure messages). */
export interface Started {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a child whose stdout/stderr are collected. */
export function start(command: string, args: readonly string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    output: () => text,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the first match of `pattern` in the child's output; rejects on exit or timeout. */
export function waitForOutput(started: Started, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = started.output().match(pattern);
      if (m !== null) {
        cleanup();
        resolve(m);
        return true;
      }
      return false;
    };
    const onData = (): void => void check();
    const onExit = (): void => {
      if (!check()) {
        cleanup();
        reject(new Error(`process exited before printing ${String(pattern)}:\n${started.output()}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${started.output()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      started.child.stdout?.off('data', onData);
      started.child.stderr?.off('data', onData);
      started.child.off('exit', onExit);
    };
    started.child.stdout?.on('data', onData);
    started.child.stderr?.on('data', onData);
    started.child.once('exit', onExit);
    check();
  });
}

/** A port that was free on 127.0.0.1 a moment ago (for servers that cannot report port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value or the time is up. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

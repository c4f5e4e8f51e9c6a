/**
 * @module sidecar/supervised-child
 * Child processes the sidecar can always get rid of, and whose output cannot hurt it. Every child
 * is spawned detached, so it leads its own process group and a kill reaches whatever it spawned
 * (a wedged nvidia-smi, or a wrapper script's grandchildren). Nothing here throws or rejects:
 * spawn errors, a missing executable and timeouts are results. Output is bounded: a one-shot
 * query's stdout by `maxBytes`, a stream's lines by LineSplitter's cap.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Signals a child's whole process group; falls back to the child alone when it leads none (or is gone). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once the child closed. */
export function terminateGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child) || child.pid === undefined) {
    // The leader may be gone while its group lives on (a grandchild holding the pipe).
    if (child.pid !== undefined) signalGroup(child, 'SIGKILL');
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const hard = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    hard.unref();
    child.once('close', () => {
      clearTimeout(hard);
      resolve();
    });
    signalGroup(child, 'SIGTERM');
  });
}

/** What a one-shot run gave. */
export interface OneShotResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; null when killed by a signal or never started. */
  readonly code: number | null;
  /** Killed (with its process group) after `timeoutMs`. */
  readonly timedOut: boolean;
  /** The executable does not exist (ENOENT). */
  readonly notFound: boolean;
  /** Spawn error or output overflow, when there was one. */
  readonly error?: string;
}

/** Options of runOneShot. */
export interface OneShotOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** stdout cap; the child's group is killed past it. */
  readonly maxBytes: number;
  /** Live children, so a stop can end one still in flight. */
  readonly children: Set<ChildProcess>;
}

/** Runs `command args` to completion in its own process group; never rejects. */
export function runOneShot(command: string, args: readonly string[], options: OneShotOptions): Promise<OneShotResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
    } catch (error) {
      resolve({ stdout: '', stderr: '', code: null, timedOut: false, notFound: false, error: (error as Error).message });
      return;
    }
    options.children.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let timedOut = false;
    let notFound = false;
    let error: string | undefined;
    // SIGKILL to the group at once: a query past its timeout is wedged, and whatever it spawned goes with it.
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, 'SIGKILL');
    }, options.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > options.maxBytes) {
        if (error === undefined) error = `output larger than ${options.maxBytes} bytes`;
        signalGroup(child, 'SIGKILL');
        return;
      }
      stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      // stderr is context for messages only; keep its start.
      if (stderrBytes < 64 * 1024) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('error', () => undefined);
    child.on('error', (spawnError: NodeJS.ErrnoException) => {
      if (spawnError.code === 'ENOENT') notFound = true;
      error ??= spawnError.message;
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      options.children.delete(child);
      const result: OneShotResult = {
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        code,
        timedOut,
        notFound,
        ...(error !== undefined ? { error } : {}),
      };
      resolve(result);
    });
  });
}

/** What LineSplitter.push found in one chunk. */
export interface SplitLines {
  /** Complete lines, oldest first, without their newline (a trailing CR is removed). */
  readonly lines: string[];
  /** Lines longer than the cap: dropped whole, counted. */
  readonly overflows: number;
}

/**
 * Splits a text stream into lines, holding at most `maxLineChars` of an unfinished line. A longer
 * line is dropped (everything up to its newline) and counted, so a child that writes without
 * newlines costs constant memory (a real nvidia-smi row is under 1 KB).
 */
export class LineSplitter {
  private partial = '';
  private overflowing = false;

  constructor(private readonly maxLineChars: number) {}

  /** Characters of an unfinished line held right now (never above the cap). */
  get heldChars(): number {
    return this.partial.length;
  }

  /** Feeds one decoded chunk. */
  push(chunk: string): SplitLines {
    const lines: string[] = [];
    let overflows = 0;
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (newline < 0) break;
      const piece = chunk.slice(start, newline);
      start = newline + 1;
      if (this.overflowing) {
        this.overflowing = false;
        continue;
      }
      const line = this.partial + piece;
      this.partial = '';
      if (line.length > this.maxLineChars) {
        overflows += 1;
        continue;
      }
      lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    const rest = chunk.slice(start);
    if (!this.overflowing && rest !== '') {
      if (this.partial.length + rest.length > this.maxLineChars) {
        this.partial = '';
        this.overflowing = true;
        overflows += 1;
      } else {
        this.partial += rest;
      }
    }
    return { lines, overflows };
  }
}

/** Callbacks of a streaming child; exceptions thrown by them are caught and passed to `fault`. */
export interface StreamHandlers {
  /** Complete lines of one chunk, oldest first. */
  lines(lines: readonly string[]): void;
  /** Lines dropped for length. */
  overflow(count: number): void;
  /** First line of a stderr chunk (context for error messages). */
  stderr(line: string): void;
  /** A spawn error (the child may still emit close). */
  spawnError(message: string): void;
  close(code: number | null, signal: NodeJS.Signals | null): void;
  /** An error inside the stream handling itself: reported, never thrown to the event loop. */
  fault(error: unknown): void;
}

/** Spawns a long-lived child in its own process group and feeds its stdout, line by line, to `handlers`. */
export function spawnLineStream(command: string, args: readonly string[], env: NodeJS.ProcessEnv, maxLineChars: number, handlers: StreamHandlers): ChildProcess | string {
  let child: ChildProcess;
  try {
    child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
  } catch (error) {
    return (error as Error).message;
  }
  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (error) {
        try {
          handlers.fault(error);
        } catch {
          // The fault handler itself failed; nothing is left to tell.
        }
      }
    };
  const splitter = new LineSplitter(maxLineChars);
  child.stdout?.setEncoding('utf8');
  child.stdout?.on(
    'data',
    guarded((chunk: string) => {
      const { lines, overflows } = splitter.push(chunk);
      if (overflows > 0) handlers.overflow(overflows);
      if (lines.length > 0) handlers.lines(lines);
    }),
  );
  // stderr is drained (a full pipe would stall the child) and kept only as context.
  child.stderr?.setEncoding('utf8');
  child.stderr?.on(
    'data',
    guarded((chunk: string) => {
      const line = chunk.slice(0, 512).split(/\r?\n/).find((l) => l.trim() !== '');
      if (line !== undefined) handlers.stderr(line.trim());
    }),
  );
  for (const stream of [child.stdout, child.stderr]) stream?.on('error', guarded((error: Error) => handlers.fault(error)));
  child.on('error', guarded((error: Error) => handlers.spawnError(error.message)));
  child.on('close', guarded((code: number | null, signal: NodeJS.Signals | null) => handlers.close(code, signal)));
  return child;
}

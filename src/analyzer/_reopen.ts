/**
 * @module analyzer/_reopen
 * Internal: a file read past the open-file window (analyzer/files.ts) is opened again by its name
 * when the merge comes to it; this checks that the name still holds the file detection saw.
 */
import { stat } from 'node:fs/promises';
import type { ReadStats } from '../formats/index.js';
import type { SpanRecord } from '../model/span.js';

/** Which file a path named when it was detected: a file opened again by its name is checked against it. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
}

/**
 * Reads a file past the open-file window, opened again by name: when the name now holds another
 * file, or a shorter one (the Collector rotated it during the run: renamed it and started a new
 * one, or truncated it), it is read as it is now and a warning says so, instead of its spans
 * changing unsaid.
 */
export async function* readAgain(file: string, was: FileIdentity | undefined, read: () => AsyncGenerator<SpanRecord[], ReadStats>): AsyncGenerator<SpanRecord[], ReadStats> {
  const change = was === undefined ? undefined : changeOf(was, await fileIdentity(file));
  const stats = yield* read();
  if (change === undefined) return stats;
  return { ...stats, warnings: [...stats.warnings, { file, message: `${file} ${change} since it was listed (a rotation during the run?): read as it is now`, count: 1 }] };
}

/** How the file at a path differs from the one it held: another file, a shorter one, or none (also when it is gone: its reader names that). */
function changeOf(was: FileIdentity, now: FileIdentity | undefined): string | undefined {
  if (now === undefined) return undefined;
  if (now.dev !== was.dev || now.ino !== was.ino) return 'is another file (renamed or replaced)';
  return now.size < was.size ? 'is shorter (truncated)' : undefined;
}

/** The identity of `file` now, or undefined when it cannot be read (its reader names the problem later). */
export async function fileIdentity(file: string): Promise<FileIdentity | undefined> {
  try {
    const { dev, ino, size } = await stat(file);
    return { dev, ino, size };
  } catch {
    return undefined;
  }
}

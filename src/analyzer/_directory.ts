/**
 * @module analyzer/_directory
 * A directory given as an input: the OpenTelemetry Collector's file exporter with rotation
 * writes one (the live file at its `path`, and each rotated backup renamed with a timestamp
 * before the extension: `data.json` → `data-2022-09-14T05-02-14.173.json`; File Exporter README,
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/fileexporter).
 * Lists its files in the order they were written; which of them are traces is detection's call
 * (files.ts), never the names'.
 */
import { readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { TraceFormatError } from '../formats/index.js';

/** One file of a directory given as an input. */
export interface DirectoryFile {
  /** Its path: the directory as the user named it, joined with the file's name. */
  readonly file: string;
  /** Its size when listed: 0 is a file nothing was written to yet (a just-rotated live file). */
  readonly bytes: number;
}

/** A directory's regular files (not hidden, not in subdirectories), oldest rotation first. */
export interface DirectoryListing {
  readonly directory: string;
  readonly files: readonly DirectoryFile[];
}

/** Returns the listing when `input` is a directory, else undefined (a file, a pipe, `-`, or a path for the readers to refuse). */
export async function listDirectory(input: string): Promise<DirectoryListing | undefined> {
  let info: Stats;
  try {
    info = await stat(input);
  } catch {
    // Missing or unreadable: the readers name the problem, as for any input.
    return undefined;
  }
  if (!info.isDirectory()) return undefined;
  let names: string[];
  try {
    names = await readdir(input);
  } catch (error) {
    throw new TraceFormatError(input, '', 'a directory that can be listed', (error as NodeJS.ErrnoException).code ?? 'an error');
  }
  // Dot-files are an editor's or a tool's (.swp, .DS_Store, a half-written .tmp), never an export.
  const visible = names.filter((name) => !name.startsWith('.'));
  const files: (DirectoryFile & { readonly key: RotationKey })[] = [];
  for (const name of visible) {
    const file = join(input, name);
    let entry: Stats;
    try {
      // stat, not lstat: a link to a file is that file.
      entry = await stat(file);
    } catch {
      continue;
    }
    if (entry.isFile()) files.push({ file, bytes: entry.size, key: rotationKey(name) });
  }
  if (files.length === 0) {
    const hidden = names.length - visible.length;
    const what = visible.length === 0 && hidden === 0 ? 'an empty directory' : `a directory with no regular file${hidden > 0 ? ` (${hidden} hidden file${hidden === 1 ? '' : 's'} skipped)` : ''}`;
    throw new TraceFormatError(input, '', 'a directory holding trace files', what);
  }
  files.sort((a, b) => compareKeys(a.key, b.key));
  return { directory: input, files: files.map(({ file, bytes }) => ({ file, bytes })) };
}

/** Where a file sorts: by the name it rotates under, then its backups by time, then the live file. */
interface RotationKey {
  readonly name: string;
  readonly base: string;
  /** The backup's timestamp (`2022-09-14T05-02-14.173`), '' for a file that is not a backup. */
  readonly stamp: string;
}

/** The timestamp the file exporter's rotation puts before the extension (its format sorts as text). */
const BACKUP_STAMP = /^(.*)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3})((?:\.[^.]*)*)$/;
/** A compression suffix a rotated backup may have gained afterwards (logrotate, a cron job): grouped with its live file. */
const COMPRESSED_SUFFIX = /\.(?:gz|zst)$/;

function rotationKey(name: string): RotationKey {
  const match = BACKUP_STAMP.exec(name);
  if (match === null) return { name, base: name.replace(COMPRESSED_SUFFIX, ''), stamp: '' };
  return { name, base: `${match[1]!}${match[3]!}`.replace(COMPRESSED_SUFFIX, ''), stamp: match[2]! };
}

function compareKeys(a: RotationKey, b: RotationKey): number {
  if (a.base !== b.base) return a.base < b.base ? -1 : 1;
  // The live file (no stamp) was written last; the name settles the rest, so the order never
  // depends on the order the file system lists them in.
  if (a.stamp !== b.stamp) return a.stamp === '' ? 1 : b.stamp === '' ? -1 : a.stamp < b.stamp ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

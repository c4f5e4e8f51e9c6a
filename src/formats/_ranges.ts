/**
 * @module formats/_ranges
 * Internal. Reading one uncompressed JSON lines file as several byte ranges, one per reader
 * thread, and merging what the ranges found into the ReadStats one reader would have given.
 *
 * A range [start, end) owns every line that starts inside it: it begins after the first newline
 * at or after `start - 1` (at 0 for the first range) and stops after the first newline at or
 * after `end - 1`, so every line belongs to exactly one range, whatever the boundaries cut.
 * Lines are converted one at a time, so a range reads like the same lines in one file; what a
 * whole file adds (line numbers, the first document deciding the family, the id decoder's
 * base64 decision, the whole-file checks at the end) is settled by `RangeMerger`, which takes
 * the ranges in file order.
 */

import { open } from 'node:fs/promises';
import { positionedChunks, positionedReads } from './_bytes.js';
import type { TraceFormat } from '../model/span.js';
import { ReadContext } from './_context.js';
import type { ContextState } from './_context.js';
import type { JsonFamily } from './detect.js';
import { formatOf } from './detect.js';
import { TraceFormatError } from './errors.js';
import type { FastReadCounts } from './_otlp-fast.js';
import type { ReadStats } from './read.js';

/** One byte range of a JSON lines file, as a reader thread is asked to read it. */
export interface LineRange {
  readonly file: string;
  readonly start: number;
  readonly end: number;
  /** The file's first range (line 1, a BOM, the document that decides the family). */
  readonly first: boolean;
  /** The family detection found, for the ranges after the first (and the first, where `familyOfLineOne`). */
  readonly family: JsonFamily;
  /** Detection found the family on line 1 itself (read.ts `familyOfLineOne`): the first range's byte scanner takes that line, as a whole read's does. */
  readonly familyOfLineOne: boolean;
  /** Lines carry a log prefix before their JSON (see Sniffed.prefixed). */
  readonly prefixed: boolean;
}

/** A TraceFormatError as plain data, with its place as the range numbered it. */
export interface RangeError {
  readonly message: string;
  readonly location: string;
  readonly expected: string;
  readonly got: string | undefined;
}

/** What reading one range gave (plain data, posted by the thread that read it). */
export interface RangeStats {
  readonly spans: number;
  readonly lines: number;
  readonly documents: number;
  /** The family the range's documents have (the first range decides it, as a whole read does). */
  readonly family: JsonFamily | undefined;
  readonly context: ContextState;
  /** The id decoder proved base64 in this range. */
  readonly base64: boolean;
  /** Ids of an ambiguous length read as hex before any base64 id in this range (see IdDecoder.undecided). */
  readonly undecidedIds: number;
  readonly fastReader: FastReadCounts;
  /** The range's first document could not be converted (the file's error if it is its only document). */
  readonly firstDocumentError?: RangeError;
}

/** The bytes of the lines that start in [start, end) (the last one up to its newline, if any); a chunk is valid only until the next one is asked for. */
export async function* rangeChunks(file: string, start: number, end: number): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    let position = Math.max(0, start - 1);
    let begun = start === 0;
    // Read ahead into two buffers used in turn, as a whole file is: with one buffer, a thread
    // reading a 200 MB file in 8 MiB ranges sat idle ~180 ms in all, waiting on each read.
    for await (const read of positionedChunks(positionedReads(handle), position, Number.POSITIVE_INFINITY)) {
      let chunk = read;
      const chunkStart = position;
      position += read.length;
      if (!begun) {
        const newline = chunk.indexOf(0x0a);
        if (newline === -1) continue;
        // The line after this newline starts at or past `end`: it is the next range's.
        if (chunkStart + newline + 1 >= end) return;
        begun = true;
        chunk = chunk.subarray(newline + 1);
      }
      const from = chunkStart + (read.length - chunk.length);
      // Lines starting before `end` belong here: stop after the first newline at or after end - 1.
      if (position >= end) {
        const newline = chunk.indexOf(0x0a, Math.max(0, end - 1 - from));
        if (newline !== -1) {
          yield chunk.subarray(0, newline + 1);
          return;
        }
      }
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Splits `bytes` into ranges of about `rangeBytes` each. The last one runs to the end of the
 * file, wherever that is when it is read: a file still being written is read as far as a whole
 * read would.
 */
export function splitRanges(bytes: number, rangeBytes: number): { start: number; end: number }[] {
  const count = Math.max(1, Math.ceil(bytes / rangeBytes));
  const size = Math.ceil(bytes / count);
  return Array.from({ length: count }, (_, i) => ({ start: i * size, end: i === count - 1 ? Number.MAX_SAFE_INTEGER : (i + 1) * size }));
}

/**
 * Merges the ranges of one file, in file order, into the ReadStats of reading it whole; moves
 * line numbers of later ranges (each range numbers its lines from 1) to the file's.
 */
export class RangeMerger {
  private readonly ctx: ReadContext;
  private lines = 0;
  private spans = 0;
  private documents = 0;
  private family: JsonFamily | undefined;
  private base64 = false;
  private readonly fast: FastReadCounts = { lines: 0, fallbacks: 0 };
  private firstDocumentError: RangeError | undefined;
  private ranges = 0;

  constructor(
    private readonly file: string,
    strict: boolean,
    private readonly bytes: number,
  ) {
    this.ctx = new ReadContext(file, strict);
  }

  /**
   * Adds the next range. Returns why the ranges cannot stand for one read, if they cannot: the
   * first range found no document (so the later ones were told a family it had not decided), or
   * an id this range read as hex would have been base64 after an earlier range's base64 id.
   */
  add(range: RangeStats): string | undefined {
    if (this.ranges === 0 && range.family === undefined) return 'no document in the first range';
    if (this.base64 && range.undecidedIds > 0) return 'ids of ambiguous length after a base64 id';
    const base = this.lines;
    this.ctx.absorb(range.context, (location) => relocate(location, base));
    this.ranges++;
    this.lines += range.lines;
    this.spans += range.spans;
    if (this.documents === 0 && range.firstDocumentError !== undefined) this.firstDocumentError = range.firstDocumentError;
    this.documents += range.documents;
    this.family ??= range.family;
    this.base64 ||= range.base64;
    this.fast.lines += range.fastReader.lines;
    this.fast.fallbacks += range.fastReader.fallbacks;
    return undefined;
  }

  /** A range's error, with its place in the whole file (call before `add`ing that range). */
  error(error: RangeError): TraceFormatError {
    return rangeError(this.file, error, this.lines);
  }

  /** The file's ReadStats; throws what reading it whole would have thrown at its end. */
  finish(): ReadStats {
    if (this.family === undefined) throw new TraceFormatError(this.file, '', 'a trace export', 'no JSON documents');
    if (this.documents === 1 && this.firstDocumentError !== undefined) throw rangeError(this.file, this.firstDocumentError, 0);
    const ctx = this.ctx;
    const format: TraceFormat = formatOf(this.family, 'json-lines', this.documents);
    const used = this.fast.lines + this.fast.fallbacks > 0 ? { fastReader: this.fast } : {};
    return { file: this.file, format, spans: this.spans, skipped: ctx.skipped, duplicateSpans: ctx.duplicateSpans, bytes: this.bytes, leniencies: ctx.leniencies(), warnings: ctx.warnings(), ...used };
  }
}

/** A JSON lines location (`12`, `12:34`, `12: $.path`) moved down by `base` lines. */
function relocate(location: string, base: number): string {
  if (base === 0) return location;
  const digits = /^\d+/.exec(location);
  return digits === null ? location : `${Number(digits[0]) + base}${location.slice(digits[0].length)}`;
}

/** A range's error as the TraceFormatError of reading the whole file (its message names the place too). */
function rangeError(file: string, error: RangeError, base: number): TraceFormatError {
  const location = relocate(error.location, base);
  const result = new TraceFormatError(file, location, error.expected, error.got);
  const oldWhere = `${file}:${error.location}`;
  // Keeps a hint the message may carry after the place.
  result.message = error.message.startsWith(oldWhere) ? `${file}:${location}${error.message.slice(oldWhere.length)}` : error.message;
  return result;
}

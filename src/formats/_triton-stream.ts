/**
 * @module formats/_triton-stream
 * Internal. A large Triton trace file (`[` record `,` record … `]`, src/tracer.cc in
 * https://github.com/triton-inference-server/server) read one record at a time from its bytes:
 * each record's end is found by the byte scanner's `skip` (its syntax checked), the record is
 * parsed on its own (`JSON.parse` of its few bytes) and handed to `TritonRequests`, so what is
 * held is the requests, not the file's text and a parsed tree of every record (an 84 MB file
 * parsed whole peaked at 1.1 GB and spent a third of its time collecting garbage; past 512 MiB
 * it was streamed by stream-json, slower still).
 *
 * The result is exactly the whole parse's, or nothing: anything this does not read as the whole
 * parse would (a byte-order mark, a syntax error, text after the closing `]`, a first record
 * that is not Triton's, a compressed stream cut short, a record larger than MAX_RECORD_BYTES) is
 * answered with `undefined`, and the caller reads the file again the old way. A file whose
 * array was never closed (a running or killed server's) is read as `unclosedTritonTrace` reads
 * it: its whole records, less a request whose record the end cut.
 */

import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { ReadContext } from './_context.js';
import { begin, FALLBACK, finish, scan, skip } from './_byte-scan.js';
import { scanJsonValue } from './_json-scan.js';
import { MAX_DOCUMENT_BYTES, MAX_LINE_BYTES } from './detect.js';
import { isObject } from './_shared.js';
import { isTritonTraceDocument, TritonRequests } from './triton-trace.js';

/** A record longer than this is not looked for further (Triton's are a few hundred bytes; TENSORS records carry data): the file is read the old way. */
const MAX_RECORD_BYTES = 8 << 20;

/** How a Triton trace file read record by record ended. */
export interface TritonStreamEnd {
  readonly requests: TritonRequests;
  /** The array, up to its `]`, is on the file's first line (as Triton writes it): the old way read it as one JSON line. */
  readonly oneLine: boolean;
  /**
   * Absent for a closed array. For one never closed, up to MAX_DOCUMENT_BYTES: where its whole
   * records end and the request cut, as `UnclosedTritonTrace` says them; past it, as the stream
   * parser read such a file: the request of the last whole record left out (`last`), at the
   * byte where the file ends.
   */
  readonly unclosed?: { readonly location: string; readonly cut?: number | null } | { readonly location: string; readonly last: unknown };
}

const enum At {
  /** Before the `[`. */
  Start,
  /** After `[` or `,`: a record (or, after `[`, the `]`). */
  Record,
  /** After `[`: a record or `]`. */
  First,
  /** After a record: `,` or `]`. */
  Separator,
  /** After the `]`: whitespace only. */
  End,
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Reads the Triton trace array in `chunks` (each valid until the next is asked for) into
 * requests, with `ctx` for the records it skips; undefined when the file must be read the old
 * way. `file` is read again, from its start, only for an array never closed, to say on which
 * line and column its whole records end (the one-pass count of every line cost more).
 */
export async function streamTritonRecords(file: string, chunks: AsyncIterable<Buffer>, ctx: ReadContext, damaged: () => boolean, rereadable: boolean): Promise<TritonStreamEnd | undefined> {
  const requests = new TritonRequests(ctx, '');
  // `as`: the reads below change these (TypeScript does not follow them into `consume`).
  let at = At.Start as At;
  let index = 0;
  /** Bytes of a record begun in an earlier chunk (copied: chunks are reused). */
  let carry = undefined as Buffer | undefined;
  /** Offset in the file of the current buffer's first byte. */
  let base = 0;
  /** Offset in the file just past the last whole record. */
  let lastEnd = -1;
  /** The id of the last whole record. */
  let lastId: unknown;
  /** Offset in the file of its first newline, and of the closing `]`. */
  let newline = -1;
  let close = -1;

  /** Reads what `buf` holds (the carry, then a chunk); false when the file must be read the old way. At the end of the file (`last`), a record may end with the bytes. */
  const consume = (buf: Buffer, last: boolean): boolean => {
    let pos = 0;
    const end = buf.length;
    if (newline === -1) {
      const nl = buf.indexOf(0x0a);
      if (nl !== -1) newline = base + nl;
    }
    try {
      while (pos < end) {
        const c = buf[pos]!;
        if (isSpace(c)) {
          pos++;
          continue;
        }
        if (at === At.Start) {
          if (c !== 0x5b) return false;
          at = At.First;
          pos++;
        } else if (at === At.Separator) {
          if (c === 0x2c) at = At.Record;
          else if (c === 0x5d) {
            at = At.End;
            close = base + pos;
          } else return false;
          pos++;
        } else if (at === At.End) {
          return false;
        } else if (at === At.First && c === 0x5d) {
          at = At.End;
          close = base + pos;
          pos++;
        } else {
          // A record: its end, unless this buffer ends inside it (or, before the end of the file, right at its end: a number may go on).
          let stop = -1;
          begin(buf, pos, end);
          try {
            skip(0);
            if (scan.pos < end || last) stop = scan.pos;
          } catch (error) {
            if (error !== FALLBACK) throw error;
          }
          if (stop === -1) {
            if (end - pos > MAX_RECORD_BYTES) return false;
            carry = Buffer.from(buf.subarray(pos));
            break;
          }
          const record: unknown = JSON.parse(buf.toString('utf8', pos, stop));
          if (index === 0 && !isTritonTraceDocument([record])) return false;
          requests.add(record, index++);
          lastId = isObject(record) ? record['id'] : undefined;
          pos = stop;
          lastEnd = base + stop;
          at = At.Separator;
        }
      }
    } catch (error) {
      // JSON.parse refusing what `skip` took: the old way's own error.
      if (error instanceof SyntaxError) return false;
      throw error;
    } finally {
      finish();
    }
    base += carry === undefined ? end : end - carry.length;
    return true;
  };

  for await (const chunk of chunks) {
    const buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    if (!consume(buf, false)) return undefined;
  }
  if (carry !== undefined) {
    // The end of the file: a record that ended with the last bytes read is whole.
    const rest: Buffer = carry;
    carry = undefined;
    if (!consume(rest, true)) return undefined;
  }
  // What `consume` left (TypeScript takes `carry` for undefined here).
  const left = carry as Buffer | undefined;
  if (damaged()) return undefined;
  if (at === At.End) {
    const oneLine = newline === -1 || newline > close;
    // Near the longest line the old way read as a line, which way it went depends on bytes that are not worth telling apart.
    if (oneLine && close > MAX_LINE_BYTES - (64 << 10)) return undefined;
    return { requests, oneLine };
  }
  // Never closed: a skipped record would move the others' places once a request is left out.
  if (index === 0 || requests.skippedRecords > 0) return undefined;
  const total = base + (left?.length ?? 0);
  if (total > MAX_DOCUMENT_BYTES) {
    // Never closed, past what is parsed whole: as the stream parser's end of file (read.ts, readLargeDocument).
    if (left !== undefined && !endsInside(left)) return undefined;
    if (typeof lastId === 'number') requests.drop(lastId);
    return { requests, oneLine: false, unclosed: { location: `byte ${total}`, last: lastId } };
  }
  // Never closed: its whole records, as unclosedTritonTrace reads them (where they end told from the file's bytes again).
  if (!rereadable) return undefined;
  let cut: number | null | undefined;
  if (left !== undefined) {
    const text = left.toString('utf8');
    if (!endsInside(left)) return undefined;
    const id = /^\{\s*"id"\s*:\s*(\d+)\s*[,}]/.exec(text.slice(0, 64));
    cut = id === null ? null : Number(id[1]);
    if (cut !== null) requests.drop(cut);
  }
  // Every record left out: the old way read an empty array, which it does not call Triton's.
  if (requests.size === 0) return undefined;
  const location = await lineColumnAt(file, lastEnd);
  if (location === undefined) return undefined;
  return { requests, oneLine: false, unclosed: { location, ...(cut !== undefined ? { cut } : {}) } };
}

/** True when the bytes are the start of a JSON value the end cut short (not another syntax error). */
function endsInside(bytes: Buffer): boolean {
  const scanned = scanJsonValue(bytes.toString('utf8'), 0);
  return !scanned.ok && scanned.got === 'end of file';
}

/** `line:column` (column in UTF-16 units, as in the decoded text) of byte `offset` of an uncompressed file; undefined if it cannot be told. */
async function lineColumnAt(file: string, offset: number): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let line = 1;
    let lineStart = 0;
    for (let position = 0; position < offset; ) {
      const n = (await handle.read(buffer, 0, Math.min(buffer.length, offset - position), position)).bytesRead;
      if (n === 0) return undefined;
      for (let i = buffer.indexOf(0x0a, 0); i !== -1 && i < n; i = buffer.indexOf(0x0a, i + 1)) {
        line++;
        lineStart = position + i + 1;
      }
      position += n;
    }
    // The last line's part before the offset, decoded piece by piece: its length in UTF-16 units.
    const decoder = new StringDecoder('utf8');
    let column = 1;
    for (let position = lineStart; position < offset; ) {
      const n = (await handle.read(buffer, 0, Math.min(buffer.length, offset - position), position)).bytesRead;
      if (n === 0) return undefined;
      column += decoder.write(buffer.subarray(0, n)).length;
      position += n;
    }
    return `${line}:${column + decoder.end().length}`;
  } finally {
    await handle.close();
  }
}

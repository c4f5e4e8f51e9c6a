/**
 * @module formats/_triton-stream
 * Internal. A large Triton trace file (`[` record `,` record … `]`, src/tracer.cc in
 * https://github.com/triton-inference-server/server) read one record at a time from its bytes:
 * each record's end is found by the byte scanner's `skip` (its syntax checked), the record is
 * parsed on its own (`JSON.parse` of its few bytes) or read by the scanner, and handed on (a
 * RecordSink), so what is held is never the file's text and a parsed tree of every record (an
 * 84 MB file parsed whole peaked at 1.1 GB and spent a third of its time collecting garbage;
 * past 512 MiB it was streamed by stream-json, slower still). It is read twice: first into a
 * TritonIndex (here, `streamTritonRecords`, which decides everything below), then into the
 * requests still open (`_triton-release.ts`).
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
import { begin, bytes, FALLBACK, finish, isDigit, key, keyIs, LBRACE, LBRACKET, more, number, once, open as opens, Q, RBRACE, RBRACKET, scan, skip, text, ws } from './_byte-scan.js';
import { scanJsonValue } from './_json-scan.js';
import { MAX_DOCUMENT_BYTES, MAX_LINE_BYTES } from './detect.js';
import { isObject } from './_shared.js';
import type { TritonIndex } from './_triton-release.js';
import { isTritonId, isTritonTraceDocument, tritonParent, tritonRecord } from './triton-trace.js';
import type { TritonRecord } from './triton-trace.js';

/** A record longer than this is not looked for further (Triton's are a few hundred bytes; TENSORS records carry data): the file is read the old way. */
const MAX_RECORD_BYTES = 8 << 20;

/** How a Triton trace file read record by record ended. */
export interface TritonStreamEnd {
  /** Records read (skipped ones too), and the offset just past the last. */
  readonly records: number;
  readonly recordsEnd: number;
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

const K = {
  id: bytes('id'),
  model_name: bytes('model_name'),
  model_version: bytes('model_version'),
  request_id: bytes('request_id'),
  parent_id: bytes('parent_id'),
  timestamps: bytes('timestamps'),
  name: bytes('name'),
  ns: bytes('ns'),
} as const;

/** One record as `scanRecord` read it, taken by the sink (`commit`) once it is known whole. */
export const rec: TritonRecord = tritonRecord();

/**
 * Reads the record at the position (`{`) into `rec` as `readParsedRecord` reads its parse: a
 * numeric id, a string model_name, a string or numeric model_version, a non-empty string
 * request_id, a numeric parent_id, timestamps `{name, ns}`, keys in any order, others skipped.
 * Anything else (no numeric id, or one that is no request id; another type of model_version, a
 * key twice, an escaped key) throws FALLBACK, and the record is parsed instead. Without `stamps`,
 * the timestamps are only skipped (their syntax checked as strictly as JSON.parse checks it): a
 * reading that needs no timestamp (the first, `TritonIndex`, but with `--strict`) makes no string
 * or number of them.
 */
function scanRecord(stamps: boolean): void {
  let seen = 0;
  rec.model = rec.version = rec.requestId = undefined;
  rec.parent = undefined;
  rec.stamps = 0;
  if (!opens(LBRACE, RBRACE)) throw FALLBACK;
  do {
    key();
    const c = ws();
    if (keyIs(K.id)) {
      seen = once(seen, 1);
      rec.id = integer();
      // Not a request id (isTritonId): the record is parsed, and skipped as readParsedRecord skips it.
      if (!isTritonId(rec.id)) throw FALLBACK;
    } else if (keyIs(K.timestamps)) {
      seen = once(seen, 2);
      if (c !== LBRACKET || !stamps) skip(0);
      else if (opens(LBRACKET, RBRACKET)) {
        do stamp();
        while (more(RBRACKET));
      }
    } else if (keyIs(K.model_name)) {
      seen = once(seen, 4);
      if (c === Q) rec.model = text();
      else skip(0);
    } else if (keyIs(K.model_version)) {
      seen = once(seen, 8);
      if (c === Q) rec.version = text();
      else if (c === 0x2d || isDigit(c)) rec.version = String(number());
      else throw FALLBACK;
    } else if (keyIs(K.request_id)) {
      seen = once(seen, 16);
      if (c === Q) {
        const id = text();
        if (id !== '') rec.requestId = id;
      } else skip(0);
    } else if (keyIs(K.parent_id)) {
      seen = once(seen, 32);
      if (c === 0x2d || isDigit(c)) rec.parent = tritonParent(number());
      else skip(0);
    } else {
      skip(0);
    }
  } while (more(RBRACE));
  if ((seen & 1) === 0) throw FALLBACK;
}

/** One element of `timestamps`: kept when it is an object with a string name. */
function stamp(): void {
  if (ws() !== LBRACE) {
    skip(0);
    return;
  }
  let seen = 0;
  let name: string | undefined;
  let value: unknown;
  if (opens(LBRACE, RBRACE)) {
    do {
      key();
      const c = ws();
      if (keyIs(K.name)) {
        seen = once(seen, 1);
        if (c === Q) name = text();
        else skip(0);
      } else if (keyIs(K.ns)) {
        seen = once(seen, 2);
        if (c === Q) value = text();
        else if (c === 0x2d || isDigit(c)) value = integer();
        else skip(0);
      } else {
        skip(0);
      }
    } while (more(RBRACE));
  }
  if (name === undefined) return;
  rec.names[rec.stamps] = name;
  rec.values[rec.stamps] = value;
  rec.stamps++;
}

/** A JSON number's value, as `number` reads it; plain integers of up to 15 digits (ids, steady-clock ns) from their digits, without a string. */
function integer(): number {
  const buf = scan.b;
  const start = scan.pos;
  let p = start;
  let value = 0;
  while (p < scan.end && p - start < 16) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) break;
    value = value * 10 + d;
    p++;
  }
  const c = p < scan.end ? buf[p]! : -1;
  // Exact below 10^15 < 2^53; a leading zero, a sign, a fraction, an exponent or more digits: the general way.
  if (p > start && p - start <= 15 && !(buf[start] === 0x30 && p - start > 1) && c !== 0x2e && c !== 0x65 && c !== 0x45 && !(c >= 0x30 && c <= 0x39)) {
    scan.pos = p;
    return value;
  }
  return number();
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Where the scan hands each record: record `i` parsed whole (`add`), or read into `rec` (`commit`). */
export interface RecordSink {
  add(record: unknown, i: number): void;
  commit(i: number): void;
}

/**
 * Reads a Triton trace array's records from its bytes, chunk after chunk, into a RecordSink
 * (what `streamTritonRecords` and the second pass of `releaseTritonRecords` share).
 */
export class RecordScan {
  // Read by the end of a first reading (see `endOf`).
  at = At.Start as At;
  index = 0;
  /** Bytes of a record begun in an earlier chunk (copied: chunks are reused). */
  carry: Buffer | undefined;
  /** Offset in the file of the current buffer's first byte. */
  base = 0;
  /** Offset in the file just past the last whole record. */
  lastEnd = -1;
  /** The id of the last whole record. */
  lastId: unknown;
  /** Offset in the file of its first newline, and of the closing `]`. */
  newline = -1;
  close = -1;
  /** The carry and the next chunk joined, in one buffer reused (a fresh one per chunk cost page faults). */
  private joined = Buffer.alloc(0);

  constructor(
    private readonly sink: RecordSink,
    /** False: records read by the scanner come with no timestamps (see `scanRecord`). */
    private readonly stamps = true,
  ) {}

  /** Reads the next chunk; false when the file must be read the old way. */
  chunk(chunk: Buffer): boolean {
    let buf = chunk;
    const carry = this.carry;
    if (carry !== undefined) {
      const size = carry.length + chunk.length;
      if (this.joined.length < size) this.joined = Buffer.allocUnsafe(Math.max(size, 2 * this.joined.length));
      carry.copy(this.joined, 0);
      chunk.copy(this.joined, carry.length);
      buf = this.joined.subarray(0, size);
    }
    this.carry = undefined;
    return this.consume(buf, false);
  }

  /** At the end of the file: a record that ended with the last bytes read is whole. */
  end(): boolean {
    if (this.carry === undefined) return true;
    const rest = this.carry;
    this.carry = undefined;
    return this.consume(rest, true);
  }

  /** Reads what `buf` holds (the carry, then a chunk); false when the file must be read the old way. At the end of the file (`last`), a record may end with the bytes. */
  private consume(buf: Buffer, last: boolean): boolean {
    const sink = this.sink;
    let pos = 0;
    const end = buf.length;
    if (this.newline === -1) {
      const nl = buf.indexOf(0x0a);
      if (nl !== -1) this.newline = this.base + nl;
    }
    try {
      while (pos < end) {
        const c = buf[pos]!;
        if (isSpace(c)) {
          pos++;
          continue;
        }
        const at = this.at;
        if (at === At.Start) {
          if (c !== 0x5b) return false;
          this.at = At.First;
          pos++;
        } else if (at === At.Separator) {
          if (c === 0x2c) this.at = At.Record;
          else if (c === 0x5d) {
            this.at = At.End;
            this.close = this.base + pos;
          } else return false;
          pos++;
        } else if (at === At.End) {
          return false;
        } else if (at === At.First && c === 0x5d) {
          this.at = At.End;
          this.close = this.base + pos;
          pos++;
        } else {
          // A record in the usual shape, read from its bytes (the first one is parsed: it tells the file is Triton's).
          if (this.index > 0 && c === LBRACE) {
            begin(buf, pos, end);
            let read = false;
            try {
              scanRecord(this.stamps);
              read = scan.pos < end || last;
            } catch (error) {
              if (error !== FALLBACK) throw error;
            }
            if (read) {
              sink.commit(this.index++);
              this.lastId = rec.id;
              pos = scan.pos;
              this.lastEnd = this.base + pos;
              this.at = At.Separator;
              continue;
            }
          }
          // Its end, unless this buffer ends inside it (or, before the end of the file, right at its end: a number may go on).
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
            this.carry = Buffer.from(buf.subarray(pos));
            break;
          }
          const record: unknown = JSON.parse(buf.toString('utf8', pos, stop));
          if (this.index === 0 && !isTritonTraceDocument([record])) return false;
          sink.add(record, this.index++);
          this.lastId = isObject(record) ? record['id'] : undefined;
          pos = stop;
          this.lastEnd = this.base + stop;
          this.at = At.Separator;
        }
      }
    } catch (error) {
      // JSON.parse refusing what `skip` took: the old way's own error.
      if (error instanceof SyntaxError) return false;
      throw error;
    } finally {
      finish();
    }
    this.base += this.carry === undefined ? end : end - this.carry.length;
    return true;
  }
}

/**
 * Reads the Triton trace array in `chunks` (each valid until the next is asked for) into
 * `requests` (each request's last record and parent, for `releaseTritonRecords`), which says the
 * records it skips; undefined when the file must be read the old way. `file` is read again, from its start, only for an array never closed, to say on which
 * line and column its whole records end (the one-pass count of every line cost more).
 * `maxDocumentBytes` is MAX_DOCUMENT_BYTES but in tests.
 */
export async function streamTritonRecords(
  file: string,
  chunks: AsyncIterable<Buffer>,
  requests: TritonIndex,
  damaged: () => boolean,
  rereadable: boolean,
  maxDocumentBytes = MAX_DOCUMENT_BYTES,
): Promise<TritonStreamEnd | undefined> {
  const scan = new RecordScan(requests, requests.readsStamps);
  for await (const chunk of chunks) if (!scan.chunk(chunk)) return undefined;
  if (!scan.end()) return undefined;
  // What `consume` left.
  const left = scan.carry;
  if (damaged()) return undefined;
  const { at, base, newline, close } = scan;
  const read = { records: scan.index, recordsEnd: scan.lastEnd };
  if (at === At.End) {
    // The old way read the first line as a line up to MAX_LINE_BYTES, a longer one as a document.
    const lineEnd = newline === -1 ? base : newline;
    // Near that size, which way it went depends on bytes not worth telling apart.
    if (Math.abs(lineEnd - MAX_LINE_BYTES) < 64 << 10) return undefined;
    return { ...read, oneLine: (newline === -1 || newline > close) && lineEnd < MAX_LINE_BYTES };
  }
  // Never closed: a skipped record would move the others' places once a request is left out.
  if (scan.index === 0 || requests.skippedRecords > 0) return undefined;
  const total = base + (left?.length ?? 0);
  const lastId = scan.lastId;
  if (total > maxDocumentBytes) {
    // Never closed, past what is parsed whole: as the stream parser's end of file (read.ts, readLargeDocument).
    if (left !== undefined && !endsInside(left)) return undefined;
    if (typeof lastId === 'number') requests.drop(lastId);
    return { ...read, oneLine: false, unclosed: { location: `byte ${total}`, last: lastId } };
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
  const location = await lineColumnAt(file, scan.lastEnd);
  if (location === undefined) return undefined;
  return { ...read, oneLine: false, unclosed: { location, ...(cut !== undefined ? { cut } : {}) } };
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

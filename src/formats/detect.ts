/**
 * @module formats/detect
 * Sniffs what a trace file is from its content, never its name: compression by magic bytes
 * (see `_bytes.ts`), then the layout (JSON lines, one JSON document or concatenated documents,
 * length-prefixed or bare OTLP protobuf), then the JSON family by its keys (docs/formats.md, "What is read"):
 * `resourceSpans`/`batches`/`result`/`trace` → OTLP; `data[]`, `traceID`+`spans` or spans with
 * `spanID` → Jaeger; `traceId`+`id` → Zipkin; `context.trace_id` → Python console; `id`+`timestamps` records → Triton; `schema` =
 * GPU_SAMPLE_SCHEMA → sidecar GPU samples (read by `gpu-samples.ts`, not as spans).
 */

import { constants as bufferConstants } from 'node:buffer';
import type { TraceFormat } from '../model/span.js';
import { GPU_SAMPLE_SCHEMA } from '../semconv.js';
import { previewJson } from './_byte-scan.js';
import { STDIN, openFile } from './_bytes.js';
import { Spool } from './_spool.js';
import { WINDOWED } from './_document-window.js';
import type { ByteSource, Compression, OpenedFile } from './_bytes.js';
import { lineColumn, scanJsonValue, skipWhitespace } from './_json-scan.js';
import { streamElements } from './_json-stream.js';
import type { StreamedElement } from './_json-stream.js';
import { isObject } from './_shared.js';
import { hasProcessPrefix, prefixedDocuments } from './_process-prefix.js';
import type { OutputDocuments } from './_process-prefix.js';
import { describeText, describeValue, TraceFormatError } from './errors.js';
import { isJaegerDocument } from './jaeger-json.js';
import { isOtlpDocument } from './otlp-json.js';
import { isPythonConsoleDocument } from './python-console.js';
import { isTritonTraceDocument, unclosedTritonTrace } from './triton-trace.js';
import type { UnclosedTritonTrace } from './triton-trace.js';
import { isZipkinDocument, isZipkinV1Document } from './zipkin-json.js';

/** The JSON families, before lines/document is known. */
export type JsonFamily = 'otlp' | 'jaeger' | 'zipkin' | 'python-console' | 'triton-trace' | 'gpu-samples';

/** How the decompressed content is laid out. */
export type Layout = 'json-lines' | 'json-document' | 'protobuf-records' | 'protobuf-message';

/** What `detectFile` found out about a file. */
export interface DetectedFile {
  readonly file: string;
  readonly format: TraceFormat;
  readonly compression: Compression;
  readonly layout: Layout;
  /** Size on disk. */
  readonly bytes: number;
}

/**
 * Hard cap for reading a JSON document whole (decompressed): V8 strings stop at 2^29 − 24
 * chars. Documents above WHOLE_DOCUMENT_BYTES are streamed instead, so this is a ceiling for
 * the `wholeDocumentBytes` option and for a bare protobuf message.
 */
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

/**
 * Cap for reading whole a document a byte scanner takes (Jaeger, Zipkin, OTLP): it scans a
 * Buffer, not a string, so the string cap above is not its limit. Past MAX_DOCUMENT_BYTES such a
 * document used to be streamed element by element (stream-json): a 630 MB Jaeger document took
 * 208 s and 1.75 GB, against 11 s for 315 MB scanned. Offsets stay below 2^31, and a document
 * the scanner declines is still streamed (`reopen`).
 */
export const MAX_SCANNED_DOCUMENT_BYTES = Math.min(bufferConstants.MAX_LENGTH, 2 ** 31 - 1);

/** Lines longer than this cannot become one JS string. */
export const MAX_LINE_BYTES = 512 * 1024 * 1024 - 64;

/** Names the JSON family of one parsed document, or undefined when it is none we know. */
export function classifyDocument(doc: unknown): JsonFamily | undefined {
  if (isObject(doc) && doc['schema'] === GPU_SAMPLE_SCHEMA) return 'gpu-samples';
  if (isOtlpDocument(doc)) return 'otlp';
  if (isJaegerDocument(doc)) return 'jaeger';
  if (isPythonConsoleDocument(doc)) return 'python-console';
  if (isTritonTraceDocument(doc)) return 'triton-trace';
  if (isZipkinDocument(doc) || isZipkinV1Document(doc)) return 'zipkin';
  return undefined;
}

/** The TraceFormat a family is reported as. */
export function formatOf(family: JsonFamily, layout: Layout, documents: number): TraceFormat {
  switch (family) {
    case 'otlp':
      return layout === 'json-lines' && documents > 1 ? 'otlp-jsonl' : 'otlp-json';
    case 'jaeger':
      return 'jaeger-json';
    case 'zipkin':
      return 'zipkin-json';
    case 'python-console':
      return 'python-console';
    case 'triton-trace':
      return 'triton-trace';
    case 'gpu-samples':
      return 'gpu-samples';
  }
}

const TRACE_EXPORT = 'a trace export (OTLP resourceSpans, Jaeger data/traceID+spans, Zipkin v2 traceId+id, Python console spans, Triton trace records)';
/** `latency-doctor/gpu-sample@`: the sample schema whatever its version. */
const GPU_SAMPLE_SCHEMA_NAME = GPU_SAMPLE_SCHEMA.slice(0, GPU_SAMPLE_SCHEMA.indexOf('@') + 1);
/** `latency-doctor/`: the schemas of this project's own files (samples, `--json` reports). */
const OWN_SCHEMA_PREFIX = GPU_SAMPLE_SCHEMA.slice(0, GPU_SAMPLE_SCHEMA.indexOf('/') + 1);

/**
 * The error for a document of no known family. This project's own files are named as such (a
 * sample file of another schema version, an `--json` report given back as input), since
 * "expected a trace export, got an object with keys {schema, …}" would not say what to do.
 */
export function unknownDocumentError(file: string, location: string, doc: unknown): TraceFormatError {
  const schema = isObject(doc) ? doc['schema'] : undefined;
  if (typeof schema === 'string' && schema.startsWith(GPU_SAMPLE_SCHEMA_NAME)) {
    return new TraceFormatError(file, location, `a trace export or a GPU sample file of schema "${GPU_SAMPLE_SCHEMA}"`, `a GPU sample file of schema ${JSON.stringify(schema)} (written by another latency-doctor version)`);
  }
  if (typeof schema === 'string' && schema.startsWith(OWN_SCHEMA_PREFIX)) {
    return new TraceFormatError(file, location, TRACE_EXPORT, `latency-doctor's own output (schema ${JSON.stringify(schema)}), not a trace: give the trace files it was made from`);
  }
  return new TraceFormatError(file, location, TRACE_EXPORT, describeValue(doc));
}

/** The result of sniffing the content's layout. */
export interface Sniffed {
  readonly opened: OpenedFile;
  readonly layout: Layout;
  /** For `json-lines`: whether anything but whitespace follows the first line. */
  readonly moreLines: boolean;
  /** For `json-lines`: lines carry a log prefix before their JSON (Java `logging-otlp` through java.util.logging). */
  readonly prefixed?: boolean;
  /**
   * For `json-lines`: the first line that parsed as a JSON object (1-based line number, value),
   * so that detection and the reader parse it once. For a one-line file it is the whole document.
   */
  readonly firstLine?: {
    readonly lineNo: number;
    readonly value: unknown;
    /** `value` is only what the line starts with (previewJson), enough to tell its family: readers parse or scan the line itself. */
    readonly preview?: boolean;
    /** The byte scanner already read this line and handed it back: the full parser takes it. */
    readonly handedBack?: boolean;
  };
  /** For `json-document`: a process's output read through `prefixedDocuments` (`_process-prefix.ts`): lines with a process prefix such as Ray's `(ProxyActor pid=…) `, or a process's unprefixed stdout with spans among log lines. */
  readonly processOutput?: boolean;
  /** For `json-lines`: the file is this one line, left unparsed for a byte-scanning reader (`readBytesDocument` in read.ts). */
  readonly wholeLine?: WholeBytes;
  /** A large Triton trace file, left unread for `_triton-stream.ts` to read record by record. */
  readonly tritonRecords?: boolean;
  /** A large Jaeger, Zipkin or OTLP document, left unread for its byte scanner to read through a sliding window (`_document-window.ts`). */
  readonly windowed?: WindowedDocument;
  /** Standard input or a pipe, held in a temporary file (`_spool.ts`) that `opened` reads: a large document the two above take. */
  readonly spool?: Spool;
}

/** A document to be scanned through a sliding window: its family, where it starts among the stream's bytes, and for a one-line file its line number. */
export interface WindowedDocument {
  readonly family: BytesFamily;
  readonly start: number;
  readonly lineNo?: number;
}

/** A first line `windowedDocument` parsed whole (`newline`: where it ends, from the content's start): JSON lines, not a document. */
interface ParsedLine {
  readonly newline: number;
  readonly value: unknown;
}

/** The JSON families a byte-scanning document reader takes (`_jaeger-fast.ts`, `_zipkin-fast.ts`, `_otlp-fast.ts`). */
export type BytesFamily = 'jaeger' | 'zipkin' | 'otlp';

/** A whole JSON document left in its bytes, [start, end) of `bytes`, for a byte-scanning reader. */
export interface WholeBytes {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  /** Its family as its first bytes show it (`bytesFamily`); the reader checks the rest. */
  readonly family: BytesFamily;
  /** For a one-line file: its line number (the location of whole-document warnings). */
  readonly lineNo?: number;
  /** OTLP: report duplicate span ids, as a document parsed whole (up to the whole-parse size) was checked. */
  readonly duplicates?: boolean;
}

/** Whitespace a file may start with before what it holds (sniffContent): past it, it is refused. */
const LEADING_BLANK_BYTES = 16 * 1024 * 1024;

/** How much of a document `bytesFamily` looks at. */
const PREVIEW_BYTES = 64 * 1024;
/** A one-line document past this size is classified from its start instead of parsed at detection (see sniffContent). */
const LARGE_LINE_BYTES = 1024 * 1024;

/**
 * The family a JSON document's first bytes show, when a byte-scanning reader takes it: its first
 * PREVIEW_BYTES, cut after the last whole member (not JSON.parse of the document), classified like
 * a parsed document. Only a guess for what follows: the reader reads the whole document, and
 * leaves anything else to JSON.parse and `classifyDocument`.
 */
export function bytesFamily(bytes: Buffer, start: number): BytesFamily | undefined {
  const family = classifyDocument(previewJson(bytes, start, bytes.length, PREVIEW_BYTES));
  return family === 'jaeger' || family === 'zipkin' || family === 'otlp' ? family : undefined;
}

function isWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Offset of the first byte that is not whitespace or a UTF-8 BOM, or -1. */
function firstContentByte(head: Buffer): number {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && isWhitespace(head[i])) i++;
  return i < head.length ? i : -1;
}

/**
 * The first of the first lines that is a log line whose tail is a trace document, e.g.
 * `INFO: {"resource":…,"scopeSpans":…}` as Java's OtlpJsonLoggingSpanExporter logs through
 * java.util.logging (whose SimpleFormatter also writes a date/class header line before each).
 */
async function prefixedJsonLine(content: ByteSource): Promise<{ lineNo: number; value: unknown } | undefined> {
  const head = await content.peek(SNIFF_LINES_BYTES);
  const lines = head.toString('utf8').split('\n', SNIFF_LINES);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const brace = line.indexOf('{');
    // Log prefixes are short; a brace deep into a line is data, not the start of a document.
    if (brace <= 0 || brace > 200) continue;
    try {
      const value: unknown = JSON.parse(line.slice(brace));
      if (classifyDocument(value) !== undefined) return { lineNo: i + 1, value };
    } catch {
      // Not this line.
    }
  }
  return undefined;
}

/** How far the line sniffers look: the first 40 lines within 256 KiB. */
const SNIFF_LINES = 40;
const SNIFF_LINES_BYTES = 256 * 1024;

/**
 * JSON lines whose first line is broken (a file cut at the front, a half-written record): the
 * first later line, within the sniffed head, that is a whole trace document on its own. A short
 * first line that opens a bracket is a pretty-printed document instead, never this.
 */
async function laterJsonLine(content: ByteSource, from: number): Promise<{ lineNo: number; value: unknown } | undefined> {
  const head = await content.peek(SNIFF_LINES_BYTES);
  const lines = head.toString('utf8', from).split('\n', SNIFF_LINES);
  const first = lines[0]?.trim() ?? '';
  if (first.length < 200 && (first.startsWith('{') || first.startsWith('['))) return undefined;
  // The last piece may be cut by the peek limit: only lines followed by a newline count.
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{') || !line.endsWith('}')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (classifyDocument(value) !== undefined) return { lineNo: lineNumberAt(head, from) + i, value };
    } catch {
      // Not this line.
    }
  }
  return undefined;
}

/** 1-based line number of byte offset `at`. */
function lineNumberAt(head: Buffer, at: number): number {
  let line = 1;
  for (let i = head.indexOf(0x0a); i !== -1 && i < at; i = head.indexOf(0x0a, i + 1)) line++;
  return line;
}

/** A first line longer than this makes a regular file a document to read whole (peekFirstLine). */
const DOCUMENT_LINE_BYTES = 32 * 1024 * 1024;
/** A first line longer than this makes a regular file of at most WHOLE_DOCUMENT_BYTES a file to read whole (peekFirstLine). */
const SMALL_FILE_LINE_BYTES = 4 * 1024 * 1024;

/**
 * Peeks up to `limit` bytes for the end of the first line; `complete` is false when the limit cut
 * it, `whole` true when `head` is the whole input. A regular, uncompressed file whose first line
 * is longer than DOCUMENT_LINE_BYTES is read whole into one buffer when it fits in `wholeLimit`
 * (a minified document, usually): growing peeks would copy it again at every step. Compressed
 * content still grows its peeks (its size is known only once inflated). `long`, asked of the
 * first bytes, stops it where the line would be read whole, or where a pipe's or compressed
 * file's peeks pass DOCUMENT_LINE_BYTES (`long` in the answer): the caller reads that line
 * through a sliding window instead.
 */
async function peekFirstLine(content: ByteSource, from: number, limit: number, wholeLimit = limit, long?: (head: Buffer) => boolean): Promise<{ head: Buffer; newline: number; complete: boolean; whole: boolean; long?: true }> {
  let want = Math.min(64 * 1024, limit);
  // `long` is asked of the first bytes only, peeked before the line is searched: a peek once the
  // line is long joins every piece held (32 MiB, then copied again as the window took it in 8 MiB
  // pieces: a piped 263 MB one-line document peaked 66 MB higher than the file).
  // Asked only once the line is long: building a preview of the first 64 KiB (in code not yet
  // optimized, ~10 ms) was most of detecting a file of short lines.
  const longHead = long === undefined ? undefined : await content.peek(from + PREVIEW_BYTES);
  let isLong: boolean | undefined;
  // Each peek holds the last one's bytes, already searched: the search goes on where it stopped
  // (a 157 MB document searched its first 37 MB again, a compressed one its first 300 MB).
  // The peeks are searched unjoined (ByteSource.indexOf), and joined once, for the answer.
  let searched = from;
  for (;;) {
    const { at: newline, peeked } = await content.indexOf(0x0a, searched, want);
    searched = Math.max(searched, peeked);
    if (newline - from > limit) return { head: await content.peek(want), newline: -1, complete: false, whole: false };
    if (newline !== -1 || peeked < want) return { head: await content.peek(want), newline, complete: true, whole: peeked < want || content.holdsAll() };
    if (want >= limit) return { head: await content.peek(want), newline: -1, complete: false, whole: false };
    // A first line this long is a document, not a line of JSON lines (the Collector writes a few
    // MB per line): a regular file is then read whole, once, up to `wholeLimit` (past the line
    // limit: a document the byte scanner reads whole later), not in peeks growing to the line
    // limit and copied again (a 630 MB document: 9 s of detection, now 3.8 s). Before that, peeks:
    // a file of long lines is not read whole (a 400 MB one of 2 MB lines held all 400 MB).
    // Compressed content's size is unknown until it is inflated: it only grows its peeks.
    // A file no larger than a document read whole anyway (WHOLE_DOCUMENT_BYTES) is read whole
    // at the first peek past SMALL_FILE_LINE_BYTES: the bigger peek read 28 MB more into fresh
    // chunks only to copy them into the whole file's buffer (a 62 MB document: 150 ms of CPU
    // here, bench/HISTORY.md "After the eleventh pass").
    const wholeUpTo = !content.sized ? 0 : want >= DOCUMENT_LINE_BYTES ? wholeLimit : want >= SMALL_FILE_LINE_BYTES ? Math.min(wholeLimit, WHOLE_DOCUMENT_BYTES) : 0;
    // `long`: such a line the caller reads through a sliding window instead (a one-line OTLP
    // document); content of unknown size (a pipe, a compressed file) once it passes
    // DOCUMENT_LINE_BYTES, where its peeks grew on to hold the whole line.
    if (longHead !== undefined && (wholeUpTo > 0 || (!content.sized && want >= DOCUMENT_LINE_BYTES)) && (isLong ??= long!(longHead))) return { head: longHead, newline: -1, complete: false, whole: false, long: true };
    const whole = wholeUpTo > 0 ? await content.readWhole(wholeUpTo) : undefined;
    if (whole !== undefined) {
      const end = whole.indexOf(0x0a, searched);
      // A first line past the line limit cannot be one string: a document, as the peeks find below.
      if ((end === -1 ? whole.length : end) - from > limit) return { head: whole, newline: -1, complete: false, whole: false };
      return { head: whole, newline: end, complete: true, whole: true };
    }
    want = Math.min(want * 8, limit);
  }
}

/**
 * Opens a file and decides its layout (without consuming its content). A first line longer than
 * `wholeBytes` makes the file a document to stream (a huge minified document, or JSON lines with
 * a huge first line: the stream parser reads concatenated values too).
 */
export async function sniffFile(file: string, wholeBytes = WHOLE_DOCUMENT_BYTES, scanBytes = WHOLE_DOCUMENT_BYTES): Promise<Sniffed> {
  return sniffContent(file, await openFile(file), wholeBytes, true, scanBytes);
}

/**
 * Whether `head` starts the Prometheus text exposition (a saved `curl …/metrics`): a `# HELP` or
 * `# TYPE` line, or a sample `name{labels} value`. Format: https://prometheus.io/docs/instrumenting/exposition_formats/
 */
function isPrometheusText(head: string): boolean {
  const line = head.split('\n', 1)[0]!;
  return /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line) || /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? +([-+]?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[-+]Inf)( +-?[0-9]+)?\r?$/.test(line);
}

/** `tar` (POSIX `ustar` magic at byte 257) or `zip` (a local file header, `PK\\x03\\x04`) when the bytes start an archive. */
function archiveKind(start: Buffer): 'tar' | 'zip' | undefined {
  if (start.length >= 262 && start.toString('latin1', 257, 262) === 'ustar') return 'tar';
  if (start[0] === 0x50 && start[1] === 0x4b && start[2] === 0x03 && start[3] === 0x04) return 'zip';
  return undefined;
}

/**
 * What the bytes are when they are a trace export in a form not read, with what to do: UTF-16
 * text (with its byte order mark, or JSON whose every other byte is NUL: Windows PowerShell 5's
 * `>` and `Out-File` write UTF-16LE, so `kubectl logs … > traces.jsonl` there gives it), or a
 * bzip2 or xz file (only gzip and zstd are inflated). Each was called "binary data", or a JSON
 * syntax error at `\x00`, which sent the reader looking for a corrupt file.
 */
function unreadEncoding(start: Buffer): string | undefined {
  const jsonStart = (b: number | undefined): boolean => b === 0x7b || b === 0x5b;
  const le = (start[0] === 0xff && start[1] === 0xfe) || (jsonStart(start[0]) && start[1] === 0 && start[3] === 0);
  const be = (start[0] === 0xfe && start[1] === 0xff) || (start[0] === 0 && jsonStart(start[1]) && start[2] === 0);
  if (le || be) return `UTF-16${le ? 'LE' : 'BE'} text (convert it to UTF-8 first, e.g. iconv -f UTF-16${le ? 'LE' : 'BE'} -t UTF-8; Windows PowerShell 5's > writes UTF-16: pipe through Out-File -Encoding utf8 instead)`;
  if (start.toString('latin1', 0, 3) === 'BZh' && start[3]! >= 0x31 && start[3]! <= 0x39) return 'a bzip2-compressed file, which is not read (decompress it first, e.g. bunzip2, or compress with gzip or zstd)';
  if (start.length >= 6 && start.toString('latin1', 0, 6) === '\xfd7zXZ\x00') return 'an xz-compressed file, which is not read (decompress it first, e.g. unxz, or compress with gzip or zstd)';
  return undefined;
}

/**
 * True when the bytes start as a varint length (protobuf's `writeDelimitedTo`) followed by a
 * TracesData message's first tag (field 1, 0x0A): a layout not read, named in the error rather
 * than called "binary data". A one-byte length is taken only below 0x20, where no text begins.
 */
function isVarintDelimitedProto(start: Buffer): boolean {
  let at = 0;
  while (at < 5 && at < start.length && (start[at]! & 0x80) !== 0) at++;
  if (at === 5 || at + 1 >= start.length) return false;
  if (at === 0 && (start[0]! >= 0x20 || isWhitespace(start[0]!))) return false;
  return start[at + 1] === 0x0a;
}

/**
 * A Triton trace file past this size is read record by record (`_triton-stream.ts`): parsed
 * whole, a 63 MB one held 0.9 GB and spent a third of its time collecting garbage.
 */
const TRITON_RECORDS_BYTES = 1024 * 1024;

/**
 * A document the sliding window can take, from its first bytes: a Jaeger envelope whose first key
 * is `data` (the query API's and the UI's download; a bare trace is read again from its start, so
 * it is read whole), a Zipkin array, or pretty-printed OTLP (`jq .` of an export, one document or
 * several); one JSON lines file whose first line is short is left to the line readers. Its layout:
 * one line (no newline among the first bytes) or pretty-printed. A one-line OTLP document is told
 * from JSON lines by its first line's length (`peekFirstLine`'s `long`).
 */
async function windowedDocument(content: ByteSource, first: number): Promise<WindowedDocument | ParsedLine | undefined> {
  const head = await content.peek(first + PREVIEW_BYTES);
  const newline = head.indexOf(0x0a, first);
  if (newline !== -1) {
    try {
      // Handed on: the first line of JSON lines is not parsed a second time (`sniffContent`).
      return { newline, value: JSON.parse(head.toString('utf8', first, newline)) as unknown };
    } catch {
      // Not a whole value on its first line: a pretty-printed document.
    }
  }
  const preview = previewJson(head, first, head.length, PREVIEW_BYTES);
  const family = classifyDocument(preview);
  if (family === 'otlp' && newline !== -1) return { family, start: first };
  const takes = (family === 'jaeger' && isObject(preview) && Object.keys(preview)[0] === 'data') || (family === 'zipkin' && Array.isArray(preview));
  if (!takes) return undefined;
  return { family, start: first, ...(newline === -1 ? { lineNo: lineNumberAt(head, first) } : {}) };
}

/**
 * Whether the content holds more than `limit` bytes: a regular file by its size (`size`, a
 * compressed one's guessed), a stream by peeking past the limit (held until read on).
 */
async function holdsMore(opened: OpenedFile, size: number, limit: number): Promise<boolean> {
  if (opened.regularFile) return size > limit;
  return opened.content.holds(limit + 1);
}

/**
 * `found` (a document to read from its start again should its reader give it back) with what it
 * is read from: a regular file as it is, a stream held in a temporary file (`_spool.ts`);
 * undefined when no temporary file can be made, so that the stream is read as before.
 */
async function rereadable(file: string, opened: OpenedFile, found: Omit<Sniffed, 'opened' | 'spool'>): Promise<Sniffed | undefined> {
  if (opened.regularFile) return { opened, ...found };
  const spool = await Spool.of(opened, file);
  return spool === undefined ? undefined : { opened: spool.open(), spool, ...found };
}

/** A compressed file is taken to inflate to at least this many times its size (Triton's trace JSON compresses 10–20×). */
const INFLATION_GUESS = 8;

/**
 * `sniffFile` on a file already opened; `handBytes`: a whole document of a family a byte-scanning
 * reader takes is handed to it unparsed (`wholeLine`). Nothing is consumed, so it can run again
 * on the same input (with `handBytes` false: how the reader falls back).
 */
async function sniffContent(file: string, opened: OpenedFile, wholeBytes: number, handBytes: boolean, scanBytes = WHOLE_DOCUMENT_BYTES): Promise<Sniffed> {
  const { content } = opened;
  let start = await content.peek(4096);
  if (start.length === 0) {
    const got = opened.compression !== 'none' ? `a ${opened.compression === 'gzip' ? 'gzip' : 'zstd'} file with no content` : opened.regularFile ? 'an empty file' : file === STDIN ? 'no data (standard input was empty)' : 'no data (nothing was written to the pipe)';
    throw new TraceFormatError(file, '', 'a trace export', got);
  }
  let first = firstContentByte(start);
  // Blank lines first (a log that starts with them): the content after them is what is sniffed,
  // looked for in peeks that double up to LEADING_BLANK_BYTES, not taken for protobuf.
  // (A peek gives at least what it is asked for, more where a piece read holds more, fewer only at the end.)
  let peek = 4096;
  while (first === -1 && start.length >= peek && peek < LEADING_BLANK_BYTES) {
    peek = Math.min(LEADING_BLANK_BYTES, Math.max(2 * peek, start.length + 1));
    start = await content.peek(peek);
    first = firstContentByte(start);
  }
  if (first === -1) {
    const got = start.length < peek ? 'a file with only whitespace' : `only whitespace in its first ${LEADING_BLANK_BYTES / 1024 / 1024} MiB`;
    throw new TraceFormatError(file, '', 'a trace export', got);
  }
  // Collector `format: proto`: [u32 BE length][message], a TracesData message starting with
  // field 1 (0x0A). A first byte that is whitespace, a BOM or a bracket means JSON instead (and a
  // length of at least 150 MiB, which no exporter writes).
  const byte = first === -1 ? undefined : start[first];
  const lead = start[0] ?? 0;
  // Lengths below 512 MiB have a first byte under 0x20; text never starts with such a byte.
  if (lead < 0x20 && !isWhitespace(lead) && start.length >= 5 && start[4] === 0x0a) return { opened, layout: 'protobuf-records', moreLines: false };
  // A bare TracesData message (`.binpb`): field 1 tag, then a binary varint length.
  if (lead === 0x0a && (byte === undefined || byte < 0x20 || byte >= 0x7f)) {
    return { opened, layout: 'protobuf-message', moreLines: false };
  }
  const encoding = unreadEncoding(start);
  if (encoding !== undefined) throw new TraceFormatError(file, 'byte 0', "a trace export (JSON in UTF-8 starting with '{' or '[', gzip, zstd or OTLP protobuf)", encoding);
  // A large Triton trace file (a regular one: it is read again the old way if it must be) is read
  // record by record, before the first line (the whole file, as Triton writes it) is read whole.
  const size = opened.compression === 'none' ? opened.bytes : opened.bytes * INFLATION_GUESS;
  const tritonBytes = scanBytes === WHOLE_DOCUMENT_BYTES ? TRITON_RECORDS_BYTES : scanBytes;
  if (handBytes && first === 0 && wholeBytes === WHOLE_DOCUMENT_BYTES && looksLikeTritonTrace(start) && (await holdsMore(opened, size, tritonBytes))) {
    const records = await rereadable(file, opened, { layout: 'json-document', moreLines: true, tritonRecords: true });
    if (records !== undefined) return records;
  }
  if (byte !== 0x7b && byte !== 0x5b) {
    // Before looking for JSON lines further on: a tar holds its files' lines as they are.
    const archive = archiveKind(start);
    if (archive !== undefined) {
      throw new TraceFormatError(file, '', "a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf)", `a ${archive} archive (extract it first, e.g. ${archive === 'tar' ? 'tar -xf' : 'unzip'}, and give the files inside)`);
    }
    const head = (await content.peek(256 * 1024)).toString('utf8');
    if (hasProcessPrefix(head)) return { opened, layout: 'json-document', moreLines: true, processOutput: true };
    const prefixed = await prefixedJsonLine(content);
    if (prefixed !== undefined) return { opened, layout: 'json-lines', moreLines: true, prefixed: true, firstLine: prefixed };
    const later = first === -1 ? undefined : await laterJsonLine(content, first);
    if (later !== undefined) return { opened, layout: 'json-lines', moreLines: true, firstLine: later };
    // A Python service's stdout as `kubectl logs` gives it: the server's log lines, then ConsoleSpanExporter's spans among them.
    if (first !== -1 && prefixedDocuments(head).values.some(isPythonConsoleDocument)) return { opened, layout: 'json-document', moreLines: true, processOutput: true };
    const inner = opened.compression === 'none' ? undefined : start[0] === 0x1f && start[1] === 0x8b ? 'gzip' : start[0] === 0x28 && start[1] === 0xb5 && start[2] === 0x2f && start[3] === 0xfd ? 'zstd' : undefined;
    if (inner !== undefined) {
      const outer = opened.compression === 'gzip' ? 'gzip' : 'zstd';
      throw new TraceFormatError(
        file,
        'byte 0',
        "a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf)",
        `${inner}-compressed data inside the ${outer} stream (compressed twice: decompress it once first, e.g. ${outer === 'gzip' ? 'gunzip' : 'zstd -d'})`,
      );
    }
    if (isVarintDelimitedProto(start)) {
      throw new TraceFormatError(
        file,
        'byte 0',
        "a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf)",
        "varint-delimited protobuf messages (writeDelimitedTo), which are not read: write [4-byte big-endian length][TracesData] records (the Collector file exporter's format: proto) or one bare TracesData message",
      );
    }
    const text = start.toString('utf8', Math.max(first, 0), Math.min(start.length, Math.max(first, 0) + 40));
    const { line, column } = lineColumn(start.toString('utf8', 0, Math.max(first, 0)), Math.max(first, 0));
    if (first !== -1 && isPrometheusText(start.toString('utf8', first, Math.min(start.length, first + 1024)))) {
      throw new TraceFormatError(file, `${line}:${column}`, "a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf)", `a Prometheus /metrics scrape (${describeText(text)}): its counters and histograms add up since the server started, with no window or requests; read them from the Prometheus that scrapes the server, with --prometheus URL (docs/prometheus.md)`);
    }
    const printable = /^[\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]*$/.test(text);
    throw new TraceFormatError(
      file,
      `${line}:${column}`,
      "a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf)",
      printable ? describeText(text) : 'binary data',
    );
  }
  // A large Jaeger or Zipkin document is scanned through a sliding window, not read whole: memory
  // holds a window, not the document (a 630 MB Jaeger document: 786 MB peak RSS read whole).
  // Should the scanner give it back, it is opened again and read the old way: a stream is first
  // held in a temporary file for that.
  const windowing = handBytes && wholeBytes === WHOLE_DOCUMENT_BYTES && scanBytes === WHOLE_DOCUMENT_BYTES;
  let parsedLine: ParsedLine | undefined;
  if (windowing && (!opened.regularFile || size > WINDOWED.documentBytes)) {
    const windowed = await windowedDocument(content, first);
    if (windowed !== undefined && 'value' in windowed) parsedLine = windowed;
    else if (windowed !== undefined && (await holdsMore(opened, size, WINDOWED.documentBytes))) {
      const scanned = await rereadable(file, opened, { layout: windowed.lineNo === undefined ? 'json-document' : 'json-lines', moreLines: false, windowed });
      if (scanned !== undefined) return scanned;
    }
  }
  // A first line up to MAX_LINE_BYTES is a line, whatever `wholeBytes`: handed to the line readers
  // and byte scanners, not streamed as a document (a 70 MB one-line OTLP document streamed took
  // 31 s and 1.38 GB). A lowered `wholeBytes` (tests of the streamed path) is kept.
  const lineLimit = wholeBytes === WHOLE_DOCUMENT_BYTES ? MAX_LINE_BYTES : Math.min(wholeBytes, MAX_LINE_BYTES);
  // A first line long enough to be read whole, in OTLP: through a sliding window (a stream held
  // in a temporary file first, as for the documents above).
  const wholeLimit = wholeBytes === WHOLE_DOCUMENT_BYTES ? MAX_SCANNED_DOCUMENT_BYTES : lineLimit;
  const longOtlp = windowing && (!content.sized || size > WINDOWED.documentBytes) ? (peeked: Buffer) => bytesFamily(peeked, first) === 'otlp' : undefined;
  let peeked = await peekFirstLine(content, first, lineLimit, wholeLimit, longOtlp);
  if (peeked.long === true) {
    const scanned = await rereadable(file, opened, { layout: 'json-lines', moreLines: false, windowed: { family: 'otlp', start: first, lineNo: lineNumberAt(peeked.head, first) } });
    if (scanned !== undefined) return scanned;
    peeked = await peekFirstLine(content, first, lineLimit, wholeLimit);
  }
  const { head, newline, complete, whole } = peeked;
  if (!complete) return { opened, layout: 'json-document', moreLines: false };
  const lineNo = lineNumberAt(head, first);
  const lineEnd = newline === -1 ? head.length : newline;
  if (handBytes && whole && (newline === -1 || firstContentByte(head.subarray(newline)) === -1)) {
    // The file's only line: a document a byte-scanning reader may take without JSON.parse (an
    // OTLP one past LARGE_LINE_BYTES, as below: scanned where it lies, where the line reader
    // copied a line without a final newline three times, 456 against 245 MB for 73 MB).
    const family = bytesFamily(head, first);
    if (family !== undefined && (family !== 'otlp' || lineEnd - first > LARGE_LINE_BYTES)) {
      // Its duplicate ids checked as the line reader checks a one-line file's (an OTLP one's: the other families' readers check their own).
      return { opened, layout: 'json-lines', moreLines: false, wholeLine: { bytes: head, start: first, end: lineEnd, lineNo, family, ...(family === 'otlp' ? { duplicates: true } : {}) } };
    }
  }
  // The file's only line, when large and OTLP, is left to the line reader's byte scanner,
  // classified from its start: parsing it here cost a second pass over it and a heap several
  // times its size. (Reached with a whole line only when the byte scanner handed it back.)
  if (whole && lineEnd - first > LARGE_LINE_BYTES && (newline === -1 || firstContentByte(head.subarray(newline)) === -1)) {
    const preview = previewJson(head, first, lineEnd, PREVIEW_BYTES);
    if (classifyDocument(preview) === 'otlp') return { opened, layout: 'json-lines', moreLines: false, firstLine: { lineNo, value: preview, preview: true, ...(handBytes ? {} : { handedBack: true }) } };
  }
  if (newline === -1) {
    // The whole input is one line: one document, parsed here once (a syntax error is the reader's to report).
    try {
      return { opened, layout: 'json-lines', moreLines: false, firstLine: { lineNo, value: JSON.parse(head.toString('utf8', first)) as unknown } };
    } catch {
      return { opened, layout: 'json-lines', moreLines: false };
    }
  }
  let parsed: unknown;
  try {
    parsed = parsedLine?.newline === newline ? parsedLine.value : JSON.parse(head.toString('utf8', first, newline));
  } catch {
    const later = await laterJsonLine(content, first);
    if (later !== undefined) return { opened, layout: 'json-lines', moreLines: true, firstLine: later };
    return { opened, layout: 'json-document', moreLines: false };
  }
  if (typeof parsed !== 'object' || parsed === null) return { opened, layout: 'json-document', moreLines: false };
  let next = newline + 1;
  while (next < head.length && isWhitespace(head[next])) next++;
  return { opened, layout: 'json-lines', moreLines: next < head.length || head.length > newline + 1 + 4096, firstLine: { lineNo, value: parsed } };
}

/** True when the text's first JSON value is a Python console span (ConsoleSpanExporter's output, which other lines may follow). */
function startsWithConsoleSpan(text: string): boolean {
  const start = text.search(/\S/);
  if (start === -1) return false;
  const scanned = scanJsonValue(text, start);
  return scanned.ok && isPythonConsoleDocument(JSON.parse(text.slice(start, scanned.end)));
}

/**
 * Parses a whole JSON text that holds one value or several concatenated values (Python's
 * ConsoleSpanExporter); throws a TraceFormatError with line:column on a syntax error.
 */
export function parseJsonDocuments(file: string, text: string): unknown[] {
  const { values, cut } = parseJsonDocumentsUpToCut(file, text);
  if (cut !== undefined) throw cut;
  return values;
}

/**
 * `parseJsonDocuments`, except that concatenated values whose last one the end of the text cuts
 * short (the stdout of a process killed while printing a span) are returned with that error as
 * `cut`, for the reader to report as one skipped record.
 */
function parseJsonDocumentsUpToCut(file: string, text: string): { values: unknown[]; cut?: TraceFormatError } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { values: [JSON.parse(body)] };
  } catch {
    // Fall through to the scanner, which splits concatenated values and locates errors.
  }
  const values: unknown[] = [];
  let pos = skipWhitespace(body, 0);
  while (pos < body.length) {
    const result = scanJsonValue(body, pos);
    if (!result.ok) {
      const { line, column } = lineColumn(body, result.offset);
      const truncated = result.got === 'end of file';
      const error = new TraceFormatError(file, `${line}:${column}`, result.expected, result.got, truncated ? 'truncated?' : undefined);
      if (truncated && values.length > 0) return { values, cut: error };
      throw error;
    }
    values.push(JSON.parse(body.slice(pos, result.end)));
    pos = skipWhitespace(body, result.end);
  }
  return { values };
}

/**
 * Documents up to this size (decompressed) are parsed whole with JSON.parse; larger ones are
 * streamed element by element (`_json-stream.ts`). Those a byte scanner takes (Jaeger, Zipkin,
 * OTLP past 1 MiB) are read whole for it up to MAX_DOCUMENT_BYTES, and Triton trace files past
 * 1 MiB record by record (docs/analyzer.md, "Large documents").
 */
export const WHOLE_DOCUMENT_BYTES = 64 * 1024 * 1024;

/** A JSON document's body: its text when small enough, else a stream of its bytes. */
export type DocumentBody = { readonly text: string } | { readonly stream: AsyncIterable<Buffer> };

/** Pieces of a document read whole (then handed back by a byte scanner) fed to the stream parser: its errors name the byte offset reached, to within one piece. */
const STREAM_PIECE_BYTES = 1 << 20;

async function* concatSources(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  while (head.length > 0) {
    const chunk = head.shift() as Buffer;
    for (let at = 0; at < chunk.length; at += STREAM_PIECE_BYTES) yield chunk.subarray(at, at + STREAM_PIECE_BYTES);
  }
  for (;;) {
    const next = await rest.next();
    if (next.done === true) return;
    yield next.value;
  }
}

/** Reads a JSON document whole when it fits in `wholeBytes` (capped at MAX_DOCUMENT_BYTES), else streams it. */
export async function readDocument(content: ByteSource, wholeBytes = WHOLE_DOCUMENT_BYTES): Promise<DocumentBody> {
  const limit = Math.min(wholeBytes, MAX_DOCUMENT_BYTES);
  const whole = await content.readWhole(limit);
  if (whole !== undefined) return { text: whole.toString('utf8') };
  const chunks: Buffer[] = [];
  let total = 0;
  const iterator = content.chunks();
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) break;
    chunks.push(next.value);
    total += next.value.length;
    if (total > limit) return { stream: concatSources(chunks, iterator) };
  }
  return { text: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)).toString('utf8') };
}

/** The family of one element streamed out of a large document (a ResourceSpans, a Jaeger trace, a Zipkin span, …). */
export function classifyElement(element: unknown): JsonFamily | undefined {
  if (isObject(element) && ('scopeSpans' in element || 'scope_spans' in element || 'instrumentationLibrarySpans' in element || 'resource' in element)) {
    return 'otlp';
  }
  return classifyDocument([element]);
}

/** What was found around the JSON of a process's output (`_process-prefix.ts`), for the reader to note and report. */
export type OutputFound = Pick<OutputDocuments, 'passed' | 'prefixed' | 'broken'>;

/** How a JSON input's content starts, as detection left it for the reader. */
export type DocumentStart =
  /**
   * Read whole: its parsed values (several for concatenated documents). The reader empties
   * `values` once it has converted them, so the parse is not held while its spans are analysed.
   */
  | { values: readonly unknown[]; readonly output?: OutputFound }
  /** Too large to read whole: its element stream, with the first element already taken. */
  | { readonly first: StreamedElement; readonly rest: AsyncGenerator<StreamedElement> }
  /**
   * Left in its bytes for a byte-scanning reader; `reopen` detects the same input again without
   * that (nothing was consumed), for when the reader cannot take it.
   */
  | { readonly bytes: WholeBytes; reopen(): Promise<OpenedTrace> }
  /**
   * A large Triton trace file left unread, for its records to be read one at a time
   * (`_triton-stream.ts`); `reopen` closes it and opens it again to be read the old way.
   */
  | { readonly tritonRecords: true; reopen(): Promise<OpenedTrace> }
  /**
   * A large Jaeger or Zipkin document left unread, for its byte scanner to read through a sliding
   * window; `reopen` closes it and opens it again to be read the old way.
   */
  | { readonly windowed: WindowedDocument; reopen(): Promise<OpenedTrace> };

/**
 * A trace input opened and detected once: what `detectFile` reports, plus the still-open content
 * and whatever detection parsed, so the reader continues where detection stopped. Nothing is
 * read or parsed twice, which also lets standard input and pipes be read like files.
 */
export interface OpenedTrace extends DetectedFile {
  readonly sniffed: Sniffed;
  /** The JSON family; undefined for protobuf. */
  readonly family: JsonFamily | undefined;
  /** For `json-document`: the parse detection made. */
  readonly document?: DocumentStart;
  /** A Triton trace file whose array was never closed (a running or killed server's): read up to here. */
  readonly unclosed?: UnclosedTritonTrace;
  /** Python console output cut short inside its last span: the spans before it were read; where and how it was cut. */
  readonly cut?: { readonly location: string; readonly expected: string; readonly got: string | undefined };
  /** Releases the input (safe to call more than once). */
  close(): Promise<void>;
}

/** The error for a JSON lines file whose first line is not JSON. */
async function firstLineError(file: string, content: ByteSource): Promise<TraceFormatError> {
  const head = await content.peek(1);
  const newline = head.indexOf(0x0a);
  const firstLine = head.toString('utf8', 0, newline === -1 ? head.length : newline).replace(/^\uFEFF/, '');
  const result = scanJsonValue(firstLine, 0);
  // A second document after the first (two exports run together): where it starts, and what.
  if (result.ok) return new TraceFormatError(file, `1:${result.end + 1}`, 'a JSON document on the first line', `more text after the JSON value: ${describeText(firstLine.slice(result.end))}`);
  return new TraceFormatError(file, `1:${result.offset + 1}`, 'a JSON document on the first line', result.got, result.got === 'end of file' ? 'truncated?' : undefined);
}

/**
 * Opens a trace input (a path, a pipe, or `-` for standard input) and detects its format from its
 * content, keeping it open for `readSpans`. Throws TraceFormatError for empty input, non-trace
 * content and unknown JSON.
 */
export async function openTrace(file: string, wholeBytes = WHOLE_DOCUMENT_BYTES, scanBytes = WHOLE_DOCUMENT_BYTES): Promise<OpenedTrace> {
  return openSniffed(file, await sniffFile(file, wholeBytes, scanBytes), wholeBytes, true, scanBytes);
}

/**
 * `openTrace` once the input is sniffed; `handBytes` as in `sniffContent`. `scanBytes`: an OTLP
 * document (not on one line) larger than this is left in its bytes for the byte scanner; at the
 * default, those past the whole-parse size (smaller ones are parsed, as before).
 */
async function openSniffed(file: string, sniffed: Sniffed, wholeBytes: number, handBytes: boolean, scanBytes = WHOLE_DOCUMENT_BYTES): Promise<OpenedTrace> {
  const { opened, layout } = sniffed;
  const reopen = async (): Promise<OpenedTrace> => openSniffed(file, await sniffContent(file, opened, wholeBytes, false), wholeBytes, false, scanBytes);
  const { spool } = sniffed;
  const close = async (): Promise<void> => {
    await opened.content.close();
    await spool?.release();
  };
  // Opened afresh from the start and detected again (as `openTrace` with these arguments), for a
  // reader that cannot take what detection left: the file by its name, or a stream's temporary
  // file (handed on to the new reading, which releases it).
  const again = async (hand: boolean, scan: number): Promise<OpenedTrace> => {
    await opened.content.close();
    const sniffedAgain = await sniffContent(file, spool?.open() ?? (await openFile(file)), wholeBytes, hand, scan);
    return openSniffed(file, spool === undefined ? sniffedAgain : { ...sniffedAgain, spool }, wholeBytes, hand, scan);
  };
  const base = {
    file,
    compression: opened.compression,
    layout,
    get bytes(): number {
      return opened.bytes;
    },
    sniffed,
    close,
  };
  try {
    if (sniffed.windowed !== undefined) {
      const { family } = sniffed.windowed;
      return { ...base, format: formatOf(family, layout, 1), family, document: { windowed: sniffed.windowed, reopen: () => again(false, scanBytes) } };
    }
    if (sniffed.tritonRecords === true) {
      return { ...base, format: 'triton-trace', family: 'triton-trace', document: { tritonRecords: true, reopen: () => again(true, Number.POSITIVE_INFINITY) } };
    }
    if (layout === 'protobuf-records' || layout === 'protobuf-message') return { ...base, format: 'otlp-proto', family: undefined };
    if (layout === 'json-lines') {
      const line = sniffed.wholeLine;
      if (line !== undefined) return { ...base, format: formatOf(line.family, layout, 1), family: line.family, document: { bytes: line, reopen } };
      const first = sniffed.firstLine;
      if (first === undefined) {
        const whole = await opened.content.readWhole(Math.min(wholeBytes, MAX_DOCUMENT_BYTES));
        const unclosed = whole === undefined ? undefined : unclosedTritonTrace(whole.toString('utf8'));
        if (unclosed !== undefined) return unclosedDocument(base, unclosed);
        throw await firstLineError(file, opened.content);
      }
      const family = classifyDocument(first.value);
      if (family === undefined) throw unknownDocumentError(file, `${first.lineNo}`, first.value);
      return { ...base, format: formatOf(family, layout, sniffed.moreLines ? 2 : 1), family };
    }
    if (handBytes && sniffed.processOutput !== true) {
      // A pretty-printed document (or one after a short first line): read whole, and handed over unparsed when its first bytes show a family a byte scanner takes.
      let whole = await opened.content.readWhole(Math.min(wholeBytes, MAX_DOCUMENT_BYTES));
      // Past the whole-parse size, a document a byte scanner takes is still read whole (up to
      // MAX_SCANNED_DOCUMENT_BYTES): its bytes are all the scanner holds, where streaming it element by
      // element held far more (a 70.7 MB Jaeger document: 18.8 s and 1.57 GB, against 2 s and
      // 0.2 GB for 61.9 MB read whole; a 118 MB pretty-printed OTLP document: 20 s, 0.4 GB).
      // A lowered `wholeBytes` (tests of the streamed path) is kept.
      if (whole === undefined && wholeBytes === WHOLE_DOCUMENT_BYTES) {
        const head = await opened.content.peek(PREVIEW_BYTES + SNIFF_LINES_BYTES);
        const at = firstContentByte(head);
        if (at !== -1 && bytesFamily(head, at) !== undefined) whole = await opened.content.readWhole(MAX_SCANNED_DOCUMENT_BYTES);
      }
      const start = whole === undefined ? -1 : firstContentByte(whole);
      const family = whole === undefined || start === -1 ? undefined : bytesFamily(whole, start);
      // OTLP documents up to `scanBytes` (by default 1 MiB, as on one line) are still parsed; up to the whole-parse size their duplicate ids are checked as before.
      const otlpBytes = scanBytes === WHOLE_DOCUMENT_BYTES ? LARGE_LINE_BYTES : scanBytes;
      if (whole !== undefined && family !== undefined && (family !== 'otlp' || whole.length > otlpBytes)) {
        const duplicates = family === 'otlp' && whole.length <= Math.min(wholeBytes, MAX_DOCUMENT_BYTES);
        return { ...base, format: formatOf(family, layout, 1), family, document: { bytes: { bytes: whole, start, end: whole.length, family, duplicates }, reopen } };
      }
    }
    // A Triton trace file is held whole whatever its size (a request's records are spread over
    // it), so streaming it element by element saves no memory and was three times slower than
    // one parse (an 80 MB file: 30 s, 1.2 GB): it is parsed whole up to MAX_DOCUMENT_BYTES. A
    // lowered `wholeBytes` (tests of the streamed path) is kept.
    const tritonLike = wholeBytes === WHOLE_DOCUMENT_BYTES && looksLikeTritonTrace(await opened.content.peek(TRITON_HEAD_BYTES));
    const body = await readDocument(opened.content, tritonLike ? MAX_DOCUMENT_BYTES : wholeBytes);
    if ('text' in body) {
      let values: unknown[] = [];
      let cut: TraceFormatError | undefined;
      let output: OutputDocuments | undefined;
      try {
        if (sniffed.processOutput !== true) {
          try {
            ({ values, cut } = parseJsonDocumentsUpToCut(file, body.text));
          } catch (error) {
            // Python console spans with other output after them (the server's log lines in the same stdout): the spans among the lines.
            if (opened.damage !== undefined || !startsWithConsoleSpan(body.text)) throw error;
            output = prefixedDocuments(body.text);
          }
        } else output = prefixedDocuments(body.text);
        if (output !== undefined) {
          values = output.values;
          // A process whose output ends inside a span (that replica killed while printing it).
          if (output.cut.length > 0) cut = new TraceFormatError(file, output.cut[0]!, output.prefixed ? "a whole span in this process's output" : 'a whole span', output.prefixed ? 'end of its output (cut short?)' : 'end of file (cut short?)');
        }
        // Only Python's console output is a run of concatenated spans; any other document cut short is the error it was.
        if (cut !== undefined && values.length > 0 && (opened.damage !== undefined || classifyDocument(values[0]) !== 'python-console')) throw cut;
      } catch (error) {
        // A document cut short by a broken compressed stream: the stream is the cause to name.
        const damage = opened.damage;
        if (damage !== undefined) throw new TraceFormatError(file, damage.location, damage.expected, damage.got);
        const unclosed = sniffed.processOutput === true ? undefined : unclosedTritonTrace(body.text);
        if (unclosed !== undefined) return unclosedDocument(base, unclosed);
        throw error;
      }
      if (values.length === 0) throw new TraceFormatError(file, '', 'JSON documents after the process prefixes', 'none');
      const family = classifyDocument(values[0]);
      if (family === undefined) throw unknownDocumentError(file, '', values[0]);
      const among = output === undefined ? {} : { output: { passed: output.passed, prefixed: output.prefixed, broken: output.broken } };
      return { ...base, format: formatOf(family, layout, values.length), family, document: { values, ...among }, ...(cut !== undefined ? { cut: { location: cut.location, expected: cut.expected, got: output !== undefined ? cut.got : `${cut.got ?? 'end of file'} (truncated?)` } } : {}) };
    }
    const rest = streamElements(file, body.stream);
    const first = await rest.next();
    const family = first.done === true ? undefined : classifyElement(first.value.value);
    if (first.done === true || family === undefined) {
      await rest.return(undefined);
      throw first.done === true
        ? new TraceFormatError(file, '', 'a document with resourceSpans, batches, data or a top-level array (how large documents are read)', 'none of these')
        : unknownDocumentError(file, 'element 1', first.value.value);
    }
    return { ...base, format: formatOf(family, layout, 1), family, document: { first: first.value, rest } };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Bytes enough to see a Triton trace file's first key. */
const TRITON_HEAD_BYTES = 64;

/**
 * True when `head` begins as Triton's trace file does: an array whose first record starts with
 * its numeric id (`[{"id":1,…`; src/tracer.cc, https://github.com/triton-inference-server/server).
 * A Zipkin span array may begin with `"id"` too, but a Zipkin id is a string.
 */
function looksLikeTritonTrace(head: Buffer): boolean {
  // Its first bytes only: `peek` may hand back all it holds (past 512 MiB, more than one string can hold).
  return /^(?:\xef\xbb\xbf)?\s*\[\s*\{\s*"id"\s*:\s*\d/.test(head.toString('latin1', 0, Math.min(head.length, 64 * 1024)));
}

/** A Triton trace file that was never closed, opened as the document of its whole records. */
function unclosedDocument(base: Pick<OpenedTrace, 'file' | 'compression' | 'bytes' | 'sniffed' | 'close'>, unclosed: UnclosedTritonTrace): OpenedTrace {
  return { ...base, layout: 'json-document', format: 'triton-trace', family: 'triton-trace', document: { values: [unclosed.records] }, unclosed };
}

/**
 * Detects a file's format from its content. Lets the CLI route GPU sample files (format
 * `gpu-samples`) to the sidecar reader and trace files to `readSpans`. Throws TraceFormatError
 * for empty files, non-trace content and unknown JSON.
 */
export async function detectFile(file: string): Promise<DetectedFile> {
  let trace = await openTrace(file);
  // A document left in its bytes was classified from its first bytes only: parse it, as
  // reading it would if the byte scanner handed it back, so the answer (and any error) is exact.
  if (trace.document !== undefined && ('bytes' in trace.document || 'tritonRecords' in trace.document || 'windowed' in trace.document)) trace = await trace.document.reopen();
  await trace.close();
  return { file, format: trace.format, compression: trace.compression, layout: trace.layout, bytes: trace.bytes };
}

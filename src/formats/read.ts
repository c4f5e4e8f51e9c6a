/**
 * @module formats/read
 * The readers' entry point: `readSpans(file)` sniffs the file (detect.ts), then streams
 * normalized SpanRecords in batches. JSON lines are split by hand from the decompressed byte
 * stream and parsed one line at a time, so memory stays flat whatever the file size; a large
 * Jaeger or Zipkin document is scanned through a sliding window (`_document-window.ts`), likewise;
 * another single JSON document (or concatenated documents) is read whole. Problems
 * in part of a file skip that part and are reported as counted warnings at the end (strict
 * mode: the first one throws); problems with the file as a whole throw a TraceFormatError.
 */

import type { SpanRecord, TraceFormat } from '../model/span.js';
import { ReadContext } from './_context.js';
import type { EventFilter, ReadWarning } from './_context.js';
import { scanJsonValue } from './_json-scan.js';
import { classifyDocument, classifyElement, formatOf, MAX_DOCUMENT_BYTES, MAX_LINE_BYTES, openTrace, unknownDocumentError, WHOLE_DOCUMENT_BYTES } from './detect.js';
import type { StreamedElement } from './_json-stream.js';
import { isObject } from './_shared.js';
import type { JsonFamily, OpenedTrace, OutputFound, Sniffed, WholeBytes, WindowedDocument } from './detect.js';
import { DocumentWindow } from './_document-window.js';
import { LINES_CHUNK_BYTES, openFile } from './_bytes.js';
import type { OpenedFile } from './_bytes.js';
import type { Spooled } from '../model/analysis.js';
import { wholeWindow } from './_byte-scan.js';
import { describeText, TraceFormatError } from './errors.js';
import { jaegerDocumentToSpans } from './jaeger-json.js';
import { readJaegerDocumentFast } from './_jaeger-fast.js';
import { readZipkinDocumentFast } from './_zipkin-fast.js';
import { readOtlpDocumentsFast, readOtlpDocumentWindowed, readOtlpLineFast } from './_otlp-fast.js';
import { SCANNED_KINDS, ScannedSpans } from './_scanned-spans.js';
import { rangeChunks } from './_ranges.js';
import type { LineRange, RangeStats } from './_ranges.js';
import type { AttributeProjection, FastReadCounts } from './_otlp-fast.js';
import { otlpDocumentToSpans } from './otlp-json.js';
import { readOtlpProto } from './otlp-proto.js';
import { pythonConsoleDocumentToSpans } from './python-console.js';
import { tritonTraceDocumentToSpans, UNCLOSED_TRITON_EXPECTED, withoutRequest } from './triton-trace.js';
import type { TritonRows } from './triton-trace.js';
import { streamTritonRecords } from './_triton-stream.js';
import { releaseTritonRecords, TritonIndex } from './_triton-release.js';
import { zipkinDocumentToSpans } from './zipkin-json.js';

export type { EventFilter, ReadWarning } from './_context.js';
export type { AttributeProjection, FastReadCounts } from './_otlp-fast.js';

/** Options of `readSpans`. */
export interface ReadOptions {
  /** Throw a TraceFormatError at the first skipped span, line or record. Default false. */
  readonly strict?: boolean;
  /** Called once per kind of problem, with its count, when the file has been read. Default: none (see ReadStats.warnings). */
  readonly onWarning?: (warning: ReadWarning) => void;
  /** Spans per yielded batch (the last may be smaller, one JSON line's may be larger). Default 2048. */
  readonly batchSize?: number;
  /**
   * Single JSON documents up to this many (decompressed) bytes are parsed whole; larger ones are
   * streamed. Default 64 MiB, and at that default documents a byte scanner takes are read whole
   * up to 512 MiB and Triton trace files record by record; any other value streams every
   * document past it (the old paths, for tests).
   */
  readonly wholeDocumentBytes?: number;
  /**
   * `fast` (default): OTLP JSON lines are scanned byte by byte (formats/_otlp-fast.ts), each line
   * it cannot take going to the full parser (counted in ReadStats.fastReader); `full`: every line
   * through JSON.parse. Both give the same spans, stats and errors.
   */
  readonly reader?: 'fast' | 'full';
  /**
   * `all` (default): every attribute; `analysis`: phase spans read by the fast reader keep only
   * the attributes the analyzer reads (semconv's PHASE_SPAN_ATTRIBUTES), the others all of theirs.
   */
  readonly attributes?: AttributeProjection;
  /**
   * The span events to keep from Jaeger logs and Zipkin annotations, so that other logs cost no
   * objects: the names to keep (a set), or an EventFilter (those names on every span, and every
   * event of an error span); default: every one. The analyzer passes `CONVENTION_EVENTS` (the
   * names its conventions read, and error spans' events for TGI's outcome, whose error messages
   * are free text). OTLP and Python console events are all kept either way.
   */
  readonly events?: ReadonlySet<string> | EventFilter | undefined;
  /**
   * Internal, for tests: an OTLP JSON document (not on one line) or a Triton trace file larger
   * than this many bytes takes the path of large ones (OTLP: read whole for the byte scanner;
   * Triton: its records read one at a time). By default 64 MiB for OTLP (decompressed), 1 MiB
   * for Triton (on disk; a compressed file counted at 8 times its size).
   */
  readonly scanDocumentBytes?: number;
  /**
   * Internal, for tests: the size past which a Triton trace file never closed is read as the
   * stream parser read it (default MAX_DOCUMENT_BYTES, 512 MiB: below, it was parsed whole), so
   * that path runs on a small file.
   */
  readonly tritonUnclosedBytes?: number;
  /**
   * `readSpanBatches` only: the analyzer's mapping of a Triton trace file's spans as they are
   * read (analyzer/conventions/triton.ts): a file read record by record then comes as rows of
   * our convention, each batch standing for the spans it was made from (ScannedSpans.inputSpans).
   */
  readonly tritonRows?: TritonRows;
}

/** What reading one file gave. */
export interface ReadStats {
  readonly file: string;
  readonly format: TraceFormat;
  /** Spans yielded. */
  readonly spans: number;
  /** Spans skipped as unusable (lines and records skipped are in `warnings`). */
  readonly skipped: number;
  /** Duplicate span ids reported in `warnings` (kept in the output; the assembler counts them once). */
  readonly duplicateSpans: number;
  /** Size of the file on disk. */
  readonly bytes: number;
  /** Leniencies applied (base64 ids, enum names, wrappers, …), one line each with a count. */
  readonly leniencies: readonly string[];
  /** The warnings also passed to `onWarning`. */
  readonly warnings: readonly ReadWarning[];
  /** OTLP JSON lines read by the fast reader, and those it handed to the full parser (absent when it was not used); a whole document (Jaeger, Zipkin, OTLP, a large Triton trace file) counts as one. */
  readonly fastReader?: FastReadCounts;
  /** Standard input or a pipe held in a temporary file to be read as a file is (`_spool.ts`): its bytes and the directory. */
  readonly spooled?: Spooled;
}

type Converter = (doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string) => void;

const CONVERTERS: Readonly<Record<Exclude<JsonFamily, 'gpu-samples'>, Converter>> = {
  otlp: otlpDocumentToSpans,
  jaeger: jaegerDocumentToSpans,
  zipkin: zipkinDocumentToSpans,
  'python-console': pythonConsoleDocumentToSpans,
  'triton-trace': tritonTraceDocumentToSpans,
};

const DEFAULT_BATCH = 2048;
const EMPTY = Buffer.alloc(0);

/** Converts one element streamed out of a large document, wrapping it as its family's document. */
function convertElement(family: JsonFamily, element: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  switch (family) {
    case 'otlp':
      otlpDocumentToSpans({ resourceSpans: [element] }, ctx, out, where);
      return;
    case 'jaeger':
      jaegerDocumentToSpans(isObject(element) && Array.isArray(element['spans']) ? element : [element], ctx, out, where);
      return;
    case 'zipkin':
      zipkinDocumentToSpans(Array.isArray(element) ? element : [element], ctx, out, where);
      return;
    case 'python-console':
      pythonConsoleDocumentToSpans(element, ctx, out, where);
      return;
    default:
      throw new TraceFormatError(ctx.file, where, 'trace spans', `a ${family} record`);
  }
}

function converterFor(file: string, family: JsonFamily, location: string): Converter {
  if (family === 'gpu-samples') {
    throw new TraceFormatError(file, location, 'a trace export', 'a GPU sample file', 'read it with readGpuSamples / pass it as GPU samples');
  }
  return CONVERTERS[family];
}

/**
 * The bytes of a line that spans chunks, gathered in one buffer kept from line to line: the
 * Collector writes a line per export (a few MB with its batch processor's default of 8192
 * spans), so many of its lines span the read chunks, and a fresh copy of each piece, then of
 * the joined line, allocated twice the file's size (a 203 MB file of 3.2 MB lines: 7,200 page
 * faults against 3,900, and V8 collected for the external memory: 213 ms of collection against
 * 84). A line past CARRY_KEPT_BYTES is not kept once read.
 */
class LineCarry {
  private buffer: Buffer = EMPTY;
  length = 0;

  /** Appends `bytes`. */
  add(bytes: Buffer): void {
    const needed = this.length + bytes.length;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.buffer.length, 64 * 1024));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    bytes.copy(this.buffer, this.length);
    this.length = needed;
  }

  /** The line gathered so far, as a view valid until the next `add`; the carry starts over. */
  take(): Buffer {
    const line = this.buffer.subarray(0, this.length);
    this.length = 0;
    if (this.buffer.length > CARRY_KEPT_BYTES) this.buffer = EMPTY;
    return line;
  }
}

/** The largest carry kept for the next line: past it, a line's buffer is left to the collector once read. */
const CARRY_KEPT_BYTES = 32 * 1024 * 1024;

/**
 * Lines of one decompressed chunk, decoded one at a time as the reader asks for them. Decoding
 * a whole 1 MiB chunk up front kept ~40 line strings alive in the young generation while they
 * were parsed, and every scavenge copied them (GC was a quarter of the run); the chunk's Buffer
 * lives outside the JS heap, so decoding lazily leaves the collector only the current line.
 */
class ChunkLines {
  private start = 0;
  constructor(
    private readonly chunk: Buffer,
    /** Bytes of a line begun in earlier chunks, to be joined with this chunk's first line; undefined when none. */
    private carry: LineCarry | undefined,
    /** Offset of the last newline in the chunk; bytes after it belong to the next chunk. */
    private readonly lastNewline: number,
  ) {}

  /** Bytes of the line `nextBytes` moved to: `bytes[lineStart, lineEnd)`. */
  bytes: Buffer = EMPTY;
  lineStart = 0;
  lineEnd = 0;

  /** Moves to the next line (without `\n` / `\r\n`); false at the end of the chunk's complete lines. */
  nextBytes(): boolean {
    const chunk = this.chunk;
    if (this.start > this.lastNewline) return false;
    const newline = chunk.indexOf(0x0a, this.start);
    const carry = this.carry;
    if (carry !== undefined) {
      this.carry = undefined;
      carry.add(chunk.subarray(0, newline));
      const joined = carry.take();
      const last = joined.length - 1;
      this.start = newline + 1;
      this.bytes = joined;
      this.lineStart = 0;
      this.lineEnd = joined[last] === 0x0d ? last : joined.length;
      return true;
    }
    let end = newline;
    if (end > this.start && chunk[end - 1] === 0x0d) end--;
    this.bytes = chunk;
    this.lineStart = this.start;
    this.lineEnd = end;
    this.start = newline + 1;
    return true;
  }

  /** The current line decoded. */
  text(): string {
    return this.bytes.toString('utf8', this.lineStart, this.lineEnd);
  }

  /** The next line (without `\n` / `\r\n`), or undefined at the end of the chunk's complete lines. */
  next(): string | undefined {
    return this.nextBytes() ? this.text() : undefined;
  }
}

/**
 * Splits decompressed bytes into lines, yielding each chunk's complete lines (decoded lazily).
 * A chunk may be reused once the next is asked for (ByteSource.transientChunks): the bytes of a
 * line it does not finish are copied (into one LineCarry: the line before is read by then).
 */
async function* splitLines(file: string, chunks: AsyncIterable<Buffer>, lineCount: { value: number }): AsyncGenerator<ChunkLines> {
  const carry = new LineCarry();
  for await (const chunk of chunks) {
    const lastNewline = chunk.lastIndexOf(0x0a);
    if (lastNewline === -1) {
      carry.add(chunk);
    } else {
      yield new ChunkLines(chunk, carry.length > 0 ? carry : undefined, lastNewline);
      if (lastNewline + 1 < chunk.length) carry.add(chunk.subarray(lastNewline + 1));
    }
    if (carry.length > MAX_LINE_BYTES) {
      throw new TraceFormatError(file, `${lineCount.value + 1}`, 'lines shorter than 512 MiB', 'a longer line', 'split the export');
    }
  }
  if (carry.length > 0) {
    // The last line, ended in the carry itself rather than in a joined copy.
    carry.add(NEWLINE);
    const last = carry.take();
    yield new ChunkLines(last, undefined, last.length - 1);
  }
}

const NEWLINE = Buffer.from('\n');

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0xfeff) return false;
  }
  return true;
}

/** Where and why a line is not JSON, for a skip warning. */
function badLine(line: string): { column: number; got: string } {
  const result = scanJsonValue(line, 0);
  if (!result.ok) {
    return { column: result.offset + 1, got: result.got === 'end of file' ? 'end of line (truncated?)' : result.got };
  }
  return { column: result.end + 1, got: `more text after the JSON value: ${describeText(line.slice(result.end))}` };
}

/** What a layout-specific reader found out, for the file's ReadStats. */
interface LayoutResult {
  family: JsonFamily | undefined;
  documents: number;
  /** Lines read (JSON lines). */
  lines?: number;
  /** A byte range's first document, when it could not be converted (an error if it is the file's only one). */
  firstLineError?: TraceFormatError;
}

/**
 * Where `readJsonLines` takes its lines from: a whole file as detection opened it, or one byte
 * range of it (`readLineRange`), which starts knowing the family unless it is the first range
 * and leaves the whole-file checks to whoever merges the ranges (formats/_ranges.ts).
 */
interface LineSource {
  /** The bytes; a chunk may be reused once the next is asked for. */
  readonly chunks: AsyncIterable<Buffer>;
  readonly moreLines: boolean;
  readonly prefixed?: boolean;
  readonly firstLine?: Sniffed['firstLine'];
  /** For a range after the first: the family detection found. */
  readonly family?: JsonFamily;
  /** For a byte range: whether it is the file's first (whose line 1 may start with a BOM). */
  readonly range?: { readonly first: boolean };
}

/** JSON lines: one document per line, parsed and converted one at a time. */
async function* readJsonLines(
  file: string,
  sniffed: LineSource,
  ctx: ReadContext,
  batchSize: number,
  result: LayoutResult,
  fast: { projection: AttributeProjection; counts: FastReadCounts; scanned: boolean } | undefined,
): AsyncGenerator<SpanRecord[] | ScannedSpans> {
  let out: SpanRecord[] = [];
  // With `scanned`, every span goes into rows in file order: the fast reader's straight in, the
  // full parser's (in `out`) after each line. One batch, reused: its consumer is done with it
  // when it asks for the next (a fresh one per yield allocated 90 MB more on a 108 MB file,
  // growing its arrays).
  // Room for a full batch plus one more line of up to a batch: the rows never grow on usual
  // input (the first growth, mid-run, threw away the optimized code of the reader's hot path).
  const rows = fast?.scanned === true ? new ScannedSpans(2 * batchSize) : undefined;
  let lineNo = 0;
  let convert: Converter | undefined = sniffed.family === undefined ? undefined : converterFor(file, sniffed.family, '');
  result.family ??= sniffed.family;
  const firstLines = sniffed.range === undefined || sniffed.range.first;
  // A file of one line is one document: its structural error is the file's error, not a skipped line.
  let firstLineError: TraceFormatError | undefined;
  let firstSyntaxError: TraceFormatError | undefined;
  const prefixed = sniffed.prefixed === true;
  // Detection's parse of the first line, unless it only previewed it.
  const handed = sniffed.firstLine?.preview === true ? undefined : sniffed.firstLine;
  const lineCount = { value: 0 };
  for await (const lines of splitLines(file, sniffed.chunks, lineCount)) {
    for (;;) {
      // Once the file is known to be OTLP, most lines take the byte-scanning fast path.
      if (fast !== undefined && convert === otlpDocumentToSpans) {
        const before = fast.counts.lines;
        const stop = scanLines(lines, ctx, rows ?? out, fast, batchSize);
        const read = fast.counts.lines - before;
        lineNo += read;
        lineCount.value = lineNo;
        result.documents += read;
        if (stop === LINES_DONE) break;
        if (stop === BATCH_FULL) {
          if (rows !== undefined) {
            yield rows.direct === 0 ? rows.allRecords() : rows;
            rows.clear();
          } else {
            yield out;
            out = [];
          }
          continue;
        }
        // LINE_LEFT: the line `lines` is at is the full reader's.
      } else if (!lines.nextBytes()) {
        break;
      }
      lineNo++;
      lineCount.value = lineNo;
      let doc: unknown;
      if (lineNo === handed?.lineNo && !prefixed) {
        // The line detection parsed is neither decoded nor parsed again (a one-line document may be most of the file).
        doc = handed.value;
      } else {
        let line = lines.text();
        if (line.length === 0 || (line.charCodeAt(0) <= 0x20 && isBlank(line))) continue;
        if (prefixed && line.charCodeAt(0) !== 0x7b) {
          const brace = line.indexOf('{');
          if (brace === -1) {
            ctx.note('log lines without JSON ignored (lines)');
            continue;
          }
          ctx.note('log prefixes stripped (lines)');
          line = line.slice(brace);
        }
        try {
          // The line detection parsed is not parsed again.
          doc = lineNo === handed?.lineNo ? handed.value : JSON.parse(lineNo === 1 && firstLines && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line);
        } catch {
          const bad = badLine(line);
          // The only line of a file ends where the file ends.
          firstSyntaxError ??= sniffed.moreLines
            ? new TraceFormatError(file, `${lineNo}:${bad.column}`, 'a JSON document', bad.got)
            : new TraceFormatError(file, `${lineNo}:${bad.column}`, 'a JSON document', bad.got.replace('end of line (truncated?)', 'end of file (truncated?)'));
          // The file's only line: a document that cannot be read, whether or not its family was previewed.
          if (!sniffed.moreLines) throw firstSyntaxError;
          ctx.skip(`${lineNo}:${bad.column}`, 'a JSON document on every line', bad.got, 'line');
          continue;
        }
      }
      if (convert === undefined) {
        result.family = classifyDocument(doc);
        if (result.family === undefined) throw unknownDocumentError(file, `${lineNo}`, doc);
        convert = converterFor(file, result.family, `${lineNo}`);
      }
      result.documents++;
      try {
        convert(doc, ctx, out, `${lineNo}`);
      } catch (error) {
        if (!(error instanceof TraceFormatError) || ctx.strict) throw error;
        if (result.documents === 1 && firstLines) firstLineError = error;
        ctx.skip(error.location, error.expected, error.got, 'line');
      }
      // A one-line file is one (minified) document, checked like any whole document.
      if (!sniffed.moreLines) checkDuplicates(ctx, out, `${lineNo}`);
      if (rows !== undefined) {
        for (const record of out) rows.pushRecord(record);
        out.length = 0;
        if (rows.length >= batchSize) {
          yield rows.direct === 0 ? rows.allRecords() : rows;
          rows.clear();
        }
      } else if (out.length >= batchSize) {
        yield out;
        out = [];
      }
    }
  }
  if (rows !== undefined && rows.length > 0) yield rows.direct === 0 ? rows.allRecords() : rows;
  if (out.length > 0) yield out;
  result.lines = lineNo;
  if (sniffed.range !== undefined) {
    // The whole file's checks, once its ranges are merged (formats/_ranges.ts).
    if (firstLineError !== undefined) result.firstLineError = firstLineError;
    return;
  }
  if (result.family === undefined) throw firstSyntaxError ?? new TraceFormatError(file, '', 'a trace export', 'no JSON documents');
  if (result.documents === 1 && firstLineError !== undefined) throw firstLineError;
}

/**
 * Whether detection found the family on line 1 itself: the byte scanner then takes that line
 * with the family known, as it takes every other, instead of the full reader converting
 * detection's parse of it (in code not yet run, that took ~13 ms at the start of every run on a
 * line of 64 spans). A family found on a later line (line 1 not JSON, or not a trace) is left to
 * be found as before: the lines above it are read as they were.
 */
export function familyOfLineOne(sniffed: Sniffed): boolean {
  return sniffed.firstLine?.lineNo === 1 && sniffed.firstLine.preview !== true;
}

/** Why `scanLines` stopped: the chunk's lines are all read, a batch is full, or the line it is at needs the full reader. */
const LINES_DONE = 0;
const BATCH_FULL = 1;
const LINE_LEFT = 2;

/**
 * Reads a chunk's lines with the byte scanner until one needs the full reader (left current
 * in `lines`), `out` holds a batch, or the chunk's lines run out, counting the lines read in
 * `fast.counts`. A plain function, not part of the generator: its loop is the only per-line
 * code that runs hot, so the generator around it (large, mostly for the full reader's lines)
 * is not worth optimizing and V8 leaves it unoptimized (it cost ~20 ms of compiling).
 */
function scanLines(lines: ChunkLines, ctx: ReadContext, out: SpanRecord[] | ScannedSpans, fast: { projection: AttributeProjection; counts: FastReadCounts }, batchSize: number): number {
  while (lines.nextBytes()) {
    if (lines.bytes[lines.lineStart] !== 0x7b) return LINE_LEFT;
    if (!readOtlpLineFast(lines.bytes, lines.lineStart, lines.lineEnd, ctx, out, fast.projection)) {
      fast.counts.fallbacks++;
      return LINE_LEFT;
    }
    fast.counts.lines++;
    if (out.length >= batchSize) return BATCH_FULL;
  }
  return LINES_DONE;
}

/** A JSON document (or concatenated documents) small enough to parse whole, as detection parsed it: its spans in batches. */
function readWholeDocument(file: string, values: readonly unknown[], ctx: ReadContext, batchSize: number, result: LayoutResult, output: OutputFound | undefined): Iterable<SpanRecord[]> {
  if (output?.prefixed === true) ctx.note('process prefixes such as "(ProxyActor pid=…) " stripped (files)');
  if (output !== undefined && output.passed > 0) ctx.note('lines of other output among the spans passed over (log lines)', output.passed);
  for (const at of output?.broken ?? []) ctx.skip(at, 'a whole span (a line of other output was printed inside this one)', 'a span that does not parse', 'record');
  result.family = classifyDocument(values[0]);
  if (result.family === undefined) throw unknownDocumentError(file, '', values[0]);
  const convert = converterFor(file, result.family, '');
  const out: SpanRecord[] = [];
  values.forEach((doc, d) => convert(doc, ctx, out, values.length > 1 ? `document ${d + 1}` : ''));
  result.documents = values.length;
  checkDuplicates(ctx, out, '');
  return inBatches(out, batchSize);
}

/** A JSON document too large to parse whole, streamed element by element. */
async function* readLargeDocument(
  file: string,
  first: StreamedElement,
  rest: AsyncIterable<StreamedElement>,
  ctx: ReadContext,
  batchSize: number,
  result: LayoutResult,
): AsyncGenerator<SpanRecord[]> {
  ctx.note('large document streamed element by element (files)');
  result.documents = 1;
  let out: SpanRecord[] = [];
  let tritonRecords: unknown[] = [];
  async function* elements(): AsyncGenerator<StreamedElement> {
    yield first;
    yield* rest;
  }
  try {
    for await (const { index, value } of elements()) {
      if (result.family === undefined) {
        result.family = classifyElement(value);
        if (result.family === undefined) throw unknownDocumentError(file, 'element 1', value);
        converterFor(file, result.family, 'element 1');
      }
      if (result.family === 'triton-trace') {
        // A request's records are spread over the file: Triton needs them all before converting.
        tritonRecords.push(value);
        continue;
      }
      convertElement(result.family, value, ctx, out, `element ${index + 1}`);
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
    }
  } catch (error) {
    // A Triton trace file never closed (formats/triton-trace.ts, `unclosedTritonTrace`): the
    // stream cannot tell whether the end cut a record, so the request written last is left out.
    if (result.family !== 'triton-trace' || !(error instanceof TraceFormatError) || error.got !== 'end of file (truncated?)') throw error;
    const last = tritonRecords.at(-1);
    const id = isObject(last) ? last['id'] : undefined;
    tritonRecords = withoutRequest(tritonRecords, id);
    ctx.skip(error.location, UNCLOSED_TRITON_EXPECTED, `the end of the file (request id ${String(id)}, written last and perhaps cut, left out)`, 'record');
  }
  if (result.family === undefined) {
    throw new TraceFormatError(file, '', 'a document with resourceSpans, batches, data or a top-level array (how large documents are read)', 'none of these');
  }
  if (tritonRecords.length > 0) {
    tritonTraceDocumentToSpans(tritonRecords, ctx, out, '');
    // Not held while the spans are analysed (see readBatches on whole documents).
    tritonRecords = [];
  }
  if (out.length > 0) yield out;
}

/**
 * Reads one trace input (a path, a pipe, `-` for standard input, or what `openTrace` opened),
 * yielding normalized spans in batches; the generator's return value is the file's ReadStats.
 * Throws TraceFormatError for input that is not a readable trace export.
 */
export function readSpans(input: string | OpenedTrace, options: ReadOptions = {}): AsyncGenerator<SpanRecord[], ReadStats> {
  return readBatches(input, options, false) as AsyncGenerator<SpanRecord[], ReadStats>;
}

/**
 * `readSpans` for the analyzer: OTLP JSON lines read by the fast reader (with the `analysis`
 * projection) come as ScannedSpans (spans in our convention in columns, the others as
 * SpanRecords, in file order; formats/_scanned-spans.ts), everything else as SpanRecords.
 * A ScannedSpans batch is reused: the consumer is done with it when it asks for the next.
 */
export function readSpanBatches(input: string | OpenedTrace, options: ReadOptions = {}): AsyncGenerator<SpanRecord[] | ScannedSpans, ReadStats> {
  return readBatches(input, { ...options, attributes: 'analysis' }, true);
}

async function* readBatches(input: string | OpenedTrace, options: ReadOptions, scanned: boolean): AsyncGenerator<SpanRecord[] | ScannedSpans, ReadStats> {
  let trace = typeof input === 'string' ? await openTrace(input, options.wholeDocumentBytes, options.scanDocumentBytes) : input;
  const { file } = trace;
  let { opened } = trace.sniffed;
  const ctx = new ReadContext(file, options.strict === true, options.events);
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const result: LayoutResult = { family: undefined, documents: 0 };
  const counts: FastReadCounts = { lines: 0, fallbacks: 0 };
  let spans = 0;
  try {
    let batches: AsyncIterable<SpanRecord[] | ScannedSpans> | Iterable<SpanRecord[] | ScannedSpans> | undefined;
    /** Spans the byte scanner handed on before it gave the document back: the full reader's first ones, not handed on again. */
    let handed: HandedOn | undefined;
    if (trace.document !== undefined && ('bytes' in trace.document || 'windowed' in trace.document)) {
      // A whole document detection left in its bytes, or a large one left unread for a sliding
      // window: the byte scanner reads it, or it is detected again without that.
      if (options.reader !== 'full') {
        const doc = 'bytes' in trace.document ? trace.document.bytes : await windowOver(trace.document.windowed, opened);
        const scanning = readBytesDocument(doc, ctx, batchSize, result, counts, scanned ? 'rows' : (options.attributes ?? 'all'));
        let next = await scanning.next();
        for (; next.done !== true; next = await scanning.next()) {
          spans += next.value.length;
          yield next.value;
        }
        handed = next.value;
      }
      if (options.reader === 'full' || handed !== undefined) {
        trace = await trace.document.reopen();
        opened = trace.sniffed.opened;
      } else {
        batches = [];
      }
    } else if (trace.document !== undefined && 'tritonRecords' in trace.document) {
      // A large Triton trace file: read record by record, or opened again and read the old way.
      batches = options.reader === 'full' ? undefined : await readTritonRecords(trace, ctx, batchSize, result, counts, options.tritonUnclosedBytes ?? MAX_DOCUMENT_BYTES, scanned ? options.tritonRows : undefined);
      if (batches === undefined) {
        trace = await trace.document.reopen();
        opened = trace.sniffed.opened;
      }
    }
    const { sniffed, layout, document } = trace;
    if (batches !== undefined) {
      // Read above.
    } else if (layout === 'protobuf-records' || layout === 'protobuf-message') {
      batches = readOtlpProto(file, opened.content, layout, ctx, batchSize);
    } else if (layout === 'json-lines') {
      // One line is a document read whole, except a large OTLP one detection only previewed: the byte scanner takes that.
      const oneLine = !sniffed.moreLines && sniffed.firstLine?.preview !== true;
      const fastLines = options.reader === 'full' || sniffed.prefixed === true || oneLine || sniffed.firstLine?.handedBack === true ? undefined : { projection: options.attributes ?? 'all', counts, scanned };
      const known = (sniffed.firstLine?.preview === true || (fastLines !== undefined && familyOfLineOne(sniffed))) && trace.family !== undefined ? { family: trace.family } : {};
      batches = readJsonLines(file, { ...sniffed, ...known, chunks: sniffed.opened.content.transientChunks(LINES_CHUNK_BYTES) }, ctx, batchSize, result, fastLines);
    } else if (document === undefined || 'bytes' in document || 'tritonRecords' in document || 'windowed' in document) {
      throw new TraceFormatError(file, '', 'a JSON document', 'nothing');
    } else {
      if ('values' in document) {
        const { values } = document;
        // Converted here, not when the first batch is asked for, and let go of: a whole
        // document's parse is several times its size (a 60 MB Triton trace file: 155 MB).
        document.values = [];
        batches = readWholeDocument(file, values, ctx, batchSize, result, document.output);
      } else {
        batches = readLargeDocument(file, document.first, document.rest, ctx, batchSize, result);
      }
    }
    if (handed !== undefined && handed.spans > 0) batches = afterHanded(file, batches, handed, ctx);
    for await (const batch of batches) {
      if (layout === 'protobuf-message') checkDuplicates(ctx, batch as SpanRecord[], '');
      spans += batch instanceof ScannedSpans ? (batch.inputSpans ?? batch.length) : batch.length;
      yield batch;
    }
    // A compressed stream cut short (a killed writer): what came out was read, like a cut-off line.
    const damage = opened.damage;
    if (damage !== undefined) ctx.skip(damage.location, damage.expected, damage.got, 'record');
    const cut = trace.cut;
    if (cut !== undefined) ctx.skip(cut.location, cut.expected, cut.got, 'record');
    const unclosed = trace.unclosed;
    if (unclosed !== undefined) reportUnclosed(ctx, unclosed);
  } finally {
    await trace.close();
  }
  const { layout } = trace;
  const format: TraceFormat = layout === 'protobuf-records' || layout === 'protobuf-message' ? 'otlp-proto' : formatOf(result.family ?? 'otlp', layout, result.documents);
  const warnings = ctx.warnings();
  if (options.onWarning) for (const warning of warnings) options.onWarning(warning);
  const used = counts.lines + counts.fallbacks > 0 ? { fastReader: counts } : {};
  const { spool } = trace.sniffed;
  const spooled = spool === undefined ? {} : { spooled: { bytes: spool.size, directory: spool.where } };
  return { file, format, spans, skipped: ctx.skipped, duplicateSpans: ctx.duplicateSpans, bytes: opened.bytes, leniencies: ctx.leniencies(), warnings, ...used, ...spooled };
}

/** What a Triton trace file never closed (and parsed whole) is reported as: the request the end cut, or the missing `]`. */
function reportUnclosed(ctx: ReadContext, unclosed: { readonly location: string; readonly cut?: number | null }): void {
  const expected = UNCLOSED_TRITON_EXPECTED;
  if (unclosed.cut !== undefined) ctx.skip(unclosed.location, expected, `${unclosed.cut === null ? 'a record' : `a record of request id ${unclosed.cut} (that request left out)`} cut short at the end of the file`, 'record');
  else ctx.warn(unclosed.location, `Triton trace array not closed: expected ${expected}; its whole records were read`);
}

/** What the stream parser said of a Triton trace file never closed, past what is parsed whole (see readLargeDocument). */
function reportUnclosedStream(ctx: ReadContext, location: string, last: unknown): void {
  ctx.skip(location, UNCLOSED_TRITON_EXPECTED, `the end of the file (request id ${String(last)}, written last and perhaps cut, left out)`, 'record');
}

/**
 * A large Triton trace file read record by record (`_triton-stream.ts`), with exactly what the
 * old way (parsed whole, or streamed past MAX_DOCUMENT_BYTES) gives; undefined, with `ctx`
 * untouched, when it must be read the old way. Where the old way read one line (Triton writes
 * the whole array on one line), its locations name line `1`.
 */
async function readTritonRecords(trace: OpenedTrace, ctx: ReadContext, batchSize: number, result: LayoutResult, counts: FastReadCounts, unclosedBytes: number, rows: TritonRows | undefined): Promise<AsyncIterable<SpanRecord[] | ScannedSpans> | undefined> {
  const read = await tritonRecords(trace, ctx, batchSize, result, unclosedBytes, rows);
  // Counted as the byte scanners count a document: one read, or one handed back.
  if (read === undefined) counts.fallbacks++;
  else counts.lines++;
  return read;
}

/**
 * The file is read twice: first each request's last record (`streamTritonRecords` into a
 * TritonIndex), then its spans, each request let go of once its last record is in
 * (`releaseTritonRecords`; a compressed file decompressed again): an 84 MB file held every
 * request to the end (0.6 GB). Whatever the old way says (a skip in strict mode, a reading it
 * must do itself) is known before the first span is made.
 */
async function tritonRecords(trace: OpenedTrace, ctx: ReadContext, batchSize: number, result: LayoutResult, unclosedBytes: number, rows: TritonRows | undefined): Promise<AsyncIterable<SpanRecord[] | ScannedSpans> | undefined> {
  const { opened } = trace.sniffed;
  // Read into a context of its own, so that a file read again the old way starts afresh.
  const attempt = new ReadContext(trace.file, false);
  const index = new TritonIndex(attempt, ctx.strict);
  const end = await streamTritonRecords(trace.file, opened.content.transientChunks(), index, () => opened.damage !== undefined, opened.compression === 'none', unclosedBytes);
  if (end === undefined) return undefined;
  const { unclosed, oneLine } = end;
  let where = '';
  if (oneLine && unclosed === undefined) {
    // Its records' locations would have named the line.
    if (index.skippedRecords > 0) return undefined;
    where = '1';
  }
  // The old way stops at the first skip in strict mode (a record, a request without timestamps): let it say which.
  if (ctx.strict && (index.untimed > 0 || attempt.state().problems.some(([, p]) => p.skips))) return undefined;
  /** What the old way said after its spans: its end, its skips. */
  const report = (): void => {
    if (unclosed !== undefined && 'last' in unclosed) reportUnclosedStream(ctx, unclosed.location, unclosed.last);
    ctx.absorb(attempt.state(), (location) => location);
    if (unclosed !== undefined && !('last' in unclosed)) reportUnclosed(ctx, unclosed);
  };
  // In strict mode a request cut by the end fails the reading here, as one reading failed before its spans.
  if (ctx.strict && unclosed !== undefined && ('last' in unclosed || unclosed.cut !== undefined)) report();
  result.family = 'triton-trace';
  result.documents = 1;
  // The second reading opens the file again by its name, or a stream's temporary file (detect.ts).
  const { spool } = trace.sniffed;
  const again = async (): Promise<OpenedFile> => spool?.open() ?? (await openFile(trace.file));
  return releasedBatches(releaseTritonRecords(trace.file, again, opened.compression, index, end, attempt, where, batchSize, rows), report);
}

/** The batches of the second reading, then what the reading said. */
async function* releasedBatches(batches: AsyncIterable<SpanRecord[] | ScannedSpans>, report: () => void): AsyncGenerator<SpanRecord[] | ScannedSpans> {
  yield* batches;
  report();
}

/**
 * What the byte scanner handed on of a document before it gave it back: how many spans, and the
 * trace and span id of each batch's first span (at `at`), to check against the full reader's.
 */
interface HandedOn {
  spans: number;
  readonly at: number[];
  readonly ids: string[];
}

/**
 * A whole document in its bytes (or a large Jaeger or Zipkin one through a sliding window, slid
 * at the scanner's pauses), read by its family's byte scanner (counted in `counts` as one
 * line read fast); the generator returns undefined once it is read, or what it handed on when
 * the scanner gives it back (nothing, but for a large Jaeger or Zipkin document). OTLP (one or
 * several concatenated documents, one line or pretty-printed) is read as the line reader reads
 * a line: into rows for the analyzer (`rows`), else into SpanRecords with that projection; its
 * duplicate ids are left to the assembler, as for a line read by the byte scanner.
 */
async function* readBytesDocument(doc: WholeBytes | WindowedBytes, ctx: ReadContext, batchSize: number, result: LayoutResult, counts: FastReadCounts, otlp: AttributeProjection | 'rows'): AsyncGenerator<SpanRecord[] | ScannedSpans, HandedOn | undefined> {
  if ('bytes' in doc && doc.family === 'otlp') {
    const out = otlp === 'rows' ? new ScannedSpans(2 * batchSize) : [];
    const projection = otlp === 'rows' ? 'analysis' : otlp;
    // A one-line file's line holds one document, as the line reader reads it.
    const documents = doc.lineNo === undefined ? readOtlpDocumentsFast(doc.bytes, doc.start, doc.end, ctx, out, projection) : readOtlpLineFast(doc.bytes, doc.start, doc.end, ctx, out, projection) ? 1 : 0;
    if (documents === 0) {
      counts.fallbacks++;
      return { spans: 0, at: [], ids: [] };
    }
    counts.lines++;
    result.family = 'otlp';
    result.documents = documents;
    result.lines = 1;
    if (doc.duplicates === true) {
      // As a document parsed whole was checked (past that size it was streamed, and was not), a one-line file's at its line.
      const location = doc.lineNo === undefined ? '' : `${doc.lineNo}`;
      if (Array.isArray(out)) checkDuplicates(ctx, out, location);
      else checkRowDuplicates(ctx, out, location);
    }
    if (Array.isArray(out)) yield* inBatches(out, batchSize);
    else if (out.length > 0) yield out.direct === 0 ? out.allRecords() : out;
    return undefined;
  }
  if ('window' in doc && doc.family === 'otlp') return yield* readOtlpWindowed(doc, ctx, batchSize, result, counts, otlp);
  const out: SpanRecord[] = [];
  const read = doc.family === 'jaeger' ? readJaegerDocumentFast : readZipkinDocumentFast;
  // Checked like any whole document: a one-line file's warnings name its line.
  const location = doc.lineNo === undefined ? '' : `${doc.lineNo}`;
  // Past PIECEWISE.bytes, handed on batch by batch as it is read; its duplicate ids checked as
  // they go, apart, so that a document given back leaves `ctx` as it was.
  const window = 'bytes' in doc ? wholeWindow(doc.bytes, doc.start, doc.end) : doc.window;
  const piecewise = 'bytes' in doc ? doc.end - doc.start > PIECEWISE.bytes : true;
  const checked = new ReadContext(ctx.file, false);
  const handed: HandedOn = { spans: 0, at: [], ids: [] };
  const scanning = read(window, ctx, out, piecewise ? batchSize : Number.POSITIVE_INFINITY);
  let next = scanning.next();
  for (; next.done !== true; next = scanning.next()) {
    // Whole batches, as `inBatches` cuts the whole list; the rest waits for the next pause.
    let from = 0;
    for (; out.length - from >= batchSize; from += batchSize) {
      const batch = out.slice(from, from + batchSize);
      checkDuplicates(checked, batch, location);
      noteHanded(handed, batch[0]!, batch.length);
      yield batch;
    }
    out.copyWithin(0, from);
    out.length -= from;
    if ('window' in doc && doc.window.needsSliding()) await doc.window.slide();
  }
  if (!next.value) {
    counts.fallbacks++;
    return handed;
  }
  counts.lines++;
  result.family = doc.family;
  result.documents = 1;
  result.lines = 1;
  checkDuplicates(checked, out, location);
  ctx.absorb(checked.state(), (at) => at);
  yield* inBatches(out, batchSize);
  return undefined;
}

/**
 * A large OTLP document (one, or several concatenated; pretty-printed, or one long line) read
 * through a sliding window, its spans handed on a batch at a time as they are read: read whole,
 * it was held with all its spans (a 263 MB one-line document peaked at 550 MB, a 452 MB
 * pretty-printed one at 669 MB). What `readBytesDocument` returns: undefined once read, or what
 * was handed on before the scanner gave it back. Its duplicate span ids are checked where a
 * document read whole was (up to WHOLE_DOCUMENT_BYTES of input), batch by batch, apart, so that
 * one given back leaves `ctx` as it was.
 */
async function* readOtlpWindowed(doc: WindowedBytes, ctx: ReadContext, batchSize: number, result: LayoutResult, counts: FastReadCounts, otlp: AttributeProjection | 'rows'): AsyncGenerator<SpanRecord[] | ScannedSpans, HandedOn | undefined> {
  const rows = otlp === 'rows' ? new ScannedSpans(2 * batchSize) : undefined;
  const projection = otlp === 'rows' ? 'analysis' : otlp;
  const records: SpanRecord[] = [];
  const out = rows ?? records;
  // Checked while the input is no larger than a document read whole (and so checked) before: from
  // the start when its size is known (a larger one's first 200,000 ids cost 8% of its analysis).
  let checked: ReadContext | undefined = doc.size !== undefined && doc.size > WHOLE_DOCUMENT_BYTES ? undefined : new ReadContext(ctx.file, false);
  const handed: HandedOn = { spans: 0, at: [], ids: [] };
  // A one-line file's duplicates are reported at its line, as the line reader reports them.
  const location = doc.lineNo === undefined ? '' : `${doc.lineNo}`;
  /** The spans read since the last batch, handed on as one (the scanner pauses once a batch is full). */
  const batch = (): SpanRecord[] | ScannedSpans => {
    if (doc.window.taken > WHOLE_DOCUMENT_BYTES) checked = undefined;
    noteHanded(handed, rows === undefined ? records[0]! : rows.record(0), out.length);
    if (rows === undefined) {
      if (checked !== undefined) checkDuplicates(checked, records, location);
      return records.splice(0);
    }
    if (checked !== undefined) checkRowDuplicates(checked, rows, location);
    return rows.direct === 0 ? rows.allRecords() : rows;
  };
  // A one-line file's line holds one document, as the line reader reads it.
  const scanning = readOtlpDocumentWindowed(doc.window, ctx, out, projection, batchSize, doc.lineNo === undefined);
  let next = scanning.next();
  for (; next.done !== true; next = scanning.next()) {
    if (out.length >= batchSize) {
      yield batch();
      // The consumer is done with a batch when it asks for the next: the rows are reused.
      rows?.clear();
    }
    if (doc.window.needsSliding()) await doc.window.slide();
  }
  if (next.value === 0) {
    counts.fallbacks++;
    return handed;
  }
  counts.lines++;
  result.family = 'otlp';
  result.documents = next.value;
  result.lines = 1;
  if (out.length > 0) yield batch();
  if (checked !== undefined && doc.window.taken <= WHOLE_DOCUMENT_BYTES) ctx.absorb(checked.state(), (at) => at);
  return undefined;
}

/** Notes a batch of `spans` spans handed on, `first` the first of them. */
function noteHanded(handed: HandedOn, first: Pick<SpanRecord, 'traceId' | 'spanId'>, spans: number): void {
  handed.at.push(handed.spans);
  handed.ids.push(`${first.traceId} ${first.spanId}`);
  handed.spans += spans;
}

/** A large document scanned through a sliding window over the input's bytes. */
interface WindowedBytes {
  readonly family: WindowedDocument['family'];
  readonly window: DocumentWindow;
  readonly lineNo?: number;
  /** The input's size, where it is known before it is read (an uncompressed regular file, a stream held in a temporary file). */
  readonly size?: number;
}

/** The sliding window over a document detection left unread, filled from the input's first bytes. */
async function windowOver(windowed: WindowedDocument, opened: OpenedFile): Promise<WindowedBytes> {
  const window = new DocumentWindow(opened.content.transientChunks()[Symbol.asyncIterator]());
  await window.open(windowed.start);
  return { family: windowed.family, window, ...(windowed.lineNo === undefined ? {} : { lineNo: windowed.lineNo }), ...(opened.content.sized ? { size: opened.bytes } : {}) };
}

/**
 * Past this size a Jaeger or Zipkin document the byte scanner takes is handed on batch by batch
 * as it is read, not made into records all at once: a 630 MB document's 1.2 million records held
 * at once peaked at 1.24 GB, 828 MB piece by piece (bench/HISTORY.md). Should the scanner give it
 * back part-way, the full reader reads it and its spans already handed on are not handed on
 * again (`afterHanded`). A property, so that tests can lower it.
 */
export const PIECEWISE = { bytes: 64 * 1024 * 1024 };

/**
 * The full reader's batches of a document the byte scanner gave back after handing on the first
 * `handed.spans` of its spans: those are left out. The two readers make the same records in the
 * same order, so each batch handed on must start where the full reader's spans do; should a later
 * part of the document have changed how its start reads (a second `data` key, which JSON.parse
 * takes instead of the first, or another format's key), the spans handed on cannot be taken back:
 * the document is refused, as its reader cannot read it. So is a long line the full reader
 * skips, damaged (cut short, a second document after the first): it is refused with its damage,
 * which is what the user can act on.
 */
async function* afterHanded(file: string, batches: AsyncIterable<SpanRecord[] | ScannedSpans> | Iterable<SpanRecord[] | ScannedSpans>, handed: HandedOn, ctx: ReadContext): AsyncGenerator<SpanRecord[] | ScannedSpans> {
  let seen = 0;
  let check = 0;
  const skippedBefore = ctx.lastSkip;
  const refuse = (): TraceFormatError => {
    const skip = ctx.lastSkip;
    if (skip !== undefined && skip !== skippedBefore) {
      return new TraceFormatError(file, skip.location, skip.expected, skip.got, 'a line this long is read as it streams, its spans handed on before the damage, so it cannot be skipped as a shorter one is: repair or remove it');
    }
    return new TraceFormatError(file, '', 'a document whose end does not change how its start reads (a large one is handed on as it is read)', 'one that does (a second "data" or "resourceSpans" key, or another format\'s key, after its spans)', 'remove the duplicate key');
  };
  for await (const batch of batches) {
    if (seen >= handed.spans) {
      yield batch;
      continue;
    }
    // The full reader of a Jaeger or Zipkin document gives records.
    if (!Array.isArray(batch)) throw refuse();
    for (; check < handed.at.length && handed.at[check]! < seen + batch.length; check++) {
      const span = batch[handed.at[check]! - seen]!;
      if (`${span.traceId} ${span.spanId}` !== handed.ids[check]) throw refuse();
    }
    const from = handed.spans - seen;
    seen += batch.length;
    if (from < batch.length) yield from === 0 ? batch : batch.slice(from);
  }
  if (seen < handed.spans) throw refuse();
}

/**
 * A whole document's spans (the list is emptied) in batches of `batchSize`, each let go of once
 * the next is asked for: what the consumer keeps is its own, so a document's spans are not all
 * held by the reader until its last batch is read.
 */
function* inBatches(spans: SpanRecord[], batchSize: number): Generator<SpanRecord[]> {
  const batches: (SpanRecord[] | undefined)[] = [];
  for (let i = 0; i < spans.length; i += batchSize) batches.push(spans.slice(i, i + batchSize));
  spans.length = 0;
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i]!;
    batches[i] = undefined;
    yield batch;
  }
}

/**
 * Reports duplicate span ids inside one whole document. Streams (JSON lines, protobuf records)
 * are not checked: a per-span id lookup cost 7% of JSON lines reading, and the assembler counts
 * duplicates across all input files anyway.
 */
function checkDuplicates(ctx: ReadContext, spans: readonly SpanRecord[], location: string): void {
  for (let i = 0; i < spans.length && ctx.checkingDuplicates; i++) ctx.checkDuplicate(spans[i] as SpanRecord, location);
}

/** `checkDuplicates` on a scanned batch, row by row in the same order. */
function checkRowDuplicates(ctx: ReadContext, rows: ScannedSpans, location: string): void {
  const probe = { traceId: '', spanId: '', kind: SCANNED_KINDS[0]! };
  for (let i = 0; i < rows.length && ctx.checkingDuplicates; i++) {
    const record = rows.records[i];
    if (record !== undefined) {
      ctx.checkDuplicate(record, location);
      continue;
    }
    probe.traceId = rows.traceIds[i]!;
    probe.spanId = rows.ids[i]!;
    probe.kind = SCANNED_KINDS[rows.kinds[i]!]!;
    ctx.checkDuplicate(probe, location);
  }
}

/**
 * Reads one byte range of an uncompressed JSON lines file (formats/_ranges.ts), as `readSpans`
 * reads those lines in the whole file; the return value is what `RangeMerger` needs to merge
 * the ranges into the file's ReadStats. Lines are numbered from 1 in the range.
 */
export function readLineRange(range: LineRange, options: ReadOptions = {}): AsyncGenerator<SpanRecord[], RangeStats> {
  return lineRange(range, options, false) as AsyncGenerator<SpanRecord[], RangeStats>;
}

/** `readLineRange` for a reader thread of the analyzer: batches as `readSpanBatches` gives them. */
export function readLineRangeBatches(range: LineRange, options: ReadOptions = {}): AsyncGenerator<SpanRecord[] | ScannedSpans, RangeStats> {
  return lineRange(range, { ...options, attributes: 'analysis' }, true);
}

async function* lineRange(range: LineRange, options: ReadOptions, scanned: boolean): AsyncGenerator<SpanRecord[] | ScannedSpans, RangeStats> {
  const { file } = range;
  const ctx = new ReadContext(file, options.strict === true);
  const result: LayoutResult = { family: undefined, documents: 0 };
  const counts: FastReadCounts = { lines: 0, fallbacks: 0 };
  const fastLines = options.reader === 'full' || range.prefixed ? undefined : { projection: options.attributes ?? 'all', counts, scanned };
  const source: LineSource = {
    chunks: rangeChunks(file, range.start, range.end),
    moreLines: true,
    prefixed: range.prefixed,
    range: { first: range.first },
    // The first range's family as a whole read knows it (familyOfLineOne).
    ...(range.first && !(range.familyOfLineOne && fastLines !== undefined) ? {} : { family: range.family }),
  };
  let spans = 0;
  for await (const batch of readJsonLines(file, source, ctx, options.batchSize ?? DEFAULT_BATCH, result, fastLines)) {
    spans += batch.length;
    yield batch;
  }
  const error = result.firstLineError;
  return {
    spans,
    lines: result.lines ?? 0,
    documents: result.documents,
    family: result.family,
    context: ctx.state(),
    base64: ctx.ids.base64,
    undecidedIds: ctx.ids.undecided,
    fastReader: counts,
    ...(error === undefined ? {} : { firstDocumentError: { message: error.message, location: error.location, expected: error.expected, got: error.got } }),
  };
}

/** Reads every span of a file (or a trace `openTrace` opened) into one array (tests and small files; prefer `readSpans`). */
export async function readAllSpans(file: string | OpenedTrace, options: ReadOptions = {}): Promise<{ spans: SpanRecord[]; stats: ReadStats }> {
  const spans: SpanRecord[] = [];
  const reader = readSpans(file, options);
  for (;;) {
    const next = await reader.next();
    if (next.done === true) return { spans, stats: next.value };
    for (const span of next.value) spans.push(span);
  }
}

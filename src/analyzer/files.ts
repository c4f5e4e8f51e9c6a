/**
 * @module analyzer/files
 * The trace-file adapter of the pipeline: sniffs and reads every file (in a worker thread for
 * big ones), merges them by span start time, reads GPU sample files among them, and feeds the
 * spans to `analyzeSpans`. The only part of the analyzer that does I/O (with `_directory.ts`,
 * which lists a directory given as an input).
 */
import type { SpanRecord } from '../model/span.js';
import type { GpuSample } from '../model/gpu.js';
import type { AnalysisResult, AnalysisWarning, ConventionUse, FileSummary } from '../model/analysis.js';
import { openTrace, readGpuSamples, readSpanBatches, readSpans, STDIN, TraceFormatError, tritonServerOf } from '../formats/index.js';
import type { ScannedSpans } from '../formats/index.js';
import type { OpenedTrace, ReadStats } from '../formats/index.js';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ThreadedReadUnsound, readColumnsInRanges, readColumnsThreaded, SPLIT } from './_threaded-read.js';
import type { ThreadedReadStats } from './_threaded-read.js';
import type { SpanColumns } from './_span-columns.js';
import { MergedClosings } from './_merged-closings.js';
import { fileIdentity, readAgain } from './_reopen.js';
import type { FileIdentity } from './_reopen.js';
import { markClosedTraces } from '../formats/_closed-traces.js';
import { familyOfLineOne } from '../formats/read.js';
import { analyzeSpans, duplicateMessage, isRecords } from './pipeline.js';
import type { AnalyzeOptions, SpanBatch } from './pipeline.js';
import { CONVENTION_EVENTS, tritonRows } from './conventions/index.js';
import { listDirectory } from './_directory.js';
import { AnalysisError } from './errors.js';
import { EXIT } from '../errors.js';

/** Options of `analyzeFiles`. */
export interface AnalyzeFilesOptions extends AnalyzeOptions {
  /**
   * Threads that read a single trace file bigger than 4 MiB, while this thread assembles: an
   * uncompressed JSON lines file is split into byte ranges read in parallel (merged back in file
   * order: the result is the one of reading it here); any other such file (compressed, a single
   * document, protobuf) is read in one worker thread. Several trace files, and 1, read in this
   * thread. Each thread costs a JS heap (tens of MB). Unset: `autoThreads` (two threads for a
   * file of 128 MiB or more on 4 cores or more, else none; docs/analyzer.md, "Reader threads by
   * cores and size"). `true` means `defaultThreads()`, `false` means 1.
   */
  readonly threads?: number | boolean;
  /** JSON lines reader (see ReadOptions.reader): `fast` (default) or `full`; the result is the same. */
  readonly reader?: 'fast' | 'full';
}

/** Most reader threads by default: past that the main thread's assembly is the limit. */
const MAX_DEFAULT_THREADS = 8;

/** What `threads: true` means: the cores this process may use, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_THREADS));
}

/** Smallest file that threads are used for unless asked: at 50 MB two reader threads were measured no faster than one. */
const AUTO_THREADS_MIN_BYTES = 128 * 1024 * 1024;
/** Fewest cores on which threads are used unless asked: on 2 cores two reader threads were measured slower than one at 200 MB. */
const AUTO_THREADS_MIN_CORES = 4;

/**
 * Reader threads when none were asked for: two for a single trace file of 128 MiB or more on a
 * machine with 4 cores or more, else 1. Two, not more: on 16 cores a third and fourth thread
 * were measured no faster (the main thread's assembly is the limit) and cost ~60 MB each
 * (docs/analyzer.md, "Reader threads by cores and size").
 */
export function autoThreads(cores: number, bytes: number): number {
  return cores >= AUTO_THREADS_MIN_CORES && bytes >= AUTO_THREADS_MIN_BYTES ? 2 : 1;
}

function threadsOf(option: number | boolean | undefined, bytes: number): number {
  if (option === true) return defaultThreads();
  if (option === undefined) return autoThreads(availableParallelism(), bytes);
  // 0, negative or not a number: no thread besides this one.
  if (option === false || !(option >= 1)) return 1;
  return Math.floor(option);
}

/**
 * Reads, assembles, measures and diagnoses the given trace inputs (paths, pipes, `-` for
 * standard input, directories). Every input is opened and its format sniffed before any is read, so a wrong
 * file fails fast; each is then read once, from where detection stopped (a regular file past
 * the open-file window is closed once detected, and opened again when its turn comes).
 * GPU sample files among them are read as samples, not spans (see `gpuSamples`). A directory
 * stands for its regular files, not hidden, oldest rotated backup first (`_directory.ts`); one
 * of them that detection refuses is a warning, unless `strict`, and a directory with no trace
 * file at all fails the run.
 */
export async function analyzeFiles(files: readonly string[], options: AnalyzeFilesOptions = {}): Promise<AnalysisResult> {
  const inputs = await expandDirectories(files);
  // A file that threads cannot read as the main thread would (ThreadedReadUnsound) is read again,
  // in the main thread, with the other inputs (GPU samples): only when every input is a regular
  // file, which can be opened again, do threads give up that way.
  const inMainThread = new Set<string>();
  for (;;) {
    try {
      return await analyzeOnce(files, inputs, options, inMainThread);
    } catch (error) {
      if (!(error instanceof ThreadedReadUnsound) || inMainThread.has(error.file)) throw error;
      inMainThread.add(error.file);
    }
  }
}

/** An input to read: a path as given, or a file of a directory given (`directory`). */
interface Input {
  readonly file: string;
  readonly directory?: string;
  /** For a file of a directory: its size when listed. */
  readonly bytes?: number;
}

async function expandDirectories(files: readonly string[]): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const file of files) {
    const listing = file === STDIN ? undefined : await listDirectory(file);
    if (listing === undefined) inputs.push({ file });
    else for (const entry of listing.files) inputs.push({ file: entry.file, directory: file, bytes: entry.bytes });
  }
  return inputs;
}

/**
 * Trace files held open at once. An opened file holds a descriptor (and what detection read of
 * it, up to a whole document) until it is read: a directory of thousands of rotated files ran
 * out of descriptors (EMFILE) under the usual limit of 1024 (256 on macOS), and the files past
 * the limit were left out. Half the process's soft limit on open files (Linux:
 * /proc/self/limits), less 32 for Node's own, from 16 to 256; where it cannot be read, 96 (macOS's
 * default of 256, so reckoned).
 */
function openFilesWindow(): number {
  let soft = 256;
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (match !== null) soft = match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    // Not Linux: the default above.
  }
  return Math.max(16, Math.min(256, Math.floor(soft / 2) - 32));
}

/**
 * Opens every input. A file of a directory that detection refuses (no trace export, empty) is
 * left out with a warning (with `strict`, it fails the run); a directory none of whose files is
 * a trace fails it: exit 2, or 4 when every file is empty (nothing written yet). Regular trace
 * files past the first `window` are closed once detected and opened again when their turn to be
 * read comes (`mergeByTime`): they are returned in `deferred`.
 */
async function openInputs(inputs: readonly Input[], strict: boolean, opened: OpenedTrace[], warnings: AnalysisWarning[], window: number): Promise<Map<OpenedTrace, FileIdentity | undefined>> {
  const refused = new Map<string, { readonly input: Input; readonly error: TraceFormatError }[]>();
  const deferred = new Map<OpenedTrace, FileIdentity | undefined>();
  let held = 0;
  for (const input of inputs) {
    try {
      const trace = await openTrace(input.file);
      opened.push(trace);
      // Standard input and pipes cannot be opened again; GPU sample files are read next, whole.
      if (trace.format === 'gpu-samples' || !trace.sniffed.opened.regularFile) continue;
      if (held < window) {
        held++;
        continue;
      }
      await trace.close();
      deferred.set(trace, await fileIdentity(input.file));
    } catch (error) {
      if (input.directory === undefined || strict || !(error instanceof TraceFormatError)) throw error;
      const list = refused.get(input.directory) ?? [];
      list.push({ input, error });
      refused.set(input.directory, list);
      const got = error.got === undefined ? '' : `, got ${error.got}`;
      warnings.push({ code: 'read', file: input.file, ...(error.location === '' ? {} : { location: error.location }), message: `left out (a file of ${input.directory}, not read as a trace): expected ${error.expected}${got}`, count: 1 });
    }
  }
  for (const [directory, list] of refused) {
    const total = inputs.filter((i) => i.directory === directory).length;
    if (list.length < total) continue;
    const names = list.slice(0, 3).map(({ input }) => input.file).join(', ') + (list.length > 3 ? `, and ${list.length - 3} more` : '');
    if (list.every(({ input }) => input.bytes === 0)) {
      throw new AnalysisError(`nothing measured: ${directory} holds no trace yet: its ${total === 1 ? 'file is' : `${total} files are`} empty (${names})`, { exitCode: EXIT.NOTHING_MEASURED });
    }
    const first = list[0]!.error.message;
    throw new TraceFormatError(directory, '', 'a directory holding trace files', `${total === 1 ? 'one file' : `${total} files`}, none a trace export (${first}${list.length > 1 ? `; and ${list.length - 1} more` : ''})`);
  }
  return deferred;
}

async function analyzeOnce(files: readonly string[], inputs: readonly Input[], options: AnalyzeFilesOptions, inMainThread: ReadonlySet<string>): Promise<AnalysisResult> {
  if (files.filter((f) => f === STDIN).length > 1) throw new TraceFormatError(STDIN, '', 'standard input (-) named once', 'it twice');
  const strict = options.strict ?? false;
  // Each input is opened and detected once, and handed on open: what detection parsed is not
  // parsed again, and standard input or a pipe can only be read once anyway.
  const opened: OpenedTrace[] = [];
  const closeAll = (): Promise<void[]> => Promise.all(opened.map((o) => o.close()));
  const leftOut: AnalysisWarning[] = [];
  // The window is read only when there are more inputs than its least.
  const window = inputs.length > 16 ? openFilesWindow() : 16;
  let deferred: ReadonlyMap<OpenedTrace, FileIdentity | undefined>;
  try {
    deferred = await openInputs(inputs, strict, opened, leftOut, window);
  } catch (error) {
    await closeAll();
    throw error;
  }
  const gpuSamples: GpuSample[] = [...(options.gpuSamples ?? [])];
  const sampleWarnings: AnalysisWarning[] = [];
  try {
    for (const input of opened.filter((o) => o.format === 'gpu-samples')) {
      // Impossible values (1e308 °C, −1 W) are dropped by the reader; say how many, once per file.
      let outOfRange = 0;
      let firstPlace = '';
      const fields = new Set<string>();
      const onOutOfRange = (place: string, rejected: readonly string[]): void => {
        if (outOfRange === 0) firstPlace = place;
        outOfRange += 1;
        for (const field of rejected) if (fields.size < 4) fields.add(field);
      };
      const samples = await readGpuSamples(input, { strict, onWarning: (w) => sampleWarnings.push({ code: 'read', ...w }), onOutOfRange });
      if (samples.every((s) => s.gpus.length === 0)) {
        // A host-only sidecar's file: its samples must not read as "outside the traced window".
        const message = `no GPU in any of its ${samples.length} samples (the sidecar ran host-only: nvidia-smi was missing or failed), so the GPU cannot be judged`;
        sampleWarnings.push({ code: 'read', file: input.file, message, count: samples.length });
      } else {
        for (const sample of samples) gpuSamples.push(sample);
      }
      if (outOfRange > 0) {
        sampleWarnings.push({
          code: 'gpu-sample-out-of-range',
          file: input.file,
          location: firstPlace,
          message: `${outOfRange} GPU sample(s) with values outside what a GPU reports (${[...fields].slice(0, 3).join('; ')}${fields.size > 3 ? '; …' : ''}): those values were left out`,
          count: outOfRange,
        });
      }
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const repeated = dropRepeatedSamples(gpuSamples);
  if (repeated > 0) sampleWarnings.push({ code: 'read', message: `${repeated} GPU samples given twice (same time and GPUs, in more than one file or twice in one) counted once`, count: repeated });
  // Several trace files are merged by span start time, in sorted units (mergeByTime), which the
  // columns of reader threads would change: threads read a single trace file only.
  const traceFiles = opened.filter((o) => o.format !== 'gpu-samples').length;
  const threads = traceFiles > 1 ? 1 : threadsOf(options.threads, opened.find((o) => o.format !== 'gpu-samples')?.bytes ?? 0);
  const reader = options.reader ?? 'fast';
  // Splitting may have to start over (ThreadedReadUnsound), which a stream cannot.
  const restartable = opened.every((o) => o.sniffed.opened.regularFile);
  const sources: Source[] = opened
    .filter((o) => o.format !== 'gpu-samples')
    .map((input): Source => {
      const { file, sniffed, family } = input;
      // Opened again when the merge comes to it (several trace files, so none is read by threads).
      if (deferred.has(input)) return { file, triton: family === 'triton-trace', reader: readAgain(file, deferred.get(input), () => readSpans(file, { strict, attributes: 'analysis', reader, events: CONVENTION_EVENTS })) };
      // A stream cannot be opened a second time in a thread.
      if (threads < 2 || input.bytes <= SPLIT.minBytes || !sniffed.opened.regularFile || inMainThread.has(file)) {
        // One trace file goes to the assembler as read; several are merged by time, as records.
        return { file, triton: family === 'triton-trace', reader: traceFiles === 1 ? readSpanBatches(input, { strict, reader, events: CONVENTION_EVENTS, tritonRows }) : readSpans(input, { strict, attributes: 'analysis', reader, events: CONVENTION_EVENTS }) };
      }
      void input.close();
      const splittable = restartable && input.layout === 'json-lines' && sniffed.opened.compression === 'none' && sniffed.moreLines && family !== undefined;
      if (!splittable) return { file, reader: readColumnsThreaded(file, strict, reader) };
      return { file, reader: readColumnsInRanges({ file, bytes: input.bytes, family, familyOfLineOne: familyOfLineOne(sniffed), prefixed: sniffed.prefixed === true }, { threads, strict, reader, rangeBytes: SPLIT.rangeBytes }) };
    });
  const fileStats = new Map<string, ReadStats>();
  // Reader threads map source conventions themselves; each reports its uses as it finishes, before the last batch.
  const readerConventions: ConventionUse[] = [];
  const batches = mergeByTime(
    sources,
    (file, stats) => {
      fileStats.set(file, stats);
      if ('conventions' in stats) readerConventions.push(...(stats as ThreadedReadStats).conventions);
    },
    window,
  );
  let result: AnalysisResult;
  try {
    result = await analyzeSpans(batches, { inputName: files.join(', '), ...options, gpuSamples, readerConventions });
  } catch (error) {
    // Stops every reader (and its threads) still under way, and closes what was opened.
    await Promise.all(sources.map((s) => s.reader.return(undefined as never)));
    await closeAll();
    throw error;
  }
  const fileSummaries: FileSummary[] = opened.map(({ file }) => {
    const stats = fileStats.get(file);
    if (stats === undefined) return { file, format: 'gpu-samples', spans: 0, skipped: 0, leniencies: [] };
    return { file, format: stats.format, spans: stats.spans, skipped: stats.skipped, leniencies: stats.leniencies, ...(stats.fastReader ? { fastReader: stats.fastReader } : {}), ...(stats.spooled ? { spooled: stats.spooled } : {}) };
  });
  const read = [...fileStats.values()];
  const readWarnings: AnalysisWarning[] = read.flatMap((s) => s.warnings.map((w) => ({ code: 'read' as const, ...w })));
  const readerDuplicates = read.reduce((n, s) => n + s.duplicateSpans, 0);
  // Spans as the files hold them: the assembler also counts the phase spans a source convention made.
  const received = fileSummaries.reduce((n, f) => n + f.spans, 0);
  return { ...result, spans: received, files: fileSummaries, warnings: [...leftOut, ...readWarnings, ...sampleWarnings, ...tritonClockWarnings(fileSummaries), ...withoutReaderDuplicates(result.warnings, readerDuplicates)] };
}

/**
 * Removes samples that repeat one already there (same time, same GPUs): a sample file given
 * twice, or a rotated copy that overlaps the live file, would otherwise weigh twice and make a
 * one-sample throttling blip look held for two. Returns how many were removed.
 */
function dropRepeatedSamples(samples: GpuSample[]): number {
  const seen = new Set<string>();
  let kept = 0;
  for (const sample of samples) {
    const key = `${sample.timeMs} ${sample.gpus.map((g) => g.uuid).join(' ')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    samples[kept++] = sample;
  }
  const removed = samples.length - kept;
  samples.length = kept;
  return removed;
}

/**
 * Triton trace files of several servers (or runs) count time on as many steady clocks, and
 * other trace files on the wall clock, which no offset relates: each request is timed on its own
 * clock (exactly, unless the 'time-precision' warning says its times were rounded), but the window, the rate and anything over time are taken across clocks, and no request joins
 * spans across them.
 */
function tritonClockWarnings(files: readonly FileSummary[]): AnalysisWarning[] {
  const tritonFiles = files.filter((f) => f.format === 'triton-trace');
  if (tritonFiles.length === 0) return [];
  const servers = new Set(tritonFiles.map((f) => tritonServerOf(f.file))).size;
  const wallClock = files.some((f) => f.format !== 'triton-trace' && f.format !== 'gpu-samples');
  if (servers < 2 && !wallClock) return [];
  const triton = servers === 1 ? "Triton's trace file on its steady clock" : `Triton trace files from ${servers} servers or runs, each on its own steady clock`;
  return [
    {
      code: 'monotonic-clocks',
      message: `${triton}${wallClock ? ', and files on the wall clock' : ''}: the window, the request rate and the trends over time mix clocks (each request is timed on its own clock); analyse one server's files for those`,
      count: servers + (wallClock ? 1 : 0),
    },
  ];
}

/**
 * The readers already report duplicates inside one file; the assembler's duplicate warning is
 * kept only for the rest (duplicates across files, or past the reader's check limit).
 */
function withoutReaderDuplicates(assembly: readonly AnalysisWarning[], readerDuplicates: number): AnalysisWarning[] {
  return assembly.flatMap((w): AnalysisWarning[] => {
    if (w.code !== 'duplicate-span' || readerDuplicates === 0) return [w];
    const rest = w.count - readerDuplicates;
    return rest > 0 ? [{ code: 'duplicate-span', message: duplicateMessage(rest, true), count: rest }] : [];
  });
}

interface Source {
  readonly file: string;
  /** A Triton trace file (its spans wait in the convention mapper: see _merged-closings.ts). */
  readonly triton?: boolean;
  readonly reader: AsyncGenerator<SpanRecord[], ReadStats> | AsyncGenerator<SpanRecord[] | ScannedSpans, ReadStats> | AsyncGenerator<SpanColumns, ThreadedReadStats>;
}

/** Spans handed on at once while merging several files by time. */
const MERGE_CHUNK = 512;

/**
 * Internal. The merge by time sorts each file's spans in blocks of `block` spans (fewer past 8
 * files read at once: `spans` / 4 divided among them), cut from the
 * file's spans in its order whatever its reader's batches; consecutive blocks that overlap in
 * time (a `cat` or `jq -s` of several pods' exports of one period, whose time order restarts) are
 * sorted together as one unit, of at most `spans` divided among the files read at once (a span
 * held in a unit cost ~0.6 KB of peak RSS, measured through the CLI). A time order that restarts
 * farther apart than that still comes late. A property, so that tests can lower them.
 */
export const MERGE = { block: 2_048, spans: 65_536 };

/** Spans of a file in its order, sorted by start, and the closings (MergedClosings.read) of the reader's batches whose last span is in them. */
interface Block {
  readonly spans: SpanRecord[];
  readonly closings: (readonly string[])[];
}

/** A file being merged: the unit of its spans being handed on, and what its reader gave past that unit. */
interface Merging {
  readonly source: Source;
  readonly input: number;
  /** The unit being handed on, sorted by start, from `pos`. */
  pending: readonly SpanRecord[];
  pos: number;
  /** The reader's last batch, its spans from `carryAt` not yet in a block, and the traces it closed. */
  carry: readonly SpanRecord[];
  carryAt: number;
  carryClosings: readonly string[];
  /** The block read past the unit being handed on: the next unit's first. */
  ahead: Block | undefined;
  /** Its reader ended. */
  ended: boolean;
}

const NONE: readonly SpanRecord[] = [];

const byStart = (a: SpanRecord, b: SpanRecord): number => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);

/**
 * Reads several files as one stream, merged by span start time: exports of the same period
 * (client side, server side) then reach the assembler in step, so their traces meet before the
 * assembler's idle window closes them, even when one file is a single big document. Each file's
 * spans are sorted by start in units (MERGE) that do not depend on its reader's batches, so the
 * merge is the same for every reader and through any window, and handed on in chunks that do
 * not run ahead of the other files. (Batches not of records, from a reader thread, are passed on
 * whole.) One file passes straight through. At most `window` files are read at once, in the
 * order given: past that, the next starts when one ends (a directory lists its rotated files
 * oldest first, so a rotation set is read in time order; files of one period past the window
 * meet in the assembler's idle window, `--idle-spans`).
 */
async function* mergeByTime(sources: readonly Source[], done: (file: string, stats: ReadStats) => void, window: number): AsyncGenerator<SpanBatch> {
  if (sources.length === 1) {
    const only = sources[0]!;
    for (;;) {
      const next = await only.reader.next();
      if (next.done === true) {
        done(only.file, next.value);
        return;
      }
      if (next.value.length > 0) yield next.value;
    }
  }
  // The readers' closings of traces, passed on to the merged chunks where that changes no figure.
  const closings = new MergedClosings(
    sources.map((s) => s.file),
    sources.every((s) => s.triton === true),
  );
  const entries = sources.map((source, input): Merging => ({ source, input, pending: NONE, pos: 0, carry: NONE, carryAt: 0, carryClosings: [], ahead: undefined, ended: false }));
  const live = entries.slice(0, window);
  let waiting = live.length;
  // A file holds its unit, a block read past it and what is left of its reader's batch: with
  // many files at once, blocks small enough that units and blocks ahead stay within MERGE.spans
  // and half as much again (100 restarting files: 635 MB of peak RSS with 2 048-span blocks, 547 MB so).
  const block = Math.max(1, Math.min(MERGE.block, Math.floor(MERGE.spans / (4 * live.length))));
  const most = Math.max(block, Math.floor(MERGE.spans / live.length));

  /** The next block of `entry`'s spans; undefined when its reader has nothing more. */
  async function* nextBlock(entry: Merging): AsyncGenerator<SpanBatch, Block | undefined> {
    const spans: SpanRecord[] = [];
    const ended: (readonly string[])[] = [];
    while (spans.length < block) {
      if (entry.carryAt < entry.carry.length) {
        const to = Math.min(entry.carry.length, entry.carryAt + block - spans.length);
        for (let k = entry.carryAt; k < to; k++) spans.push(entry.carry[k]!);
        entry.carryAt = to;
        if (to === entry.carry.length) ended.push(entry.carryClosings);
        continue;
      }
      if (entry.ended) break;
      const next = await entry.source.reader.next();
      if (next.done === true) {
        done(entry.source.file, next.value);
        entry.ended = true;
        break;
      }
      const batch: SpanBatch = next.value;
      if (!isRecords(batch)) {
        if (batch.length > 0) yield batch;
        continue;
      }
      const batchClosings = closings.read(entry.input, batch);
      if (batch.length === 0) {
        ended.push(batchClosings);
        continue;
      }
      entry.carry = batch;
      entry.carryAt = 0;
      entry.carryClosings = batchClosings;
    }
    if (entry.carryAt === entry.carry.length) entry.carry = NONE;
    if (spans.length === 0 && ended.length === 0) return undefined;
    return { spans: spans.sort(byStart), closings: ended };
  }

  /** Hands `entry` its next unit: a block, and the blocks after it that overlap it in time, up to `most` spans. False when it has none. */
  async function* nextUnit(entry: Merging): AsyncGenerator<SpanBatch, boolean> {
    const first = entry.ahead ?? (yield* nextBlock(entry));
    entry.ahead = undefined;
    if (first === undefined) return false;
    const blocks = [first];
    let spans = first.spans.length;
    let latest = lastStart(first.spans);
    for (;;) {
      const next = yield* nextBlock(entry);
      if (next === undefined) break;
      // Half of it started before the unit's latest start: the file's time went back (it
      // restarts, or holds spans far out of order), and sorted apart the two would reach the
      // assembler a whole period apart from their partners in the other files.
      const overlaps = next.spans.length === 0 || (latest !== undefined && next.spans[next.spans.length >> 1]!.startNs < latest);
      if (!overlaps || spans + next.spans.length > most) {
        entry.ahead = next;
        break;
      }
      blocks.push(next);
      spans += next.spans.length;
      const end = lastStart(next.spans);
      if (end !== undefined && (latest === undefined || end > latest)) latest = end;
    }
    const unit = blocks.length === 1 ? first.spans : blocks.flatMap((b) => b.spans).sort(byStart);
    for (const b of blocks) for (const traceIds of b.closings) closings.closed(entry.input, traceIds);
    closings.unit(entry.input, unit);
    entry.pending = unit;
    entry.pos = 0;
    return true;
  }

  while (live.length > 0) {
    for (let i = 0; i < live.length; ) {
      const entry = live[i]!;
      if (entry.pos < entry.pending.length) {
        i++;
        continue;
      }
      // A unit of no span (an empty last batch's closings) is followed by the end.
      if (yield* nextUnit(entry)) continue;
      closings.ended(entry.input);
      // Its last unit, handed on, is garbage: not held by `entries` until the merge ends.
      entry.pending = NONE;
      live.splice(i, 1);
      if (waiting < entries.length) live.push(entries[waiting++]!);
    }
    if (live.length === 0) return;
    let pick = 0;
    for (let i = 1; i < live.length; i++) if (startAt(live[i]!) < startAt(live[pick]!)) pick = i;
    let limit: bigint | undefined;
    for (let i = 0; i < live.length; i++) {
      if (i === pick) continue;
      const start = startAt(live[i]!);
      if (limit === undefined || start < limit) limit = start;
    }
    const entry = live[pick]!;
    let end = entry.pos + 1;
    while (end < entry.pending.length && end - entry.pos < MERGE_CHUNK && (limit === undefined || entry.pending[end]!.startNs <= limit)) end++;
    const chunk = entry.pending.slice(entry.pos, end);
    markClosedTraces(chunk, closings.chunk(entry.input, end));
    yield chunk;
    entry.pos = end;
  }
}

function lastStart(spans: readonly SpanRecord[]): bigint | undefined {
  return spans.length === 0 ? undefined : spans[spans.length - 1]!.startNs;
}

function startAt(entry: { readonly pending: readonly SpanRecord[]; readonly pos: number }): bigint {
  return entry.pending[entry.pos]!.startNs;
}

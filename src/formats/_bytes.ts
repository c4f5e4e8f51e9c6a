/**
 * @module formats/_bytes
 * Internal. Opens a trace file as a stream of decompressed bytes. Compression is sniffed from
 * magic bytes, never from the extension: gzip (`1F 8B`, node:zlib, multi-member), zstd
 * (`28 B5 2F FD`, fzstd streaming, multi-frame: the Collector's native-compression files), and
 * the Collector file exporter's legacy `[4-byte big-endian length][zstd frame]` records, whose
 * frames each inflate to one JSON document or one protobuf message. JSON records are re-emitted
 * as JSON lines; protobuf records keep their length prefix, so downstream sees one of the two
 * plain layouts. Standard input (`-`) and pipes are read the same way, once, front to back. A
 * compressed stream that breaks after some content came out (a killed writer) ends there, and
 * the damage is handed to the reader as a warning, like a cut-off line in a plain file.
 */

import { closeSync, constants, open as openFd, readSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Stats } from 'node:fs';
import { open, stat as fsStat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { TraceFormatError } from './errors.js';
import { CHECKSUM_MISMATCH, checksumOf, CORRUPT_CONTENT, xxhash, ZstdFrameWalker } from './_zstd-frames.js';
import type { FrameHash, ZstdSegment } from './_zstd-frames.js';

/** How the file's bytes were compressed. */
export type Compression = 'none' | 'gzip' | 'zstd' | 'zstd-records';

/** Read size: large enough that per-chunk overhead vanishes, small enough to stay streaming. */
const CHUNK_BYTES = 1 << 20;

/**
 * Read size for JSON lines read on by position (`transientChunks(LINES_CHUNK_BYTES)`), into two
 * reused buffers: each read costs the main thread ~70–90 µs however large (the request, its
 * promise, and waking the thread that reads) on the bench's 2-core virtual machine. Reading the
 * bench's 200 MB file alone took 24–28 ms of main-thread CPU in 1 MiB reads, 18 ms in 2 MiB,
 * 9–15 ms in 4 MiB, and 8–12 ms in 8 MiB (no better, and each read longer to wait for at the
 * start). Documents keep CHUNK_BYTES: their sliding window copies what of a chunk does not fit.
 */
export const LINES_CHUNK_BYTES = 4 << 20;

/** A regular file read by position: its size when opened, and a positioned read into a buffer. */
export interface PositionedFile {
  readonly size: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
}

/** Bytes per positioned read when a file is read whole. */
const WHOLE_READ_BYTES = 16 << 20;

/** An async byte stream that can be peeked at before it is consumed. */
export class ByteSource {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private done = false;
  /** Bytes taken from the iterator so far (where a positioned read goes on from). */
  private taken = 0;

  constructor(
    private readonly iterator: AsyncIterator<Buffer>,
    /** The input as the user named it, for error messages. */
    readonly file: string,
    /** The compressed source this one decompresses, closed with it. */
    private readonly inner?: ByteSource,
    /** For an uncompressed regular file: reads by position, so it can be read whole at once. */
    private readonly positioned?: PositionedFile,
  ) {}

  /**
   * All of a regular, uncompressed file that is no larger than `limit`, in one buffer sized from
   * its size (read by position straight into it: no chunks to join, and each byte of memory is
   * touched once); afterwards it is also what `peek` and `chunks` give. A compressed regular
   * file's content is peeked whole instead (joined once). Undefined for standard input and
   * pipes (read as they come) and larger content.
   */
  async readWhole(limit: number): Promise<Buffer | undefined> {
    const file = this.positioned;
    if (this.done) return this.headBytes <= limit ? this.peek(this.headBytes) : undefined;
    if (file === undefined && this.inner?.positioned !== undefined) {
      // A compressed regular file: what it inflates to, joined once (a larger one stays peeked for streaming).
      const head = await this.peek(limit + 1);
      return this.done && head.length <= limit ? head : undefined;
    }
    if (file === undefined || file.size > limit || this.headBytes > file.size) return undefined;
    const whole = Buffer.allocUnsafe(file.size);
    let filled = 0;
    for (const piece of this.head) {
      piece.copy(whole, filled);
      filled += piece.length;
    }
    while (filled < whole.length) {
      const n = await file.read(whole, filled, Math.min(WHOLE_READ_BYTES, whole.length - filled), filled);
      if (n === 0) break;
      filled += n;
    }
    const pieces = [whole.subarray(0, filled)];
    // A file still being written may have grown since it was opened: take the rest too.
    for (let position = filled; position === whole.length || pieces.length > 1; ) {
      const extra = Buffer.allocUnsafe(CHUNK_BYTES);
      const n = await file.read(extra, 0, extra.length, position);
      if (n === 0) break;
      pieces.push(extra.subarray(0, n));
      position += n;
    }
    this.head.length = 0;
    this.head.push(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
    this.headBytes = this.head[0]!.length;
    this.done = true;
    // The stream that read the head is not needed any more.
    await this.iterator.return?.(undefined);
    return this.head[0];
  }

  /** At least `n` bytes from the start of what is left (fewer only at end of stream). */
  async peek(n: number): Promise<Buffer> {
    await this.fill(n);
    if (this.head.length > 1) {
      const joined = Buffer.concat(this.head);
      this.head.length = 0;
      this.head.push(joined);
    }
    return this.head[0] ?? Buffer.alloc(0);
  }

  /**
   * Where the first `byte` at or after offset `from` is among the bytes left, reading until at
   * least `n` are peeked (fewer only at end of stream), and how many are peeked; −1: none there.
   * The peeked pieces are searched where they lie, not joined: a search whose window grows (the
   * first line of a one-line document) copied everything peeked at each step, 36 MB of fresh
   * memory before a 62 MB document was read whole, where a sandboxed virtual machine took ~6 µs
   * to map each fresh 4 KiB page on its first touch (bench/HISTORY.md, "After the eleventh pass").
   */
  async indexOf(byte: number, from: number, n: number): Promise<{ at: number; peeked: number }> {
    await this.fill(n);
    let offset = 0;
    for (const piece of this.head) {
      const end = offset + piece.length;
      if (end > from) {
        const at = piece.indexOf(byte, Math.max(0, from - offset));
        if (at !== -1) return { at: offset + at, peeked: this.headBytes };
      }
      offset = end;
    }
    return { at: -1, peeked: this.headBytes };
  }

  /** True when at least `n` bytes are left, read on until then (peeked, not joined: `peek` would copy them into one buffer). */
  async holds(n: number): Promise<boolean> {
    await this.fill(n);
    return this.headBytes >= n;
  }

  /** Reads on until at least `n` bytes are peeked or the stream ends. */
  private async fill(n: number): Promise<void> {
    while (this.headBytes < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
      } else if (next.value.length > 0) {
        this.head.push(next.value);
        this.headBytes += next.value.length;
        this.taken += next.value.length;
      }
    }
  }

  /** True for an uncompressed regular file: `readWhole` reads it by position, its size known before reading. */
  get sized(): boolean {
    return this.positioned !== undefined;
  }

  /** True when what `peek` holds is all there is (the stream ended, or a regular file's size is reached). */
  holdsAll(): boolean {
    return this.done || (this.positioned !== undefined && this.headBytes >= this.positioned.size);
  }

  /** Stops reading and releases the file (safe to call more than once). */
  async close(): Promise<void> {
    this.done = true;
    this.head.length = 0;
    await this.iterator.return?.(undefined);
    await this.inner?.close();
  }

  /** The remaining bytes, peeked ones first. */
  async *chunks(): AsyncGenerator<Buffer> {
    while (this.head.length > 0) yield this.head.shift() as Buffer;
    this.headBytes = 0;
    if (this.done) return;
    for (;;) {
      const next = await this.iterator.next();
      if (next.done === true) return;
      this.taken += next.value.length;
      if (next.value.length > 0) yield next.value;
    }
  }

  /**
   * The remaining bytes as `chunks` gives them, except that each chunk is valid only until the
   * next one is asked for: an uncompressed regular file is read on by position into two buffers
   * used in turn (the next read under way while a chunk is being used). A fresh 1 MiB buffer per
   * chunk cost more CPU than reading itself: reading a 200 MB file took ~450 ms of CPU against
   * ~65 ms into reused buffers (page faults on new memory, and external memory for the collector).
   * `chunkBytes`: the size of those reads.
   */
  async *transientChunks(chunkBytes = CHUNK_BYTES): AsyncGenerator<Buffer> {
    const file = this.positioned;
    if (file === undefined) {
      yield* this.chunks();
      return;
    }
    while (this.head.length > 0) yield this.head.shift() as Buffer;
    this.headBytes = 0;
    if (this.done) return;
    // The stream stays open (paused) until `close`: ending it now would close the file handle too.
    yield* positionedChunks(file, this.taken, Number.POSITIVE_INFINITY, chunkBytes);
  }
}

/** Reads an open file by position. */
export function positionedReads(handle: FileHandle): Pick<PositionedFile, 'read'> {
  return { read: async (buffer, offset, length, position) => (await handle.read(buffer, offset, length, position)).bytesRead };
}

/**
 * Bytes [start, end) of a positioned file (to its end, wherever that is when it is read, for an
 * infinite `end`), read `chunkBytes` at a time into two buffers used in turn: a chunk is valid
 * only until the next one is asked for.
 */
export async function* positionedChunks(file: Pick<PositionedFile, 'read'>, start: number, end: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<Buffer> {
  // A short range needs no more room than it has bytes.
  const size = Math.max(1, Math.min(chunkBytes, end - start));
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let turn = 0;
  let position = start;
  const readAt = (buffer: Buffer): Promise<number> => (position >= end ? Promise.resolve(0) : file.read(buffer, 0, Math.min(size, end - position), position));
  let reading = readAt(buffers[0]!);
  try {
    for (;;) {
      const n = await reading;
      if (n === 0) return;
      const chunk = buffers[turn]!.subarray(0, n);
      position += n;
      turn ^= 1;
      reading = readAt(buffers[turn]!);
      yield chunk;
    }
  } finally {
    // A read still under way when the consumer stopped: settled before the file can be closed.
    await reading.catch(() => 0);
  }
}

/** The file's decompressed content and what it took to get there. */
export interface OpenedFile {
  readonly content: ByteSource;
  readonly compression: Compression;
  /** Size of the file on disk; for standard input or a pipe, the bytes read so far. */
  readonly bytes: number;
  /** False for standard input and pipes, which cannot be opened a second time. */
  readonly regularFile: boolean;
  /**
   * Set when the compressed stream ended early or broke after some content came out (a killed
   * writer): what came out is still read, and the reader reports this as a warning.
   */
  readonly damage: Damage | undefined;
}

/** Where and how a compressed stream broke. */
export interface Damage {
  readonly location: string;
  readonly expected: string;
  readonly got: string;
}

/** The file name that means standard input. */
export const STDIN = '-';

/** Raw bytes of a file, standard input or a pipe, counting what has been read. */
interface RawInput {
  readonly chunks: AsyncIterable<Buffer>;
  /** Size on disk, or undefined for a stream. */
  readonly size: number | undefined;
  readonly read: { value: number };
  /** A regular file: read by position too. */
  readonly positioned?: PositionedFile;
}

function describeStat(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function openError(file: string, error: unknown): TraceFormatError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code === 'EACCES' ? 'permission denied' : String(code);
  return new TraceFormatError(file, '', 'a readable trace file', why);
}

async function* counted(source: AsyncIterable<Buffer>, read: { value: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    read.value += chunk.length;
    yield chunk;
  }
}

/**
 * A pipe opened without blocking: a FIFO with no writer would otherwise block `open` forever.
 * Its first read tells the cases apart: bytes (go on), EAGAIN (a writer, no data yet: wait for
 * it through a socket handle) or end of file (no writer: an empty input, said at once).
 */
async function* pipeChunks(file: string): AsyncGenerator<Buffer> {
  // A plain descriptor, not a FileHandle: the socket below takes it over and closes it.
  let fd: number;
  try {
    fd = await promisify(openFd)(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(file, error);
  }
  const first = Buffer.alloc(CHUNK_BYTES);
  let bytesRead: number;
  try {
    bytesRead = readSync(fd, first, 0, first.length, null);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
      closeSync(fd);
      throw openError(file, error);
    }
    bytesRead = -1;
  }
  if (bytesRead === 0) {
    closeSync(fd);
    return;
  }
  if (bytesRead > 0) yield first.subarray(0, bytesRead);
  const socket = new Socket({ fd, readable: true, writable: false });
  try {
    yield* socket as AsyncIterable<Buffer>;
  } finally {
    socket.destroy();
  }
}

async function rawInput(file: string): Promise<RawInput> {
  const read = { value: 0 };
  if (file === STDIN) {
    // A terminal would wait for typing: nobody means that.
    if (process.stdin.isTTY === true) throw new TraceFormatError('standard input', '', 'a trace piped to standard input', 'a terminal');
    return { chunks: counted(process.stdin as AsyncIterable<Buffer>, read), size: undefined, read };
  }
  let stat: Stats;
  try {
    stat = await fsStat(file);
  } catch (error) {
    throw openError(file, error);
  }
  if (stat.isFIFO()) return { chunks: counted(pipeChunks(file), read), size: undefined, read };
  if (!stat.isFile()) throw new TraceFormatError(file, '', 'a regular file, a pipe or - (standard input)', describeStat(stat));
  // Opened here, so a missing permission is said before any reading starts.
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw openError(file, error);
  }
  const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES });
  const positioned: PositionedFile = { size: stat.size, ...positionedReads(handle) };
  return { chunks: counted(stream as AsyncIterable<Buffer>, read), size: stat.size, read, positioned };
}

async function* gunzipChunks(input: ByteSource, read: { value: number }, damage: (d: Damage) => void): AsyncGenerator<Buffer> {
  // node:zlib is loaded on the first gzip file only: loading it cost every run ~13 ms of CPU.
  const { createGunzip } = await import('node:zlib');
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const feed = Readable.from(input.chunks());
  feed.on('error', (error) => gunzip.destroy(error));
  feed.pipe(gunzip);
  let produced = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      produced += chunk.length;
      yield chunk;
    }
  } catch (error) {
    if (error instanceof TraceFormatError) throw error;
    const message = (error as Error).message;
    const truncated = /unexpected end/i.test(message);
    // zlib checks the trailer's CRC-32 and length only after handing on all the content.
    const broken = /incorrect (data|length) check/.test(message)
      ? { location: `byte ${read.value}`, expected: 'gzip content that matches its CRC-32', got: CORRUPT_CONTENT }
      : { location: `byte ${read.value}`, expected: 'a complete gzip stream', got: truncated ? 'end of file (truncated?)' : `corrupt data (${message})` };
    if (produced === 0) throw new TraceFormatError(input.file, broken.location, broken.expected, broken.got);
    damage(broken);
  } finally {
    feed.destroy();
  }
}

/**
 * fzstd, loaded on the first zstd file only: most inputs are plain or gzip, and loading it costs
 * every run ~15 ms of CPU.
 */
async function loadZstd(): Promise<typeof import('fzstd')> {
  return import('fzstd');
}

/** Decompressed bytes handed on per push, roughly: fzstd inflates everything a push holds at once. */
const ZSTD_OUTPUT_PER_PUSH = 4 * 1024 * 1024;
const ZSTD_MAX_SLICE = 64 * 1024;
const ZSTD_MIN_SLICE = 64;
const ZSTD_START_SLICE = 256;

/**
 * fzstd's streaming decoder calls back synchronously with every block a push completes, so one
 * push of a 33 KB frame of zeros inflates 1 GiB before we can hand any of it on. The input is
 * therefore pushed in slices sized from the ratio seen so far, keeping each push's output near
 * ZSTD_OUTPUT_PER_PUSH (a block is at most 128 KiB, so a 64-byte slice is at most 16 blocks).
 */
async function* zstdChunks(input: ByteSource, damage: (d: Damage) => void): AsyncGenerator<Buffer> {
  const [{ Decompress }, hashes] = await Promise.all([loadZstd(), xxhash()]);
  const out: Buffer[] = [];
  let pushed = 0;
  const onData = (data: Uint8Array): void => {
    pushed += data.byteLength;
    if (data.byteLength > 0) out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  };
  let produced = 0;
  let consumed = 0;
  // Start small: the first push must not inflate a whole bomb before the ratio is known.
  let slice = ZSTD_START_SLICE;
  const broken = (error: unknown, truncated: boolean): Damage => ({
    location: `byte ${consumed}`,
    expected: 'a complete zstd stream',
    got: truncated ? 'end of file (truncated?)' : `corrupt data (${(error as Error).message})`,
  });
  // One decoder per frame, given exactly that frame's bytes and told where it ends, so what it
  // inflates is that frame's content, hashed and checked against the checksum the frame declares
  // (fzstd skips it). Skippable frames are passed over; bytes that are no frame go to a decoder
  // of their own, which says what is wrong with them.
  let decoder: InstanceType<typeof Decompress> | undefined;
  let decoding: ZstdSegment | null | undefined;
  let hash: FrameHash | undefined;
  const push = (data: Uint8Array, final: boolean): Damage | undefined => {
    try {
      (decoder ??= new Decompress(onData)).push(data, final);
      return undefined;
    } catch (error) {
      return broken(error, final && (error as Error).message.includes('unexpected EOF'));
    }
  };
  const take = (piece: Buffer): Buffer => {
    produced += piece.length;
    if (decoding?.frame?.checksummed === true) (hash ??= hashes.create64(0n)).update(piece);
    return piece;
  };
  const walker = new ZstdFrameWalker();
  let segment = 0;
  let mismatch: Damage | undefined;
  let failure: Damage | undefined;
  let held: Buffer | undefined;
  outer: for await (const raw of input.chunks()) {
    walker.feed(raw);
    const chunk = held === undefined ? raw : Buffer.concat([held, raw]);
    held = undefined;
    for (let at = 0; at < chunk.length; ) {
      while (walker.segments[segment]?.end !== undefined && consumed >= walker.segments[segment]!.end!) segment++;
      const current = walker.segments[segment];
      const inside = current !== undefined && consumed >= current.start ? current : walker.unknownAt !== undefined && consumed >= walker.unknownAt ? null : undefined;
      if (inside === undefined) {
        // A magic number cut by the chunk's end: wait for the rest.
        held = chunk.subarray(at);
        break;
      }
      let n = Math.min(slice, chunk.length - at);
      if (inside !== null && inside.end !== undefined) n = Math.min(n, inside.end - consumed);
      if (inside !== null && inside.frame === undefined) {
        at += n;
        consumed += n;
        continue;
      }
      if (inside !== decoding) {
        decoder = undefined;
        decoding = inside;
        hash = undefined;
      }
      const final = inside !== null && consumed + n === inside.end;
      pushed = 0;
      failure = push(chunk.subarray(at, at + n), final);
      at += n;
      consumed += n;
      while (out.length > 0) yield take(out.shift() as Buffer);
      if (failure !== undefined) break outer;
      if (final) {
        const frame = inside.frame!;
        if (frame.checksum !== undefined && (hash === undefined ? checksumOf(hashes.create64(0n)) : checksumOf(hash)) !== frame.checksum) {
          mismatch ??= { location: `byte ${frame.checksumAt}`, ...CHECKSUM_MISMATCH };
        }
        decoder = undefined;
        decoding = undefined;
      }
      const ratio = pushed / n;
      slice = Math.max(ZSTD_MIN_SLICE, Math.min(ZSTD_MAX_SLICE, Math.floor(ZSTD_OUTPUT_PER_PUSH / Math.max(ratio, 1))));
    }
  }
  if (failure === undefined && (held !== undefined || decoder !== undefined)) {
    // A frame cut short, or a few bytes after the last frame: the decoder's end-of-input error.
    failure = push(held ?? new Uint8Array(0), true);
    while (out.length > 0) yield take(out.shift() as Buffer);
  }
  // A mismatch is always in a frame before any other damage.
  failure = mismatch ?? failure;
  if (failure === undefined) return;
  if (produced === 0) throw new TraceFormatError(input.file, failure.location, failure.expected, failure.got);
  damage(failure);
}

/** Legacy Collector records: [u32 BE length][zstd frame] … */
async function* zstdRecordChunks(input: ByteSource, damage: (d: Damage) => void): AsyncGenerator<Buffer> {
  const [{ decompress }, hashes] = await Promise.all([loadZstd(), xxhash()]);
  let mismatch: Damage | undefined;
  /** The record's frame(s) inflated, each checked against its checksum (the first mismatch kept). */
  const inflate = (record: Buffer, at: number): Uint8Array => {
    const walker = new ZstdFrameWalker();
    walker.feed(record);
    const content = decompress(record);
    // One frame (what the Collector writes): its content is the record's. Several: each inflated alone.
    const frames = walker.frames.length === 1 ? [content] : walker.frames.map((f) => decompress(record.subarray(f.start, f.end)));
    walker.frames.forEach((f, k) => {
      if (f.checksum !== undefined && Number(hashes.h64Raw(frames[k]!) & 0xffffffffn) !== f.checksum) mismatch ??= { location: `byte ${at + (f.checksumAt ?? 0)}`, ...CHECKSUM_MISMATCH };
    });
    return content;
  };
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  let records = 0;
  for await (const chunk of input.chunks()) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      let inflated: Uint8Array;
      try {
        inflated = inflate(pending.subarray(4, 4 + length), offset + 4);
      } catch (error) {
        const broken = { location: `byte ${offset}`, expected: 'a zstd frame after the 4-byte length', got: `corrupt data (${(error as Error).message})` };
        if (records === 0) throw new TraceFormatError(input.file, broken.location, broken.expected, broken.got);
        damage(mismatch ?? broken);
        return;
      }
      records++;
      const record = Buffer.from(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      if (record[0] === 0x7b || record[0] === 0x5b) {
        yield record;
        yield Buffer.from('\n');
      } else {
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(record.length, 0);
        yield prefix;
        yield record;
      }
      offset += 4 + length;
      pending = pending.subarray(4 + length);
    }
  }
  if (pending.length > 0) {
    const broken = { location: `byte ${offset}`, expected: 'a complete length-prefixed zstd record', got: `end of file after ${pending.length} bytes (truncated?)` };
    if (records === 0) throw new TraceFormatError(input.file, broken.location, broken.expected, broken.got);
    damage(mismatch ?? broken);
  } else if (mismatch !== undefined) {
    damage(mismatch);
  }
}

function isZstdMagic(bytes: Buffer, at: number): boolean {
  return bytes[at] === 0x28 && bytes[at + 1] === 0xb5 && bytes[at + 2] === 0x2f && bytes[at + 3] === 0xfd;
}

/**
 * Opens `file` (a path, a pipe, or `-` for standard input), sniffs its compression from the
 * first bytes and returns its decompressed content. The input is read once, front to back, so
 * streams work like files.
 */
export async function openFile(file: string): Promise<OpenedFile> {
  const raw = await rawInput(file);
  const input = new ByteSource(raw.chunks[Symbol.asyncIterator](), file, undefined, raw.positioned);
  let head: Buffer;
  try {
    head = await input.peek(8);
  } catch (error) {
    await input.close();
    if (error instanceof TraceFormatError) throw error;
    throw openError(file, error);
  }
  let compression: Compression = 'none';
  let damage: Damage | undefined;
  const onDamage = (d: Damage): void => {
    damage = d;
  };
  let content: ByteSource = input;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    compression = 'gzip';
    content = new ByteSource(gunzipChunks(input, raw.read, onDamage), file, input);
  } else if (isZstdMagic(head, 0)) {
    compression = 'zstd';
    content = new ByteSource(zstdChunks(input, onDamage), file, input);
  } else if (head.length >= 8 && isZstdMagic(head, 4)) {
    compression = 'zstd-records';
    content = new ByteSource(zstdRecordChunks(input, onDamage), file, input);
  }
  return {
    content,
    compression,
    regularFile: raw.size !== undefined,
    get bytes(): number {
      return raw.size ?? raw.read.value;
    },
    get damage(): Damage | undefined {
      return damage;
    },
  };
}

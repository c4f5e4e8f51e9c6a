/**
 * @module formats/_bytes
 * Internal. Opens a trace file as a stream of decompressed bytes. Compression is sniffed from
 * magic bytes, never from the extension: gzip (`1F 8B`, node:zlib, multi-member), zstd
 * (`28 B5 2F FD`, fzstd streaming, multi-frame: the Collector's native-compression files), and
 * the Collector file exporter's legacy `[4-byte big-endian length][zstd frame]` records, whose
 * frames each inflate to one JSON document or one protobuf message. JSON records are re-emitted
 * as JSON lines; protobuf records keep their length prefix, so downstream sees one of the two
 * plain layouts.
 */

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { TraceFormatError } from './errors.js';

/** How the file's bytes were compressed. */
export type Compression = 'none' | 'gzip' | 'zstd' | 'zstd-records';

/** Read size: large enough that per-chunk overhead vanishes, small enough to stay streaming. */
const CHUNK_BYTES = 1 << 20;

/** An async byte stream that can be peeked at before it is consumed. */
export class ByteSource {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private done = false;

  constructor(private readonly iterator: AsyncIterator<Buffer>) {}

  /** At least `n` bytes from the start of what is left (fewer only at end of stream). */
  async peek(n: number): Promise<Buffer> {
    while (this.headBytes < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
      } else if (next.value.length > 0) {
        this.head.push(next.value);
        this.headBytes += next.value.length;
      }
    }
    if (this.head.length > 1) {
      const joined = Buffer.concat(this.head);
      this.head.length = 0;
      this.head.push(joined);
    }
    return this.head[0] ?? Buffer.alloc(0);
  }

  /** Stops reading and releases the file (safe to call more than once). */
  async close(): Promise<void> {
    this.done = true;
    this.head.length = 0;
    await this.iterator.return?.(undefined);
  }

  /** The remaining bytes, peeked ones first. */
  async *chunks(): AsyncGenerator<Buffer> {
    while (this.head.length > 0) yield this.head.shift() as Buffer;
    this.headBytes = 0;
    if (this.done) return;
    for (;;) {
      const next = await this.iterator.next();
      if (next.done === true) return;
      if (next.value.length > 0) yield next.value;
    }
  }
}

/** The file's decompressed content and what it took to get there. */
export interface OpenedFile {
  readonly content: ByteSource;
  readonly compression: Compression;
  /** Size of the file on disk. */
  readonly bytes: number;
}

async function readHead(file: string): Promise<{ head: Buffer; size: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new TraceFormatError(file, '', 'a readable trace file', why);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TraceFormatError(file, '', 'a regular file', 'a directory or device');
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    return { head: head.subarray(0, bytesRead), size: stat.size };
  } finally {
    await handle.close();
  }
}

async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  yield* createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>;
}

async function* gunzipChunks(file: string): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const input = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    const message = (error as Error).message;
    const truncated = /unexpected end/i.test(message);
    throw new TraceFormatError(
      file,
      `byte ${input.bytesRead}`,
      'a complete gzip stream',
      truncated ? 'end of file (truncated?)' : `corrupt data (${message})`,
    );
  } finally {
    input.destroy();
  }
}

/**
 * fzstd, loaded on the first zstd file only: most inputs are plain or gzip, and loading it costs
 * every run ~15 ms of CPU.
 */
async function loadZstd(): Promise<typeof import('fzstd')> {
  return import('fzstd');
}

async function* zstdChunks(file: string): AsyncGenerator<Buffer> {
  const { Decompress } = await loadZstd();
  const out: Buffer[] = [];
  const decoder = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  let offset = 0;
  const fail = (error: unknown): TraceFormatError =>
    new TraceFormatError(file, `byte ${offset}`, 'a complete zstd stream', `corrupt or truncated data (${(error as Error).message})`);
  for await (const chunk of fileChunks(file)) {
    try {
      decoder.push(chunk);
    } catch (error) {
      throw fail(error);
    }
    offset += chunk.length;
    while (out.length > 0) yield out.shift() as Buffer;
  }
  try {
    decoder.push(new Uint8Array(0), true);
  } catch (error) {
    throw fail(error);
  }
  while (out.length > 0) yield out.shift() as Buffer;
}

/** Legacy Collector records: [u32 BE length][zstd frame] … */
async function* zstdRecordChunks(file: string): AsyncGenerator<Buffer> {
  const { decompress } = await loadZstd();
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of fileChunks(file)) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      let inflated: Uint8Array;
      try {
        inflated = decompress(pending.subarray(4, 4 + length));
      } catch (error) {
        throw new TraceFormatError(file, `byte ${offset}`, 'a zstd frame after the 4-byte length', `corrupt data (${(error as Error).message})`);
      }
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
    throw new TraceFormatError(file, `byte ${offset}`, `a complete length-prefixed zstd record`, `end of file after ${pending.length} bytes (truncated?)`);
  }
}

function isZstdMagic(bytes: Buffer, at: number): boolean {
  return bytes[at] === 0x28 && bytes[at + 1] === 0xb5 && bytes[at + 2] === 0x2f && bytes[at + 3] === 0xfd;
}

/** Opens `file`, sniffs its compression and returns its decompressed content. */
export async function openFile(file: string): Promise<OpenedFile> {
  const { head, size } = await readHead(file);
  let compression: Compression = 'none';
  let chunks: AsyncGenerator<Buffer>;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    compression = 'gzip';
    chunks = gunzipChunks(file);
  } else if (isZstdMagic(head, 0)) {
    compression = 'zstd';
    chunks = zstdChunks(file);
  } else if (head.length >= 8 && isZstdMagic(head, 4)) {
    compression = 'zstd-records';
    chunks = zstdRecordChunks(file);
  } else {
    chunks = fileChunks(file);
  }
  return { content: new ByteSource(chunks), compression, bytes: size };
}

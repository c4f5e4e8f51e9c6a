/**
 * @module formats/_spool
 * Internal. Standard input or a pipe held in a temporary file, so that a large document can be
 * read the way a regular file is: through the byte scanners' sliding window or record by record
 * (Triton), in bounded memory, and read again from its first byte should the scanner give it
 * back, which a stream cannot be. Read whole instead, a 62 MB Jaeger document piped in peaked at
 * 252 MB against 118 MB by name (docs/analyzer.md, "Large documents"). The file is unlinked as
 * soon as it is opened, so nothing is left behind whatever ends the process (POSIX keeps an
 * unlinked file's data until its last descriptor closes).
 */

import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ByteSource, positionedReads } from './_bytes.js';
import type { OpenedFile, PositionedFile } from './_bytes.js';
import { TraceFormatError } from './errors.js';

/** Bytes per read and write: as a regular file is read. */
const CHUNK_BYTES = 1 << 20;

/** A stream's decompressed content in an unlinked temporary file, opened afresh by `open` as often as it is needed. */
export class Spool {
  private released = false;

  private constructor(
    private readonly handle: FileHandle,
    /** The directory made for it, for platforms that cannot unlink an open file (removed on release). */
    private readonly dir: string,
    /** Bytes held. */
    readonly size: number,
    /** The stream it was written from: its compression, bytes read and any damage are still what is reported. */
    private readonly source: OpenedFile,
  ) {}

  /** The temporary directory it was made in (TMPDIR's), for `--verbose` to say. */
  get where(): string {
    return dirname(this.dir);
  }

  /**
   * Writes what is left of `source`'s content (peeked bytes first) to a fresh temporary file;
   * undefined, with nothing consumed, when no temporary file can be made (the caller reads the
   * stream as before). A failed write ends the run with one line naming `file` and the directory.
   */
  static async of(source: OpenedFile, file: string): Promise<Spool | undefined> {
    const made = await temporaryFile();
    if (made === undefined) return undefined;
    const { handle, dir } = made;
    let size = 0;
    // A pipe's reads are 64 KiB: written a MiB at a time, in one call each (a write per read was 0.1 s more for 62 MB).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      for (let done = 0; done < data.length; ) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, size).catch((error: unknown) => {
          throw new SpoolWriteError(error);
        });
        done += bytesWritten;
        size += bytesWritten;
      }
    };
    try {
      for await (const chunk of source.content.chunks()) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= CHUNK_BYTES) await flush();
      }
      if (pendingBytes > 0) await flush();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (!(error instanceof SpoolWriteError)) throw error;
      const code = (error.cause as NodeJS.ErrnoException).code ?? String(error.cause);
      const name = file === '-' ? 'standard input' : file;
      throw new TraceFormatError(file, `byte ${size}`, `room in ${tmpdir()} for ${name}'s large document, held there to be read in bounded memory (set TMPDIR to a directory with room, or give the file by name)`, WRITE_FAILURES[code] ?? code);
    }
    return new Spool(handle, dir, size, source);
  }

  /** The content from its first byte, as an uncompressed regular file opens (read by position), reported as the stream it came from. */
  open(): OpenedFile {
    const { source, size } = this;
    const file: PositionedFile = { size, ...positionedReads(this.handle) };
    // Chunks of their own, as a regular file's stream gives them (ByteSource keeps peeked ones); the handle stays open for the next `open`.
    const stream = this.handle.createReadStream({ start: 0, highWaterMark: CHUNK_BYTES, autoClose: false });
    const content = new ByteSource((stream as AsyncIterable<Buffer>)[Symbol.asyncIterator](), source.content.file, undefined, file);
    return {
      content,
      compression: source.compression,
      // Not to be opened again by its name: `-` or the pipe is spent.
      regularFile: false,
      get bytes(): number {
        return source.bytes;
      },
      get damage() {
        return source.damage;
      },
    };
  }

  /** Closes the file, which frees its space (safe to call more than once). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.handle.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Why a write failed, in words, for the codes that mean no room. */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota exceeded',
  EFBIG: 'the file size limit reached (ulimit -f)',
};

/** A write to the spool that failed, told apart from a failure reading the stream. */
class SpoolWriteError extends Error {
  constructor(cause: unknown) {
    super('spool write failed', { cause });
  }
}

/** A new file in a directory of its own under the system's temporary directory, opened for reading and writing and unlinked where the platform allows. */
async function temporaryFile(): Promise<{ handle: FileHandle; dir: string } | undefined> {
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), 'latency-doctor-'));
  } catch {
    return undefined;
  }
  let handle: FileHandle;
  try {
    handle = await open(join(dir, 'input'), 'wx+', 0o600);
  } catch {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    return undefined;
  }
  // Gone from the directory at once (an open file on Windows is not: then `release` removes it).
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  return { handle, dir };
}

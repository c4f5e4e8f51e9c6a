/**
 * @module model/_spill-file
 * Internal: an unlinked temporary file that a large request table keeps its cold columns in
 * (model/_cold-columns.ts), written and read at byte offsets with synchronous calls: the table's
 * accessors are synchronous, and a column is a few MB read from the page cache.
 *
 * The file is made in a directory of its own under the system's temporary directory (TMPDIR),
 * readable by its owner only, and unlinked at once, so nothing is left behind when the process
 * ends however it ends; its descriptor is closed, and its space freed, once no table refers to
 * it (a FinalizationRegistry), so a long-lived process that analyses many inputs does not keep
 * them. A file that cannot be made, or a write that fails (no room: ENOSPC, EDQUOT, EFBIG), is
 * not an error: the caller keeps those values in memory, as every table did before.
 *
 * FinalizationRegistry: https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/FinalizationRegistry
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Closes the descriptor of a file no table refers to any more. */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to free.
  }
});

/** An unlinked temporary file written at its end and read anywhere (see the module comment). */
export class SpillFile {
  /** Bytes written. */
  private size = 0;
  /** False once a write failed: later writes are not tried (the caller keeps its values in memory). */
  private writable = true;

  private constructor(
    private readonly fd: number,
    /** The temporary directory the file was made in (its own directory there is gone at once). */
    readonly directory: string,
  ) {
    closer.register(this, fd);
  }

  /** A new file; undefined where none can be made (no temporary directory, no room, no permission). */
  static create(): SpillFile | undefined {
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), 'latency-doctor-'));
    } catch {
      return undefined;
    }
    try {
      return new SpillFile(openSync(join(dir, 'requests'), 'wx+', 0o600), tmpdir());
    } catch {
      return undefined;
    } finally {
      // Gone from the directory at once; the open descriptor keeps the data.
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Bytes held on disk so far. */
  get bytes(): number {
    return this.size;
  }

  /** Writes `data` at the end; its offset, or undefined when the write failed (no room) or an earlier one did. */
  append(data: Uint8Array): number | undefined {
    if (!this.writable) return undefined;
    const at = this.size;
    if (!this.writeAt(data, at)) return undefined;
    this.size += data.byteLength;
    return at;
  }

  /** Writes `data` over bytes written before, at `at`; false when the write failed. */
  overwrite(data: Uint8Array, at: number): boolean {
    return this.writable && this.writeAt(data, at);
  }

  /** Fills `into` with the bytes at `at` (written before). */
  read(into: Uint8Array, at: number): void {
    let done = 0;
    while (done < into.byteLength) {
      const n = readSync(this.fd, into, done, into.byteLength - done, at + done);
      // A file shorter than what was written to it: another process truncated it.
      if (n === 0) throw new Error(`the requests' temporary file in ${tmpdir()} ended at byte ${at + done}, before the ${into.byteLength} bytes written at ${at}`);
      done += n;
    }
  }

  private writeAt(data: Uint8Array, at: number): boolean {
    try {
      let done = 0;
      while (done < data.byteLength) done += writeSync(this.fd, data, done, data.byteLength - done, at + done);
      return true;
    } catch {
      this.writable = false;
      return false;
    }
  }
}

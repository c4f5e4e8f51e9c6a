/**
 * @module formats/_zstd-frames
 * Internal. Where a zstd stream's frames end and what content checksum each declares, read from
 * the frame and block headers alone (RFC 8878, "Frames" and "Blocks",
 * https://www.rfc-editor.org/rfc/rfc8878#section-3.1), so the inflated content of each frame can
 * be checked against it: fzstd skips the checksum, and a changed byte that still inflates would
 * otherwise be read as a silently wrong number. The check is XXH64 (seed 0) of the frame's
 * content, its low 32 bits little-endian after the last block, computed with xxhash-wasm.
 */
import type { XXHash, XXHashAPI } from 'xxhash-wasm';

/** A run of the stream: a zstd frame, or a skippable frame (`frame` undefined); `end` once known. */
export interface ZstdSegment {
  readonly start: number;
  end: number | undefined;
  readonly frame: ZstdFrame | undefined;
}

/** One frame as its headers describe it; offsets are into the whole compressed stream. */
export interface ZstdFrame {
  /** Where its magic number starts. */
  readonly start: number;
  /** The frame declares a content checksum (Frame_Header_Descriptor bit 2). */
  readonly checksummed: boolean;
  /** Just after its last block: all of its content has been pushed to the decoder there. */
  contentEnd: number | undefined;
  /** The declared checksum (low 32 bits of XXH64), once its 4 bytes were read. */
  checksum: number | undefined;
  /** Where those 4 bytes start. */
  checksumAt: number | undefined;
  /** Just after the frame (its checksum included), once known. */
  end: number | undefined;
}

const enum State {
  Magic,
  SkippableSize,
  Skip,
  Descriptor,
  HeaderRest,
  BlockHeader,
  BlockBody,
  Checksum,
  Unknown,
}

/**
 * Walks the compressed bytes fed to it in order, whatever the chunking, and lists the zstd frames
 * it finds (skippable frames are passed over). On bytes that are not a frame it stops listing:
 * the decoder reports that damage itself.
 */
export class ZstdFrameWalker {
  /** The zstd frames seen so far, in order. */
  readonly frames: ZstdFrame[] = [];
  /** The frames and skippable frames seen so far, in stream order. */
  readonly segments: ZstdSegment[] = [];
  /** Where bytes that are no frame begin (the decoder will say what is wrong there). */
  unknownAt: number | undefined;
  private state = State.Magic;
  /** Bytes still to collect (header fields) or to pass over (block bodies, skippable frames). */
  private need = 4;
  private readonly held: number[] = [];
  private lastBlock = false;
  private position = 0;

  /** Where the bytes not yet known to be in a frame start (a magic number cut by the chunk's end); `position` when none. */
  get pendingAt(): number {
    return this.state === State.Magic ? this.position - this.held.length : this.position;
  }

  /** Reads the next bytes of the stream. */
  feed(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length && this.state !== State.Unknown) {
      if (this.state === State.Skip || this.state === State.BlockBody) {
        const n = Math.min(this.need, bytes.length - at);
        at += n;
        this.need -= n;
        if (this.need === 0) this.afterSkip(this.position + at);
        continue;
      }
      this.held.push(bytes[at++]!);
      if (this.held.length === this.need) this.afterFields(this.position + at);
    }
    this.position += bytes.length;
  }

  private afterSkip(end: number): void {
    if (this.state === State.Skip) {
      this.segments[this.segments.length - 1]!.end = end;
      return this.expect(State.Magic, 4);
    }
    if (!this.lastBlock) return this.expect(State.BlockHeader, 3);
    const frame = this.frames[this.frames.length - 1]!;
    frame.contentEnd = end;
    if (frame.checksummed) {
      frame.checksumAt = end;
      this.expect(State.Checksum, 4);
    } else {
      this.close(end);
      this.expect(State.Magic, 4);
    }
  }

  private close(end: number): void {
    const segment = this.segments[this.segments.length - 1]!;
    segment.end = end;
    segment.frame!.end = end;
  }

  private afterFields(end: number): void {
    const b = this.held;
    switch (this.state) {
      case State.Magic:
        if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return this.expect(State.Descriptor, 1);
        // Skippable frames: magic 0x184D2A5? little-endian, then a 4-byte size.
        if ((b[0]! & 0xf0) === 0x50 && b[1] === 0x2a && b[2] === 0x4d && b[3] === 0x18) {
          this.segments.push({ start: end - 4, end: undefined, frame: undefined });
          return this.expect(State.SkippableSize, 4);
        }
        this.unknownAt = end - 4;
        return this.expect(State.Unknown, 0);
      case State.SkippableSize: {
        const size = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        if (size > 0) return this.expect(State.Skip, size);
        this.segments[this.segments.length - 1]!.end = end;
        return this.expect(State.Magic, 4);
      }
      case State.Descriptor: {
        const descriptor = b[0]!;
        const singleSegment = (descriptor >> 5) & 1;
        const fcsBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
        const dictBytes = [0, 1, 2, 4][descriptor & 3]!;
        const frame: ZstdFrame = { start: end - 5, checksummed: ((descriptor >> 2) & 1) === 1, contentEnd: undefined, checksum: undefined, checksumAt: undefined, end: undefined };
        this.frames.push(frame);
        this.segments.push({ start: frame.start, end: undefined, frame });
        const rest = (singleSegment === 1 ? 0 : 1) + dictBytes + fcsBytes;
        return rest === 0 ? this.expect(State.BlockHeader, 3) : this.expect(State.HeaderRest, rest);
      }
      case State.HeaderRest:
        return this.expect(State.BlockHeader, 3);
      case State.BlockHeader: {
        const header = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        const type = (header >> 1) & 3;
        if (type === 3) return this.expect(State.Unknown, 0);
        this.lastBlock = (header & 1) === 1;
        // An RLE block (type 1) holds one byte, repeated Block_Size times.
        const body = type === 1 ? 1 : header >>> 3;
        if (body > 0) return this.expect(State.BlockBody, body);
        this.expect(State.BlockBody, 0);
        return this.afterSkip(end);
      }
      case State.Checksum: {
        const frame = this.frames[this.frames.length - 1]!;
        frame.checksum = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        this.close(end);
        return this.expect(State.Magic, 4);
      }
      default:
        return undefined;
    }
  }

  private expect(state: State, need: number): void {
    this.state = state;
    this.need = need;
    this.held.length = 0;
  }
}

let api: Promise<XXHashAPI> | undefined;

/** xxhash-wasm, instantiated on the first zstd file only. */
export function xxhash(): Promise<XXHashAPI> {
  api ??= import('xxhash-wasm').then((m) => m.default());
  return api;
}

/** What the frame's checksum is checked with: XXH64, seed 0. */
export type FrameHash = XXHash<bigint>;

/** The low 32 bits of a finished XXH64, as a frame's checksum field holds them. */
export function checksumOf(hash: FrameHash): number {
  return Number(hash.digest() & 0xffffffffn);
}

/** What a compressed file whose content fails its checksum (zstd's XXH64, gzip's CRC-32) is said to have. */
export const CORRUPT_CONTENT = 'a checksum mismatch: the inflated content is corrupt, and what was read from it may be wrong';

/** The damage a zstd checksum mismatch is reported as. */
export const CHECKSUM_MISMATCH = { expected: 'zstd frame content that matches its checksum', got: CORRUPT_CONTENT } as const;

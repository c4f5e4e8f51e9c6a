/**
 * @module formats/ids
 * Normalizes trace and span ids to lowercase hex left-padded to 32 / 16 chars, whatever the
 * input wrote: OTLP hex (any case), Tempo/gogo-jsonpb base64, Jaeger hex with leading zeros
 * dropped (31-char trace ids, 15-char span ids), Zipkin 64-bit trace ids, Python `0x` prefixes.
 *
 * Hex vs base64 is decided per file: a 16-byte id is 32 hex or 24 base64 chars (22 unpadded),
 * an 8-byte id 16 hex or 12 (11) base64 chars. Padded base64 ends in '=', so only unpadded
 * base64 (22 / 11 chars) can be all-hex and look like a short hex id. Any char outside
 * [0-9a-fA-F] proves base64 and switches the file's decoder to base64 for those ambiguous
 * lengths; until then they are read as short hex (Jaeger drops leading zeros), the common case.
 * Anything else is an opaque id, kept as written (see `opaque`).
 */

const LOWER_HEX = /^[0-9a-f]+$/;
const ANY_HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const ZEROS = /^0+$/;

/** Counts of the leniencies an id decoder applied, for the reader's report. */
export interface IdLeniencies {
  base64: number;
  padded: number;
  uppercase: number;
  prefixed: number;
  /** Ids kept as opaque strings (neither hex nor base64). */
  opaque: number;
}

/** Opaque ids longer than this are not ids (a whole document pasted into the field). */
const MAX_OPAQUE_ID = 256;

/** Per-file id decoder; keeps the file's hex/base64 decision and counts what it had to fix. */
export class IdDecoder {
  /** True once an id in this file proved to be base64. */
  base64 = false;
  /**
   * Ids of an ambiguous length (all-hex, yet valid unpadded base64) read as hex while no base64
   * id had been seen: a reader of part of a file (formats/_ranges.ts) uses it to tell whether an
   * earlier part's base64 decision would have changed them.
   */
  undecided = 0;
  readonly counts: IdLeniencies = { base64: 0, padded: 0, uppercase: 0, prefixed: 0, opaque: 0 };

  /** A 16-byte trace id as 32 lowercase hex chars (an opaque string kept as is), or undefined when absent, empty or all zero. */
  traceId(raw: unknown): string | undefined {
    if (typeof raw === 'string' && raw.length === 32 && LOWER_HEX.test(raw)) {
      return raw.charCodeAt(0) === 0x30 && ZEROS.test(raw) ? undefined : raw;
    }
    return this.slow(raw, 16);
  }

  /** An 8-byte span id as 16 lowercase hex chars (an opaque string kept as is), or undefined when absent, empty or all zero. */
  spanId(raw: unknown): string | undefined {
    if (typeof raw === 'string' && raw.length === 16 && LOWER_HEX.test(raw)) {
      return raw.charCodeAt(0) === 0x30 && ZEROS.test(raw) ? undefined : raw;
    }
    return this.slow(raw, 8);
  }

  private slow(raw: unknown, bytes: 8 | 16): string | undefined {
    if (typeof raw !== 'string') return undefined;
    let text = raw;
    if (text.length > 2 && text.charCodeAt(0) === 0x30 && (text.charCodeAt(1) | 0x20) === 0x78) {
      text = text.slice(2);
      this.counts.prefixed++;
    }
    if (text.length === 0) return undefined;
    const hexChars = bytes * 2;
    let hex: string | undefined;
    if (ANY_HEX.test(text) && !(this.base64 && isBase64Length(text.length, bytes))) {
      if (text.length > hexChars) return this.opaque(raw);
      if (isBase64Length(text.length, bytes)) this.undecided++;
      if (!LOWER_HEX.test(text)) {
        this.counts.uppercase++;
        text = text.toLowerCase();
      }
      if (text.length < hexChars) {
        this.counts.padded++;
        text = text.padStart(hexChars, '0');
      }
      hex = text;
    } else if (BASE64.test(text)) {
      const decoded = Buffer.from(text, 'base64');
      // Zipkin-style 64-bit trace ids may also arrive base64-encoded; pad like short hex.
      if (decoded.length !== bytes && !(bytes === 16 && decoded.length === 8)) return this.opaque(raw);
      this.base64 = true;
      this.counts.base64++;
      hex = decoded.toString('hex').padStart(hexChars, '0');
    } else {
      return this.opaque(raw);
    }
    return ZEROS.test(hex) ? undefined : hex;
  }

  /**
   * An id that is neither hex nor base64 of the right size (`"trace-123"`, `"span-1"`, seen in
   * real Jaeger exports) is kept as it is: ids only group spans into traces and link parents, so
   * any string that names the same thing every time works. Longer than any real id: refused.
   */
  private opaque(raw: string): string | undefined {
    if (raw.length > MAX_OPAQUE_ID) return undefined;
    this.counts.opaque++;
    return raw;
  }
}

/** Unpadded base64 lengths; padded ones (24/12) end in '=' and so are never all-hex. */
function isBase64Length(length: number, bytes: 8 | 16): boolean {
  return bytes === 16 ? length === 22 : length === 11;
}

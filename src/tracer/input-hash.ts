/**
 * @module tracer/input-hash
 * Opt-in keyed hash of a request's normalized input (`inference.input.hash`), so the analyzer
 * can count repeated inputs without the trace ever holding the input. HMAC rather than a bare
 * digest: a small input space (e.g. a handful of prompts) cannot be reversed by hashing
 * candidates unless the key leaks too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { reportFailure, warnOnce } from './warn-once.js';

/** Hashes one normalized input to a hex string; undefined when hashing is off or fails. */
export type InputHasher = (input: ArrayBufferView | string) => string | undefined;

/** Opt-in setting: `true` uses a random per-process key (duplicates are seen within one process only). */
export type InputHashOption = boolean | { readonly key: string | Uint8Array };

/** 128 bits of HMAC-SHA256: collisions stay negligible and spans stay small. */
const HASH_HEX_CHARS = 32;

/** Builds the hasher for an option; `false`/absent gives a hasher that records nothing. */
export function createInputHasher(option: InputHashOption | undefined): InputHasher {
  if (option === undefined || option === false) return () => undefined;
  const key = option === true ? randomBytes(32) : option.key;
  return (input) => {
    // Only a string or the input's bytes: anything else (a plain number[] from JavaScript) has no
    // `buffer`, and a view over nothing made every such input the same hash, so the analyzer saw
    // every request as a repeat of the first.
    const bytes = typeof input === 'string' ? undefined : asBytes(input);
    if (typeof input !== 'string' && bytes === undefined) {
      warnOnce(
        `req.hashInput() takes a string or the input's bytes (a typed array, Buffer, DataView or ArrayBuffer), got ${kindOf(input)}; no hash recorded`,
        'hash-input-type',
      );
      return undefined;
    }
    try {
      const hmac = createHmac('sha256', key);
      if (bytes === undefined) hmac.update(input as string, 'utf8');
      else hmac.update(bytes);
      return hmac.digest('hex').slice(0, HASH_HEX_CHARS);
    } catch (error) {
      reportFailure('hashing an input', error);
      return undefined;
    }
  };
}

function asBytes(input: unknown): Uint8Array | undefined {
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  return undefined;
}

/** What was passed, without its content. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

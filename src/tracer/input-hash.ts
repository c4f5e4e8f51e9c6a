/**
 * @module tracer/input-hash
 * Opt-in keyed hash of a request's normalized input (`inference.input.hash`), so the analyzer
 * can count repeated inputs without the trace ever holding the input. HMAC rather than a bare
 * digest: a small input space (e.g. a handful of prompts) cannot be reversed by hashing
 * candidates unless the key leaks too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { reportFailure } from './warn-once.js';

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
    try {
      const hmac = createHmac('sha256', key);
      if (typeof input === 'string') hmac.update(input, 'utf8');
      else hmac.update(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
      return hmac.digest('hex').slice(0, HASH_HEX_CHARS);
    } catch (error) {
      reportFailure('hashing an input', error);
      return undefined;
    }
  };
}

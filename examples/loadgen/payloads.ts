/**
 * @module examples/loadgen/payloads
 * Request bodies for the load generator, built once up front so that the client's own
 * encoding cost never pollutes the latency it measures (perf_analyzer does the same). A share
 * of requests repeats one of a few "hot" inputs byte for byte (what a prediction cache can
 * serve); every other request gets an input no earlier request had, made by stamping a
 * request counter into two pixels of a pre-encoded base image.
 */
import { seededRandom } from '../model/index.js';
import { BINARY_CONTENT_TYPE, encodeBinaryInput, encodeJsonInput, SHAPE_HEADER, type ImageInput } from '../service/image-input.js';

/** Wire encoding of the request body. */
export type PayloadEncoding = 'json' | 'binary';

/** Shape and mix of the generated inputs. */
export interface PayloadOptions {
  /** Image channels (1 or 3). Default 3. */
  readonly channels?: number;
  /** Image side in pixels. Default 32. */
  readonly side?: number;
  /** Body encoding. Default json. */
  readonly encoding?: PayloadEncoding;
  /** Share of requests (0–1) that repeat one of the hot inputs. Default 0. */
  readonly repeatShare?: number;
  /** Number of distinct hot inputs. Default 4. */
  readonly hotInputs?: number;
  /** Seed of the pixel values and of the hot/unique draw. Default 1. */
  readonly seed?: number;
}

/** One ready-to-send request body. */
export interface Payload {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  /** True when this body repeats a hot input. */
  readonly repeated: boolean;
}

/** Digits after the decimal point in JSON bodies: what a client that sends floats as text sends. */
const JSON_DECIMALS = 3;
/** Distinct base images the unique inputs are stamped from. */
const BASES = 4;

function randomImage(channels: number, side: number, seed: number): ImageInput {
  const random = seededRandom(seed);
  const data = new Float32Array(channels * side * side);
  for (let i = 0; i < data.length; i += 1) data[i] = random() * 255;
  return { channels, height: side, width: side, data };
}

/** Produces request bodies: `next()` returns the body of the next request. */
export class PayloadSource {
  readonly #encoding: PayloadEncoding;
  readonly #repeatShare: number;
  readonly #random: () => number;
  readonly #hot: Payload[];
  readonly #bases: ImageInput[];
  readonly #jsonSegments: string[][];
  readonly #stampAt: readonly [number, number];
  #counter = 0;

  /** Builds the hot inputs and the base images once. */
  constructor(options: PayloadOptions = {}) {
    const channels = options.channels ?? 3;
    const side = options.side ?? 32;
    const seed = options.seed ?? 1;
    this.#encoding = options.encoding ?? 'json';
    this.#repeatShare = Math.min(1, Math.max(0, options.repeatShare ?? 0));
    this.#random = seededRandom(seed * 7919 + 1);
    // Two pixels in different cells of the 32×32 resize, so every counter value changes the normalized input.
    this.#stampAt = [0, Math.floor(side / 2)];
    this.#bases = Array.from({ length: BASES }, (_, i) => randomImage(channels, side, seed * 1000 + i));
    this.#jsonSegments = this.#encoding === 'json' ? this.#bases.map((base) => this.#segments(base)) : [];
    this.#hot = Array.from({ length: Math.max(1, options.hotInputs ?? 4) }, (_, i) => ({
      ...this.#encode(randomImage(channels, side, seed * 1000 + 500 + i)),
      repeated: true,
    }));
  }

  /** Body size in bytes of a typical request. */
  get typicalBytes(): number {
    return this.#hot[0]?.body.byteLength ?? 0;
  }

  /** The next request body. */
  next(): Payload {
    if (this.#repeatShare > 0 && this.#random() < this.#repeatShare) {
      return this.#hot[Math.floor(this.#random() * this.#hot.length)] ?? (this.#hot[0] as Payload);
    }
    this.#counter += 1;
    return { ...this.#unique(this.#counter), repeated: false };
  }

  #encode(input: ImageInput): Omit<Payload, 'repeated'> {
    if (this.#encoding === 'binary') {
      const { body, shape } = encodeBinaryInput(input);
      return { body: Buffer.from(body), headers: { 'content-type': BINARY_CONTENT_TYPE, [SHAPE_HEADER]: shape } };
    }
    return { body: Buffer.from(encodeJsonInput(input, JSON_DECIMALS)), headers: { 'content-type': 'application/json' } };
  }

  /** The JSON text of `base` cut around the two stamped pixels, so a unique body is three concatenations. */
  #segments(base: ImageInput): string[] {
    const values: string[] = Array.from(base.data, (v) => v.toFixed(JSON_DECIMALS));
    const [a, b] = this.#stampAt;
    const head = `{"shape":[${base.channels},${base.height},${base.width}],"data":[`;
    return [head + values.slice(0, a).join(',') + (a > 0 ? ',' : ''), ',' + values.slice(a + 1, b).join(',') + ',', ',' + values.slice(b + 1).join(',') + ']}'];
  }

  #unique(counter: number): Omit<Payload, 'repeated'> {
    const baseIndex = counter % BASES;
    const low = Math.floor(counter / BASES) % 256;
    const high = Math.floor(counter / BASES / 256) % 256;
    if (this.#encoding === 'json') {
      const [s0, s1, s2] = this.#jsonSegments[baseIndex] ?? [];
      return { body: Buffer.from(`${s0}${low}${s1}${high}${s2}`), headers: { 'content-type': 'application/json' } };
    }
    const base = this.#bases[baseIndex] as ImageInput;
    const data = Float32Array.from(base.data);
    data[this.#stampAt[0]] = low;
    data[this.#stampAt[1]] = high;
    return this.#encode({ ...base, data });
  }
}

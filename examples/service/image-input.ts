/**
 * @module examples/service/image-input
 * The wire formats of the example service. A request carries one image-like array
 * (channels × height × width, pixel values 0–255) either as JSON
 * (`{"shape":[3,224,224],"data":[…]}`) or as raw little-endian float32 bytes
 * (`application/octet-stream`, shape in the `x-input-shape` header). The binary form is what
 * the `preprocessing-pipeline` fix recommends over JSON for large payloads.
 */

/** An image-like array: `data.length === channels × height × width`, channel-major. */
export interface ImageInput {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
}

/** Header carrying the shape of a binary request, e.g. `3,224,224`. */
export const SHAPE_HEADER = 'x-input-shape';

/** Content type of the binary request body. */
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** A request body the service cannot decode; answered with HTTP 400 and this message. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Largest accepted image side, so a malformed shape cannot make the service allocate gigabytes. */
const MAX_SIDE = 4096;

function checkShape(shape: readonly unknown[]): [number, number, number] {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && (d as number) > 0 && (d as number) <= MAX_SIDE)) {
    throw new InputError(`shape must be [channels, height, width] of positive integers ≤ ${MAX_SIDE}, got ${JSON.stringify(shape)}`);
  }
  const [channels, height, width] = shape as [number, number, number];
  if (channels !== 1 && channels !== 3) throw new InputError(`channels must be 1 or 3, got ${channels}`);
  return [channels, height, width];
}

/** Decodes a JSON body `{"shape":[c,h,w],"data":[…]}`. */
export function decodeJsonInput(body: Buffer): ImageInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InputError(`body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InputError('body must be a JSON object with "shape" and "data"');
  const { shape, data } = parsed as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape)) throw new InputError('"shape" must be an array [channels, height, width]');
  const [channels, height, width] = checkShape(shape);
  if (!Array.isArray(data)) throw new InputError('"data" must be an array of numbers');
  if (data.length !== channels * height * width) {
    throw new InputError(`"data" has ${data.length} values, shape ${channels}×${height}×${width} needs ${channels * height * width}`);
  }
  const values = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += 1) {
    const v = data[i];
    if (typeof v !== 'number') throw new InputError(`"data"[${i}] is not a number`);
    values[i] = v;
  }
  return { channels, height, width, data: values };
}

/** Decodes a binary body of little-endian float32 values with its shape header. */
export function decodeBinaryInput(body: Buffer, shapeHeader: string | undefined): ImageInput {
  if (shapeHeader === undefined) throw new InputError(`binary body needs the ${SHAPE_HEADER} header, e.g. "3,224,224"`);
  const [channels, height, width] = checkShape(shapeHeader.split(',').map((d) => Number(d.trim())));
  const count = channels * height * width;
  if (body.byteLength !== count * 4) {
    throw new InputError(`binary body has ${body.byteLength} bytes, shape ${channels}×${height}×${width} needs ${count * 4}`);
  }
  // Copy into an aligned buffer: Node's pooled Buffers may start at an odd offset.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(body);
  return { channels, height, width, data };
}

/** Encodes an input as a JSON body (what a naive client sends). */
export function encodeJsonInput(input: ImageInput, decimals: number): string {
  const values: string[] = new Array<string>(input.data.length);
  for (let i = 0; i < input.data.length; i += 1) values[i] = (input.data[i] ?? 0).toFixed(decimals);
  return `{"shape":[${input.channels},${input.height},${input.width}],"data":[${values.join(',')}]}`;
}

/** Encodes an input as a binary body plus its shape header value. */
export function encodeBinaryInput(input: ImageInput): { body: Buffer; shape: string } {
  return {
    body: Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength),
    shape: `${input.channels},${input.height},${input.width}`,
  };
}

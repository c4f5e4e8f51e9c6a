/**
 * @module examples/service/preprocess
 * Turns an image-like input into the model's 32×32 normalized feature vector: luma grayscale,
 * area-average resize, then standardization. Two implementations of the same arithmetic:
 * the fast one on typed arrays in one pass, and the slow one the way a first prototype often
 * looks (nested arrays of boxed pixel objects, a copy per step, string rounding per element),
 * which the `preprocessing-pipeline` scenario uses as its bottleneck.
 */
import type { ImageInput } from './image-input.js';

/** Side of the square the model sees (32 × 32 = 1024 inputs). */
export const MODEL_SIDE = 32;

/** Mean and standard deviation of pixel values after scaling to [0, 1] (ImageNet luma, rounded). */
const MEAN = 0.449;
const STD = 0.226;
/** ITU-R BT.601 luma weights. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Source rows (or columns) [start, end) that output cell `o` of `side` averages over when an
 * axis of `size` pixels is area-resized: both preprocessing paths use the same cells.
 */
function cellRange(o: number, size: number, side: number): readonly [start: number, end: number] {
  const start = Math.floor((o * size) / side);
  return [start, Math.max(start + 1, Math.floor(((o + 1) * size) / side))];
}

/** Fast path: one pass per output cell over typed arrays. */
export function preprocessFast(input: ImageInput, side: number = MODEL_SIDE): Float32Array {
  const { channels, height, width, data } = input;
  const out = new Float32Array(side * side);
  const plane = height * width;
  const weights = channels === 3 ? LUMA : ([1] as const);
  for (let oy = 0; oy < side; oy += 1) {
    const [y0, y1] = cellRange(oy, height, side);
    for (let ox = 0; ox < side; ox += 1) {
      const [x0, x1] = cellRange(ox, width, side);
      let sum = 0;
      for (let c = 0; c < channels; c += 1) {
        const w = weights[c] ?? 0;
        const base = c * plane;
        let channelSum = 0;
        for (let y = y0; y < y1; y += 1) {
          const row = base + y * width;
          for (let x = x0; x < x1; x += 1) channelSum += data[row + x] ?? 0;
        }
        sum += w * channelSum;
      }
      const mean = sum / ((y1 - y0) * (x1 - x0)) / 255;
      out[oy * side + ox] = (mean - MEAN) / STD;
    }
  }
  return out;
}

interface Pixel {
  r: number;
  g: number;
  b: number;
}

/** Slow path: same result (to float32 rounding), built from per-pixel objects and array copies. */
export function preprocessSlow(input: ImageInput, side: number = MODEL_SIDE): Float32Array {
  const { channels, height, width, data } = input;
  const plane = height * width;
  // Step 1: an array of rows of pixel objects, each value rounded through a string.
  const pixels: Pixel[][] = [];
  for (let y = 0; y < height; y += 1) {
    const row: Pixel[] = [];
    for (let x = 0; x < width; x += 1) {
      const at = y * width + x;
      const r = Number((data[at] ?? 0).toFixed(4));
      const g = channels === 3 ? Number((data[plane + at] ?? 0).toFixed(4)) : r;
      const b = channels === 3 ? Number((data[2 * plane + at] ?? 0).toFixed(4)) : r;
      row.push({ r, g, b });
    }
    pixels.push(row);
  }
  // Step 2: a deep copy "to be safe", then grayscale with map.
  const copy = JSON.parse(JSON.stringify(pixels)) as Pixel[][];
  const gray = copy.map((row) => row.map((p) => (channels === 3 ? LUMA[0] * p.r + LUMA[1] * p.g + LUMA[2] * p.b : p.r)));
  // Step 3: resize by slicing and reducing each output cell.
  const out: number[] = [];
  for (let oy = 0; oy < side; oy += 1) {
    const [y0, y1] = cellRange(oy, height, side);
    for (let ox = 0; ox < side; ox += 1) {
      const [x0, x1] = cellRange(ox, width, side);
      const cell = gray.slice(y0, y1).flatMap((row) => row.slice(x0, x1));
      const mean = cell.reduce((a, b) => a + b, 0) / cell.length / 255;
      out.push((mean - MEAN) / STD);
    }
  }
  return Float32Array.from(out);
}

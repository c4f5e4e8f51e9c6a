/**
 * @module examples/service/postprocess
 * Logits → probabilities → the k most likely classes, the usual classifier epilogue.
 */

/** One predicted class. */
export interface ClassScore {
  readonly label: number;
  readonly probability: number;
}

/** Softmax over one row of logits (max-subtracted for numerical stability), then the top `k`. */
export function topK(logits: Float32Array, k: number): ClassScore[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const exp = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i += 1) {
    const e = Math.exp((logits[i] ?? 0) - max);
    exp[i] = e;
    sum += e;
  }
  const best: ClassScore[] = [];
  for (let i = 0; i < exp.length; i += 1) {
    const probability = (exp[i] ?? 0) / sum;
    if (best.length < k || probability > (best[best.length - 1]?.probability ?? 0)) {
      best.push({ label: i, probability });
      best.sort((a, b) => b.probability - a.probability);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

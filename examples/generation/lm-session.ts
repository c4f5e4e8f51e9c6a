/**
 * @module examples/generation/lm-session
 * The language model in onnxruntime-node (CPU, one intra-op thread): `prefill` runs a whole
 * prompt for one sequence in one run, `step` one token for a batch of sequences; both return the
 * greedy next token(s) and the new state(s).
 */
import * as ort from 'onnxruntime-node';
import { buildLmModel, DEFAULT_LM, LM_IO, type LmSpec } from './lm-graph.js';

/** One sequence's state (the model's "KV cache"). */
export type LmState = Float32Array;

/** A loaded language model. */
export interface LmSession {
  readonly spec: LmSpec;
  /** A fresh state (all zeros). */
  initialState(): LmState;
  /** One step for each (state, token) pair; returns the greedy next tokens and the new states. */
  step(states: readonly LmState[], tokens: readonly number[]): Promise<{ next: number[]; states: LmState[] }>;
  /** The whole of `tokens` for one sequence from `state`, in one run: the next token and the state after them. */
  prefill(state: LmState, tokens: readonly number[]): Promise<{ next: number; state: LmState }>;
  close(): Promise<void>;
}

/** Builds the model and loads it. */
export async function loadLmSession(spec: LmSpec = DEFAULT_LM): Promise<LmSession> {
  const session = await ort.InferenceSession.create(buildLmModel(spec), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const H = spec.hidden;
  const V = spec.vocab;
  /** One run over tokens [T, B] (time-major, as ONNX RNN wants them). */
  const run = async (states: readonly LmState[], tokens: BigInt64Array, positions: number): Promise<{ next: number[]; states: LmState[] }> => {
    const n = states.length;
    const stacked = new Float32Array(n * H);
    states.forEach((s, i) => stacked.set(s, i * H));
    const out = await session.run({
      [LM_IO.state]: new ort.Tensor('float32', stacked, [n, H]),
      [LM_IO.tokens]: new ort.Tensor('int64', tokens, [positions, n]),
    });
    const logits = out[LM_IO.logits]!.data as Float32Array;
    const nextStates = out[LM_IO.nextState]!.data as Float32Array;
    const next: number[] = [];
    const newStates: LmState[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[i * V + v]! > logits[i * V + best]!) best = v;
      next.push(best);
      newStates.push(nextStates.slice(i * H, (i + 1) * H));
    }
    return { next, states: newStates };
  };
  return {
    spec,
    initialState: () => new Float32Array(H),
    step: (states, tokens) => run(states, BigInt64Array.from(tokens, (t) => BigInt(t)), 1),
    async prefill(state, tokens) {
      const out = await run([state], BigInt64Array.from(tokens, (t) => BigInt(t)), tokens.length);
      return { next: out.next[0]!, state: out.states[0]! };
    },
    close: () => session.release(),
  };
}

/**
 * @module examples/generation/scheduler
 * Runs generation requests on the language model, either one at a time (each request prefills
 * and decodes to its end before the next starts) or continuously batched (iteration-level
 * scheduling, as Orca and vLLM do: every decode step runs all active sequences together, and
 * waiting requests are admitted between steps). An optional prefix cache keeps the state reached
 * after a block-aligned prompt prefix, so a repeated prefix is not prefilled again.
 */
import { createHash } from 'node:crypto';
import type { LmSession, LmState } from './lm-session.js';

/** How the scheduler runs requests. */
export interface SchedulerOptions {
  readonly mode: 'serial' | 'continuous';
  /** Most sequences per decode step in continuous mode. Default 16. */
  readonly maxBatch?: number;
  /** Keep the state after each prompt prefix (block-aligned). Default false. */
  readonly prefixCache?: boolean;
}

/** Prefix length is rounded down to a multiple of this (vLLM hashes KV blocks of 16 tokens; ours are coarser). */
export const PREFIX_BLOCK = 64;

/** The block-aligned prefix of a prompt (always leaving one token to prefill) and its hash. */
export function promptPrefix(prompt: readonly number[]): { length: number; hash: string } {
  const length = Math.floor((prompt.length - 1) / PREFIX_BLOCK) * PREFIX_BLOCK;
  const hash = createHash('sha256').update(Int32Array.from(prompt.slice(0, Math.max(0, length)))).digest('hex').slice(0, 32);
  return { length: Math.max(0, length), hash };
}

/** What the caller sees of one request while it runs. */
export interface Generation {
  /** Resolves when the scheduler takes the request (the end of its queue wait). */
  readonly admitted: Promise<void>;
  /** Resolves with the first token, at the end of prefill. */
  readonly firstToken: Promise<number>;
  /** The tokens after the first, as they are produced. */
  readonly rest: AsyncIterable<number>;
  /** Prompt tokens the prefix cache served. */
  cachedTokens: number;
  /** Sequences in the decode step when this request's decoding began. */
  decodeBatch: number;
}

interface Job {
  readonly prompt: readonly number[];
  readonly maxTokens: number;
  readonly generation: Generation;
  admit(): void;
  first(token: number): void;
  push(token: number | undefined): void;
  fail(error: unknown): void;
  state: LmState;
  last: number;
  produced: number;
}

/** A small async queue of tokens: `push(undefined)` ends it. */
function tokenChannel(): { push(t: number | undefined): void; fail(e: unknown): void; iterable: AsyncIterable<number> } {
  const buffered: (number | undefined)[] = [];
  let wake: (() => void) | undefined;
  let error: unknown;
  return {
    push(t) {
      buffered.push(t);
      wake?.();
    },
    fail(e) {
      error = e ?? new Error('generation failed');
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (buffered.length === 0) {
            if (error !== undefined) throw error;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          const t = buffered.shift();
          if (t === undefined) return;
          yield t;
        }
      },
    },
  };
}

/** The scheduler: `submit` a prompt, read its tokens. */
export class Scheduler {
  private readonly waiting: Job[] = [];
  private readonly active: Job[] = [];
  private readonly cache = new Map<string, LmState>();
  private running = false;
  private readonly maxBatch: number;

  constructor(
    private readonly lm: LmSession,
    readonly options: SchedulerOptions,
  ) {
    this.maxBatch = options.mode === 'serial' ? 1 : Math.max(1, options.maxBatch ?? 16);
  }

  /** Queues a request for `maxTokens` tokens after `prompt`. */
  submit(prompt: readonly number[], maxTokens: number): Generation {
    let admit!: () => void;
    let first!: (t: number) => void;
    let failFirst!: (e: unknown) => void;
    const admitted = new Promise<void>((resolve) => (admit = resolve));
    const firstToken = new Promise<number>((resolve, reject) => {
      first = resolve;
      failFirst = reject;
    });
    firstToken.catch(() => undefined);
    const channel = tokenChannel();
    const generation: Generation = { admitted, firstToken, rest: channel.iterable, cachedTokens: 0, decodeBatch: 1 };
    const job: Job = {
      prompt,
      maxTokens: Math.max(1, maxTokens),
      generation,
      admit,
      first,
      push: channel.push,
      fail: (e) => {
        failFirst(e);
        channel.fail(e);
      },
      state: this.lm.initialState(),
      last: 0,
      produced: 0,
    };
    this.waiting.push(job);
    if (!this.running) void this.loop();
    return generation;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0 || this.active.length > 0) {
        // Admit between steps while there is room (serial: only when nothing runs).
        while (this.waiting.length > 0 && this.active.length < this.maxBatch) {
          const job = this.waiting.shift()!;
          job.admit();
          try {
            await this.prefill(job);
          } catch (error) {
            job.fail(error);
            continue;
          }
          if (job.produced >= job.maxTokens) job.push(undefined);
          else this.active.push(job);
        }
        if (this.active.length === 0) continue;
        const batch = [...this.active];
        for (const job of batch) if (job.produced === 1) job.generation.decodeBatch = batch.length;
        let out: Awaited<ReturnType<LmSession['step']>>;
        try {
          out = await this.lm.step(batch.map((j) => j.state), batch.map((j) => j.last));
        } catch (error) {
          for (const job of batch) job.fail(error);
          this.active.length = 0;
          continue;
        }
        batch.forEach((job, i) => {
          job.state = out.states[i]!;
          job.last = out.next[i]!;
          job.produced++;
          job.push(job.last);
          if (job.produced >= job.maxTokens) {
            job.push(undefined);
            this.active.splice(this.active.indexOf(job), 1);
          }
        });
      }
    } finally {
      this.running = false;
    }
  }

  /** Runs the prompt through the model (from the cached prefix state when there is one); emits the first token. */
  private async prefill(job: Job): Promise<void> {
    const prompt = job.prompt;
    let state = this.lm.initialState();
    let start = 0;
    const prefix = this.options.prefixCache === true ? promptPrefix(prompt) : undefined;
    if (prefix !== undefined && prefix.length > 0) {
      const hit = this.cache.get(prefix.hash);
      if (hit !== undefined) {
        state = hit;
        start = prefix.length;
        job.generation.cachedTokens = prefix.length;
      }
    }
    let next = 0;
    if (prefix !== undefined && start === 0 && prefix.length > 0) {
      // Run up to the prefix boundary first, so its state can be kept for the next request.
      const head = await this.lm.prefill(state, prompt.slice(0, prefix.length));
      state = head.state;
      this.remember(prefix.hash, state);
      start = prefix.length;
    }
    const tail = await this.lm.prefill(state, prompt.slice(start));
    state = tail.state;
    next = tail.next;
    job.state = state;
    job.last = next;
    job.produced = 1;
    job.first(next);
  }

  private remember(hash: string, state: LmState): void {
    if (this.cache.size >= 256) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, state);
  }
}

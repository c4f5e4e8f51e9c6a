/**
 * @module examples/service/dynamic-batcher
 * A queue in front of one model instance, with optional dynamic batching in the manner of
 * Triton's `dynamic_batching { max_queue_delay_microseconds }` and TF Serving's
 * `batch_timeout_micros`: a batch starts when `maxBatchSize` requests are waiting, or when the
 * oldest has waited `maxQueueDelayUs`, whichever comes first. One batch runs at a time.
 * With `maxBatchSize` 1 it is a plain FIFO queue: requests run one by one.
 */

/** Batching parameters. */
export interface BatcherOptions {
  /** Most requests per batch; 1 disables batching. */
  readonly maxBatchSize: number;
  /** Longest the oldest waiting request is held back to fill a batch, in µs. 0 = never wait. */
  readonly maxQueueDelayUs: number;
}

/** Runs one batch; returns one output per item, in order. */
export type BatchExecutor<In, Out> = (items: readonly In[]) => Promise<readonly Out[]>;

interface Waiting<In, Out> {
  readonly item: In;
  readonly enqueuedAt: number;
  readonly resolve: (out: Out) => void;
  readonly reject: (error: unknown) => void;
}

/** A FIFO queue that runs its items in batches on one executor. */
export class DynamicBatcher<In, Out> {
  readonly #options: BatcherOptions;
  readonly #execute: BatchExecutor<In, Out>;
  readonly #waiting: Waiting<In, Out>[] = [];
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #dispatchScheduled = false;

  /** Creates a batcher around `execute`. */
  constructor(options: BatcherOptions, execute: BatchExecutor<In, Out>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) throw new RangeError(`maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    if (!(options.maxQueueDelayUs >= 0)) throw new RangeError(`maxQueueDelayUs must be ≥ 0, got ${options.maxQueueDelayUs}`);
    this.#options = options;
    this.#execute = execute;
  }

  /** Requests waiting for a batch. */
  get depth(): number {
    return this.#waiting.length;
  }

  /** Queues one item; resolves with its output once its batch has run. */
  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#waiting.push({ item, enqueuedAt: performance.now(), resolve, reject });
      this.#scheduleDispatch();
    });
  }

  /**
   * Dispatch on the next turn of the event loop, after pending I/O has been read: requests that
   * arrived while the model blocked the thread get a chance to join the next batch.
   */
  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    setImmediate(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    if (this.#running || this.#waiting.length === 0) return;
    const oldest = this.#waiting[0];
    if (oldest === undefined) return;
    const { maxBatchSize, maxQueueDelayUs } = this.#options;
    const waitedUs = (performance.now() - oldest.enqueuedAt) * 1000;
    if (this.#waiting.length < maxBatchSize && waitedUs < maxQueueDelayUs) {
      if (this.#timer === undefined) {
        // setTimeout resolves in whole milliseconds; waking early just re-checks.
        const delayMs = Math.max(1, Math.floor((maxQueueDelayUs - waitedUs) / 1000));
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#dispatch();
        }, delayMs);
      }
      return;
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#waiting.splice(0, maxBatchSize);
    this.#running = true;
    void this.#run(batch);
  }

  async #run(batch: Waiting<In, Out>[]): Promise<void> {
    try {
      const outputs = await this.#execute(batch.map((w) => w.item));
      if (outputs.length !== batch.length) throw new Error(`batch of ${batch.length} returned ${outputs.length} outputs`);
      batch.forEach((w, i) => w.resolve(outputs[i] as Out));
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.#running = false;
      this.#scheduleDispatch();
    }
  }
}

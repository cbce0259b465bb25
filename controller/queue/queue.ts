// The basic work queue (client-go's Type): a FIFO of keys with two sets.
// `dirty` holds keys that need processing; `processing` holds keys a worker has.
// A key added while waiting is not added twice; a key added while processing is
// parked in `dirty` and handed out again only after `done`: one key, one worker.
import { noQueueMetrics, type QueueMetrics } from './metrics.js';

export class WorkQueue<K = string> {
  #items: K[] = [];
  #head = 0;
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  #getters: ((key: K | undefined) => void)[] = [];
  #shuttingDown = false;
  protected readonly metrics: QueueMetrics<K>;

  /** `metrics` is told of every add, get and done (workqueue_* series). Defaults to nobody. */
  constructor(metrics: QueueMetrics<K> = noQueueMetrics) {
    this.metrics = metrics;
  }

  /** Marks `key` as needing processing. Adding a waiting key does nothing. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.metrics.added(key);
    if (this.#processing.has(key)) return;
    this.#items.push(key);
    this.#dispatch();
  }

  /** The next key, waiting for one if needed; undefined once the queue is shut down. Call `done` after. */
  get(): Promise<K | undefined> {
    const key = this.tryGet();
    if (key !== undefined || this.#shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** The next key if one is waiting now, else undefined (always undefined once shut down). */
  tryGet(): K | undefined {
    if (this.#shuttingDown || this.#head >= this.#items.length) return undefined;
    const key = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as K;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.metrics.taken(key);
    return key;
  }

  /** Ends the processing of `key`; if it was added meanwhile, it waits again. */
  done(key: K): void {
    this.#processing.delete(key);
    this.metrics.done(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#items.push(key);
      this.#dispatch();
    }
  }

  /** Keys waiting (not counting the ones being processed). */
  len(): number {
    return this.#items.length - this.#head;
  }

  /** Keys handed out and not yet done. */
  processingCount(): number {
    return this.#processing.size;
  }

  isProcessing(key: K): boolean {
    return this.#processing.has(key);
  }

  /**
   * Stops handing out keys: every pending and future `get` resolves undefined. Unlike
   * client-go, keys still waiting are dropped, not drained: a level-triggered controller
   * enqueues everything again when it starts.
   */
  shutdown(): void {
    this.#shuttingDown = true;
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  #dispatch(): void {
    while (this.#getters.length && this.len()) {
      const key = this.tryGet()!;
      this.#getters.shift()!(key);
    }
  }
}

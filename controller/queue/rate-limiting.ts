// The rate-limiting layer (client-go's RateLimitingInterface): a failed key comes
// back after its backoff; forget resets it on success.
import { ExponentialBackoff, type Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { DelayingQueue } from './delaying.js';
import type { QueueMetrics } from './metrics.js';

export class RateLimitingQueue extends DelayingQueue<string> {
  readonly #backoff: Backoff;

  constructor(clock: Clock, backoff: Backoff = new ExponentialBackoff(), metrics?: QueueMetrics) {
    super(clock, metrics);
    this.#backoff = backoff;
  }

  /** Adds `key` once its backoff has passed. */
  addRateLimited(key: string): void {
    this.metrics.retried(key);
    this.addAfter(key, this.#backoff.when(key));
  }

  /** Stops tracking failures of `key` (it succeeded). Does not remove it from the queue. */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  numRequeues(key: string): number {
    return this.#backoff.retries(key);
  }
}

// The delaying layer (client-go's DelayingInterface): addAfter parks a key until its
// time comes, then adds it. A key parked twice keeps the earlier time. One timer is
// armed, for the earliest key, on the injected clock.
import type { Clock, Timer } from './clock.js';
import { TimeHeap } from './heap.js';
import type { QueueMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';

export class DelayingQueue<K = string> extends WorkQueue<K> {
  protected readonly clock: Clock;
  /** key → when it is due; the heap may hold stale entries, this map is the truth. */
  readonly #due = new Map<K, number>();
  readonly #heap = new TimeHeap<K>();
  #timer: Timer | undefined;
  #timerAt = Infinity;

  constructor(clock: Clock, metrics?: QueueMetrics<K>) {
    super(metrics);
    this.clock = clock;
  }

  /** Adds `key` after `ms` (at once when `ms` <= 0). */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const cur = this.#due.get(key);
    if (cur !== undefined && cur <= at) return;
    this.#due.set(key, at);
    this.#heap.push({ key, at });
    this.#arm();
  }

  /** Keys parked by addAfter and not yet due. */
  delayedCount(): number {
    return this.#due.size;
  }

  override shutdown(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#due.clear();
    this.#heap.clear();
    super.shutdown();
  }

  #arm(): void {
    const next = this.#heap.peek();
    if (!next || next.at >= this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = next.at;
    this.#timer = this.clock.setTimeout(() => this.#fire(), next.at - this.clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.clock.now();
    for (let e = this.#heap.peek(); e && e.at <= now; e = this.#heap.peek()) {
      this.#heap.pop();
      if (this.#due.get(e.key) !== e.at) continue;
      this.#due.delete(e.key);
      this.add(e.key);
    }
    // Drop stale heap tops so the next timer is armed for a key that is really due then.
    for (let e = this.#heap.peek(); e && this.#due.get(e.key) !== e.at; e = this.#heap.peek()) this.#heap.pop();
    this.#arm();
  }
}

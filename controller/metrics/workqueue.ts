// The work queue's hooks as client-go's workqueue_* series, labelled `name` with the
// reconciler a key belongs to (the queue is shared; its keys say whose they are): depth,
// adds, time waiting, time worked, retries, and the work still running (computed on scrape).
import { performance } from 'node:perf_hooks';
import type { QueueMetrics } from '../queue/metrics.js';
import { controllerOf } from '../reconcile.js';
import type { WorkqueueMetrics } from './names.js';

export class WorkqueueObserver implements QueueMetrics {
  readonly #m: WorkqueueMetrics;
  readonly #now: () => number;
  /** When each waiting key was added (the first add since it was last taken), seconds. */
  readonly #addedAt = new Map<string, number>();
  /** When each key being worked on was taken, seconds. */
  readonly #takenAt = new Map<string, number>();
  /** The queue names declared or seen in flight: each gets its gauges, at 0 when idle. */
  readonly #names = new Set<string>();

  /** `now` in milliseconds; defaults to performance.now (tests pass their own). */
  constructor(m: WorkqueueMetrics, now: () => number = () => performance.now()) {
    this.#m = m;
    this.#now = () => now() / 1000;
  }

  added(key: string): void {
    const name = controllerOf(key);
    this.#m.adds.inc({ name });
    this.#m.depth.inc({ name });
    if (!this.#addedAt.has(key)) this.#addedAt.set(key, this.#now());
  }

  taken(key: string): void {
    const name = controllerOf(key);
    const now = this.#now();
    this.#m.depth.dec({ name });
    const at = this.#addedAt.get(key);
    if (at !== undefined) this.#m.queueDuration.observe({ name }, now - at);
    this.#addedAt.delete(key);
    this.#takenAt.set(key, now);
  }

  done(key: string): void {
    const at = this.#takenAt.get(key);
    if (at === undefined) return;
    this.#m.workDuration.observe({ name: controllerOf(key) }, this.#now() - at);
    this.#takenAt.delete(key);
  }

  retried(key: string): void {
    this.#m.retries.inc({ name: controllerOf(key) });
  }

  /** Declares the series of each queue name at 0, so that a dashboard sees them before any work. */
  declare(names: readonly string[]): void {
    for (const name of names) {
      this.#names.add(name);
      this.#m.depth.inc({ name }, 0);
      this.#m.adds.inc({ name }, 0);
      this.#m.retries.inc({ name }, 0);
    }
  }

  /** Sets unfinished_work_seconds and longest_running_processor_seconds from the keys in flight. */
  collect(): void {
    const now = this.#now();
    const unfinished = new Map<string, number>();
    const longest = new Map<string, number>();
    for (const [key, at] of this.#takenAt) {
      const name = controllerOf(key);
      unfinished.set(name, (unfinished.get(name) ?? 0) + (now - at));
      longest.set(name, Math.max(longest.get(name) ?? 0, now - at));
    }
    this.#m.unfinishedWork.reset();
    this.#m.longestRunning.reset();
    for (const name of [...this.#names, ...unfinished.keys()]) {
      this.#m.unfinishedWork.set({ name }, unfinished.get(name) ?? 0);
      this.#m.longestRunning.set({ name }, longest.get(name) ?? 0);
    }
  }
}

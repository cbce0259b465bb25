// The store's watch side: every committed change is broadcast to the watchers of its kind
// and kept in a bounded history, so that a watch can resume from a resourceVersion; one
// older than the history answers 410 Gone (list again), as the Kubernetes watch cache does.
import { gone } from './errors.js';
import { checkResourceVersion } from './tx.js';
import type { ObjectOf, WatchEvent } from './types.js';

type Listener = (ev: WatchEvent) => void;

export class WatchHub {
  readonly #listeners = new Set<{ kind?: string; fn: Listener }>();
  readonly #history: { rv: number; ev: WatchEvent }[] = [];
  readonly #size: number;
  /** Every event with a resourceVersion above this one is in #history. */
  #floor: number;

  /** `size`: events kept for resuming; `rv`: the store's resourceVersion when it opened. */
  constructor(size: number, rv: number) {
    this.#size = size;
    this.#floor = rv;
  }

  /** Tells every watcher of a committed transaction's events, in order, and keeps them. */
  publish(events: readonly WatchEvent[]): void {
    for (const ev of events) {
      this.#history.push({ rv: Number(ev.object.metadata.resourceVersion), ev });
      for (const l of this.#listeners) if (!l.kind || l.kind === ev.object.kind) l.fn(ev);
    }
    const excess = this.#history.length - this.#size;
    if (excess > 0) this.#floor = this.#history.splice(0, excess).at(-1)!.rv;
  }

  /**
   * Calls `fn` for every change after `resourceVersion` (replayed from history first),
   * then for each new one. Throws 410 Gone when that history is no longer kept.
   * Without a resourceVersion, only changes from now on.
   */
  watch<K extends string = string>(
    opts: { kind?: K; resourceVersion?: string },
    fn: (ev: WatchEvent<ObjectOf<K>>) => void,
  ): () => void {
    // A watcher of kind K only ever gets objects of kind K (the filter below), so its
    // listener can be kept with the others, typed for any kind.
    const entry = { kind: opts.kind, fn: fn as Listener };
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
      checkResourceVersion(opts.resourceVersion);
      const from = Number(opts.resourceVersion);
      if (from < this.#floor) {
        throw gone(
          `too old resource version: ${from} (${this.#floor}); list again and watch from the list's resourceVersion`,
        );
      }
      for (const h of this.#history) if (h.rv > from && (!opts.kind || opts.kind === h.ev.object.kind)) entry.fn(h.ev);
    }
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /** Forgets every watcher (the store closed). */
  close(): void {
    this.#listeners.clear();
  }
}

// Event retention, the Event kind's own rule: Events are capped (per object they are about,
// and in all; the oldest go first, in the transaction that went over) and expire once not
// updated for a while (a sweep every minute), as Kubernetes keeps events for an hour.
import { keyOf, namespaceOf, type Event } from '../../specs/index.js';
import type { ObjectOf } from '../types.js';
import type { KindStrategy, StrategyTx } from './types.js';

export interface EventRetentionOptions {
  /** Events kept in all. */
  maxEvents: number;
  /** Events kept per object they are about (`regarding`). */
  maxPerObject: number;
  /** An Event not updated for this long is removed. */
  ttlMs: number;
}

/** What the expiry sweep needs of the store. */
export interface SweepTarget {
  list<K extends string>(kind: K): { items: ObjectOf<K>[] };
  transaction(fn: (tx: StrategyTx) => void): Promise<unknown>;
  now(): number;
  /** False while writes fail: the sweep waits for the store to be healthy again. */
  writable(): boolean;
}

const byResourceVersion = (a: Event, b: Event) =>
  Number(a.metadata.resourceVersion || Infinity) - Number(b.metadata.resourceVersion || Infinity);

export class EventRetention {
  readonly #opts: EventRetentionOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: EventRetentionOptions) {
    this.#opts = opts;
  }

  /** Events beyond the caps go in the same transaction: oldest first, per object and in all. */
  prune(tx: StrategyTx): void {
    const events = tx.list('Event').sort(byResourceVersion);
    const drop = new Set<string>();
    const per = new Map<string, Event[]>();
    for (const e of events) {
      const k = `${e.regarding?.kind}/${namespaceOf(e)}/${e.regarding?.name}`;
      const list = per.get(k) ?? [];
      list.push(e);
      per.set(k, list);
    }
    for (const list of per.values())
      for (const e of list.slice(0, Math.max(0, list.length - this.#opts.maxPerObject))) drop.add(keyOf(e));
    const left = events.filter((e) => !drop.has(keyOf(e)));
    for (const e of left.slice(0, Math.max(0, left.length - this.#opts.maxEvents))) drop.add(keyOf(e));
    for (const key of drop) tx.delete('Event', key);
  }

  /** Removes the Events not updated for ttlMs; a refused write is left to the next sweep. */
  async sweep(store: SweepTarget): Promise<void> {
    const cutoff = store.now() - this.#opts.ttlMs;
    const expired = store.list('Event').items.filter((e) => {
      const t = Date.parse(String(e.lastTimestamp ?? e.metadata.creationTimestamp ?? ''));
      return Number.isFinite(t) && t < cutoff;
    });
    if (!expired.length || !store.writable()) return;
    await store
      .transaction((tx) => {
        for (const e of expired) if (tx.get('Event', keyOf(e))) tx.delete('Event', keyOf(e));
      })
      .catch(() => {});
  }

  /** Sweeps every minute (or every ttlMs, when shorter) until stopped. */
  startSweeping(store: SweepTarget): void {
    this.#timer = setInterval(() => void this.sweep(store), Math.min(60_000, this.#opts.ttlMs)).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

export function eventStrategy(retention: EventRetention): KindStrategy<Event> {
  return { beforeCommit: (tx) => retention.prune(tx) };
}

// The reconcile log as a ReconcileObserver: the last `capacity` reconciles in a ring, and the
// new ones told to followers (`tidepool logs --controller -f`). Whatever the log level, a
// person can see why a workspace is where it is without restarting serve at debug.
import type { ReconcileEntry, ReconcileLogService } from '../../specs/reconcile-log.js';
import { entryConcerns } from '../../specs/reconcile-log.js';
import type { ReconcileObserver, ReconcileRecord } from '../reconcile.js';

export class ReconcileLog implements ReconcileObserver, ReconcileLogService {
  readonly capacity: number;
  readonly #ring: (ReconcileEntry | undefined)[];
  #next = 0;
  readonly #followers = new Set<(e: ReconcileEntry) => void>();

  /** Keeps the last `capacity` reconciles. Defaults to 5000. */
  constructor(capacity = 5000) {
    this.capacity = capacity;
    this.#ring = new Array(capacity);
  }

  finished(r: ReconcileRecord): void {
    const e: ReconcileEntry = {
      time: new Date().toISOString(),
      key: r.key,
      controller: r.controller,
      id: r.id,
      durationMs: Math.round(r.durationMs * 10) / 10,
      outcome: r.outcome,
      ...(r.terminal ? { terminal: true } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
    };
    this.#ring[this.#next] = e;
    this.#next = (this.#next + 1) % this.capacity;
    for (const f of this.#followers) f(e);
  }

  recent(workspace?: string): ReconcileEntry[] {
    const out: ReconcileEntry[] = [];
    for (let k = 0; k < this.capacity; k++) {
      const e = this.#ring[(this.#next + k) % this.capacity];
      if (e && (workspace === undefined || entryConcerns(e, workspace))) out.push(e);
    }
    return out;
  }

  subscribe(fn: (e: ReconcileEntry) => void): () => void {
    this.#followers.add(fn);
    return () => this.#followers.delete(fn);
  }
}

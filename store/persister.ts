// Group commit: the journal lines of transactions that land while an append is in flight
// are written together by the next one. Each transaction is told (synchronously, in order)
// once its line is on disk, before its promise resolves. A batch that fails fails every
// transaction queued behind it too (each was computed on top of the failed one): the store
// is told once, first, so that no new transaction is built on what was refused.
import type { Journal, JournalLine, SnapshotSource } from './journal.js';

interface Waiter {
  lines: Map<Journal, JournalLine>;
  onDurable: () => void;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Persister {
  readonly #journals: Journal[];
  readonly #snapshot: (j: Journal) => SnapshotSource;
  readonly #onFailure: (err: Error) => void;
  #inFlight: Promise<void> | undefined;
  #queue: Waiter[] = [];

  constructor(journals: Journal[], snapshot: (j: Journal) => SnapshotSource, onFailure: (err: Error) => void) {
    this.#journals = journals;
    this.#snapshot = snapshot;
    this.#onFailure = onFailure;
  }

  /** Resolves when every line is on disk; `onDurable` runs just before, in commit order. */
  save(lines: Map<Journal, JournalLine>, onDurable: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ lines, onDurable, resolve, reject });
      if (!this.#inFlight) this.#inFlight = this.#loop();
    });
  }

  async #loop(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        for (const j of this.#journals) {
          const lines = batch.flatMap((w) => w.lines.get(j) ?? []);
          if (lines.length) await j.append(lines);
        }
      } catch (err) {
        const rest = this.#queue;
        this.#queue = [];
        this.#onFailure(err as Error);
        for (const w of [...batch, ...rest]) w.reject(err as Error);
        continue;
      }
      for (const w of batch) w.onDurable();
      for (const w of batch) w.resolve();
      await this.#maybeCompact();
    }
    this.#inFlight = undefined;
  }

  /** Between appends, so the set-aside journal holds exactly what the snapshot holds. */
  async #maybeCompact(): Promise<void> {
    for (const j of this.#journals) {
      if (!j.needsCompaction) continue;
      const source = this.#snapshot(j);
      try {
        const how = await j.rotate();
        // With an old journal still there, the current one is folded too: appends wait.
        if (how === 'old-exists') await j.compact(source, true);
        else void j.compact(source, false);
      } catch (err) {
        j.compactionError = err as Error;
      }
    }
  }

  /** Waits for every pending write and compaction. */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
    for (const j of this.#journals) await j.idle();
  }
}

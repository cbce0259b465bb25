// Group commit: many writes that land while a file write is in flight are saved
// together by the next one, and each caller is told only once its data is on disk.
// The snapshot is serialized once per file write (not once per caller).
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import type { StoreFile } from './types.js';

export class Persister {
  readonly #db: Low<StoreFile>;
  readonly #snapshot: () => StoreFile;
  #inFlight: Promise<void> | undefined;
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #dirty = false;

  constructor(db: Low<StoreFile>, snapshot: () => StoreFile) {
    this.#db = db;
    this.#snapshot = snapshot;
  }

  /** Resolves when the state as of now is on disk (written to a temp file, then renamed over the store file). */
  save(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#dirty = true;
      if (!this.#inFlight) this.#inFlight = this.#loop();
    });
  }

  async #loop(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      const waiters = this.#waiters;
      this.#waiters = [];
      try {
        this.#db.data = this.#snapshot();
        await this.#db.write();
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err as Error);
      }
    }
    this.#inFlight = undefined;
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }
}

export function openStoreFile(path: string): Low<StoreFile> {
  const adapter = new DataFile<StoreFile>(path, {
    parse: (s) => JSON.parse(s) as StoreFile,
    stringify: (d) => JSON.stringify(d),
  });
  return new Low(adapter, { format: 'tidepool.store/v1', resourceVersion: 0, objects: {} });
}

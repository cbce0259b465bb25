// Whether the store's disk takes writes. After a refused write the store is unhealthy
// (served as /readyz) and tries a harmless write by itself every `retryMs`, so that it
// becomes healthy again without waiting for a client to write.

/** Whether the store can write, and why not. */
export interface StoreHealth {
  writable: boolean;
  /** The error of the failed write, while writes fail. */
  error?: string;
  since?: string;
}

export class WriteHealth {
  readonly #retryMs: number;
  readonly #now: () => number;
  /** Appends a write that changes nothing; settles once the disk took it or refused it. */
  readonly #probe: () => Promise<void>;
  #failure: { error: Error; since: number } | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(retryMs: number, now: () => number, probe: () => Promise<void>) {
    this.#retryMs = retryMs;
    this.#now = now;
    this.#probe = probe;
  }

  get failing(): boolean {
    return this.#failure !== undefined;
  }

  health(): StoreHealth {
    if (!this.#failure) return { writable: true };
    return { writable: false, error: this.#failure.error.message, since: new Date(this.#failure.since).toISOString() };
  }

  /** A write was refused: unhealthy since the first refusal, and trying again by itself. */
  failed(err: Error): void {
    this.#failure ??= { error: err, since: this.#now() };
    this.#failure.error = err;
    if (!this.#retryTimer && !this.#closed) {
      this.#retryTimer = setInterval(() => {
        if (this.#failure && !this.#closed) void this.#probe().catch(() => {});
      }, this.#retryMs);
      this.#retryTimer.unref();
    }
  }

  /** A write reached the disk. */
  recovered(): void {
    this.#failure = undefined;
    if (this.#retryTimer) clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer) clearInterval(this.#retryTimer);
  }
}

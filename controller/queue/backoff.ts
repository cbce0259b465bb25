// How long a failing key waits before its next try (client-go's RateLimiter).

export interface Backoff {
  /** The delay before the next try of `key`; each call counts one more failure. */
  when(key: string): number;
  /** Success: the next failure of `key` starts from the base delay again. */
  forget(key: string): void;
  /** Failures counted for `key` since it was last forgotten. */
  retries(key: string): number;
}

export interface ExponentialBackoffOptions {
  /** First delay. Defaults to 500 ms. */
  baseMs?: number;
  /** Largest delay. Defaults to 5 minutes. */
  capMs?: number;
}

/** base, 2×base, 4×base, ... up to cap, per key. */
export class ExponentialBackoff implements Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly #failures = new Map<string, number>();

  constructor(opts: ExponentialBackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.capMs = opts.capMs ?? 5 * 60_000;
  }

  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2 ** n overflows to Infinity for a large n, and min() then gives the cap.
    return Math.min(this.baseMs * 2 ** n, this.capMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

// Sign-ins a client may start: a burst of 10, then one every 6 s (a person starts a few; a
// flood starts thousands). One over the budget is held on a timer, like a wrong password
// (api/throttle.ts), and answered 429 with Retry-After: a flood of /auth/login then costs
// sockets and timers, not the CPU that signed-in people's requests need.
export interface StartLimitOptions {
  /** Sign-ins a client may start at once. Default 10. */
  burst?: number;
  /** One more sign-in every this long. Default 6 s. */
  refillMs?: number;
  /** How long a refused start is held. Default 1 s (a person never waits it; a flood is slowed to a start per second per connection). */
  holdMs?: number;
  /** Clients remembered at most (the oldest forgotten first). Default 10 000. */
  maxClients?: number;
}

export class SignInStartLimit {
  readonly #o: Required<StartLimitOptions>;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: StartLimitOptions = {}) {
    this.#o = { burst: 10, refillMs: 6000, holdMs: 1000, maxClients: 10_000, ...opts };
  }

  /** 0 when `client` may start a sign-in now; otherwise the seconds to wait, after the hold. */
  async take(client: string, now = Date.now()): Promise<number> {
    const b = this.#buckets.get(client) ?? { tokens: this.#o.burst, at: now };
    b.tokens = Math.min(this.#o.burst, b.tokens + (now - b.at) / this.#o.refillMs);
    b.at = now;
    this.#buckets.delete(client);
    this.#buckets.set(client, b);
    if (this.#buckets.size > this.#o.maxClients) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens--;
      return 0;
    }
    await new Promise((r) => setTimeout(r, this.#o.holdMs).unref());
    return Math.ceil(((1 - b.tokens) * this.#o.refillMs) / 1000);
  }
}

// Sign-ins in progress: what each callback must find again (state, PKCE verifier, nonce, return
// URL), in memory for ten minutes. Bounded: a flood of /auth/login requests forgets the oldest
// rather than growing; nothing of it is written to disk.
import type { Pending } from './provider.js';

export interface PendingSignIn extends Pending {
  returnTo: string;
  expiresAt: number;
}

export class PendingSignIns {
  readonly #byState = new Map<string, PendingSignIn>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly max = 10_000,
  ) {}

  add(p: Pending & { returnTo: string }, now = Date.now()): void {
    this.#byState.set(p.state, { ...p, expiresAt: now + this.ttlMs });
    while (this.#byState.size > this.max) this.#byState.delete(this.#byState.keys().next().value!);
  }

  /** The sign-in with this state, taken (a callback is used once); undefined when unknown or too old. */
  take(state: string, now = Date.now()): PendingSignIn | undefined {
    const p = this.#byState.get(state);
    if (!p) return undefined;
    this.#byState.delete(state);
    return p.expiresAt > now ? p : undefined;
  }
}

// Failed logins are slowed per client. Every failure is answered after at least `floorMs`
// (so a wrong user name and a wrong password take the same time, and a guess costs the
// guesser a round trip of that length); after `freeFailures` failures in a row the wait
// doubles with each one, up to `maxMs`. Waiting costs no CPU (a timer), so a flood of wrong
// passwords holds sockets, not cores, and a correct login is not starved. A success or
// `forgetMs` without failures clears a client.
export interface ThrottleOptions {
  floorMs?: number;
  freeFailures?: number;
  maxMs?: number;
  forgetMs?: number;
  /** Clients remembered at most (the oldest are forgotten first). */
  maxClients?: number;
}

interface Client {
  failures: number;
  last: number;
}

export class LoginThrottle {
  readonly #o: Required<ThrottleOptions>;
  readonly #clients = new Map<string, Client>();

  constructor(opts: ThrottleOptions = {}) {
    this.#o = { floorMs: 250, freeFailures: 5, maxMs: 8000, forgetMs: 15 * 60_000, maxClients: 10_000, ...opts };
  }

  /** Records a failure of `client`; resolves when its answer may be sent. */
  failed(client: string, now = Date.now()): Promise<void> {
    let c = this.#clients.get(client);
    if (!c || now - c.last > this.#o.forgetMs) c = { failures: 0, last: now };
    c.failures++;
    c.last = now;
    this.#clients.delete(client);
    this.#clients.set(client, c);
    if (this.#clients.size > this.#o.maxClients) this.#clients.delete(this.#clients.keys().next().value!);
    const over = c.failures - this.#o.freeFailures;
    const ms = over <= 0 ? this.#o.floorMs : Math.min(this.#o.maxMs, this.#o.floorMs * 2 ** over);
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  succeeded(client: string): void {
    this.#clients.delete(client);
  }

  /** Failures in a row recorded for `client`. */
  failures(client: string): number {
    return this.#clients.get(client)?.failures ?? 0;
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Who is guessing: the peer address, or, for a request that Tidepool's own proxy forwarded
 * (from loopback, with X-Forwarded-For set by Caddy, which replaces a client's own), the
 * address Caddy saw.
 */
export function clientOf(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
  const peer = remoteAddress ?? 'unknown';
  const xff = Array.isArray(forwardedFor) ? forwardedFor.at(-1) : forwardedFor;
  if (xff && LOOPBACK.test(peer)) return xff.split(',').at(-1)!.trim() || peer;
  return peer;
}

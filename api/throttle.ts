// Failed logins are limited per client. Every wrong guess is answered after at least
// `floorMs` (a wrong user name and a wrong password alike). After `freeFailures` wrong guesses
// in a row a client is locked out for `lockMs`, doubling with each further wrong guess up to
// `maxMs`: while locked out, every request of that client that carries credentials is
// answered 429 with Retry-After (after the same floor), right or wrong, without looking at
// them (answering a right guess with anything else would tell the guesser it was right, and
// the lockout would slow nothing). Waiting costs no CPU (a timer), so a flood of wrong
// guesses holds sockets, not cores. A right login clears only its own client's count; `forgetMs` without a failure clears
// a client too.
import { isIPv6 } from 'node:net';

export interface ThrottleOptions {
  /** Every wrong guess is answered after at least this long. Default 250 ms. */
  floorMs?: number;
  /** Wrong guesses in a row before a client is locked out. Default 5. */
  freeFailures?: number;
  /** The first lockout; each further wrong guess doubles it. Default 5 s. */
  lockMs?: number;
  /** The longest lockout. Default 60 s. */
  maxMs?: number;
  /** A client without a failure for this long starts again from zero. Default 15 min. */
  forgetMs?: number;
  /** Clients remembered at most (the oldest are forgotten first). */
  maxClients?: number;
}

interface Client {
  failures: number;
  last: number;
  lockedUntil: number;
}

export class LoginThrottle {
  readonly #o: Required<ThrottleOptions>;
  readonly #clients = new Map<string, Client>();

  constructor(opts: ThrottleOptions = {}) {
    this.#o = {
      floorMs: 250,
      freeFailures: 5,
      lockMs: 5000,
      maxMs: 60_000,
      forgetMs: 15 * 60_000,
      maxClients: 10_000,
      ...opts,
    };
  }

  /** Milliseconds until `client` may try again; 0 when it may now. */
  lockedFor(client: string, now = Date.now()): number {
    const c = this.#clients.get(client);
    return c ? Math.max(0, c.lockedUntil - now) : 0;
  }

  /**
   * Records a wrong guess of `client` (at once, so that concurrent guesses see it); resolves when
   * its answer may be sent.
   */
  failed(client: string, now = Date.now()): Promise<void> {
    let c = this.#clients.get(client);
    if (!c || now - c.last > this.#o.forgetMs) c = { failures: 0, last: now, lockedUntil: 0 };
    c.failures++;
    c.last = now;
    const over = c.failures - this.#o.freeFailures;
    if (over >= 0) c.lockedUntil = now + Math.min(this.#o.maxMs, this.#o.lockMs * 2 ** over);
    // Most recently failed last: the oldest go first when there are too many.
    this.#clients.delete(client);
    this.#clients.set(client, c);
    if (this.#clients.size > this.#o.maxClients) this.#clients.delete(this.#clients.keys().next().value!);
    return this.hold();
  }

  /** Resolves after `floorMs`: how long every refused guess is held, locked out or not. */
  hold(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#o.floorMs).unref());
  }

  /** A right login of `client`: its count starts again. Other clients' counts are untouched. */
  succeeded(client: string): void {
    this.#clients.delete(client);
  }

  /** Wrong guesses in a row recorded for `client`. */
  failures(client: string): number {
    return this.#clients.get(client)?.failures ?? 0;
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The throttle's key for an address: IPv4 as it is (an IPv4-mapped IPv6 address too); IPv6 by
 * its /64, since one host is handed a whole /64 and could otherwise guess from each address.
 */
export function clientKey(address: string): string {
  const a = address.trim();
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(a);
  if (mapped) return mapped[1]!;
  if (!isIPv6(a)) return a;
  const [head, tail = ''] = a.split('::') as [string, string?];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Who is guessing: the peer address; for a request from Tidepool's own Caddy, the address
 * Caddy saw (the last X-Forwarded-For entry: Caddy replaces a client's own header with it).
 * Caddy is recognised by `fromProxy` (it carried the per-data-directory secret, see
 * ./proxy-secret.ts) and a loopback peer; any other X-Forwarded-For is ignored.
 */
export function clientOf(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  fromProxy: boolean,
): string {
  const peer = remoteAddress ?? 'unknown';
  const xff = Array.isArray(forwardedFor) ? forwardedFor.at(-1) : forwardedFor;
  if (fromProxy && xff && LOOPBACK.test(peer)) return clientKey(xff.split(',').at(-1)!.trim() || peer);
  return clientKey(peer);
}

// Who may pass the proxy. Caddy asks Tidepool's API (`/authz`, a forward auth) rather than
// checking a bcrypt hash itself: Caddy's basic auth spends tens of ms of CPU per wrong
// password and answers a wrong user name at once, so a flood of guesses saturated both
// cores (a correct request went from 1 ms to 1.2 s) and told which user names exist. The
// API answers every wrong guess after the same throttled wait, which costs a timer, not a
// core, per client (api/throttle.ts). The 401 (with WWW-Authenticate) goes back to the
// client as the API wrote it; a 2xx lets the request through, Authorization and all.
//
// The bcrypt hash below is what the basic-auth handler used; it is kept for the config's
// settings (and the benchmark's baseline). bcrypt salts every hash, so a fresh hash would
// make each built config differ from the live one and reload Caddy for nothing: a live hash
// that still matches the password is reused instead.
import bcrypt from 'bcryptjs';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The `authentication`-position handler: a forward auth to the API's /authz. */
export function forwardAuthHandler(apiUpstream: string): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: apiUpstream }],
    // The original method and URI go along for the log; the API looks at Authorization only.
    rewrite: { method: 'GET', uri: '/authz' },
    headers: { request: { set: { 'X-Forwarded-Method': ['{http.request.method}'], 'X-Forwarded-Uri': ['{http.request.uri}'] } } },
    // A 2xx: go on to the next handler (the request itself). Anything else is written back.
    handle_response: [{ match: { status_code: [2] }, routes: [{ handle: [{ handler: 'vars' }] }] }],
  };
}

/** Caddy's own basic auth with a bcrypt hash: the handler before forward auth (bench baseline). */
export function bcryptBasicAuthHandler(username: string, passwordHash: string): Json {
  return {
    handler: 'authentication',
    providers: { http_basic: { accounts: [{ username, password: passwordHash }], hash: { algorithm: 'bcrypt' }, hash_cache: {} } },
  };
}

export class PasswordHash {
  private own: Promise<string> | undefined;
  /** bcrypt.compare results by hash: compare costs tens of ms, reads happen often. */
  private readonly verdicts = new Map<string, Promise<boolean>>();

  constructor(private readonly password: string, private readonly cost = 10) {}

  /** The first of `candidates` that matches the password, else our own hash (made once). */
  async pick(candidates: string[]): Promise<string> {
    const match = await this.matching(candidates);
    if (match) return match;
    this.own ??= bcrypt.hash(this.password, this.cost);
    return this.own;
  }

  /** The first of `candidates` that matches the password, if any. */
  async matching(candidates: string[]): Promise<string | undefined> {
    for (const hash of candidates) {
      let verdict = this.verdicts.get(hash);
      if (!verdict) {
        verdict = bcrypt.compare(this.password, hash).catch(() => false);
        if (this.verdicts.size > 16) this.verdicts.clear();
        this.verdicts.set(hash, verdict);
      }
      if (await verdict) return hash;
    }
    return undefined;
  }
}

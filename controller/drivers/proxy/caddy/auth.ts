// Who may pass the proxy. Two handlers for the auth position of the Caddy config:
//   - forwardAuthHandler: Caddy asks Tidepool's API (`/authz`) rather than checking a hash
//     itself. Caddy's basic auth spends tens of ms of CPU per wrong password and answers a
//     wrong user name at once, so a flood of guesses saturates both cores (a correct request
//     went from 1 ms to 1.2 s) and tells which user names exist. The API answers every wrong
//     guess after the same throttled wait, a timer rather than a core per client
//     (api/throttle.ts); its 401 (with WWW-Authenticate) goes back as written, a 2xx lets
//     the request through. bench/proxy-auth.ts measures both.
//   - bcryptBasicAuthHandler: Caddy's own basic auth, what config.ts builds today.
// config.ts switches by calling forwardAuthHandler(s.apiUpstream) in basicAuth(); that needs
// the API reachable at apiUpstream, which the Caddy driver tests do not provide (they dial
// 127.0.0.1:9), so the switch is left to the config.ts rewrite (see the report of issue 15).
//
// PasswordHash: bcrypt salts every hash, so a fresh hash would make each built config differ
// from the live one and reload Caddy for nothing: a live hash that still matches the password
// is reused instead.
import bcrypt from 'bcryptjs';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The `authentication`-position handler: a forward auth to the API's /authz. */
export function forwardAuthHandler(apiUpstream: string): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: apiUpstream }],
    // The original method and URI go along for the log; the API looks at Authorization only.
    rewrite: { method: 'GET', uri: '/authz' },
    headers: {
      request: { set: { 'X-Forwarded-Method': ['{http.request.method}'], 'X-Forwarded-Uri': ['{http.request.uri}'] } },
    },
    // A 2xx: go on to the next handler (the request itself). Anything else is written back.
    handle_response: [{ match: { status_code: [2] }, routes: [{ handle: [{ handler: 'vars' }] }] }],
  };
}

/** Caddy's own basic auth with a bcrypt hash (config.ts builds the same). */
export function bcryptBasicAuthHandler(username: string, passwordHash: string): Json {
  return {
    handler: 'authentication',
    providers: {
      http_basic: { accounts: [{ username, password: passwordHash }], hash: { algorithm: 'bcrypt' }, hash_cache: {} },
    },
  };
}

export class PasswordHash {
  private own: Promise<string> | undefined;
  /** bcrypt.compare results by hash: compare costs tens of ms, reads happen often. */
  private readonly verdicts = new Map<string, Promise<boolean>>();

  constructor(
    private readonly password: string,
    private readonly cost = 10,
  ) {}

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

/** `config` with every basic-auth handler replaced by the forward auth (what config.ts would build with it). */
export function withForwardAuth(config: Json, apiUpstream: string): Json {
  if (Array.isArray(config)) return config.map((c) => withForwardAuth(c, apiUpstream));
  if (config && typeof config === 'object') {
    const o = config as { [k: string]: Json };
    if (o.handler === 'authentication') return forwardAuthHandler(apiUpstream);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, withForwardAuth(v, apiUpstream)]));
  }
  return config;
}

// Who may pass the proxy: login(), the handler in the auth position of every public server.
//
// Caddy asks Tidepool's API (`GET /authz`, a forward auth) rather than checking a hash itself.
// Caddy's own basic auth spends tens of ms of CPU per wrong password, answers an unknown user
// name with a bcrypt of cost 14 against ours of 10 (939 ms against 59 ms: user names were
// guessable by timing), answers a repeated guess from its cache in 0.5 ms, and limits no
// one: a flood of guesses saturated both cores. The API compares digests in constant time and
// throttles per client (api/throttle.ts): a wrong guess waits on a timer, a client that keeps
// guessing gets 429 with Retry-After. Its 401 and 429 go back to the browser as written; a 2xx
// lets the request through to the next handler. Caddy sends the API the data directory's
// secret (PROXY_SECRET_HEADER), so the API believes the X-Forwarded-For Caddy sets.
//
// The data plane outlives serve: while no API listens (serve restarting, or stopped with
// --keep-data-plane), the forward auth's connection is refused, and Caddy checks the password
// itself with its bcrypt basic auth, as it did before. Open connections never notice; a new
// request with the right credentials passes, a wrong one gets Caddy's 401 (unthrottled, for as
// long as the API is away). Any other failure of the forward auth is a 502, never a pass.
//
// Sign-in sessions: the browser's Cookie never reaches the API, an IDE or (Tidepool's own
// cookie) a Port. SESSION_VARS, the first handler of every server, copies Tidepool's two cookies
// into vars; the forward auth and the API's proxy send them as headers of their own, with the
// original method, URI and upgrade (the forward auth is a GET without Upgrade), so /authz can
// apply the session's origin rules to the request it stands for.
//
// PasswordHash: bcrypt salts every hash, so a fresh hash would make each built config differ
// from the live one and reload Caddy for nothing: a live hash that still matches the password
// is reused instead.
import bcrypt from 'bcryptjs';
import {
  FORWARDED_URI_HEADER,
  SET_SHARE_COOKIE_HEADER,
  SHARE_COOKIE,
  SHARE_HEADER,
} from '../../../specs/port-share.js';
import { PROXY_SECRET_HEADER } from '../../../specs/proxy.js';
import type { Json } from './json.js';

export interface LoginSettings {
  /** host:port of Tidepool's API. */
  apiUpstream: string;
  /** Sent to the API in PROXY_SECRET_HEADER. */
  proxySecret: string;
  username: string;
  /** bcrypt hash of the password, for when the API is away. */
  passwordHash: string;
}

/** Set once the API let a request pass: an error after that is the request's, not the login's. */
const PASSED = 'tp_login';

/** The realm of the API's own 401, so that a browser keeps its credentials whichever one answers. */
const REALM = 'tidepool';

/** The session cookie (and the sign-in's state cookie), captured before any handler drops Cookie. */
export const SESSION_VARS: Json = {
  handle: [
    { handler: 'vars', tp_session: '{http.request.cookie.tp_session}', tp_signin: '{http.request.cookie.tp_signin}' },
  ],
};

/** The headers that carry the captured cookies to the API (believed with the proxy secret only). */
export const SESSION_HEADERS = {
  'X-Tidepool-Session': ['{http.vars.tp_session}'],
  'X-Tidepool-Signin': ['{http.vars.tp_signin}'],
};

/** The forward auth to the API's /authz. */
export function forwardAuthHandler(s: { apiUpstream: string; proxySecret: string }): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: s.apiUpstream }],
    rewrite: { method: 'GET', uri: '/authz' },
    headers: {
      request: {
        set: {
          [PROXY_SECRET_HEADER]: [s.proxySecret],
          // A signed-in browser's session (SESSION_VARS), and the original request's method and
          // upgrade: /authz holds a session to the origin it was sent to (api/origin.ts).
          'X-Tidepool-Session': ['{http.vars.tp_session}'],
          'X-Forwarded-Method': ['{http.request.method}'],
          'X-Tidepool-Upgrade': ['{http.request.header.Upgrade}'],
          // Which Port (or IDE) a request is for decides who may pass it (api/port-access.ts).
          [FORWARDED_URI_HEADER]: ['{http.request.uri}'],
          // A public Port's share cookie, cut out of the Cookie header below.
          [SHARE_HEADER]: ['{http.request.header.Cookie}'],
        },
        // The API reads Authorization, the session and the share cookie only. A WebSocket's
        // Upgrade would make /authz an upgrade too, and a Port's cookies (up to hundreds of KiB)
        // would overflow the API's header limit.
        delete: ['Cookie', 'Connection', 'Upgrade'],
        replace: { [SHARE_HEADER]: SHARE_COOKIE_ONLY },
      },
    },
    // A 2xx: go on to the next handler (the request itself), noting that the API let it pass,
    // and setting the share cookie when the API asks for it. Anything else is written back.
    handle_response: [
      {
        match: { status_code: [2], headers: { [SET_SHARE_COOKIE_HEADER]: ['*'] } },
        routes: [
          {
            handle: [
              { handler: 'vars', [PASSED]: 'api' },
              {
                handler: 'headers',
                response: { add: { 'Set-Cookie': [`{http.reverse_proxy.header.${SET_SHARE_COOKIE_HEADER}}`] } },
              },
            ],
          },
        ],
      },
      { match: { status_code: [2] }, routes: [{ handle: [{ handler: 'vars', [PASSED]: 'api' }] }] },
    ],
  };
}

/**
 * From a copy of the Cookie header to the share cookie's value alone (a token is base64url),
 * or nothing when there is none: whatever else is left still holds a '=', ';' or ' '.
 */
export const SHARE_COOKIE_ONLY: Json = [
  { search_regexp: `^(?:.*;\\s*)?${SHARE_COOKIE}=([A-Za-z0-9_-]*).*$`, replace: '$1' },
  { search_regexp: '^.*[=; ].*$', replace: '' },
];

/** Caddy's own basic auth with a bcrypt hash: only while the API does not listen. */
export function bcryptBasicAuthHandler(username: string, passwordHash: string): Json {
  return {
    handler: 'authentication',
    providers: {
      http_basic: {
        accounts: [{ username, password: passwordHash }],
        hash: { algorithm: 'bcrypt' },
        // Caddy checks bcrypt on every request otherwise (tens of ms of CPU each).
        hash_cache: {},
        realm: REALM,
      },
    },
  };
}

/**
 * The auth position: the forward auth, and Caddy's own check when (only when) the API refuses
 * the connection. Traps of Caddy 2.6.2 this shape avoids:
 *   - the forward auth's 2xx runs the rest of the server's handlers inside this subroute, so
 *     the subroute's error routes also see the errors of the request itself (an IDE that
 *     refuses, an unknown name): those are raised again as they were, for the server's pages;
 *   - a subroute's error routes go on to the next handler once they finish, so every error
 *     that is not the API refusing must end in an answer: a failed login never passes;
 *   - a `terminal` error route answers with the error's status once it is done, so none is.
 */
export function login(s: LoginSettings): Json {
  const passed = { vars: { [`{http.vars.${PASSED}}`]: ['api'] } };
  const refused = { vars_regexp: { '{http.error.message}': { pattern: 'connection refused' } } };
  return {
    handler: 'subroute',
    routes: [{ handle: [forwardAuthHandler(s)] }],
    errors: {
      routes: [
        {
          match: [passed],
          handle: [{ handler: 'error', status_code: '{http.error.status_code}', error: '{http.error.message}' }],
        },
        { match: [{ not: [passed], ...refused }], handle: [bcryptBasicAuthHandler(s.username, s.passwordHash)] },
        {
          match: [{ not: [passed, refused] }],
          handle: [
            {
              handler: 'static_response',
              status_code: 502,
              headers: { 'Content-Type': ['text/plain; charset=utf-8'], 'Cache-Control': ['no-store'] },
              body: "502: the login check failed: Tidepool's API did not answer; try again in a moment\n",
            },
          ],
        },
      ],
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

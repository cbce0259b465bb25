// Sign-in and sign-out on the app origin (public paths: the login gate does not run on them):
//   GET  /auth/login?return=URL  -> 302 to the provider (state, PKCE, nonce kept in PendingSignIns,
//                                   the state also in a short cookie that binds it to this browser)
//   GET  /auth/callback          -> checks it all (openid-client), the sign-in rules, starts a
//                                   session (cookie) and sends the browser back to its return URL
//   GET  /auth/logout            -> a page with the sign-out button (a POST: no page of another
//                                   site can sign anyone out with a link)
//   POST /auth/logout            -> ends the session, clears the cookie, 303 to /auth/signed-out
// Anything that does not check out is a 400 (a broken flow: state, nonce, return URL) or 401/403
// (the provider said no, a person the rules keep out), and nothing is stored.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import {
  credentialCookie,
  SESSION_COOKIE,
  SESSION_HEADER,
  setCookie,
  SIGNIN_COOKIE,
  SIGNIN_HEADER,
} from './cookies.js';
import { html, link, para, sendError } from './page.js';
import { PendingSignIns } from './pending.js';
import { SignInError, type SignInProvider } from './provider.js';
import { safeReturn, type OwnOrigins } from './return-url.js';
import { SignInStartLimit, type StartLimitOptions } from './start-limit.js';
import { admit, type SignInRules } from './rules.js';
import type { SessionStore } from './sessions.js';

export interface SignInRoutesOptions {
  provider: SignInProvider;
  rules: SignInRules;
  sessions: SessionStore;
  own: OwnOrigins;
  /** Whether a request is from Tidepool's Caddy (its X-Forwarded-Proto and cookie headers are believed). */
  fromProxy: (req: FastifyRequest) => boolean;
  /** The client a request is counted against (the login gate's). */
  clientOf: (req: FastifyRequest) => string;
  /** How many sign-ins a client may start. */
  startLimit?: StartLimitOptions;
}

export const signInPlugin = fp(
  async (app: FastifyInstance, o: SignInRoutesOptions) => {
    const pending = new PendingSignIns();
    const limit = new SignInStartLimit(o.startLimit);
    const secure = (req: FastifyRequest) => o.fromProxy(req) && req.headers['x-forwarded-proto'] === 'https';
    const host = (req: FastifyRequest) => String(req.headers.host ?? '');
    const fail = (req: FastifyRequest, reply: FastifyReply, err: unknown) => {
      if (!(err instanceof ApiError)) throw err;
      return sendError(req, reply, err, link('/auth/login', 'Sign in again'));
    };

    app.get('/auth/login', async (req, reply) => {
      try {
        const wait = await limit.take(o.clientOf(req));
        if (wait > 0)
          return reply
            .code(429)
            .header('retry-after', String(wait))
            .send(
              new ApiError(
                429,
                'TooManyRequests',
                `Too many sign-ins started from this client (${o.clientOf(req)}): try again in ${wait} s`,
              ).toStatus(),
            );
        const query = new URLSearchParams(req.url.split('?')[1] ?? '');
        const returnTo = safeReturn(query.get('return'), host(req), o.own);
        const proto = secure(req) ? 'https' : 'http';
        const { url, pending: p } = await o.provider.start(`${proto}://${host(req)}/auth/callback`);
        pending.add({ ...p, returnTo });
        return reply
          .code(302)
          .header('cache-control', 'no-store')
          .header(
            'set-cookie',
            setCookie(SIGNIN_COOKIE, p.state, { maxAgeS: 600, secure: secure(req), path: '/auth/' }),
          )
          .header('location', url)
          .send();
      } catch (err) {
        return fail(req, reply, err);
      }
    });

    app.get('/auth/callback', async (req, reply) => {
      try {
        const query = new URLSearchParams(req.url.split('?')[1] ?? '');
        const state = query.get('state');
        const bound = credentialCookie(req.headers, o.fromProxy(req), SIGNIN_COOKIE, SIGNIN_HEADER);
        if (!state || state !== bound)
          throw new SignInError(
            400,
            `the sign-in's state ${state ? 'does not match the one this browser started with' : 'is missing'}: start again at /auth/login (a callback link from elsewhere is refused)`,
          );
        const p = pending.take(state);
        if (!p)
          throw new SignInError(
            400,
            'this sign-in is unknown or older than 10 minutes, or was used already: start again',
          );
        if (query.get('error'))
          throw new SignInError(
            401,
            `${o.provider.label} refused the sign-in: ${query.get('error_description') ?? query.get('error')}`,
          );
        const person = await o.provider.finish(query, p);
        const verdict = admit(person, o.rules);
        if ('refused' in verdict)
          throw new SignInError(
            403,
            `Forbidden: signed in as ${person.name}, who ${verdict.refused.slice(person.name.length + 1)}`,
          );
        const session = await o.sessions.create(verdict.identity);
        req.log.info(
          { user: verdict.identity.name, namespace: verdict.identity.namespace, admin: verdict.identity.admin },
          'signed in',
        );
        return reply
          .code(302)
          .header('cache-control', 'no-store')
          .header('set-cookie', [
            setCookie(SESSION_COOKIE, session.id, {
              maxAgeS: Math.floor(o.sessions.ttlMs / 1000),
              secure: secure(req),
            }),
            setCookie(SIGNIN_COOKIE, '', { maxAgeS: 0, secure: secure(req), path: '/auth/' }),
          ])
          .header('location', p.returnTo)
          .send();
      } catch (err) {
        return fail(req, reply, err);
      }
    });

    app.get('/auth/logout', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          html('Sign out', '<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>'),
        ),
    );

    // The sign-out form's body (urlencoded, empty) is read by no one: only this route takes it.
    await app.register(async (form) => {
      form.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, _body, done) =>
        done(null, undefined),
      );
      form.post('/auth/logout', async (req, reply) => {
        const id = credentialCookie(req.headers, o.fromProxy(req), SESSION_COOKIE, SESSION_HEADER);
        await o.sessions.end(id);
        return reply
          .code(303)
          .header('cache-control', 'no-store')
          .header('set-cookie', setCookie(SESSION_COOKIE, '', { maxAgeS: 0, secure: secure(req) }))
          .header('location', '/auth/signed-out')
          .send();
      });
    });

    app.get('/auth/signed-out', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(html('Signed out', para('Your Tidepool session has ended.') + link('/auth/login', 'Sign in again'))),
    );
  },
  { name: 'tidepool-signin', fastify: '5.x' },
);

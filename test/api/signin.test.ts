// Sign-in against a real OpenID Connect provider (test/fixtures/oidc-provider.ts), the API
// alone on loopback (no proxy): the code flow with PKCE, state and nonce through openid-client,
// the session cookie, sign-out, personal access tokens, the provider's ID tokens as Bearer, and
// bad input (forged, expired and wrong-audience tokens, a state or nonce that does not match, an
// open redirect), each refused with a clear 400/401 and nothing stored.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, generateKeyPair } from 'jose';
import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../drivers/proxy/caddy/index.js';
import { OidcProvider } from '../../api/signin/oidc.js';
import { SessionStore, sessionsPath } from '../../api/signin/sessions.js';
import { TokenStore, tokensPath } from '../../api/signin/tokens.js';
import { startOidcProvider, webClient, type OidcFixture } from '../fixtures/oidc-provider.js';
import { startTestServer, type TestServer } from './helpers.js';

const CLIENT = 'tidepool-web';
const SECRET = 'web-secret';
/** The CLI's client (accepted as an audience), another application's (not), one whose tokens live a second. */
const CLI = webClient('tidepool-cli', 'cli-secret', ['http://127.0.0.1:9/cb']);
const OTHER = webClient('other-app', 'other-secret', ['http://127.0.0.1:9/cb']);
const SHORT = webClient('short-lived', 'short-secret', ['http://127.0.0.1:9/cb']);

let op: OidcFixture;
let t: TestServer;
let port: number;

const rules = {
  allowedGroups: ['devs'],
  allowedEmailDomains: [],
  allowedUsers: [],
  adminGroups: ['tidepool-admins'],
  adminUsers: [],
};

beforeAll(async () => {
  port = await freeLoopbackPort();
  op = await startOidcProvider({
    clients: [webClient(CLIENT, SECRET, [`http://127.0.0.1:${port}/auth/callback`]), CLI, OTHER, SHORT],
    idTokenTtl: (id) => (id === 'short-lived' ? 1 : 3600),
  });
  const dir = `/tmp/tp-signin-${process.pid}-${port}`;
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  t = await startTestServer({
    // The port the provider redirects to.
    ...({ listen: `127.0.0.1:${port}` } as object),
    signIn: {
      mode: 'oidc',
      provider: new OidcProvider({
        issuer: op.issuer,
        clientId: CLIENT,
        clientSecret: SECRET,
        audiences: ['tidepool-cli', 'short-lived'],
      }),
      rules,
      sessions: await SessionStore.open(sessionsPath(dir)),
      tokens: await TokenStore.open(tokensPath(dir)),
      own: { appPort: port, ports: [port], extra: [] },
      // More sign-ins than a person starts: the tests below start a dozen from one address.
      startLimit: { burst: 100 },
    },
  });
  (t as { dir: string }).dir = dir;
});

afterAll(async () => {
  await t?.close();
  await op?.close();
});

/** /auth/login as a browser: the provider's URL and the sign-in cookie. */
async function startSignIn(ret?: string) {
  const res = await fetch(`${t.url}/auth/login${ret ? `?return=${encodeURIComponent(ret)}` : ''}`, {
    redirect: 'manual',
  });
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');
  return {
    status: res.status,
    location: res.headers.get('location') ?? '',
    cookie,
    body: res.status === 302 ? '' : await res.text(),
  };
}

/** A whole sign-in as `user`: the session cookie. */
async function signIn(user: string): Promise<string> {
  const s = await startSignIn('/app/');
  const back = await op.signIn(s.location, user);
  const res = await fetch(back, { redirect: 'manual', headers: { cookie: s.cookie } });
  expect(res.status, await res.clone().text()).toBe(302);
  expect(res.headers.get('location')).toBe('/app/');
  const session = res.headers.getSetCookie().find((c) => c.startsWith('tp_session='))!;
  expect(session).toMatch(/HttpOnly/);
  expect(session).toMatch(/SameSite=Lax/);
  return session.split(';')[0]!;
}

function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

const sessionsOnDisk = async () =>
  Object.keys(JSON.parse(await readFile(join(t.dir, 'sessions.json'), 'utf8').catch(() => '{"sessions":{}}')).sessions);

describe('OIDC sign-in against a real provider', () => {
  it('signs alice in (admin by group) and bob (not), each in their own namespace', async () => {
    const alice = await signIn('alice');
    const who = await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie: alice } });
    expect(who.status).toBe(200);
    expect(who.json).toMatchObject({ name: 'alice@example.test', namespace: 'alice', admin: true, via: 'session' });
    const bob = await signIn('bob');
    const b = await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie: bob } });
    expect(b.json).toMatchObject({ name: 'bob@example.test', namespace: 'bob', admin: false });
    expect((await t.req('GET', '/api/v1/workspaces', { auth: null, headers: { cookie: bob } })).status).toBe(200);
    // Kept hashed: the cookie's id is nowhere in the file.
    const file = await readFile(join(t.dir, 'sessions.json'), 'utf8');
    expect(file).not.toContain(alice.split('=')[1]);
  });

  it('a session survives a restart: a new server on the same data directory knows it', async () => {
    const alice = await signIn('alice');
    const again = await startTestServer({
      signIn: { mode: 'basic', sessions: await SessionStore.open(sessionsPath(t.dir)) },
    });
    try {
      const who = await again.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie: alice } });
      expect(who.status).toBe(200);
      expect(who.json).toMatchObject({ name: 'alice@example.test', namespace: 'alice', via: 'session' });
    } finally {
      await again.close();
    }
  });

  it('a person outside the rules gets a 403 naming them, and no session', async () => {
    const before = await sessionsOnDisk();
    const s = await startSignIn();
    const back = await op.signIn(s.location, 'eve');
    const res = await fetch(back, { redirect: 'manual', headers: { cookie: s.cookie, accept: 'text/html' } });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('eve@elsewhere.test');
    expect(res.headers.getSetCookie().some((c) => c.startsWith('tp_session=') && !c.startsWith('tp_session=;'))).toBe(
      false,
    );
    expect(await sessionsOnDisk()).toEqual(before);
  });

  it('a cookie that is not even URL-encoding is no session: 401, not 500', async () => {
    const r = await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie: 'tp_session=%E0%A4%A' } });
    expect(r.status).toBe(401);
  });

  it('signs out: the session ends at once', async () => {
    const alice = await signIn('alice');
    expect((await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie: alice } })).status).toBe(200);
    const out = await fetch(`${t.url}/auth/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: alice } });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().join()).toMatch(/tp_session=;.*Max-Age=0/);
    const after = await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie: alice } });
    expect(after.status).toBe(401);
  });

  it('a session from a page of another origin is refused (the Port origin shares the cookie)', async () => {
    const alice = await signIn('alice');
    const evil = {
      cookie: alice,
      'sec-fetch-site': 'same-site',
      'sec-fetch-mode': 'cors',
      origin: 'http://127.0.0.1:1',
    };
    const get = await t.req('GET', '/api/v1/workspaces', { auth: null, headers: evil });
    expect(get.status).toBe(403);
    expect(get.json.message).toMatch(/session cookie from a page of another origin/);
    const post = await t.req('POST', '/api/v1/tokens', { auth: null, headers: evil, body: { name: 'x' } });
    expect(post.status).toBe(403);
    // A link (top-level navigation) is fine.
    // (node:http: undici sets Sec-Fetch-Mode itself.)
    const nav = await rawGet(`${t.url}/api/v1/whoami`, {
      cookie: alice,
      'sec-fetch-site': 'same-site',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    });
    expect(nav.status, nav.text).toBe(200);
    const framed = await rawGet(`${t.url}/api/v1/whoami`, {
      cookie: alice,
      'sec-fetch-site': 'same-site',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'iframe',
    });
    expect(framed.status).toBe(403);
  });
});

describe('bad input at sign-in: a clear 400 and nothing stored', () => {
  it('an open redirect in the return URL', async () => {
    for (const ret of [
      'https://evil.example/',
      '//evil.example/x',
      'javascript:alert(1)',
      `http://127.0.0.2:${port}/`,
    ]) {
      const s = await startSignIn(ret);
      expect(s.status, ret).toBe(400);
      expect(s.body).toMatch(/not one of this Tidepool's own pages/);
      expect(s.cookie).toBe('');
    }
    // Its own pages are fine.
    expect((await startSignIn(`http://127.0.0.1:${port}/app/workspaces/x`)).status).toBe(302);
  });

  it('a state that does not match the browser that started', async () => {
    const before = await sessionsOnDisk();
    const a = await startSignIn();
    const b = await startSignIn();
    const back = await op.signIn(a.location, 'alice');
    // b's browser follows a's callback (a login CSRF).
    const res = await fetch(back, { redirect: 'manual', headers: { cookie: b.cookie } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/state does not match/);
    expect(await sessionsOnDisk()).toEqual(before);
  });

  it('a nonce that does not match the ID token', async () => {
    const before = await sessionsOnDisk();
    const s = await startSignIn();
    // The provider is sent another nonce than the one the callback expects.
    const url = new URL(s.location);
    url.searchParams.set('nonce', 'another-nonce');
    const back = await op.signIn(url.href, 'alice');
    const res = await fetch(back, { redirect: 'manual', headers: { cookie: s.cookie } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/nonce/);
    expect(await sessionsOnDisk()).toEqual(before);
  });
});

describe('a flood of sign-ins', () => {
  it('a client that starts more than its budget is held and answered 429 with Retry-After', async () => {
    const limited = await startTestServer({
      signIn: {
        mode: 'oidc',
        provider: new OidcProvider({ issuer: op.issuer, clientId: CLIENT, clientSecret: SECRET }),
        startLimit: { burst: 2, refillMs: 60_000, holdMs: 50 },
      },
    });
    try {
      const start = () => fetch(`${limited.url}/auth/login`, { redirect: 'manual' });
      expect((await start()).status).toBe(302);
      expect((await start()).status).toBe(302);
      const t0 = performance.now();
      const third = await start();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await third.json()).message).toMatch(/Too many sign-ins started from this client/);
    } finally {
      await limited.close();
    }
  });
});

describe('Bearer tokens', () => {
  it('personal access tokens: created, shown once, used, listed without the secret, revoked (401 at once)', async () => {
    const alice = await signIn('alice');
    const made = await t.req('POST', '/api/v1/tokens', {
      auth: null,
      headers: { cookie: alice },
      body: { name: 'ci', expiresIn: '1h' },
    });
    expect(made.status, made.text).toBe(201);
    const token: string = made.json.token;
    expect(token).toMatch(/^tp_[0-9a-f]{12}_/);
    const me = await t.req('GET', '/api/v1/whoami', { auth: `Bearer ${token}` });
    expect(me.json).toMatchObject({ name: 'alice@example.test', namespace: 'alice', via: 'token' });
    const list = await t.req('GET', '/api/v1/tokens', { auth: `Bearer ${token}` });
    expect(list.json.items.map((i: { name: string }) => i.name)).toEqual(['ci']);
    // The secret is all after `tp_<id>_` (base64url: it may hold `_` itself).
    const secret = token.slice('tp_'.length + 12 + 1);
    expect(secret).toHaveLength(43);
    expect(list.text).not.toContain(secret);
    expect(await readFile(join(t.dir, 'tokens.json'), 'utf8')).not.toContain(secret);
    const dup = await t.req('POST', '/api/v1/tokens', { auth: `Bearer ${token}`, body: { name: 'ci' } });
    expect(dup.status).toBe(409);
    const bad = await t.req('POST', '/api/v1/tokens', { auth: `Bearer ${token}`, body: { name: 'Bad Name!' } });
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes[0].field).toBe('name');
    expect((await t.req('DELETE', '/api/v1/tokens/ci', { auth: `Bearer ${token}` })).status).toBe(200);
    const after = await t.req('GET', '/api/v1/whoami', { auth: `Bearer ${token}` });
    expect(after.status).toBe(401);
    expect(after.json.message).toMatch(/unknown, revoked or expired/);
  });

  it("the provider's ID token is accepted; a forged, expired or wrong-audience one gets 401", async () => {
    const ok = await t.req('GET', '/api/v1/whoami', { auth: `Bearer ${await op.idToken(CLI, 'bob')}` });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ name: 'bob@example.test', namespace: 'bob', admin: false, via: 'token' });

    // Forged: admin claims, signed by a key that is not the provider's.
    const { privateKey } = await generateKeyPair('RS256');
    const forgedJwt = await new SignJWT({ email: 'alice@example.test', groups: ['tidepool-admins'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
      .setIssuer(op.issuer)
      .setSubject('alice')
      .setAudience(CLIENT)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const forged = await t.req('GET', '/api/v1/whoami', { auth: `Bearer ${forgedJwt}` });
    expect(forged.status).toBe(401);
    expect(forged.json.message).toMatch(/Bearer token was refused/);

    // Wrong audience: a real token of the provider, for another application.
    const other = await t.req('GET', '/api/v1/whoami', { auth: `Bearer ${await op.idToken(OTHER, 'alice')}` });
    expect(other.status).toBe(401);
    expect(other.json.message).toMatch(/aud/);

    // Expired: a real token that lived one second.
    const short = await op.idToken(SHORT, 'alice');
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await t.req('GET', '/api/v1/whoami', { auth: `Bearer ${short}` });
    expect(expired.status).toBe(401);
    expect(expired.json.message).toMatch(/exp/);
  });
});

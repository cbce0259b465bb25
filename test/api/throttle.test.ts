// Failed logins are limited per client, on every way in: the same for a wrong user name and a
// wrong password; a client that keeps guessing gets 429 with Retry-After on the API's routes,
// /authz (Caddy's forward auth) and the exec WebSocket upgrade, right credentials included
// (else a 200 would tell it which guess was right); a forged X-Forwarded-For makes no new
// client; and a right login from another client passes and leaves the guesser's count alone.
// Clients are told apart by their loopback address (127.0.0.2, 127.0.0.3, ...).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { fetch, type Agent } from 'undici';
import { agentFrom } from '../loopback-agent.js';
import { AUTH, PASSWORD, USER, startTestServer, workspace, type TestServer } from './helpers.js';

const FREE = 2;
const PROXY_SECRET = 'throttle-test-secret-0123456789abcdefgh';
let t: TestServer;
const agents = new Map<string, Agent>();
beforeAll(async () => {
  // A long floor makes "answered only after the floor" observable as an order of replies;
  // a long lockout keeps a locked client locked for the whole test.
  t = await startTestServer({
    throttle: { floorMs: 1500, freeFailures: FREE, lockMs: 60_000 },
    proxySecret: PROXY_SECRET,
  });
  expect((await t.req('POST', '/api/v1/workspaces', { body: workspace('alice') })).status).toBe(201);
});
afterAll(async () => {
  for (const a of agents.values()) await a.close();
  await t.close();
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const agent = (addr: string) => {
  let a = agents.get(addr);
  if (!a) agents.set(addr, (a = agentFrom(addr)));
  return a;
};

interface Answer {
  status: number;
  body: any;
  www: string | null;
  retryAfter: string | null;
}
function from(addr: string, path: string, auth?: string, headers: Record<string, string> = {}) {
  let settled = false;
  const p = fetch(`${t.url}${path}`, {
    dispatcher: agent(addr),
    headers: { ...headers, ...(auth ? { authorization: auth } : {}) },
  }).then(async (r): Promise<Answer> => {
    settled = true;
    return {
      status: r.status,
      body: (await r.json().catch(() => undefined)) as any,
      www: r.headers.get('www-authenticate'),
      retryAfter: r.headers.get('retry-after'),
    };
  });
  return { p, settled: () => settled };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The answer to a WebSocket upgrade of exec from `addr`: the status the server refused it with. */
function execUpgrade(addr: string, auth: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const url = `${t.url.replace('http', 'ws')}/api/v1/workspaces/alice/exec?command=true`;
    const ws = new WebSocket(url, { headers: { authorization: auth }, localAddress: addr });
    ws.once('unexpected-response', (_req, res) => {
      resolve({
        status: res.statusCode ?? 0,
        ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}),
      });
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', (err) => reject(err));
  });
}

function expectLockedOut(a: Answer) {
  expect(a.status).toBe(429);
  expect(a.body).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests' });
  expect(Number(a.retryAfter)).toBeGreaterThan(0);
}

describe('throttled guessing', () => {
  for (const [path, ok] of [
    ['/api/v1/workspaces', 200],
    ['/authz', 204],
  ] as const) {
    it(`holds a wrong password and a wrong user name alike, not a right login (${path})`, async () => {
      const wrongPassword = from('127.0.0.2', path, basic(USER, 'wrong'));
      const wrongUser = from('127.0.0.3', path, basic('nobody', PASSWORD));
      await sleep(200);
      const right = await from('127.0.0.1', path, AUTH).p;
      expect(right.status).toBe(ok);
      // Both guesses were sent first and are still waiting.
      expect(wrongPassword.settled()).toBe(false);
      expect(wrongUser.settled()).toBe(false);
      const [p, u] = [await wrongPassword.p, await wrongUser.p];
      for (const w of [p, u]) {
        expect(w.status).toBe(401);
        expect(w.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
        expect(w.www).toContain('Basic realm="tidepool"');
        expect(w.body.message).toBe('Unauthorized: the user name or password is wrong');
      }
      expect(u).toEqual(p);
    });
  }

  it('answers a request without credentials at once (a browser asking for the realm), and counts it not', async () => {
    const guess = from('127.0.0.4', '/api/v1/workspaces', basic(USER, 'wrong'));
    await sleep(200);
    for (let i = 0; i < FREE + 1; i++) expect((await from('127.0.0.5', '/api/v1/workspaces').p).status).toBe(401);
    expect(guess.settled()).toBe(false);
    expect((await guess.p).status).toBe(401);
    expect((await from('127.0.0.5', '/api/v1/workspaces', AUTH).p).status).toBe(200);
  });

  it('counts a wrong user name and a wrong password on one counter, then answers 429 with Retry-After, right credentials too', async () => {
    const c = '127.0.0.6';
    expect((await from(c, '/api/v1/workspaces', basic('nobody', PASSWORD)).p).status).toBe(401);
    expect((await from(c, '/authz', basic(USER, 'wrong')).p).status).toBe(401);
    expectLockedOut(await from(c, '/api/v1/workspaces', basic('nobody', 'x')).p);
    expectLockedOut(await from(c, '/authz', basic(USER, 'y')).p);
    // A right guess now must look like any other, or the lockout would be an oracle.
    expectLockedOut(await from(c, '/api/v1/workspaces', AUTH).p);
  });

  it('throttles the exec WebSocket upgrade on the same counter', async () => {
    const c = '127.0.0.7';
    for (let i = 0; i < FREE; i++) expect((await execUpgrade(c, basic(USER, `guess-${i}`))).status).toBe(401);
    const locked = await execUpgrade(c, basic(USER, 'another'));
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    expect((await execUpgrade(c, AUTH)).status).toBe(429);
    expectLockedOut(await from(c, '/api/v1/workspaces', AUTH).p);
  });

  it('makes no new client of a forged X-Forwarded-For, nor of a wrong proxy secret', async () => {
    const c = '127.0.0.8';
    for (let i = 0; i < FREE; i++) {
      const r = await from(c, '/authz', basic(USER, `guess-${i}`), { 'x-forwarded-for': `203.0.113.${i}` }).p;
      expect(r.status).toBe(401);
    }
    expectLockedOut(
      await from(c, '/authz', basic(USER, 'again'), {
        'x-forwarded-for': '203.0.113.99',
        'x-tidepool-proxy': 'not-the-secret',
      }).p,
    );
    expectLockedOut(await from(c, '/authz', AUTH, { 'x-forwarded-for': '198.51.100.1' }).p);
  });

  it("believes Tidepool's Caddy (the secret) about who is guessing: a right login of another client passes and resets only its own count", async () => {
    const caddy = '127.0.0.9';
    const viaCaddy = (client: string, auth: string) =>
      from(caddy, '/authz', auth, { 'x-forwarded-for': client, 'x-tidepool-proxy': PROXY_SECRET }).p;
    for (let i = 0; i < FREE; i++) expect((await viaCaddy('192.0.2.66', basic(USER, `guess-${i}`))).status).toBe(401);
    expectLockedOut(await viaCaddy('192.0.2.66', basic(USER, 'again')));
    // The user, through the same Caddy, is another client: not locked out, and its login...
    expect((await viaCaddy('192.0.2.10', AUTH)).status).toBe(204);
    expect(
      (
        await from(caddy, '/api/v1/workspaces', AUTH, {
          'x-forwarded-for': '192.0.2.10',
          'x-tidepool-proxy': PROXY_SECRET,
        }).p
      ).status,
    ).toBe(200);
    // ...leaves the guesser locked out.
    expectLockedOut(await viaCaddy('192.0.2.66', basic(USER, 'once more')));
    // Caddy's own address made no client of its own.
    expect((await from(caddy, '/authz', AUTH).p).status).toBe(204);
  });
});

// Failed logins are slowed per client, and the same whatever part of the credentials is
// wrong: a wrong guess is answered only after the throttle's wait, while a right login from
// another client, sent later, is answered at once. Clients are told apart by their loopback
// address (127.0.0.2, 127.0.0.3: all of 127/8 is local on Linux).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import { AUTH, PASSWORD, USER, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
const agents: Agent[] = [];
beforeAll(async () => {
  t = await startTestServer({
    listen: '127.0.0.1:0',
    throttle: { floorMs: 3000, freeFailures: 1, maxMs: 6000 },
  } as never);
});
afterAll(async () => {
  for (const a of agents) await a.close();
  await t.close();
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
function from(addr: string, path: string, auth?: string) {
  const agent = new Agent({ connect: { localAddress: addr } });
  agents.push(agent);
  let settled = false;
  const p = fetch(`${t.url}${path}`, { dispatcher: agent, headers: auth ? { authorization: auth } : {} }).then(
    async (r) => {
      settled = true;
      return {
        status: r.status,
        body: (await r.json().catch(() => undefined)) as any,
        www: r.headers.get('www-authenticate'),
      };
    },
  );
  return { p, settled: () => settled };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('throttled guessing', () => {
  for (const path of ['/api/v1/workspaces', '/authz']) {
    it(`holds a wrong password and a wrong user name alike, not a right login (${path})`, async () => {
      const wrongPassword = from('127.0.0.2', path, basic(USER, 'wrong'));
      const wrongUser = from('127.0.0.3', path, basic('nobody', PASSWORD));
      await sleep(200);
      const right = await from('127.0.0.1', path, AUTH).p;
      expect(right.status).toBe(path === '/authz' ? 204 : 200);
      // Both guesses were sent first and are still waiting.
      expect(wrongPassword.settled()).toBe(false);
      expect(wrongUser.settled()).toBe(false);
      for (const w of [await wrongPassword.p, await wrongUser.p]) {
        expect(w.status).toBe(401);
        expect(w.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
        expect(w.www).toContain('Basic realm="tidepool"');
        expect(w.body.message).toBe('Unauthorized: the user name or password is wrong');
      }
    });
  }

  it('answers a request without credentials at once (a browser asking for the realm)', async () => {
    const guess = from('127.0.0.4', '/api/v1/workspaces', basic(USER, 'wrong'));
    await sleep(200);
    const none = await from('127.0.0.5', '/api/v1/workspaces').p;
    expect(none.status).toBe(401);
    expect(guess.settled()).toBe(false);
    expect((await guess.p).status).toBe(401);
  });
});

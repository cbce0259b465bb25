// GitHub sign-in against a fake that follows GitHub's OAuth app contract
// (test/fixtures/fake-github.ts): an allowed organization's member signs in (their login is
// their namespace; an admin organization makes an admin), someone in no allowed organization is
// refused by name with nothing stored, and a state that does not match is a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubProvider } from '../../api/signin/github.js';
import { SessionStore } from '../../api/signin/sessions.js';
import { freeLoopbackPort } from '../../drivers/proxy/caddy/index.js';
import { startFakeGitHub, type FakeGitHub } from '../fixtures/fake-github.js';
import { startTestServer, type TestServer } from './helpers.js';

let gh: FakeGitHub;
let t: TestServer;
let sessions: SessionStore;

beforeAll(async () => {
  gh = await startFakeGitHub({ id: 'gh-client', secret: 'gh-secret' }, { login: 'Octo-Cat', orgs: ['acme'] });
  sessions = await SessionStore.open(undefined);
  const port = await freeLoopbackPort();
  t = await startTestServer({
    ...({ listen: `127.0.0.1:${port}` } as object),
    signIn: {
      mode: 'github',
      provider: new GitHubProvider({ clientId: 'gh-client', clientSecret: 'gh-secret', baseUrl: gh.url }),
      rules: {
        allowedGroups: ['acme'],
        allowedEmailDomains: [],
        allowedUsers: [],
        adminGroups: ['acme-admins'],
        adminUsers: [],
      },
      sessions,
      own: { appPort: port, ports: [port], extra: [] },
    },
  });
});

afterAll(async () => {
  await t?.close();
  await gh?.close();
});

/** /auth/login, the fake's authorize, then our callback with the browser's cookie. */
async function signIn(cookieOverride?: string): Promise<Response> {
  const login = await fetch(`${t.url}/auth/login?return=/app/`, { redirect: 'manual' });
  expect(login.status).toBe(302);
  const cookie =
    cookieOverride ??
    login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  const authorize = await fetch(login.headers.get('location')!, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  return fetch(authorize.headers.get('location')!, {
    redirect: 'manual',
    headers: { cookie, accept: 'application/json' },
  });
}

describe('GitHub sign-in (a fake with the same contract)', () => {
  it('a member of an allowed organization signs in; their login is their namespace', async () => {
    gh.as = { login: 'Octo-Cat', orgs: ['acme'] };
    const res = await signIn();
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get('location')).toBe('/app/');
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith('tp_session='))!
      .split(';')[0]!;
    const who = await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie } });
    expect(who.json).toMatchObject({
      name: 'Octo-Cat',
      namespace: 'octo-cat',
      admin: false,
      groups: ['acme'],
      via: 'session',
    });
    expect(gh.refused).toEqual([]);
  });

  it('an admin organization makes an admin', async () => {
    gh.as = { login: 'boss', orgs: ['acme-admins'] };
    const res = await signIn();
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith('tp_session='))!
      .split(';')[0]!;
    expect((await t.req('GET', '/api/v1/whoami', { auth: null, headers: { cookie } })).json.admin).toBe(true);
  });

  it('someone in no allowed organization is refused by name; no session', async () => {
    gh.as = { login: 'stranger', orgs: ['elsewhere'] };
    const before = sessions.size;
    const res = await signIn();
    expect(res.status).toBe(403);
    expect((await res.json()).message).toMatch(/signed in as stranger, who may not use this Tidepool/);
    expect(res.headers.getSetCookie().some((c) => /^tp_session=[^;]/.test(c))).toBe(false);
    expect(sessions.size).toBe(before);
  });

  it('a state from another browser is a 400, and the code is never exchanged', async () => {
    gh.as = { login: 'Octo-Cat', orgs: ['acme'] };
    const before = sessions.size;
    const res = await signIn('tp_signin=someone-elses-state');
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/state does not match/);
    expect(sessions.size).toBe(before);
  });
});

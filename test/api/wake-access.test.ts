// The waking page is no side door: over a real API server on loopback, with two people and an
// admin, a sleeping workspace is woken through /api/v1/workspaces/{route}/waking only for someone
// the route being woken lets in: an IDE for its namespace's person and admins (the reach rule), a
// Port by its visibility (private, team, public: its share link without a sign-in), and nothing
// for a port no Port publishes.
// Sign-in is not this test's business: the test app sets the identity (what the login gate
// does) from a header that only this app reads.
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../api/identity.js';
import { buildServer } from '../../api/server.js';
import type { SleepAnswer, SleepService } from '../../specs/index.js';
import { Store } from '../../store/index.js';
import { AUTH, PASSWORD, USER, port, workspace } from './helpers.js';

const PEOPLE: Record<string, Identity> = {
  alice: { name: 'alice@example.test', namespace: 'alice', admin: false, groups: [], via: 'session' },
  bob: { name: 'bob@example.test', namespace: 'bob', admin: false, groups: [], via: 'session' },
  root: { name: 'root', namespace: 'default', admin: true, groups: [], via: 'session' },
};

/** Wakes whatever it is asked to (every workspace here sleeps), and writes down what. */
class RecordingWake implements SleepService {
  readonly woken: string[] = [];
  wake(name: string): SleepAnswer {
    this.woken.push(name);
    return { outcome: 'Waking', message: `${name}: Waking` };
  }
  sleep(name: string): SleepAnswer {
    return { outcome: 'Asleep', message: `${name}: Asleep` };
  }
  execOpened(): () => void {
    return () => {};
  }
}

let dir: string;
let store: Store;
let app: FastifyInstance;
let url: string;
const service = new RecordingWake();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-wake-access-'));
  store = await Store.open(join(dir, 'store.json'));
  app = await buildServer({
    store,
    logger: false,
    credentials: { username: USER, password: PASSWORD },
    logsDir: join(dir, '.logs'),
    sleep: { service },
  });
  app.addHook('onRequest', async (req) => {
    const who = req.headers['x-test-identity'];
    if (typeof who === 'string') req.identity = PEOPLE[who];
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  // bob's `dev` with three Ports, one of each visibility.
  await store.create(
    workspace(
      'dev',
      { image: 'default', running: true, resources: { cpu: 1, memory: '1Gi' } },
      { namespace: 'bob' },
    ) as never,
  );
  for (const [n, visibility] of [
    [3000, 'private'],
    [3001, 'team'],
    [3002, 'public'],
  ] as const) {
    const p = port(`dev-${n}`, 'dev', n, { namespace: 'bob' });
    await store.create({ ...p, spec: { ...p.spec, visibility } } as never);
  }
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The proxy's hop for a page load of `who` (undefined: nobody signed in, no credentials at all):
 * GET .../waking for the workspace's route name (dev.bob), with any headers the proxy adds.
 */
async function opens(who: string | undefined, query: string, extra: Record<string, string> = {}) {
  const before = service.woken.length;
  const res = await fetch(`${url}/api/v1/workspaces/dev.bob/waking?${query}`, {
    headers: {
      ...(who ? { authorization: AUTH, 'x-test-identity': who } : {}),
      'sec-fetch-dest': 'document',
      accept: 'text/plain',
      ...extra,
    },
  });
  const text = await res.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { message: string }).message;
  } catch {}
  return { status: res.status, message, woke: service.woken.length > before };
}

describe('the waking page wakes a workspace only for whom its route lets in', () => {
  it("an IDE: its namespace's person and admins; anyone else a 403 naming them, and it sleeps on", async () => {
    expect(await opens('bob', 'kind=ide&port=8080')).toMatchObject({ status: 503, woke: true });
    expect(await opens('root', 'kind=ide&port=8080')).toMatchObject({ status: 503, woke: true });
    const alice = await opens('alice', 'kind=ide&port=8080');
    expect(alice).toMatchObject({ status: 403, woke: false });
    expect(alice.message).toContain('signed in as alice@example.test');
    expect(alice.message).toContain('namespace "bob"');
    // Without a kind the page is an IDE's, as before.
    expect(await opens('alice', '')).toMatchObject({ status: 403, woke: false });
  });

  it("a private Port: its namespace's person and admins; anyone else a 403 naming them, and it sleeps on", async () => {
    expect(await opens('bob', 'kind=port&port=3000')).toMatchObject({ status: 503, woke: true });
    expect(await opens('root', 'kind=port&port=3000')).toMatchObject({ status: 503, woke: true });
    const alice = await opens('alice', 'kind=port&port=3000');
    expect(alice).toMatchObject({ status: 403, woke: false });
    expect(alice.message).toContain('the Port dev-3000 is private to its owner (namespace bob)');
    expect(alice.message).toContain('you are signed in as alice@example.test');
  });

  it('a team or public Port: anyone signed in', async () => {
    expect(await opens('alice', 'kind=port&port=3001')).toMatchObject({ status: 503, woke: true });
    expect(await opens('alice', 'kind=port&port=3002')).toMatchObject({ status: 503, woke: true });
  });

  it("a public Port's share link wakes it without a sign-in; no link, a wrong one or another Port's does not", async () => {
    const share = await fetch(`${url}/api/v1/namespaces/bob/ports/dev-3002/share`, {
      headers: { authorization: AUTH, 'x-test-identity': 'root' },
    });
    const { token, path } = (await share.json()) as { token: string; path: string };
    expect(path).toBe(`/ns/bob/workspace/dev/port/3002/tp-share/${token}/`);
    const inPath = { 'x-forwarded-uri': `${path}index.html` };
    expect(await opens(undefined, 'kind=port&port=3002', inPath)).toMatchObject({ status: 503, woke: true });
    const inCookie = { 'x-tidepool-share': token };
    expect(await opens(undefined, 'kind=port&port=3002', inCookie)).toMatchObject({ status: 503, woke: true });
    const nothing = await opens(undefined, 'kind=port&port=3002');
    expect(nothing).toMatchObject({ status: 401, woke: false });
    const wrong = { 'x-tidepool-share': `${token.slice(0, -2)}AA` };
    expect(await opens(undefined, 'kind=port&port=3002', wrong)).toMatchObject({ status: 401, woke: false });
    // The token of the public Port is no key to the private one, nor to the IDE.
    expect(await opens(undefined, 'kind=port&port=3000', inCookie)).toMatchObject({ status: 401, woke: false });
    expect(await opens(undefined, 'kind=ide&port=8080', inCookie)).toMatchObject({ status: 401, woke: false });
  });

  it('a port no Port publishes: nothing to open, so nothing wakes (the proxy answers with its own page)', async () => {
    expect(await opens('alice', 'kind=port&port=4000')).toMatchObject({ status: 404, woke: false });
    expect(await opens('bob', 'kind=port&port=4000')).toMatchObject({ status: 404, woke: false });
  });

  it('a change of visibility is decided on the next request, with no reload', async () => {
    const p = store.get('Port', 'bob/dev-3001');
    expect(p).toBeDefined();
    await store.update({ ...p!, spec: { ...p!.spec, visibility: 'private' } } as never);
    expect(await opens('alice', 'kind=port&port=3001')).toMatchObject({ status: 403, woke: false });
  });
});

// One sign-in for the UI, the IDEs and the Ports, in real Chromium through the real Caddy, the
// real API and a real OpenID Connect provider (test/fixtures/oidc-provider.ts): a page load
// without a session is sent to sign in and comes back; the session cookie reaches neither an IDE
// nor a Port; a page on the preview origin (a dev server's JavaScript) cannot use the session
// against the API or an IDE (a real cross-origin fetch, POST and WebSocket are refused); a
// signed-in person refused a workspace sees a 403 page naming them; opening a sleeping one wakes
// it; an open IDE keeps working while the API restarts and the session is known again after;
// sign-out ends it everywhere.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../drivers/proxy/caddy/index.js';
import { OidcProvider } from '../../api/signin/oidc.js';
import { SessionStore } from '../../api/signin/sessions.js';
import { TokenStore } from '../../api/signin/tokens.js';
import { IDE_PORT, type SleepService } from '../../specs/index.js';
import { launchChromium } from '../chromium.js';
import { buildUi, WEB_DIST } from '../web/harness.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../api/helpers.js';
import { startOidcProvider, webClient, type OidcFixture } from '../fixtures/oidc-provider.js';
import { fakeServer, startHarness, type FakeServer, type Harness } from './helpers.js';

const PROXY_SECRET = 'signin-test-secret-0123456789abcdefghij';
const HOST = '127.78.23.10';
const BOB_HOST = '127.78.23.11';
const DEV_PORT = 3000;

/** The dev server's page on the preview origin, and what it saw of cookies. */
const devSeen: (string | undefined)[] = [];

let op: OidcFixture;
let api: TestServer;
let h: Harness;
let ide: FakeServer;
let bobIde: FakeServer;
let dev: http.Server;
let browser: Browser;
let tokens: TokenStore;
let sessionsDir: string;
/** A sleep service that wakes whatever it is asked to and records it (api/sleep.ts). */
const woken: string[] = [];
const sleeper: SleepService = {
  wake: (name) => {
    woken.push(name);
    return { outcome: 'Waking', message: `${name}: Waking` };
  },
  sleep: (name) => ({ outcome: 'Asleep', message: `${name}: Asleep` }),
  execOpened: () => () => undefined,
};
let ports: { app: number; workspace: number; preview: number };

beforeAll(async () => {
  const appPort = await freeLoopbackPort();
  op = await startOidcProvider({
    clients: [webClient('tidepool', 'web-secret', [`http://127.0.0.1:${appPort}/auth/callback`])],
  });
  await buildUi();
  ports = { app: appPort, workspace: await freeLoopbackPort(), preview: await freeLoopbackPort() };
  tokens = await TokenStore.open(undefined);
  sessionsDir = await mkdtemp(join(tmpdir(), 'tp-signin-sessions-'));
  api = await startApi();
  ide = await fakeServer('alice-ide', HOST, IDE_PORT);
  bobIde = await fakeServer('bob-ide', BOB_HOST, IDE_PORT);
  dev = http.createServer((req, res) => {
    devSeen.push(req.headers.cookie);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>dev server</title><p>a dev server</p>');
  });
  await new Promise<void>((r) => dev.listen(DEV_PORT, HOST, r));
  h = await startHarness({
    apiUpstream: new URL(api.url).host,
    credentials: { username: USER, password: PASSWORD },
    proxySecret: PROXY_SECRET,
    appListen: `127.0.0.1:${appPort}`,
    workspaceListen: `127.0.0.1:${ports.workspace}`,
    previewListen: `127.0.0.1:${ports.preview}`,
  });
  await h.proxy.apply({
    workspaces: [
      { name: 'alice', upstream: `${HOST}:${IDE_PORT}` },
      { name: 'bob', upstream: `${BOB_HOST}:${IDE_PORT}` },
    ],
    ports: [{ workspace: 'alice', port: DEV_PORT, upstream: `${HOST}:${DEV_PORT}` }],
  });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await ide?.close();
  await bobIde?.close();
  await new Promise((r) => dev?.close(r));
  await api?.close();
  await op?.close();
  if (sessionsDir) await rm(sessionsDir, { recursive: true, force: true });
});

/** The API (again on `listen` after a restart), with sign-in through the provider. */
async function startApi(listen?: string): Promise<TestServer> {
  return startTestServer({
    ...(listen ? ({ listen } as object) : {}),
    webRoot: WEB_DIST,
    uiConfig: { workspacePort: ports.workspace },
    sleep: { service: sleeper },
    proxySecret: PROXY_SECRET,
    throttle: { floorMs: 10 },
    signIn: {
      mode: 'oidc',
      provider: new OidcProvider({ issuer: op.issuer, clientId: 'tidepool', clientSecret: 'web-secret' }),
      rules: { allowedGroups: ['devs'], allowedEmailDomains: [], allowedUsers: [], adminGroups: [], adminUsers: [] },
      // On disk, as serve keeps them: a restarted API knows them again.
      sessions: await SessionStore.open(join(sessionsDir, 'sessions.json')),
      tokens,
      own: { appPort: ports.app, ports: [ports.app, ports.workspace, ports.preview], extra: [] },
      // The namespaces' rule, in small: only bob reaches bob's workspace.
      reach: (who, t) =>
        t.uri.startsWith('/workspace/bob/') && who.namespace !== 'bob' ? "the workspace bob is bob's" : undefined,
    },
  });
}

/** Fills the provider's form (the page is on the provider's origin). */
async function signInAt(page: Page, user: string, password: string): Promise<void> {
  expect(new URL(page.url()).origin).toBe(op.issuer);
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.href.startsWith(op.issuer)), page.click('button[type=submit]')]);
}

describe('one sign-in for the UI, the IDEs and the Ports', () => {
  let context: BrowserContext;
  let page: Page;
  const sessionCookie = async () => {
    const c = (await context.cookies()).find((x) => x.name === 'tp_session');
    return `tp_session=${c?.value}`;
  };

  beforeAll(async () => {
    context = await browser.newContext();
    page = await context.newPage();
  });
  afterAll(async () => context?.close());

  it('an IDE page load goes to sign in and comes back to the IDE; the IDE never sees the cookie', async () => {
    await page.goto(`${h.workspaceUrl}/workspace/alice/some/file?x=1`);
    await signInAt(page, 'alice', 'alice-pw');
    expect(page.url()).toBe(`${h.workspaceUrl}/workspace/alice/some/file?x=1`);
    const body = JSON.parse((await page.textContent('body')) ?? '{}');
    expect(body).toMatchObject({ server: 'alice-ide', url: '/some/file?x=1' });
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'tp_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    for (const s of ide.seen) {
      expect(s.headers.cookie).toBeUndefined();
      expect(s.headers['x-tidepool-session']).toBeUndefined();
    }
  });

  it('the same session opens the UI and a Port, without a second sign-in; the Port never sees the cookie', async () => {
    const ui = await page.goto(`${h.appUrl}/app/`);
    expect(ui?.status()).toBe(200);
    // The header says who is signed in, their namespace, and offers sign-out.
    const who = page.locator('tp-who form');
    await who.waitFor();
    expect(await who.textContent()).toMatch(/alice@example\.test\s*namespace alice/);
    expect(await page.locator('tp-who button').textContent()).toBe('Sign out');
    const port = await page.goto(`${h.previewUrl}/workspace/alice/port/${DEV_PORT}/`);
    expect(port?.status()).toBe(200);
    expect(await page.title()).toBe('dev server');
    await context.addCookies([{ name: 'theirs', value: '1', url: h.previewUrl }]);
    await page.reload();
    expect(devSeen.at(-1)).toContain('theirs=1');
    for (const c of devSeen) expect(c ?? '').not.toContain('tp_session');
  });

  it('a page on the preview origin cannot use the session against the API or an IDE', async () => {
    await page.goto(`${h.previewUrl}/workspace/alice/port/${DEV_PORT}/`);
    const ideSeenBefore = ide.seen.length;
    // What the servers answered, seen by the browser below the page's JavaScript (CORS hides it there).
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const answered = new Map<string, number>();
    // A response CORS refuses to the page has no responseReceived, only its raw headers (ExtraInfo).
    const urls = new Map<string, string>();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    cdp.on('Network.responseReceivedExtraInfo', (e) => {
      const url = urls.get(e.requestId);
      if (url) answered.set(url, e.statusCode);
    });
    const tried = await page.evaluate(
      async ({ app, ws }) => {
        const out: Record<string, string> = {};
        try {
          const r = await fetch(`${app}/api/v1/workspaces`, { credentials: 'include' });
          out.get = `answered ${r.status}`;
        } catch (e) {
          out.get = `failed: ${(e as Error).message}`;
        }
        await fetch(`${app}/api/v1/tokens`, {
          method: 'POST',
          credentials: 'include',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body: '{"name":"stolen"}',
        }).catch(() => undefined);
        await fetch(`${ws}/workspace/alice/from-port`, { credentials: 'include', mode: 'no-cors' }).catch(
          () => undefined,
        );
        out.ws = await new Promise<string>((resolve) => {
          const sock = new WebSocket(`${ws.replace('http', 'ws')}/workspace/alice/socket`);
          sock.onopen = () => resolve('opened');
          sock.onerror = () => resolve('refused');
          setTimeout(() => resolve('timeout'), 5000);
        });
        return out;
      },
      { app: h.appUrl, ws: h.workspaceUrl },
    );
    expect(Object.fromEntries(answered)).toMatchObject({
      [`${h.appUrl}/api/v1/workspaces`]: 403,
      [`${h.appUrl}/api/v1/tokens`]: 403,
      [`${h.workspaceUrl}/workspace/alice/from-port`]: 403,
    });
    expect(answered.get(`${h.appUrl}/api/v1/tokens`)).toBe(403);
    expect(answered.get(`${h.workspaceUrl}/workspace/alice/from-port`)).toBe(403);
    await cdp.detach();
    expect(tried.get).toMatch(/^failed/);
    expect(tried.ws).toBe('refused');
    expect(tokens.list()).toEqual([]);
    // Neither the fetch nor the WebSocket reached the IDE.
    expect(ide.seen.slice(ideSeenBefore).map((s) => s.url)).toEqual([]);
  });

  it("the IDE's own page opens its WebSocket with the session", async () => {
    await page.goto(`${h.workspaceUrl}/workspace/alice/`);
    const echoed = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const sock = new WebSocket(url);
          sock.onopen = () => sock.send('hi');
          sock.onmessage = (m) => resolve(String(m.data));
          sock.onerror = () => resolve('refused');
          setTimeout(() => resolve('timeout'), 5000);
        }),
      `${h.workspaceUrl.replace('http', 'ws')}/workspace/alice/socket`,
    );
    expect(echoed).toBe('alice-ide:hi');
  });

  it("another person's workspace is a 403 page naming who is signed in", async () => {
    const res = await page.goto(`${h.workspaceUrl}/workspace/bob/`);
    expect(res?.status()).toBe(403);
    expect(await page.textContent('body')).toContain('signed in as alice@example.test');
    expect(bobIde.seen).toEqual([]);
  });

  it('opening a sleeping workspace with the session wakes it (the wake hop carries the session)', async () => {
    // carol has no upstream: Caddy asks the API's waking page, with the signed-in browser's session.
    const res = await page.goto(`${h.workspaceUrl}/workspace/carol/`);
    expect(res?.status()).toBe(503);
    expect(await page.textContent('h1')).toContain('carol');
    expect(woken).toContain('carol');
  });

  it('an open IDE keeps working while the API restarts, and the session is known again after', async () => {
    await page.goto(`${h.workspaceUrl}/workspace/alice/`);
    const wsUrl = `${h.workspaceUrl.replace('http', 'ws')}/workspace/alice/socket`;
    const echo = (msg: string) =>
      page.evaluate(
        ([url, m]) =>
          new Promise<string>((resolve) => {
            const w = window as unknown as { sock?: WebSocket };
            const send = () => {
              w.sock!.onmessage = (e) => resolve(String(e.data));
              w.sock!.send(m!);
            };
            if (w.sock) return send();
            w.sock = new WebSocket(url!);
            w.sock.onopen = send;
            w.sock.onerror = () => resolve('refused');
            setTimeout(() => resolve('timeout'), 5000);
          }),
        [wsUrl, msg],
      );
    expect(await echo('before')).toBe('alice-ide:before');
    const listen = new URL(api.url).host;
    await api.close();
    // No API: the open IDE's connection goes on; a new request gets Caddy's own basic-auth challenge.
    expect(await echo('during')).toBe('alice-ide:during');
    const during = await fetch(`${h.workspaceUrl}/workspace/alice/`, { headers: { cookie: await sessionCookie() } });
    expect(during.status).toBe(401);
    api = await startApi(listen);
    expect(await echo('after')).toBe('alice-ide:after');
    const again = await page.goto(`${h.workspaceUrl}/workspace/alice/x`);
    expect(again?.status()).toBe(200);
    expect(page.url()).toBe(`${h.workspaceUrl}/workspace/alice/x`);
  });

  it('signs out everywhere: the next IDE page load goes to sign in again', async () => {
    // The header's button, in the UI.
    await page.goto(`${h.appUrl}/app/`);
    await Promise.all([page.waitForURL(/\/auth\/signed-out$/), page.click('tp-who button')]);
    expect(await page.textContent('h1')).toBe('Signed out');
    expect((await context.cookies()).find((c) => c.name === 'tp_session')).toBeUndefined();
    // The provider still knows alice (its own session): it sends her straight back, through a new sign-in.
    const res = await page.goto(`${h.workspaceUrl}/workspace/alice/`);
    const chain: string[] = [];
    for (let r = res?.request(); r; r = r.redirectedFrom() ?? undefined) chain.unshift(r.url());
    expect(chain[0]).toBe(`${h.workspaceUrl}/workspace/alice/`);
    expect(chain[1]).toBe(`${h.appUrl}/auth/login?return=${encodeURIComponent(`${h.workspaceUrl}/workspace/alice/`)}`);
    expect(chain.some((u) => u.startsWith(`${h.appUrl}/auth/callback?`))).toBe(true);
  });
});

describe('basic auth is unchanged beside sign-in', () => {
  it('the local admin still passes with basic auth; no credentials on a fetch is a 401, not a redirect', async () => {
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const ok = await fetch(`${h.workspaceUrl}/workspace/alice/`, { headers: { authorization: auth } });
    expect(ok.status).toBe(200);
    const none = await fetch(`${h.appUrl}/api/v1/workspaces`, { redirect: 'manual' });
    expect(none.status).toBe(401);
  });
});

// Port.spec.visibility through the real Caddy and the real API's /authz (no reload of Caddy
// anywhere): a public Port answers without sign-in only with its current share token (in the
// path, then in the cookie that the answer sets), the token reaches neither the dev server's
// path nor its Cookie header, a rotated token stops at once, a token of one Port opens no
// other, and a private Port refuses anonymous requests; in real Chromium the link opens the page,
// whose own requests pass by the HttpOnly cookie. The dev servers are loopback
// listeners on 127.78.3.20 (the Caddy tests' way, test/caddy/helpers.ts).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { PASSWORD, USER, startTestServer, type TestServer } from '../api/helpers.js';
import { launchChromium } from '../chromium.js';
import { fakeServer, get, reloadCount, startHarness, type FakeServer, type Harness } from './helpers.js';

const PROXY_SECRET = 'port-visibility-test-secret-0123456789abcdef';
const HOST = '127.78.3.20';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

let api: TestServer;
let h: Harness;
let browser: Browser;
/** A dev server whose page fetches by an absolute path, without the token: the cookie must carry it. */
let page3003: http.Server;
const cookiesAt3003: (string | undefined)[] = [];
const dev: Record<number, FakeServer> = {};

async function share(name: string, rotate = false): Promise<{ token: string; path: string; visibility: string }> {
  const r = await api.req(rotate ? 'POST' : 'GET', `/api/v1/ports/${name}/share${rotate ? '/rotate' : ''}`);
  expect(r.status, r.text).toBe(200);
  return r.json;
}

beforeAll(async () => {
  api = await startTestServer({ proxySecret: PROXY_SECRET, throttle: { floorMs: 10 } });
  for (const port of [3000, 3001, 3002])
    dev[port] = await fakeServer(`dev${port}`, HOST, port, { 'set-cookie': 'from-dev-server=1; Path=/' });
  expect((await api.req('POST', '/api/v1/workspaces', { body: ws('alice') })).status).toBe(201);
  page3003 = http.createServer((req, res) => {
    cookiesAt3003.push(req.headers.cookie);
    if (req.url === '/data') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('data from 3003');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      "<!doctype html><title>loading</title><script>fetch('/workspace/alice/port/3003/data').then(r => r.text()).then(t => document.title = t)</script>",
    );
  });
  await new Promise<void>((r) => page3003.listen(3003, HOST, r));
  for (const [port, visibility] of [
    [3000, 'public'],
    [3001, 'private'],
    [3002, 'team'],
    [3003, 'public'],
  ] as const) {
    const r = await api.req('POST', '/api/v1/ports', {
      body: {
        apiVersion: 'tidepool/v1',
        kind: 'Port',
        metadata: { name: `alice-${port}` },
        spec: { workspace: 'alice', port, visibility },
      },
    });
    expect(r.status, r.text).toBe(201);
  }
  h = await startHarness({
    apiUpstream: new URL(api.url).host,
    credentials: { username: USER, password: PASSWORD },
    proxySecret: PROXY_SECRET,
  });
  await h.proxy.apply({
    workspaces: [],
    ports: [3000, 3001, 3002, 3003].map((port) => ({ workspace: 'alice', port, upstream: `${HOST}:${port}` })),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => page3003?.close(r));
  await h?.close();
  for (const d of Object.values(dev)) await d.close();
  await api?.close();
});

function ws(name: string) {
  return { apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: {} };
}

/** The status of a GET of `path` exactly as written, without credentials. */
function rawStatus(base: string, path: string): Promise<number> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'GET', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const setCookies = (headers: Record<string, string | string[] | undefined>): string[] => {
  const v = headers['set-cookie'];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

describe('a public Port', () => {
  it('refuses a request without its token or a sign-in', async () => {
    const before = dev[3000]!.seen.length;
    expect((await get(`${h.previewUrl}/workspace/alice/port/3000/`, false)).status).toBe(401);
    expect((await get(`${h.previewUrl}/workspace/alice/port/3000/tp-share/not-the-token/`, false)).status).toBe(401);
    expect(
      (await get(`${h.previewUrl}/workspace/alice/port/3000/`, false, { cookie: 'tp_share=not-the-token' })).status,
    ).toBe(401);
    expect(dev[3000]!.seen.length).toBe(before);
  });

  it('answers the share link without sign-in; the token reaches neither the path nor the cookies of the dev server', async () => {
    const { token, path, visibility } = await share('alice-3000');
    expect(visibility).toBe('public');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(path).toBe(`/workspace/alice/port/3000/tp-share/${token}/`);

    const r = await get(`${h.previewUrl}${path}hook?x=1`, false, { cookie: 'theirs=1' });
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      server: 'dev3000',
      url: '/hook?x=1',
      prefix: '/workspace/alice/port/3000',
    });
    const seen = dev[3000]!.seen.at(-1)!;
    expect(seen.headers.cookie).toBe('theirs=1');
    expect(JSON.stringify(seen)).not.toContain(token);
    // Ours is set for this Port's path only, never readable by scripts; the dev server's is dropped as ever.
    expect(setCookies(r.headers)).toEqual([
      `tp_share=${token}; Path=/workspace/alice/port/3000/; HttpOnly; SameSite=Lax`,
    ]);

    // The rest of the visit goes by the cookie, which is cut out before the dev server too.
    const next = await get(`${h.previewUrl}/workspace/alice/port/3000/app.js`, false, {
      cookie: `a=1; tp_share=${token}; b=2`,
    });
    expect(next.status).toBe(200);
    expect(dev[3000]!.seen.at(-1)!.headers.cookie).toBe('a=1; b=2');
    expect(setCookies(next.headers)).toEqual([]);
  });

  it('a rotated token stops working at once, without a reload of Caddy', async () => {
    const reloads = await reloadCount(h.stateDir);
    const old = await share('alice-3000');
    const fresh = await share('alice-3000', true);
    expect(fresh.token).not.toBe(old.token);
    expect((await get(`${h.previewUrl}${old.path}`, false)).status).toBe(401);
    expect(
      (await get(`${h.previewUrl}/workspace/alice/port/3000/`, false, { cookie: `tp_share=${old.token}` })).status,
    ).toBe(401);
    expect((await get(`${h.previewUrl}${fresh.path}`, false)).status).toBe(200);
    expect(await reloadCount(h.stateDir)).toBe(reloads);
  });

  it('its token opens no other Port, nor an IDE by a path the proxy cleans', async () => {
    const { token } = await share('alice-3000');
    expect((await get(`${h.previewUrl}/workspace/alice/port/3001/tp-share/${token}/`, false)).status).toBe(401);
    expect(
      (await get(`${h.previewUrl}/workspace/alice/port/3002/`, false, { cookie: `tp_share=${token}` })).status,
    ).toBe(401);
    // Sent as written (a URL object would resolve the dots before they left).
    expect(await rawStatus(h.previewUrl, `/workspace/alice/port/3000/tp-share/${token}/../../3001/`)).toBe(400);
    expect(
      await rawStatus(
        h.workspaceUrl,
        `/workspace/alice/port/3000/tp-share/${token}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/alice/`,
      ),
    ).toBe(400);
    expect(dev[3001]!.seen.some((r) => r.url.includes('3001'))).toBe(false);
  });

  it('its link on the workspace port passes there too and redirects to the preview port', async () => {
    const { path, token } = await share('alice-3000');
    const r = await get(`${h.workspaceUrl}${path}`, false);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`${h.previewUrl}${path}`);
    expect(setCookies(r.headers)[0]).toContain(`tp_share=${token}`);
  });

  it('turned private, its link stops at once', async () => {
    const { path } = await share('alice-3000');
    const patch = await api.req('PATCH', '/api/v1/ports/alice-3000', {
      body: { spec: { visibility: 'private' } },
      type: 'application/merge-patch+json',
    });
    expect(patch.status, patch.text).toBe(200);
    expect((await get(`${h.previewUrl}${path}`, false)).status).toBe(401);
  });
});

describe('a public Port in Chromium', () => {
  it("opens from the link with no sign-in, and the page's own requests pass by the cookie, which no script can read", async () => {
    const { path, token } = await share('alice-3003');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const r = await page.goto(`${h.workspaceUrl}${path}`);
      expect(r?.status()).toBe(200);
      expect(new URL(page.url()).port).toBe(new URL(h.previewUrl).port);
      await page.waitForFunction(() => document.title === 'data from 3003', undefined, { timeout: 15_000 });
      expect(await page.evaluate(() => document.cookie)).toBe('');
      const jar = await context.cookies();
      expect(jar.map((c) => [c.name, c.path, c.httpOnly])).toEqual([['tp_share', '/workspace/alice/port/3003/', true]]);
      expect(cookiesAt3003.some((c) => c?.includes(token))).toBe(false);
    } finally {
      await context.close();
    }
  });
});

describe('a private Port', () => {
  it('refuses anonymous requests and answers its owner (the local admin of a one-person install)', async () => {
    expect((await get(`${h.previewUrl}/workspace/alice/port/3001/`, false)).status).toBe(401);
    const r = await get(`${h.previewUrl}/workspace/alice/port/3001/`, AUTH);
    expect(r.status).toBe(200);
    expect(setCookies(r.headers)).toEqual([]);
    expect(dev[3001]!.seen.at(-1)!.headers.authorization).toBeUndefined();
  });
});

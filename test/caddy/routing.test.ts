// What a browser and curl see through the real Caddy and dnsmasq once the driver has applied a
// table: routes by name, our own pages for every name that gets no traffic, Ports on their own
// origin, the app port's protections; and not one Caddy reload for any of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CSP } from '../../drivers/proxy/caddy/index.js';
import type { RouteTable } from '../../drivers/proxy/types.js';
import {
  AUTH,
  echo,
  fakeServer,
  get,
  openSocket,
  reloadCount,
  startHarness,
  waitFor,
  type FakeServer,
  type Harness,
} from './helpers.js';

const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('caddy driver: routing through a real Caddy, looked up by name', () => {
  let h: Harness;
  let ide: FakeServer, dev: FakeServer, bobIde: FakeServer, api: FakeServer;
  let late: FakeServer | undefined, early: FakeServer | undefined;
  let table: RouteTable;
  let loadsAtBoot: number;

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.78.1.10', 8080);
    dev = await fakeServer('alice-3000', '127.78.1.10', 3000);
    bobIde = await fakeServer('bob-ide', '127.78.1.11', 8080);
    // The API sends a permissive CORS header; Caddy must not pass it on.
    api = await fakeServer('api', '127.0.0.1', 0, {
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
    });
    h = await startHarness({ apiUpstream: api.upstream });
    loadsAtBoot = await reloadCount(h.stateDir);
    table = {
      workspaces: [
        { name: 'alice', upstream: '127.78.1.10:8080' },
        { name: 'bob', upstream: '127.78.1.11:8080' },
        { name: 'dead', upstream: '127.78.1.12:8080' },
        // Starting: routed before the IDE listens, and idle (controller/reconcilers/routes.ts startingIp).
        { name: 'early', upstream: '127.78.1.13:8080' },
        { name: 'sleepy-early', upstream: '127.78.1.14:8080' },
      ],
      ports: [
        { workspace: 'alice', port: 3000, upstream: '127.78.1.10:3000' },
        { workspace: 'alice', port: 5173, upstream: '127.78.1.10:5173' },
      ],
      idle: { workspaces: ['carol', 'early', 'sleepy', 'sleepy-early'], ports: ['carol/3000', 'sleepy/3000'] },
    };
    await h.proxy.apply(table);
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, dev, bobIde, api, late, early].map((s) => s?.close()));
  });

  it('serves the IDE with the prefix stripped and X-Forwarded-Prefix set', async () => {
    const r = await get(`${h.workspaceUrl}/workspace/alice/static/app.js?v=1`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ server: 'alice-ide', url: '/static/app.js?v=1', prefix: '/workspace/alice' });
    const root = await get(`${h.workspaceUrl}/workspace/bob/`);
    expect(JSON.parse(root.body)).toEqual({ server: 'bob-ide', url: '/', prefix: '/workspace/bob' });
  });

  it('never passes the Tidepool credentials to a workspace', async () => {
    await get(`${h.workspaceUrl}/workspace/alice/whoami`);
    const seen = ide.seen.find((s) => s.url === '/whoami');
    expect(seen).toBeDefined();
    expect(seen!.headers.authorization).toBeUndefined();
  });

  it('redirects /workspace/{ws} and /workspace/{ws}/port/{n} to the trailing slash, keeping the query', async () => {
    const r = await get(`${h.workspaceUrl}/workspace/alice?folder=/src`);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('/workspace/alice/?folder=/src');
    const p = await get(`${h.previewUrl}/workspace/alice/port/3000?x=1`);
    expect(p.status).toBe(308);
    expect(p.headers.location).toBe('/workspace/alice/port/3000/?x=1');
  });

  it('serves a Port on the preview port, and only redirects there from the workspace port', async () => {
    const before = ide.seen.length;
    const r = await get(`${h.previewUrl}/workspace/alice/port/3000/api/items?page=2`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      server: 'alice-3000',
      url: '/api/items?page=2',
      prefix: '/workspace/alice/port/3000',
    });
    const devSeen = dev.seen.length;
    const old = await get(`${h.workspaceUrl}/workspace/alice/port/3000/api/items?page=2`);
    expect(old.status).toBe(308);
    expect(old.headers.location).toBe(`${h.previewUrl}/workspace/alice/port/3000/api/items?page=2`);
    expect(dev.seen.length).toBe(devSeen); // the workspace port never reached the dev server
    expect(ide.seen.length).toBe(before);
    // And IDEs are not served on the preview port.
    expect((await get(`${h.previewUrl}/workspace/alice/`)).status).toBe(404);
  });

  it('passes WebSockets through on the IDE and the Port routes', async () => {
    const a = await openSocket(`${h.workspaceUrl}/workspace/alice/socket`);
    const b = await openSocket(`${h.previewUrl}/workspace/alice/port/3000/hmr`);
    try {
      expect(await echo(a, 'hello')).toBe('alice-ide:hello');
      expect(await echo(b, 'ping')).toBe('alice-3000:ping');
      expect(ide.seen.some((s) => s.url === '/socket')).toBe(true);
      expect(dev.seen.some((s) => s.url === '/hmr')).toBe(true);
    } finally {
      a.terminate();
      b.terminate();
    }
  });

  it('a Port nothing listens on: 502 saying so, then 200 once something listens, with no change to Tidepool', async () => {
    const url = `${h.previewUrl}/workspace/alice/port/5173/`;
    const r = await get(url);
    expect(r.status).toBe(502);
    expect(r.body).toMatch(
      /^502: Port 5173 of workspace "alice" is registered, but nothing answers on port 5173 in the workspace\./,
    );
    late = await fakeServer('alice-5173', '127.78.1.10', 5173);
    const ok = await get(url);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).server).toBe('alice-5173');
  });

  it('a routed workspace whose IDE does not answer: 502 saying so, once the API says it is not one to wake', async () => {
    const before = api.waking.length;
    const r = await get(`${h.workspaceUrl}/workspace/dead/`);
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/^502: Workspace "dead" is running, but its IDE does not answer on port 8080\./);
    expect(api.waking.slice(before).map((w) => w.url)).toEqual(['/api/v1/workspaces/dead/waking?kind=ide&port=8080']);
  });

  it('a starting workspace, routed before its IDE listens: "not running" (or the waking page) until it does, then the IDE with no route change', async () => {
    const r = await get(`${h.workspaceUrl}/workspace/early/`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^503: Workspace "early" exists but is not running: it is stopped or still starting\./);
    const waking = await get(`${h.workspaceUrl}/workspace/sleepy-early/`);
    expect(waking.status).toBe(503);
    expect(waking.body).toMatch(/^503: waking sleepy-early ide GET/);
    early = await fakeServer('early-ide', '127.78.1.13', 8080);
    const ok = await get(`${h.workspaceUrl}/workspace/early/`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).server).toBe('early-ide');
    expect(await h.proxy.read()).toEqual(table);
  });

  it('an unknown workspace or Port: 404 naming it, as text for curl and as HTML for a browser', async () => {
    const ws = await get(`${h.workspaceUrl}/workspace/nobody/x`);
    expect(ws.status).toBe(404);
    expect(ws.headers['content-type']).toMatch(/^text\/plain/);
    expect(ws.body).toMatch(
      /^404: There is no workspace "nobody" on this Tidepool\. \(Tidepool: http:\/\/127\.0\.0\.1:\d+\/app\/\)\n$/,
    );
    expect(ws.body.split('\n').filter(Boolean)).toHaveLength(1);
    const port = await get(`${h.previewUrl}/workspace/alice/port/4000/`);
    expect(port.status).toBe(404);
    expect(port.body).toMatch(/^404: Workspace "alice" has no Port 4000 registered/);
    const html = await get(`${h.workspaceUrl}/workspace/nobody/`, true, HTML);
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('<h1>No such workspace</h1>');
    expect(html.body).toContain('There is no workspace &quot;nobody&quot;'.replace(/&quot;/g, '"'));
    expect(html.body).toMatch(/<a href="http:\/\/127\.0\.0\.1:\d+\/app\/">Open Tidepool<\/a>/);
  });

  it('a workspace that exists but is stopped or starting: 503 saying so, with a link to the UI; its Ports too', async () => {
    const r = await get(`${h.workspaceUrl}/workspace/carol/`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(
      /^503: Workspace "carol" exists but is not running: it is stopped or still starting\. \(Tidepool: http:\/\/127\.0\.0\.1:\d+\/app\/\)\n$/,
    );
    const html = await get(`${h.workspaceUrl}/workspace/carol/`, true, HTML);
    expect(html.status).toBe(503);
    expect(html.body).toContain('<h1>Workspace not running</h1>');
    expect(html.body).toMatch(/href="http:\/\/127\.0\.0\.1:\d+\/app\/"/);
    const p = await get(`${h.previewUrl}/workspace/carol/port/3000/`);
    expect(p.status).toBe(503);
    expect(p.body).toMatch(/^503: Port 3000 of workspace "carol" is registered, but the workspace is not running/);
    // A Port carol does not have is unknown, not "not running".
    expect((await get(`${h.previewUrl}/workspace/carol/port/3001/`)).status).toBe(404);
  });

  it("a name without an upstream is first the API's (which wakes a sleeping one) with the request's own credentials; only a signed-in request gets there", async () => {
    const before = api.waking.length;
    const r = await get(`${h.workspaceUrl}/workspace/sleepy/some/file?x=1`);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
    expect(r.body).toBe('503: waking sleepy ide GET auth=ok\n');
    const p = await get(`${h.previewUrl}/workspace/sleepy/port/3000/`);
    expect(p.body).toBe('503: waking sleepy port GET auth=ok\n');
    expect(api.waking.length).toBe(before + 2);
    expect(api.waking.at(-1)!.url).toBe('/api/v1/workspaces/sleepy/waking?kind=port&port=3000');
    // A Port's hop carries its share tokens as the forward auth gets them (a public Port's link
    // wakes it without a sign-in: api/wake-access.ts): the original path, and the share cookie
    // alone, never the other cookies.
    const shared = await get(`${h.previewUrl}/workspace/sleepy/port/3000/tp-share/T0ken_-1/page?q=1`, true, {
      cookie: 'theirs=1; tp_share=C00kie_-2; tp_session=s',
    });
    expect(shared.status).toBe(503);
    const hop = api.waking.at(-1)!.headers;
    expect(hop['x-forwarded-uri']).toBe('/workspace/sleepy/port/3000/tp-share/T0ken_-1/page?q=1');
    expect(hop['x-tidepool-share']).toBe('C00kie_-2');
    expect(hop.cookie).toBeUndefined();
    expect(api.waking.length).toBe(before + 3);
    // Without credentials the login answers, and the API's waking page is never asked.
    expect((await get(`${h.workspaceUrl}/workspace/sleepy/`, false)).status).toBe(401);
    expect(api.waking.length).toBe(before + 3);
    // carol (404 from the API) and nobody (the API away) got Caddy's own pages, in the tests above.
    expect(api.waking.some((r) => r.url.startsWith('/api/v1/workspaces/carol/waking'))).toBe(true);
    expect(api.waking.some((r) => r.url.startsWith('/api/v1/workspaces/nobody/waking'))).toBe(true);
    // An IDE tab reconnecting (a WebSocket upgrade): the API is asked with a plain GET that says it was one (and does not wake it).
    await expect(openSocket(`${h.workspaceUrl}/workspace/sleepy/`)).rejects.toThrow(/503/);
    expect(api.waking.at(-1)!.headers.upgrade).toBeUndefined();
    expect(api.waking.at(-1)!.headers['x-tp-upgrade']).toBe('websocket');
  });

  it('answers 404 pages for paths that are no workspace or port path, and never reaches the API there', async () => {
    for (const path of [
      '/',
      '/nope',
      '/workspace/',
      '/workspace/Alice/',
      '/api/',
      '/api/v1/workspaces',
      '/app/',
      '/openapi.json',
      '/healthz',
    ]) {
      const r = await get(`${h.workspaceUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body, path).toMatch(/^404: /);
    }
    expect((await get(`${h.previewUrl}/nope`)).status).toBe(404);
    expect(api.seen.length).toBe(0);
  });

  it('answers 401 with WWW-Authenticate without credentials or with wrong ones, on every public server', async () => {
    const wrong = `Basic ${Buffer.from('tidepool:nope').toString('base64')}`;
    for (const url of [
      `${h.workspaceUrl}/workspace/alice/`,
      `${h.previewUrl}/workspace/alice/port/3000/`,
      `${h.appUrl}/api/v1/workspaces`,
      `${h.appUrl}/app/`,
    ]) {
      for (const auth of [false, wrong] as const) {
        const r = await get(url, auth);
        expect(r.status, `${url} auth=${String(auth)}`).toBe(401);
        expect(r.headers['www-authenticate']).toMatch(/^Basic /);
      }
    }
    expect((await get(`${h.workspaceUrl}/workspace/alice/`, AUTH)).status).toBe(200);
  });

  it('serves the API on the app port without permissive CORS headers, with the browser protections on every answer', async () => {
    const r = await get(`${h.appUrl}/api/v1/workspaces`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ server: 'api', url: '/api/v1/workspaces' });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    // The API checks the credentials itself too, so they reach it.
    expect(api.seen.at(-1)!.headers.authorization).toBe(AUTH);
    for (const reply of [
      r,
      await get(`${h.appUrl}/app/index.html`),
      await get(`${h.appUrl}/app/`, false),
      await get(`${h.appUrl}/healthz`, false),
    ]) {
      expect(reply.headers['content-security-policy']).toBe(APP_CSP);
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(APP_CSP).toContain("frame-ancestors 'none'");
    const root = await get(`${h.appUrl}/`);
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/app/');
    expect((await get(`${h.appUrl}/healthz`, false)).status).toBe(200);
  });

  it('reads back exactly the table it applied', async () => {
    expect(await h.proxy.read()).toEqual(table);
  });

  it('a route change is live at once and never reloads Caddy', async () => {
    const next: RouteTable = {
      workspaces: [{ name: 'bob', upstream: '127.78.1.11:8080' }],
      ports: [{ workspace: 'bob', port: 3000, upstream: '127.78.1.11:3000' }],
      idle: { workspaces: ['alice'], ports: ['alice/3000'] },
    };
    await h.proxy.apply(next);
    // A name that just went away may be answered from Caddy's cache for up to one refresh (1 s).
    await waitFor('alice not running', async () => (await get(`${h.workspaceUrl}/workspace/alice/`)).status === 503);
    // Each name has its own cache entry: the Port's may be followed a moment later than the IDE's.
    await waitFor(
      'alice/3000 not running',
      async () => (await get(`${h.previewUrl}/workspace/alice/port/3000/`)).status === 503,
    );
    expect((await get(`${h.previewUrl}/workspace/bob/port/3000/`)).status).toBe(502);
    expect(await h.proxy.read()).toEqual(next);
    expect(h.proxy.loads).toBe(0);
    expect(await reloadCount(h.stateDir)).toBe(loadsAtBoot);
  });
});
